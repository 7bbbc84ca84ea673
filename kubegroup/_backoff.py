"""Exponential backoff with full jitter, as client-go's reflector uses between failures."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

__all__ = ["Backoff"]


class Backoff:
    """Delays that double from ``initial`` up to ``maximum``, each jittered.

    The jittered delay is uniform in ``[d/2, d]`` so it never collapses to zero.
    :meth:`reset` after a success starts again from ``initial``. With ``reset_after``,
    a delay asked for more than that many seconds after the previous one also starts
    again from ``initial`` (client-go's backoff manager: healthy for a while).
    """

    def __init__(
        self,
        *,
        initial: float,
        maximum: float,
        rng: random.Random | None = None,
        reset_after: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError(f"need 0 < initial <= maximum, got {initial} and {maximum}")
        self.initial = initial
        self.maximum = maximum
        self.reset_after = reset_after
        self._rng = rng or random.Random()
        self._clock = clock
        self._attempt = 0
        self._last: float | None = None  # when the previous delay was asked for

    def _step(self) -> int:
        """Return this delay's attempt number and count it."""
        now = self._clock()
        if (
            self.reset_after is not None
            and self._last is not None
            and now - self._last > self.reset_after
        ):
            self._attempt = 0
        self._last = now
        attempt = self._attempt
        self._attempt = min(attempt + 1, 64)
        return attempt

    def next_delay(self, *, at_least: float = 0.0) -> float:
        """Return the next delay (never below ``at_least``, e.g. a Retry-After)."""
        base = min(self.maximum, self.initial * 2 ** self._step())
        return max(at_least, self._rng.uniform(base / 2, base))

    def slow_delay(self) -> float:
        """Return a delay near ``maximum``: for errors a retry is unlikely to fix soon."""
        self._step()
        return self._rng.uniform(self.maximum / 2, self.maximum)

    def reset(self) -> None:
        """Start again from ``initial``."""
        self._attempt = 0

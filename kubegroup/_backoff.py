"""Exponential backoff with full jitter, as client-go's reflector uses between failures."""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    """Delays that double from ``initial`` up to ``maximum``, each jittered.

    The jittered delay is uniform in ``[d/2, d]`` so it never collapses to zero.
    :meth:`reset` after a success starts again from ``initial``.
    """

    def __init__(self, *, initial: float, maximum: float, rng: random.Random | None = None) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError(f"need 0 < initial <= maximum, got {initial} and {maximum}")
        self.initial = initial
        self.maximum = maximum
        self._rng = rng or random.Random()
        self._attempt = 0

    def next_delay(self, *, at_least: float = 0.0) -> float:
        """Return the next delay (never below ``at_least``, e.g. a Retry-After)."""
        base = min(self.maximum, self.initial * 2**self._attempt)
        self._attempt = min(self._attempt + 1, 64)
        return max(at_least, self._rng.uniform(base / 2, base))

    def slow_delay(self) -> float:
        """Return a delay near ``maximum``: for errors a retry is unlikely to fix soon."""
        self._attempt = min(self._attempt + 1, 64)
        return self._rng.uniform(self.maximum / 2, self.maximum)

    def reset(self) -> None:
        """Start again from ``initial``."""
        self._attempt = 0

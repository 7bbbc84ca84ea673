"""An owner's per-key estimate of how often its peers ask it for each key.

Each key keeps an exponentially decaying count of its requests: every request adds 1,
and the count decays by a factor ``e`` each ``window`` seconds. A steady ``r`` requests
per second settles at ``r * window``, so the count over ``window`` is the rate in
requests per second, weighted towards the last ``window``. One update is O(1) (an
``exp`` and an ordered-dict move); the table holds at most ``capacity`` keys, dropping the
one asked for least recently, whose rate is the lowest to be lost.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable

RATE_WINDOW = 60.0
"""Seconds over which a rate is averaged (golang's ``minute_qps``)."""
MAX_TRACKED_KEYS = 10_000
"""Keys whose rate an owner keeps per group."""

_exp = math.exp


class RateTable:
    """Per-key request rates, decaying by ``clock`` (Unix seconds, may be faked).

    Args:
        clock: The time; a clock going back counts the request as at the last one.
        window: Seconds of the decay's time constant.
        capacity: Most keys kept.
    """

    __slots__ = ("_capacity", "_clock", "_counts", "_window")

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        window: float = RATE_WINDOW,
        capacity: int = MAX_TRACKED_KEYS,
    ) -> None:
        self._clock = clock
        self._window = window
        self._capacity = capacity
        self._counts: OrderedDict[str, list[float]] = OrderedDict()  # [count, time]

    def hit(self, key: str) -> float:
        """Count one request for ``key`` now; return its rate, in requests per second."""
        now = self._clock()
        counts = self._counts
        entry = counts.get(key)
        if entry is None:
            if len(counts) >= self._capacity:
                counts.popitem(last=False)
            counts[key] = [1.0, now]
            return 1.0 / self._window
        counts.move_to_end(key)
        count, then = entry
        if now > then:
            count = count * _exp((then - now) / self._window) + 1.0
            entry[1] = now
        else:
            count += 1.0
        entry[0] = count
        return count / self._window

    def rate(self, key: str) -> float:
        """Return the rate of ``key`` now (0 for a key not kept), counting nothing."""
        entry = self._counts.get(key)
        if entry is None:
            return 0.0
        count, then = entry
        now = self._clock()
        if now > then:
            count *= _exp((then - now) / self._window)
        return count / self._window

    def __len__(self) -> int:
        return len(self._counts)

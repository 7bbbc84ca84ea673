"""Latency of the gets a node serves, by kind: what a newcomer's demo and an operator's
``/stats`` show where the get is served, not where a queueing client measured it.

Each kind keeps a fixed histogram of logarithmic buckets (four per power of two, 1 us to
over an hour), so recording is O(log buckets) with no allocation and memory is constant;
a percentile is read as the upper bound of its bucket (within 19 % of the true value).
"""

from __future__ import annotations

import bisect
import itertools
import threading
from dataclasses import dataclass
from typing import Literal

Kind = Literal["hit", "peer", "origin"]
"""A local hit, a fetch from the key's owner, or a load here (the getter, or waiting for
a load of the same key already under way)."""
KINDS: tuple[Kind, ...] = ("hit", "peer", "origin")

_BOUNDS = [2 ** (i / 4) * 1e-6 for i in range(4 * 32)]  # seconds: 1 us .. 1.2 h


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """The gets of one kind served so far: how many, and their percentiles in ms."""

    count: int
    p50_ms: float
    p90_ms: float
    p99_ms: float


class ServedLatency:
    """Histograms of serving latency, one per :data:`Kind`; safe from any thread."""

    def __init__(self) -> None:
        self._counts = {kind: [0] * (len(_BOUNDS) + 1) for kind in KINDS}
        self._lock = threading.Lock()

    def record(self, kind: Kind, seconds: float) -> None:
        """Count one get of ``kind`` that took ``seconds``."""
        bucket = bisect.bisect_left(_BOUNDS, seconds)
        with self._lock:
            self._counts[kind][bucket] += 1

    def summary(self) -> dict[Kind, LatencySummary]:
        """Each kind's count and p50/p90/p99 (0.0 where nothing was served)."""
        with self._lock:
            counts = {kind: list(c) for kind, c in self._counts.items()}
        return {kind: _summarise(c) for kind, c in counts.items()}


def _summarise(counts: list[int]) -> LatencySummary:
    cumulative = list(itertools.accumulate(counts))
    total = cumulative[-1]
    if not total:
        return LatencySummary(0, 0.0, 0.0, 0.0)

    def percentile(q: float) -> float:
        bucket = bisect.bisect_left(cumulative, q * total)  # the first to reach the rank
        return _BOUNDS[min(bucket, len(_BOUNDS) - 1)] * 1000

    return LatencySummary(total, percentile(0.5), percentile(0.9), percentile(0.99))

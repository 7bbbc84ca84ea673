"""The serving-latency histograms (``HTTPPool.served_latency()``, ``/stats`` "served").
No Go test exists: no groupcache variant measures this."""

from __future__ import annotations

import threading

import pytest

from groupcache._core.latency import ServedLatency


def test_nothing_served_reads_as_zero_for_every_kind() -> None:
    summary = ServedLatency().summary()
    assert set(summary) == {"hit", "peer", "origin"}
    assert all((s.count, s.p50_ms, s.p99_ms) == (0, 0.0, 0.0) for s in summary.values())


def test_percentiles_are_within_a_bucket_of_the_true_values() -> None:
    served = ServedLatency()
    for _ in range(980):
        served.record("peer", 0.001)
    for _ in range(20):
        served.record("peer", 0.100)
    s = served.summary()["peer"]
    assert s.count == 1000
    assert s.p50_ms == pytest.approx(1.0, rel=0.19)
    assert s.p90_ms == pytest.approx(1.0, rel=0.19)
    assert s.p99_ms == pytest.approx(100.0, rel=0.19)
    assert s.p50_ms >= 1.0  # a bucket's upper bound: never below the value
    assert served.summary()["hit"].count == 0


def test_values_beyond_the_buckets_land_in_the_last_one() -> None:
    served = ServedLatency()
    served.record("origin", 0.0)
    served.record("origin", 1e9)
    s = served.summary()["origin"]
    assert s.count == 2
    assert s.p99_ms > 3_600_000  # over an hour: the last bucket


def test_records_from_many_threads_are_all_counted() -> None:
    served = ServedLatency()

    def work() -> None:
        for _ in range(1000):
            served.record("hit", 0.00002)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert served.summary()["hit"].count == 8000

"""The byte-accounted cache (ports mailgun's accounting and expiry tests)."""

from __future__ import annotations

import logging

import pytest

from groupcache import Value
from groupcache._core.cache import Cache, CacheStats, entry_size, populate
from groupcache._core.value import key_size


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_sizes_stay_exact_when_keys_are_replaced() -> None:
    """Ports mailgun TestEnsureSizeReportedCorrectly: 9 → 19 → 15 → 37 bytes."""
    c = Cache()
    c.add("key1", Value(b"value"))
    assert c.nbytes == 9
    c.add("key2", Value(b"value2"))
    assert c.nbytes == 19
    c.add("key2", Value(b"va"))
    assert c.nbytes == 15
    c.add("key1", Value(b"x" * 27))
    assert c.nbytes == 37
    assert len(c) == 2
    c.remove("key1")
    c.remove("key2")
    assert c.nbytes == 0


def test_key_size_counts_utf8_bytes() -> None:
    assert key_size("abc") == 3
    assert key_size("ünï") == 5
    assert key_size("\udcff") == 1  # surrogateescape'd raw byte from the wire
    c = Cache()
    c.add("ü", Value(b"12"))
    assert c.nbytes == 4


def test_entry_is_valid_at_its_expiry_and_gone_strictly_after() -> None:
    clock = Clock()
    c = Cache(clock)
    c.add("k", Value(b"v", expire_at=1010.0))
    clock.now = 1010.0
    assert c.get("k") == Value(b"v", 1010.0)
    clock.now = 1010.000001
    assert c.get("k") is None
    assert c.nbytes == 0
    assert c.stats().evictions == 1


def test_replacing_an_expired_value_extends_its_expiry() -> None:
    """Ports mailgun TestEnsureUpdateExpiredValue with an injected clock."""
    clock = Clock()
    c = Cache(clock)
    c.add("k", Value(b"v1", expire_at=clock.now + 1.1))
    clock.now += 1.0
    c.add("k", Value(b"v2", expire_at=clock.now + 1.1))
    clock.now += 1.0
    value = c.get("k")
    assert value is not None
    assert value.data == b"v2"


def test_stats_count_gets_hits_and_budget_evictions() -> None:
    c = Cache()
    c.add("a", Value(b"1"))
    c.add("b", Value(b"2"))
    assert c.get("a") is not None
    assert c.get("zz") is None
    c.remove_oldest()  # "b": "a" was used more recently
    assert "b" not in c
    c.remove("a")  # explicit removal is not an eviction
    assert c.stats() == CacheStats(
        bytes=0, items=0, gets=2, hits=1, evictions=1, evictions_nonexpired=1
    )


def test_clear_empties_the_cache() -> None:
    c = Cache()
    c.add("a", Value(b"1"))
    c.clear()
    assert c.nbytes == 0
    assert len(c) == 0
    assert "bytes=0" in repr(c)


def test_evicting_an_expired_entry_is_not_a_nonexpired_eviction() -> None:
    """Ports modernprogram lru.TestEvictNonExpired: only live entries count."""
    clock = Clock()
    c = Cache(clock)
    c.add("old", Value(b"1", expire_at=clock.now - 1))
    c.add("live", Value(b"2"))
    c.remove_oldest()
    c.remove_oldest()
    assert (c.stats().evictions, c.stats().evictions_nonexpired) == (2, 1)


def test_values_without_expiry_are_stored_as_plain_bytes() -> None:
    """A Value wrapper costs ~47 bytes per entry; only expiring values keep one."""
    c = Cache()
    c.add("plain", Value(b"abc"))
    c.add("expiring", Value(b"abc", expire_at=4102444800.0))
    assert type(c.peek("plain")) is bytes
    assert isinstance(c.peek("expiring"), Value)
    assert c.get("plain") == Value(b"abc")
    assert c.lookup("expiring") == Value(b"abc", 4102444800.0)
    assert c.nbytes == len("plain") + 3 + len("expiring") + 3
    c.add("plain", Value(b"abcdef", expire_at=4102444800.0))
    assert c.nbytes == len("plain") + 6 + len("expiring") + 3


def test_an_empty_value_is_a_hit_not_a_miss() -> None:
    c = Cache()
    c.add("empty", Value(b""))
    assert c.lookup("empty") == b""
    assert c.get_threadsafe("empty") == b""
    assert c.stats().hits == 1


@pytest.mark.timeout(5)
@pytest.mark.parametrize("drifted", ["main", "hot"])
def test_eviction_ends_and_recounts_when_a_byte_count_has_drifted(
    drifted: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Counts over the budget with nothing left to evict: the empty cache's count is
    reset to its true size (0) and logged, rather than evicting nothing forever."""
    main, hot = Cache(), Cache()
    populate(main, hot, 100, "a", Value(b"1"), main)
    populate(main, hot, 100, "b", Value(b"2"), hot)
    (main if drifted == "main" else hot).nbytes += 10_000
    with caplog.at_level(logging.WARNING, logger="groupcache"):
        populate(main, hot, 100, "c", Value(b"3"), main)
    assert "byte count" in caplog.text
    for cache in (main, hot):
        assert cache.nbytes == sum(key_size(k) + entry_size(e) for k, e in cache._od.items())
    assert main.nbytes + hot.nbytes <= 100

"""The cache as an LRU map (ports golang lru_test.go and mailgun's replace test).

Go's ``lru.Cache`` has an entry limit and an eviction callback; ours has neither (the
byte budget of :func:`populate` evicts), so only the map's behaviour is ported.
"""

from __future__ import annotations

from groupcache import Value
from groupcache._core.cache import Cache


def test_lookup_finds_an_added_key_and_misses_others() -> None:
    """Ports lru.TestGet."""
    cache = Cache()
    cache.add("myKey", Value(b"1234"))
    assert cache.lookup("myKey") == b"1234"
    assert cache.lookup("nonsense") is None


def test_remove_returns_the_entry_once_and_the_key_is_gone() -> None:
    """Ports lru.TestRemove."""
    cache = Cache()
    cache.add("myKey", Value(b"1234"))
    assert cache.remove("myKey") == b"1234"
    assert cache.lookup("myKey") is None
    assert cache.remove("myKey") is None


def test_remove_oldest_evicts_in_insertion_order() -> None:
    """Ports lru.TestEvict: with no lookups, myKey0 goes first, then myKey1."""
    cache = Cache()
    for i in range(22):
        cache.add(f"myKey{i}", Value(b"v"))
    assert [cache.remove_oldest(), cache.remove_oldest()] == [("myKey0", b"v"), ("myKey1", b"v")]
    assert len(cache) == 20


def test_a_lookup_makes_a_key_the_most_recently_used() -> None:
    cache = Cache()
    cache.add("a", Value(b"1"))
    cache.add("b", Value(b"2"))
    cache.lookup("a")
    assert cache.remove_oldest() == ("b", b"2")
    assert "a" in cache


def test_replacing_a_key_returns_the_old_entry_and_evicts_nothing() -> None:
    """mailgun TestAdd_evictsOldAndReplaces counts replacement as eviction; we return it."""
    cache = Cache()
    cache.add("k", Value(b"1"))
    assert cache.add("k", Value(b"2")) == b"1"
    assert cache.peek("k") == b"2"
    assert cache.stats().evictions == 0


def test_remove_oldest_on_an_empty_cache_returns_none() -> None:
    cache = Cache()
    assert cache.remove_oldest() is None
    cache.add("a", Value(b"1"))
    cache.clear()
    assert len(cache) == 0
    assert cache.remove_oldest() is None

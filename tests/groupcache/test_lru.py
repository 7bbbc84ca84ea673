"""The plain LRU map (ports golang lru_test.go and mailgun's replace test)."""

from __future__ import annotations

from groupcache._core.lru import LRU


def test_get_hits_and_misses() -> None:
    """Ports lru.TestGet."""
    lru: LRU[str, int] = LRU()
    lru.add("myKey", 1234)
    assert lru.get("myKey") == 1234
    assert lru.get("nonsense") is None


def test_remove_deletes_and_reports_eviction() -> None:
    """Ports lru.TestRemove."""
    evicted: list[tuple[str, int]] = []
    lru: LRU[str, int] = LRU(on_evicted=lambda k, v: evicted.append((k, v)))
    lru.add("myKey", 1234)
    assert lru.remove("myKey") == 1234
    assert lru.get("myKey") is None
    assert evicted == [("myKey", 1234)]
    assert lru.remove("myKey") is None


def test_max_entries_evicts_oldest_first() -> None:
    """Ports lru.TestEvict: 22 adds with MaxEntries=20 evict myKey0 then myKey1."""
    evicted: list[str] = []
    lru: LRU[str, int] = LRU(max_entries=20, on_evicted=lambda k, v: evicted.append(k))
    for i in range(22):
        lru.add(f"myKey{i}", i)
    assert evicted == ["myKey0", "myKey1"]
    assert len(lru) == 20


def test_get_refreshes_recency() -> None:
    lru: LRU[str, int] = LRU(max_entries=2)
    lru.add("a", 1)
    lru.add("b", 2)
    lru.get("a")
    lru.add("c", 3)
    assert "a" in lru
    assert "b" not in lru
    assert list(lru) == ["a", "c"]


def test_replacing_a_key_returns_old_value_without_eviction_callback() -> None:
    """mailgun TestAdd_evictsOldAndReplaces counts replacement as eviction; we return it."""
    evicted: list[str] = []
    lru: LRU[str, int] = LRU(on_evicted=lambda k, v: evicted.append(k))
    lru.add("k", 1)
    assert lru.add("k", 2) == 1
    assert lru.peek("k") == 2
    assert evicted == []


def test_clear_and_remove_oldest_on_empty() -> None:
    lru: LRU[str, int] = LRU()
    assert lru.remove_oldest() is None
    lru.add("a", 1)
    lru.clear()
    assert len(lru) == 0
    assert "LRU entries=0" in repr(lru)

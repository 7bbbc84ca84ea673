"""Group semantics in one process (ports golang/mailgun/v3 groupcache_test.go)."""

from __future__ import annotations

import asyncio
import random
import threading

import pytest

from groupcache import (
    DuplicateGroupError,
    Group,
    GroupcacheError,
    GroupStats,
    InvalidKeyError,
    InvalidValueError,
    MultiError,
    NotFoundError,
    PeerError,
    Value,
    Workspace,
)
from tests.groupcache.helpers import FakePeer, ModPicker
from tests.support.clock import Clock
from tests.support.getters import CountingGetter
from tests.support.waiting import until


async def test_concurrent_gets_of_a_cold_key_run_the_getter_once(workspace: Workspace) -> None:
    """Ports TestGetDupSuppressString (with 20 callers instead of 2)."""
    getter = CountingGetter(b"ECHO:")
    getter.gate = asyncio.Event()
    g = Group("dup", getter, 1 << 20, workspace=workspace)
    tasks = [asyncio.create_task(g.get("foo")) for _ in range(20)]
    await until(lambda: getter.started == 1)
    await until(lambda: (f := g._local_flights.get("foo")) is not None and f.waiters == 20)
    getter.gate.set()
    assert await asyncio.gather(*tasks) == [b"ECHO:foo"] * 20
    assert getter.calls["foo"] == 1
    s = g.stats()
    assert (s.gets, s.loads, s.loads_deduped, s.local_loads) == (20, 20, 1, 1)


async def test_repeated_gets_fill_the_cache_once(workspace: Workspace) -> None:
    """Ports TestCaching: 10 gets of one key → exactly 1 fill."""
    getter = CountingGetter()
    g = Group("caching", getter, 1 << 20, workspace=workspace)
    for _ in range(10):
        assert await g.get("TestCaching-key") == b"v:TestCaching-key"
    assert getter.total == 1
    assert g.stats().cache_hits == 9


async def test_flooding_the_cache_evicts_and_refills(workspace: Workspace) -> None:
    """Ports TestCacheEviction: flooding past the budget evicts the test key."""
    getter = CountingGetter()
    g = Group("evict", getter, 1 << 20, workspace=workspace)
    await g.get("TestCacheEviction-key")
    evictions = g.cache_stats("main").evictions
    n = 0
    while g.cache_stats("main").evictions == evictions:
        await g.get(f"dummy-key-{n}" + "x" * 1000)
        n += 1
    assert g.cache_stats("main").bytes <= 1 << 20
    await g.get("TestCacheEviction-key")
    assert getter.calls["TestCacheEviction-key"] == 2


async def test_serial_flights_for_one_key_store_it_once(workspace: Workspace) -> None:
    """Ports TestNoDedup: the cache re-check inside the flight keeps one copy."""
    getter = CountingGetter()
    g = Group("nodedup", getter, 1 << 20, workspace=workspace)
    await asyncio.gather(*(g.get("key") for _ in range(100)))
    await g.get("key")
    main = g.cache_stats("main")
    assert (main.items, main.bytes) == (1, len("key") + len("v:key"))


async def test_values_expire_lazily_and_strictly_after_their_deadline(workspace: Workspace) -> None:
    """Ports mailgun TestCachingExpire with an injected clock instead of sleeps."""
    clock = Clock()
    fills = 0

    async def getter(key: str) -> Value:
        nonlocal fills
        fills += 1
        return Value(b"v", expire_at=clock.now + 0.1)

    g = Group("expire", getter, 1 << 20, workspace=workspace, clock=clock)
    await g.get("k")
    clock.now += 0.1  # exactly at the deadline: still valid
    await g.get("k")
    assert fills == 1
    clock.now += 0.05
    await g.get("k")
    assert fills == 2


async def test_a_value_larger_than_the_budget_is_returned_but_not_cached(
    workspace: Workspace,
) -> None:
    getter = CountingGetter()
    g = Group("big", getter, 100, workspace=workspace)
    await g.get("small")
    big_key = "b" * 200
    assert await g.get(big_key) == b"v:" + big_key.encode()
    assert await g.get(big_key) == b"v:" + big_key.encode()
    assert getter.calls[big_key] == 2
    assert g.cache_stats("main").items == 1  # "small" was not flushed out by it


async def test_size_zero_disables_caching(workspace: Workspace) -> None:
    getter = CountingGetter()
    g = Group("nocache", getter, 0, workspace=workspace)
    for _ in range(3):
        await g.get("k")
    assert getter.total == 3
    assert g.cache_stats("main").gets == 0
    await g.set("k", b"x")
    assert g.cache_stats("main").items == 0


async def test_eviction_takes_the_hot_tail_while_hot_exceeds_an_eighth_of_main(
    workspace: Workspace,
) -> None:
    peer = FakePeer(0)
    g = Group("rule", CountingGetter(), 1000, workspace=workspace)
    for i in range(8):  # 8 main entries of 100 bytes
        g.local_set(f"m{i}", Value(b"x" * 98))
    workspace.set_peer_picker(ModPicker([peer]))
    h0, h1 = "h" + "0" * 60, "h" + "1" * 60  # peer values "peer0:" + key: entries of 128 B
    await g.get(h0)  # 928 B in all: under budget, nothing goes
    assert (g.cache_stats("main").items, g.cache_stats("hot").items) == (8, 1)
    await g.get(h1)  # 1056 B; hot 256 > 800 // 8: the hot tail h0 goes
    assert h0 not in g._hot
    assert h1 in g._hot
    assert g.cache_stats("main").items == 8
    workspace.set_peer_picker(ModPicker([None]))
    g.local_set("m8", Value(b"x" * 98))  # 1028 B; hot 128 > 900 // 8 = 112: hot goes
    assert g.cache_stats("hot").items == 0
    assert g.cache_stats("main").items == 9
    g.local_set("m9", Value(b"x" * 97))  # 999 B: fits
    g.local_set("m10", Value(b"x" * 97))  # 1099 B; hot is empty: the main tail m0 goes
    assert "m0" not in g._main
    assert "m1" in g._main
    assert g.cache_stats("main").bytes == 999


async def test_peers_split_loads_as_golang_testpeers(workspace: Workspace) -> None:
    """Ports TestPeers: crc32 % 4 over [p0, p1, p2, local] → 49 local, 51/49/51 peers."""
    peers = [FakePeer(i) for i in range(3)]
    workspace.set_peer_picker(ModPicker([*peers, None]))
    getter = CountingGetter()
    g = Group("peers", getter, 1 << 20, workspace=workspace)
    keys = [f"key-{i}" for i in range(200)]
    for key in keys:
        value = await g.get(key)
        assert value == b"v:" + key.encode() or value.split(b":", 1)[1] == key.encode()
    assert getter.total == 49
    assert [p.hits for p in peers] == [51, 49, 51]
    # cached_base with hot admission "always" (mailgun): no peer is asked again.
    for key in keys:
        await g.get(key)
    assert [p.hits for p in peers] == [51, 49, 51]
    assert g.stats().peer_loads == 151


async def test_golang_hot_admission_takes_about_one_in_ten(workspace: Workspace) -> None:
    """golang's cached_base: with rand 1-in-10 admission peers keep being asked."""
    peers = [FakePeer(i) for i in range(3)]
    workspace.set_peer_picker(ModPicker([*peers, None]))
    rng = random.Random(123)
    g = Group(
        "golanghot", CountingGetter(), 1 << 20, workspace=workspace, hot_cache="golang", rng=rng
    )
    keys = [f"key-{i}" for i in range(200)]
    for key in keys:
        await g.get(key)
    admitted = g.cache_stats("hot").items
    replay = random.Random(123)  # one draw per successful peer fetch
    assert admitted == sum(1 for _ in range(151) if replay.randrange(10) == 0)
    assert 0 < admitted < 40
    for key in keys:
        await g.get(key)
    assert sum(p.hits for p in peers) == 151 + (151 - admitted)


async def test_never_hot_admission_keeps_asking_the_owner(workspace: Workspace) -> None:
    peer = FakePeer(0)
    workspace.set_peer_picker(ModPicker([peer]))
    g = Group("neverhot", CountingGetter(), 1 << 20, workspace=workspace, hot_cache="never")
    await g.get("a")
    await g.get("a")
    assert peer.hits == 2
    assert g.cache_stats("hot").items == 0


async def test_a_failing_peer_falls_back_to_a_local_load(workspace: Workspace) -> None:
    """golang TestPeers 'peer errors': the peer is tried, then the getter runs."""
    peer = FakePeer(0, fail=True)
    workspace.set_peer_picker(ModPicker([peer]))
    getter = CountingGetter()
    g = Group("fallback", getter, 1 << 20, workspace=workspace)
    for i in range(10):
        assert await g.get(f"k{i}") == f"v:k{i}".encode()
    s = g.stats()
    assert (peer.hits, s.peer_errors, s.local_loads, s.peer_loads) == (10, 10, 10, 0)
    assert g.cache_stats("main").items == 10  # the fallback result is cached locally


async def test_not_found_from_the_owner_is_returned_without_local_retry(
    workspace: Workspace,
) -> None:
    class Missing(FakePeer):
        async def get(self, group: str, key: str) -> Value:
            raise NotFoundError("no such thing")

    workspace.set_peer_picker(ModPicker([Missing(0)]))
    getter = CountingGetter()
    g = Group("nf", getter, 1 << 20, workspace=workspace)
    with pytest.raises(NotFoundError, match="no such thing"):
        await g.get("k")
    assert getter.total == 0
    assert g.stats().peer_errors == 0


async def test_getter_exceptions_reach_the_caller_unchanged_and_are_not_cached(
    workspace: Workspace,
) -> None:
    calls = 0
    err = ValueError("backend down")

    async def getter(key: str) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise err
        return b"ok"

    g = Group("errs", getter, 1 << 20, workspace=workspace)
    with pytest.raises(ValueError, match="backend down") as info:
        await g.get("k")
    assert info.value is err
    assert await g.get("k") == b"ok"
    s = g.stats()
    assert (s.local_load_errs, s.local_loads) == (1, 1)


async def test_a_getter_raising_base_exception_does_not_wedge_the_key(workspace: Workspace) -> None:
    class Boom(BaseException):
        pass

    calls = 0

    async def getter(key: str) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise Boom()
        return b"fine"

    g = Group("boom", getter, 1 << 20, workspace=workspace)
    with pytest.raises(Boom):
        await g.get("k")
    assert await g.get("k") == b"fine"


@pytest.mark.parametrize("plain", [False, True])
async def test_a_getter_raising_cancelled_error_is_an_error_not_a_cancellation(
    workspace: Workspace, plain: bool
) -> None:
    calls = 0
    gate = asyncio.Event()

    async def getter(key: str) -> bytes:
        nonlocal calls
        calls += 1
        await gate.wait()
        if calls == 1:
            raise asyncio.CancelledError()  # e.g. leaked from a library it awaited
        return b"fine"

    def plain_getter(key: str) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise asyncio.CancelledError()
        return b"fine"

    g = Group("cancel", plain_getter if plain else getter, 1 << 20, workspace=workspace)
    waiters = [asyncio.create_task(g.get("k")) for _ in range(3)]
    await until(lambda: calls == 1)
    gate.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert not any(t.cancelled() for t in waiters)
    assert all(isinstance(r, GroupcacheError) for r in results), results
    assert "without being cancelled" in str(results[0])
    assert await g.get("k") == b"fine"  # nothing cached, the key not wedged


async def test_plain_function_getters_run_off_the_event_loop(workspace: Workspace) -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []

    def getter(key: str) -> bytearray:
        seen.append(threading.get_ident())
        return bytearray(b"sync:" + key.encode())

    g = Group("syncgetter", getter, 1 << 20, workspace=workspace)
    assert await g.get("k") == b"sync:k"
    assert seen
    assert seen[0] != loop_thread


async def test_getter_results_that_are_not_bytes_are_a_clear_error(workspace: Workspace) -> None:
    async def getter(key: str) -> bytes:
        return "a str, not bytes"  # type: ignore[return-value]

    g = Group("badvalue", getter, 1 << 20, workspace=workspace)
    with pytest.raises(InvalidValueError, match=r"bytes or groupcache\.Value, not str"):
        await g.get("k")
    assert g.stats().local_load_errs == 1
    with pytest.raises(InvalidValueError):
        Value("text")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        Value(b"x", expire_at="soon")  # type: ignore[arg-type]
    converted = Value(memoryview(b"mv"))  # type: ignore[arg-type]
    assert converted.data == b"mv"


async def test_bad_keys_are_rejected_clearly(workspace: Workspace) -> None:
    g = Group("keys", CountingGetter(), 1 << 20, workspace=workspace, max_key_bytes=8)
    with pytest.raises(InvalidKeyError, match="must be str, not bytes"):
        await g.get(b"k")  # type: ignore[arg-type]
    with pytest.raises(InvalidKeyError, match="over the limit of 8"):
        await g.get("123456789")
    with pytest.raises(InvalidKeyError, match="9 bytes"):
        await g.get("üüüü1")  # 5 characters, 9 bytes
    assert await g.get("üüüü") == "v:üüüü".encode()
    assert await g.get("") == b"v:"


@pytest.mark.parametrize("key", ["\ud800", "a\udfffb", "é\ud83d"])
async def test_keys_with_lone_surrogates_are_rejected_before_any_load(
    workspace: Workspace, key: str
) -> None:
    getter = CountingGetter()
    g = Group("surrogates", getter, 1 << 20, workspace=workspace)
    for call in (g.get(key), g.get_value(key), g.set(key, b"x"), g.remove(key)):
        with pytest.raises(InvalidKeyError, match="not encodable as UTF-8"):
            await call
    assert getter.total == 0
    # Surrogates that stand for undecodable bytes (surrogateescape) remain valid keys.
    assert await g.get("\udcff") == b"v:\xff"
    assert getter.total == 1


async def test_a_remove_overtaking_a_load_keeps_the_old_value_out_of_the_cache(
    workspace: Workspace,
) -> None:
    """No Go variant orders Remove against in-flight loads; we do."""
    getter = CountingGetter()
    getter.gate = asyncio.Event()
    g = Group("race-remove", getter, 1 << 20, workspace=workspace)
    first = asyncio.create_task(g.get("k"))
    await until(lambda: getter.started == 1)
    await g.remove("k")
    getter.gate.set()
    assert await first == b"v:k"
    assert "k" not in g._main
    await g.get("k")
    assert getter.calls["k"] == 2


async def test_a_set_overtaking_a_load_is_not_undone(workspace: Workspace) -> None:
    getter = CountingGetter()
    getter.gate = asyncio.Event()
    g = Group("race-set", getter, 1 << 20, workspace=workspace)
    first = asyncio.create_task(g.get("k"))
    await until(lambda: getter.started == 1)
    await g.set("k", b"new")
    getter.gate.set()
    assert await first == b"v:k"  # that get began before the set
    assert await g.get("k") == b"new"
    assert getter.calls["k"] == 1


async def test_gets_after_a_remove_do_not_join_the_stale_load(workspace: Workspace) -> None:
    getter = CountingGetter()
    getter.gate = asyncio.Event()
    g = Group("race-join", getter, 1 << 20, workspace=workspace)
    first = asyncio.create_task(g.get("k"))
    await until(lambda: getter.started == 1)
    g.local_remove("k")
    second = asyncio.create_task(g.get("k"))
    await until(lambda: getter.started == 2)
    getter.gate.set()
    await asyncio.gather(first, second)
    assert getter.calls["k"] == 2


async def test_set_stores_with_expiry_and_remove_drops(workspace: Workspace) -> None:
    clock = Clock()
    getter = CountingGetter()
    g = Group("setrm", getter, 1 << 20, workspace=workspace, clock=clock)
    await g.set("k", b"stored", expire=clock.now + 5)
    assert await g.get("k") == b"stored"
    assert (await g.get_value("k")).expire_at == clock.now + 5
    clock.now += 6
    assert await g.get("k") == b"v:k"
    await g.remove("k")
    assert await g.get("k") == b"v:k"
    assert getter.total == 2


async def test_a_set_too_large_to_cache_drops_the_old_value(workspace: Workspace) -> None:
    """A Set replaces the value even when the new one is over the budget (not cached)."""
    getter = CountingGetter()
    g = Group("bigset", getter, 100, workspace=workspace)
    assert await g.get("k") == b"v:k"
    await g.set("k", b"x" * 200)
    assert "k" not in g._main
    assert g.cache_stats("main").bytes == 0
    assert await g.get("k") == b"v:k"  # reloaded, never the value the Set replaced
    assert getter.calls["k"] == 2


async def test_a_set_a_peer_would_refuse_changes_nothing_anywhere(workspace: Workspace) -> None:
    class Limited(FakePeer):
        def check_set(self, group: str, key: str, value: Value) -> None:
            if len(value.data) > 10:
                raise InvalidValueError("over the limit of 10")

    peers = [Limited(0), Limited(1)]
    workspace.set_peer_picker(ModPicker([None, *peers]))  # this node owns some keys
    g = Group("limits", CountingGetter(), 1 << 20, workspace=workspace)
    local = next(
        k for k in (f"k{i}" for i in range(100)) if workspace.peer_picker.pick_peer(k) is None
    )
    await g.set(local, b"small")
    for key in (local, "k-remote"):
        with pytest.raises(InvalidValueError, match="over the limit of 10"):
            await g.set(key, b"x" * 11)
    assert g._main.get(local) == Value(b"small")
    assert [len(p.sets) for p in peers] == [1, 1]  # only the first, valid Set


async def test_set_and_remove_go_to_the_owner_then_everyone(workspace: Workspace) -> None:
    peers = [FakePeer(i) for i in range(3)]
    workspace.set_peer_picker(ModPicker(peers))
    g = Group("bcast", CountingGetter(), 1 << 20, workspace=workspace)
    await g.set("key-1", b"x")
    assert sorted(len(p.sets) for p in peers) == [1, 1, 1]
    assert "key-1" in g._main
    await g.remove("key-1")
    assert [len(p.removes) for p in peers] == [1, 1, 1]
    assert "key-1" not in g._main


async def test_remove_keys_asks_the_owners_first_then_everyone(workspace: Workspace) -> None:
    peers = [FakePeer(i) for i in range(3)]  # no remove_keys: one Remove per key
    workspace.set_peer_picker(ModPicker([None, *peers]))
    g = Group("rmkeys", CountingGetter(), 1 << 20, workspace=workspace)
    keys = [f"k{i}" for i in range(12)]
    for key in keys:
        g.local_set(key, Value(b"x"))
    peers[1].fail = True
    owned = [k for k in keys if workspace.peer_picker.pick_peer(k) is peers[1]]
    assert owned
    with pytest.raises(MultiError, match="fake://peer1"):
        await g.remove_keys(keys)
    assert not any(k in g._main for k in keys)  # an owner failed: everyone else removed
    for key in keys:
        g.local_set(key, Value(b"x"))
    peers[1].fail = False
    await g.remove_keys(keys)
    assert not any(k in g._main for k in keys)
    assert [len(p.removes) for p in peers] == [24, 12, 24]  # the first try reached 0 and 2
    await g.remove_keys([])
    with pytest.raises(InvalidKeyError):
        await g.remove_keys(["ok", 5])  # type: ignore[list-item]


async def test_broadcast_failures_are_collected_after_owner_and_local_succeed(
    workspace: Workspace,
) -> None:
    owner, down1, down2 = FakePeer(0), FakePeer(1, fail=True), FakePeer(2, fail=True)

    class OwnerFirst(ModPicker):
        def pick_peer(self, key: str) -> FakePeer:
            return owner

    workspace.set_peer_picker(OwnerFirst([owner, down1, down2]))
    g = Group("partial", CountingGetter(), 1 << 20, workspace=workspace)
    with pytest.raises(MultiError) as info:
        await g.set("k", b"x")
    assert len(info.value.errors) == 2
    assert owner.sets
    assert "k" in g._main
    workspace.set_peer_picker(OwnerFirst([down1]))
    owner.fail = True
    with pytest.raises(MultiError) as info:
        await g.remove("k")
    assert [str(e) for e in info.value.errors] == ["fake://peer0 is down", "fake://peer1 is down"]
    assert "k" not in g._main  # the owner refused: still removed here
    workspace.set_peer_picker(OwnerFirst([]))
    g.local_set("k", Value(b"x"))
    with pytest.raises(PeerError, match="fake://peer0"):  # the owner alone failed
        await g.remove("k")
    assert "k" not in g._main


async def test_stats_snapshot_is_frozen_and_repr_is_informative(workspace: Workspace) -> None:
    g = Group("snap", CountingGetter(), 1 << 20, workspace=workspace)
    await g.get("a")
    s = g.stats()
    assert s == GroupStats(gets=1, loads=1, loads_deduped=1, local_loads=1)
    with pytest.raises(AttributeError):
        s.gets = 5  # type: ignore[misc]
    assert "snap" in repr(g)
    assert g.cache_stats("hot").items == 0
    with pytest.raises(ValueError, match="'main' or 'hot'"):
        g.cache_stats("cold")  # type: ignore[arg-type]


def test_duplicate_group_names_are_a_clear_error(workspace: Workspace) -> None:
    Group("twice", CountingGetter(), 10, workspace=workspace)
    with pytest.raises(DuplicateGroupError, match="twice"):
        Group("twice", CountingGetter(), 10, workspace=workspace)
    with pytest.raises(GroupcacheError, match="without '/'"):
        Group("a/b", CountingGetter(), 10, workspace=workspace)
    with pytest.raises(GroupcacheError, match="hot_cache"):
        Group("h", CountingGetter(), 10, workspace=workspace, hot_cache="sometimes")  # type: ignore[call-overload]


def test_get_sync_without_a_loop_uses_the_workspace_loop_thread() -> None:
    with Workspace() as workspace:
        getter = CountingGetter()
        g = Group("sync", getter, 1 << 20, workspace=workspace)
        assert g.get_sync("k") == b"v:k"
        assert g.get_sync("k") == b"v:k"
        g.set_sync("k2", b"direct")
        assert g.get_sync("k2") == b"direct"
        g.remove_sync("k2")
        assert g.get_sync("k2") == b"v:k2"
        assert getter.total == 2
    assert workspace.live_loop() is None


async def test_get_sync_from_worker_threads_is_served_by_the_groups_loop(
    workspace: Workspace,
) -> None:
    getter = CountingGetter()
    g = Group("threads", getter, 1 << 20, workspace=workspace)
    await g.get("warm")  # binds the group to this loop
    getter.gate = asyncio.Event()
    # 4 threads: the default executor of a 2-core machine has only 6 workers.
    results = [asyncio.create_task(asyncio.to_thread(g.get_sync, "k")) for _ in range(4)]
    await until(lambda: (f := g._local_flights.get("k")) is not None and f.waiters == 4)
    getter.gate.set()
    assert await asyncio.gather(*results) == [b"v:k"] * 4
    assert getter.calls["k"] == 1


async def test_get_sync_inside_the_event_loop_is_refused(workspace: Workspace) -> None:
    g = Group("inloop", CountingGetter(), 1 << 20, workspace=workspace)
    with pytest.raises(GroupcacheError, match="use the async method"):
        g.get_sync("k")


def test_get_sync_timeout_cancels_the_wait(workspace: Workspace) -> None:
    gate = threading.Event()

    async def getter(key: str) -> bytes:
        await asyncio.to_thread(gate.wait, 10)
        return b"late"

    g = Group("slow", getter, 1 << 20, workspace=workspace)
    with pytest.raises(TimeoutError):
        g.get_sync("k", timeout=0.05)
    gate.set()


def test_get_sync_hits_skip_the_loop_and_are_counted(workspace: Workspace) -> None:
    peer = FakePeer(0)
    g = Group("synchits", CountingGetter(), 1 << 20, workspace=workspace)
    g.get_sync("local")  # a miss: goes through the loop thread
    workspace.set_peer_picker(ModPicker([peer]))
    g.get_sync("remote")  # fetched from the fake peer into the hot cache
    workspace.set_peer_picker(ModPicker([None]))
    before = g.stats()
    results = []

    def reader() -> None:
        for _ in range(50):
            results.append(g.get_sync("local"))
            results.append(g.get_sync("remote"))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(b"v:local") == 200
    assert results.count(b"peer0:remote") == 200
    after = g.stats()
    assert after.gets - before.gets == 400
    assert after.cache_hits - before.cache_hits == 400
    assert after.loads == before.loads  # no trip to the loop, no load
    assert g.cache_stats("hot").hits == 200
    assert g.cache_stats("main").hits == 200
    assert g.cache_stats("main").gets == 4 + 400  # 2 misses with re-checks, sync hits


async def test_empty_values_are_cached_like_any_other(workspace: Workspace) -> None:
    calls = 0

    async def empty(key: str) -> bytes:
        nonlocal calls
        calls += 1
        return b""

    g = Group("empty", empty, 1 << 20, workspace=workspace)
    assert await g.get("k") == b""
    assert await g.get("k") == b""
    assert calls == 1
    assert g.stats().cache_hits == 1


async def test_get_values_serves_hits_at_once_and_loads_each_miss_once(
    workspace: Workspace,
) -> None:
    getter = CountingGetter(b"v:")

    async def load(key: str) -> bytes:
        if key == "missing":
            raise NotFoundError(key)
        return await getter(key)

    g = Group("g", load, 1 << 20, workspace=workspace, max_key_bytes=8)
    await g.get("hit")
    results = await g.get_values(["hit", "miss", "missing", "k" * 9, "miss"])
    assert [r.data if isinstance(r, Value) else type(r) for r in results] == [
        b"v:hit",
        b"v:miss",
        NotFoundError,
        InvalidKeyError,
        b"v:miss",
    ]
    assert getter.calls == {"hit": 1, "miss": 1}  # the two gets of "miss" shared a load
    stats = g.stats()
    assert (stats.gets, stats.cache_hits, stats.local_loads) == (6, 1, 2)

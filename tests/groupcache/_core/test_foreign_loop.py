"""A group homed on one event loop (in a thread) and used from another loop or thread.

Every public entry point either runs on the home loop or is safe from anywhere: the
caches are only ever changed by the home loop's thread, and writes use the home loop's
peer connections, so they reach real peers at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from groupcache import Group, GroupcacheError, Value, Workspace
from groupcache._core.blocking import LoopThread
from groupcache._core.cache import Cache, Entry
from tests.support.cluster import Node, cluster, node_of
from tests.support.getters import CountingGetter

T = TypeVar("T")


class RecordingCache(Cache):
    """A cache that records the threads that change it (or look it up, which may)."""

    def __init__(self, threads: set[int], clock: Callable[[], float]) -> None:
        super().__init__(clock)
        self.threads = threads

    def _seen(self) -> None:
        self.threads.add(threading.get_ident())

    def lookup(self, key: str) -> Entry | None:
        self._seen()
        return super().lookup(key)

    def add(self, key: str, value: Entry) -> Entry | None:
        self._seen()
        return super().add(key, value)

    def remove(self, key: str) -> Entry | None:
        self._seen()
        return super().remove(key)

    def remove_oldest(self) -> tuple[str, Entry] | None:
        self._seen()
        return super().remove_oldest()

    def clear(self) -> None:
        self._seen()
        super().clear()


@contextlib.contextmanager
def home_loop() -> Iterator[LoopThread]:
    thread = LoopThread("home")
    try:
        yield thread
    finally:
        thread.stop()


def on(thread: LoopThread, coro: Coroutine[Any, Any, T]) -> Awaitable[T]:
    """Run ``coro`` on ``thread``'s loop; await the result from the current loop."""
    return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, thread.loop))


def home_ident(thread: LoopThread) -> int:
    ident = thread._thread.ident
    assert ident is not None
    return ident


Op = Callable[[Group], Awaitable[object]]


async def _get_hit(g: Group) -> object:
    return await g.get("cached")


async def _get_expiring_hit(g: Group) -> object:
    return await g.get("expiring")


async def _get_miss(g: Group) -> object:
    return await g.get("cold")


async def _get_value(g: Group) -> object:
    return (await g.get_value("cached")).data, (await g.get_value("cold")).data


async def _get_values(g: Group) -> object:
    return [v.data for v in await g.get_values(["cached", "cold"]) if isinstance(v, Value)]


async def _set(g: Group) -> object:
    await g.set("cached", b"new")
    return g._main.peek("cached")


async def _remove(g: Group) -> object:
    await g.remove("cached")
    return "cached" in g._main


async def _remove_keys(g: Group) -> object:
    await g.remove_keys(["cached", "expiring"])
    return len(g._main)


async def _local_set(g: Group) -> object:
    g.local_set("cached", Value(b"local"))
    return g._main.peek("cached")


async def _local_remove(g: Group) -> object:
    g.local_remove("cached")
    return "cached" in g._main


async def _clear(g: Group) -> object:
    g.clear()
    return len(g._main)


async def _stats(g: Group) -> object:
    await g.get("cached")
    return g.stats().gets, g.stats().cache_hits, g.cache_stats("main").hits


async def _get_sync(g: Group) -> object:
    hit = await asyncio.to_thread(g.get_sync, "cached")
    return hit, await asyncio.to_thread(g.get_sync, "cold")


async def _sync_writes(g: Group) -> object:
    await asyncio.to_thread(g.set_sync, "cached", b"new")
    await asyncio.to_thread(g.remove_sync, "expiring")
    await asyncio.to_thread(g.local_remove, "cold")
    return g._main.peek("cached"), "expiring" in g._main


CASES: dict[str, tuple[Op, object]] = {
    "get hit": (_get_hit, b"v:cached"),
    "get expiring hit": (_get_expiring_hit, b"soon"),
    "get miss": (_get_miss, b"v:cold"),
    "get_value": (_get_value, (b"v:cached", b"v:cold")),
    "get_values": (_get_values, [b"v:cached", b"v:cold"]),
    "set": (_set, b"new"),
    "remove": (_remove, False),
    "remove_keys": (_remove_keys, 0),
    "local_set": (_local_set, b"local"),
    "local_remove": (_local_remove, False),
    "clear": (_clear, 0),
    "stats": (_stats, (3, 2, 2)),
    "get_sync": (_get_sync, (b"v:cached", b"v:cold")),
    "set_sync, remove_sync, local_remove": (_sync_writes, (b"new", False)),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_every_entry_point_used_from_another_loop_changes_caches_only_on_the_home_loop(
    case: str,
) -> None:
    op, expected = CASES[case]
    threads: set[int] = set()
    with Workspace() as ws, home_loop() as home:
        ws.bind_loop(home.loop)
        g = Group("g", CountingGetter(), 1 << 20, workspace=ws, clock=lambda: 100.0)
        g._main = RecordingCache(threads, g._clock)
        g._hot = RecordingCache(threads, g._clock)
        await on(home, g.get("cached"))
        await on(home, g.set("expiring", b"soon", expire=200.0))
        await on(home, g.get("cached"))  # one hit on the home loop
        threads.clear()
        async with asyncio.timeout(10):
            assert await op(g) == expected
        assert threads <= {home_ident(home)}, "a cache was used off the home loop"


@contextlib.asynccontextmanager
async def homed_cluster(n: int, **kwargs: Any) -> AsyncIterator[tuple[LoopThread, list[Node]]]:
    """``n`` nodes whose workspaces live on a loop in another thread."""
    with home_loop() as home:
        nodes_cm = cluster(n, **kwargs)
        nodes = await on(home, nodes_cm.__aenter__())
        try:
            yield home, nodes
        finally:
            await on(home, nodes_cm.__aexit__(None, None, None))


@pytest.mark.parametrize("write", ["set", "remove", "remove_keys"])
async def test_writes_awaited_from_another_loop_reach_a_real_peer_at_once(write: str) -> None:
    """The peer timeout is 30 s: a write that went through the home loop's connections
    from this loop would stall for it; it must finish in a blink."""
    async with homed_cluster(2, timeout=30.0) as (home, (a, b)):
        keys = [f"k{i}" for i in range(20)]
        for key in keys:  # both nodes cache every key
            await on(home, a.group.get(key))
            await on(home, b.group.get(key))
        key = next(k for k in keys if a.pool.owner(k) == b.url)
        async with asyncio.timeout(5):
            for _ in range(3):  # the second and later reuse idle connections
                if write == "set":
                    await a.group.set(key, b"new")
                elif write == "remove":
                    await a.group.remove(key)
                else:
                    await a.group.remove_keys(keys)
        value = await on(home, b.group.get(key))
        assert value == (b"new" if write == "set" else b"n1:" + key.encode())
        if write != "set":
            assert b.getter.calls[key] == 2  # removed on b, so loaded again there
        assert node_of([a, b], a.pool.owner(key)) is b


@pytest.mark.timeout(150)  # a fixed amount of work: 6-15 s alone, far more on a busy machine
async def test_hits_from_another_loop_while_the_home_loop_evicts_never_fail() -> None:
    """Foreign-loop hits race the home loop's evictions (and expiries), with the GIL
    switching as often as it can: no error, exact byte accounting, exact counters."""
    reads, foreign_reads = 64 * 300, 0
    keys = [f"key-{i:03d}" for i in range(64)]
    stop = threading.Event()
    with Workspace() as ws, home_loop() as home:
        ws.bind_loop(home.loop)
        clock = [100.0]
        g = Group("evict", CountingGetter(), 40 * 16, workspace=ws, clock=lambda: clock[0])

        async def evict() -> int:
            i = 0
            while not stop.is_set() and i < 10_000_000:  # bounded, in case the reader dies
                key = keys[i % len(keys)]
                expire = None if i % 3 else clock[0] + 0.5  # some expire as the clock moves
                g.local_set(key, Value(b"x" * 8, expire))
                i += 1
                if i % 10 == 0:
                    clock[0] += 1.0
                    await asyncio.sleep(0)  # a yield, so the home loop serves misses
            return i

        errors: list[BaseException] = []
        old = sys.getswitchinterval()
        sys.setswitchinterval(1e-5)
        try:
            evicting = on(home, evict())
            async with asyncio.timeout(120):
                try:
                    while foreign_reads < reads:
                        for key in keys:
                            try:
                                await g.get(key)
                            except Exception as exc:  # counted, never expected
                                errors.append(exc)
                            foreign_reads += 1
                finally:
                    stop.set()
                evictions = await evicting
        finally:
            sys.setswitchinterval(old)
        assert evictions > 100
        assert errors == []

        async def true_bytes() -> tuple[int, int]:
            caches = (g._main, g._hot)
            return sum(c.nbytes for c in caches), sum(
                len(k) + len(e if isinstance(e, bytes) else e.data)
                for c in caches
                for k, e in c._od.items()
            )

        counted, actual = await on(home, true_bytes())
        assert counted == actual
        assert g.stats().gets == foreign_reads


class VanishingDict(OrderedDict[str, Entry]):
    """The home loop evicts each entry just after another thread has read it."""

    def __init__(self, home: int) -> None:
        super().__init__()
        self.home = home

    def move_to_end(self, key: str, last: bool = True) -> None:
        if threading.get_ident() != self.home:
            raise KeyError(key)
        super().move_to_end(key, last)


async def test_a_hit_from_another_loop_on_an_entry_evicted_meanwhile_is_still_served() -> None:
    with Workspace() as ws, home_loop() as home:
        ws.bind_loop(home.loop)
        g = Group("g", CountingGetter(), 1 << 20, workspace=ws)
        vanishing = g._main._od = VanishingDict(home_ident(home))
        g._main.peek, g._main.touch = vanishing.get, vanishing.move_to_end
        await on(home, g.get("k"))
        assert await g.get("k") == b"v:k"
        assert g.stats().cache_hits == 1


async def test_a_group_removed_from_its_workspace_still_serves_gets() -> None:
    """mailgun's DeregisterGroup: the workspace forgets the group, whose home loop then
    goes stale; a get must rebind it, not hand the call back to itself for ever."""
    ws = Workspace()
    try:
        group = Group("removed", lambda key: b"v", 1 << 20, workspace=ws)
        ws.remove_group("removed")
        ws.bind_loop(asyncio.get_running_loop())  # the workspace moves on without it
        assert await group.get("k") == b"v"
        assert await group.get("k") == b"v"  # and the hit
    finally:
        ws.close()


@pytest.mark.parametrize("via", ["await", "get_sync"])
async def test_a_get_handed_to_a_home_loop_that_stops_fails_instead_of_hanging(via: str) -> None:
    """The home loop's owner stops it (``loop.stop()``) with a handed-over get still on
    it: the caller, on another loop or a thread, gets a GroupcacheError, not a wait for
    ever."""
    home = asyncio.new_event_loop()
    thread = threading.Thread(target=home.run_forever, name="home")
    thread.start()
    entered = threading.Event()

    async def getter(key: str) -> bytes:
        entered.set()
        await asyncio.Event().wait()  # never set: the home loop stops first
        return b""

    def close_home() -> None:
        pending = asyncio.all_tasks(home)
        for task in pending:
            task.cancel()
        home.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        home.close()

    with Workspace() as ws:
        ws.bind_loop(home)
        group = Group("stops", getter, 1 << 20, workspace=ws)
        try:
            if via == "await":
                waiting = asyncio.ensure_future(group.get("k"))
            else:
                waiting = asyncio.ensure_future(asyncio.to_thread(group.get_sync, "k"))
            assert await asyncio.to_thread(entered.wait, 10)
            home.call_soon_threadsafe(home.stop)
            await asyncio.to_thread(thread.join, 10)
            with pytest.raises(GroupcacheError, match="home loop"):
                async with asyncio.timeout(10):
                    await waiting
        finally:
            if thread.is_alive():
                home.call_soon_threadsafe(home.stop)
                await asyncio.to_thread(thread.join, 10)
            await asyncio.to_thread(close_home)

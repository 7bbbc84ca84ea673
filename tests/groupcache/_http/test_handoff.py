"""Warm handoff: after set_peers moves a key, its new owner takes the previous owner's
cached copy instead of calling the origin again (HTTPPool(handoff_window=)).

No Go test exists: no groupcache variant has this (golang PR #157 and #179 asked for it).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, cast

import pytest
from aiohttp import web

from groupcache import (
    Group,
    GroupNotFoundError,
    HashRing,
    HTTPPool,
    ServerKind,
    Value,
    Workspace,
)
from groupcache._core import handoff
from groupcache._http.connections import ConnectionPool
from groupcache._protocol.paths import handoff_path
from tests.support.cluster import Node, cluster, node_of, total_loads
from tests.support.getters import CountingGetter
from tests.support.waiting import until

KEYS = [f"key-{i}" for i in range(200)]
COLD = {"hot_cache": "never"}  # every copy is an owner's: what moved must be handed over


async def read_all(nodes: list[Node]) -> None:
    for node in nodes:
        await asyncio.gather(*(node.group.get(k) for k in KEYS))


def join(nodes: list[Node]) -> None:
    for node in nodes:
        node.pool.set_peers(*(m.url for m in nodes))


async def test_a_node_that_joins_takes_its_keys_from_their_previous_owners(
    server_kind: ServerKind,
) -> None:
    async with cluster(4, join=False, group_kwargs=COLD, server=server_kind) as nodes:
        old, new = nodes[:3], nodes[3]
        join(old)
        await read_all(old)
        assert total_loads(nodes) == len(KEYS)
        before = {k: old[0].pool.owner(k) for k in KEYS}
        join(nodes)  # the fourth joins every ring
        await read_all(nodes)
        moved = [k for k in KEYS if new.pool.owner(k) == new.url]
        assert moved
        assert total_loads(nodes) == len(KEYS)  # not one origin load more
        assert new.getter.total == 0
        assert new.group.stats().handoff_loads == len(moved)
        for key in moved:  # the previous owner's value, now cached by the new one
            prefix = node_of(old, before[key]).getter.prefix
            copy = new.group.peek(key)
            assert copy is not None
            assert copy.data == prefix + key.encode()


async def test_a_node_that_left_but_still_answers_hands_its_keys_over(
    server_kind: ServerKind,
) -> None:
    async with cluster(4, group_kwargs=COLD, server=server_kind) as nodes:
        await read_all(nodes)
        gone, rest = nodes[0], nodes[1:]
        owned = [k for k in KEYS if gone.pool.owner(k) == gone.url]
        join(rest)  # it leaves the rings, still serving (draining)
        await read_all(rest)
        assert total_loads(nodes) == len(KEYS)
        assert sum(n.group.stats().handoff_loads for n in rest) == len(owned)
        for key in owned:
            assert (
                await node_of(rest, rest[0].pool.owner(key)).group.get(key) == b"n0:" + key.encode()
            )


async def test_a_write_after_the_change_reaches_the_departed_owner_so_no_stale_copy(
    server_kind: ServerKind,
) -> None:
    async with cluster(3, group_kwargs=COLD, server=server_kind) as nodes:
        await read_all(nodes)
        gone, rest = nodes[0], nodes[1:]
        key = next(k for k in KEYS if gone.pool.owner(k) == gone.url)
        join(rest)
        await rest[0].group.set(key, b"new")  # after the change: the departed one gets it
        copy = gone.group.peek(key)
        assert copy is not None
        assert copy.data == b"new"
        new_owner = node_of(rest, rest[0].pool.owner(key))
        new_owner.group.local_remove(key)  # forget the Set here (evicted, say)
        # A key written here takes no copy in this window (its copy elsewhere might be
        # older than the write, were the write not broadcast): the origin, never stale.
        assert await new_owner.group.get(key) == new_owner.getter.prefix + key.encode()
        await rest[0].group.remove(key)
        assert gone.group.peek(key) is None  # the Remove reached it too
        assert await new_owner.group.get(key) == new_owner.getter.prefix + key.encode()


async def test_a_departed_owner_a_write_cannot_reach_is_asked_no_more() -> None:
    async with cluster(3, group_kwargs=COLD) as nodes:
        await read_all(nodes)
        gone, rest = nodes[0], nodes[1:]
        key = next(k for k in KEYS if gone.pool.owner(k) == gone.url)
        join(rest)
        await gone.pool.aclose()  # dies: the write cannot reach it
        await rest[0].group.set("other", b"x")
        assert rest[0].pool.departed() == []
        loads = total_loads(rest)
        await node_of(rest, rest[0].pool.owner(key)).group.get(key)
        assert total_loads(rest) == loads + 1  # from the origin, nothing stale


async def test_a_go_peer_refuses_the_handoff_path_with_400_and_is_asked_once(
    workspace: Workspace,
) -> None:
    """Every Go variant answers ``{base}{group}?handoff=`` (no ``/`` after the group) with
    400 before any lookup: its getter never runs, and it is not asked again."""
    seen: list[str] = []

    async def go_like(request: web.Request) -> web.Response:
        seen.append(request.path_qs)
        if "/" not in request.path.removeprefix("/_groupcache/"):
            return web.Response(status=400, text="bad request\n")
        return web.Response(status=500, text="getter ran\n")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", go_like)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    go_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    getter = CountingGetter()
    group = Group("g", getter, 1 << 20, workspace=workspace)
    try:
        async with HTTPPool("http://127.0.0.1:0", workspace=workspace, batch=False) as pool:
            me = await pool.start()
            pool.set_peers(me, go_url)  # just joined: the Go peer owned everything before
            mine = [k for k in KEYS if pool.owner(k) == me][:5]
            for key in mine:
                assert await group.get(key) == b"v:" + key.encode()
            assert getter.total == len(mine)
            assert seen == [handoff_path("/_groupcache/", "g", mine[0])]
    finally:
        await runner.cleanup()


async def test_handoff_window_0_turns_it_off() -> None:
    async with cluster(3, join=False, group_kwargs=COLD, handoff_window=0) as nodes:
        join(nodes[:2])
        await read_all(nodes[:2])
        join(nodes)
        await read_all(nodes)
        moved = [k for k in KEYS if nodes[2].pool.owner(k) == nodes[2].url]
        assert nodes[2].getter.total == len(moved)
        assert nodes[2].group.stats().handoff_loads == 0


async def test_the_handoff_get_never_runs_the_getter_and_counts_nothing(
    server_kind: ServerKind,
) -> None:
    async with cluster(2, group_kwargs=COLD, server=server_kind) as (a, b):
        (peer,) = a.pool._peers.values()
        assert await peer.get_cached("g", "never-loaded") is None
        b.group.local_set("loaded", Value(b"n1:loaded"))
        copy = await peer.get_cached("g", "loaded")
        assert copy is not None
        assert copy.data == b"n1:loaded"
        with pytest.raises(GroupNotFoundError):
            await peer.get_cached("nope", "k")
        assert b.getter.total == 0
        assert b.group.stats().server_requests == 0


async def test_a_handoff_waits_at_most_a_second_behind_a_busy_previous_owner() -> None:
    """A previous owner whose connections are all busy (held loads) is waited for 1 s at
    most, then the new owner calls the origin, rather than waiting out ``timeout``."""
    async with cluster(
        2, join=False, group_kwargs=COLD, max_connections_per_peer=1, batch=False
    ) as (a, b):
        a.pool.set_peers(a.url, b.url)
        held, mine = [k for k in KEYS if a.pool.owner(k) == b.url][:2]
        b.getter.gate = asyncio.Event()
        busy = asyncio.create_task(a.group.get(held))  # a's one connection to b, held
        await until(lambda: b.getter.started == 1)
        b.pool.set_peers(b.url)
        a.pool.set_peers(a.url)  # a owns everything now; b was the previous owner
        async with asyncio.timeout(5):
            assert await a.group.get(mine) == b"n0:" + mine.encode()
        b.getter.gate.set()
        await busy


async def test_a_key_removed_on_its_new_owner_alone_is_not_handed_back_from_an_old_copy(
    server_kind: ServerKind,
) -> None:
    """groupcache-go v3's RemoveKeys tells an owner only its own keys (groupcache-go#27):
    a Remove may reach the new owner and no other node. Within the window, that owner's
    next miss calls the origin rather than take the previous owner's copy, which the
    Remove never reached (the interop test of RemoveKeys from Go caught this)."""
    async with cluster(3, join=False, group_kwargs=COLD, server=server_kind) as nodes:
        old, new = nodes[:2], nodes[2]
        join(old)
        await read_all(old)
        join(nodes)
        removed, written = [k for k in KEYS if new.pool.owner(k) == new.url][:2]
        new.group.local_remove(removed)  # a Remove that reached the owner only
        new.group.local_set(written, Value(b"written"))  # a Set likewise
        new.group.local_remove(written)  # then forgotten here (evicted, say)
        assert await new.group.get(removed) == b"n2:" + removed.encode()
        assert await new.group.get(written) == b"n2:" + written.encode()
        assert new.getter.total == 2
        assert new.group.stats().handoff_loads == 0


async def test_a_node_cleared_alone_takes_no_old_copy_within_the_window(
    server_kind: ServerKind,
) -> None:
    async with cluster(3, join=False, group_kwargs=COLD, server=server_kind) as nodes:
        old, new = nodes[:2], nodes[2]
        join(old)
        await read_all(old)
        join(nodes)
        new.group.clear()
        key = next(k for k in KEYS if new.pool.owner(k) == new.url)
        assert await new.group.get(key) == b"n2:" + key.encode()
        assert new.group.stats().handoff_loads == 0


async def test_past_max_written_keys_the_window_closes_rather_than_grow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(handoff, "MAX_WRITTEN", 3)
    async with cluster(3, join=False, group_kwargs=COLD) as nodes:
        old, new = nodes[:2], nodes[2]
        join(old)
        join(nodes)
        moved = [k for k in KEYS if new.pool.owner(k) == new.url]
        for key in moved[:3]:
            new.group.local_remove(key)
        assert new.pool.previous_owner(moved[3]) is not None
        new.group.local_remove(moved[3])  # one more: the window closes
        assert new.pool.previous_owner(moved[4]) is None
        assert new.pool.copy_allowed("g", moved[0])  # forgotten with the window


async def test_set_peers_from_another_thread_closes_connections_on_the_home_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """asyncio transports are not thread-safe: the connections of a peer that left are
    closed on the loop that owns them, whichever thread called set_peers."""
    closed_on: list[threading.Thread] = []
    close = ConnectionPool.close

    def recording_close(self: ConnectionPool) -> None:
        closed_on.append(threading.current_thread())
        close(self)

    monkeypatch.setattr(ConnectionPool, "close", recording_close)
    async with cluster(2, handoff_window=0) as (a, b):
        key = next(k for k in KEYS if a.pool.owner(k) == b.url)
        await a.group.get(key)  # a connection to b, idle now
        await asyncio.to_thread(a.pool.set_peers, a.url)
        assert closed_on == [threading.current_thread()]
        assert a.pool.peers == [a.url]


async def test_a_node_whose_first_ring_was_itself_alone_takes_copies_when_the_others_arrive(
    server_kind: ServerKind,
) -> None:
    """``groupcache serve`` rings itself alone until discovery (kubegroup) lists the pods:
    the ring before that list is the others', not its own, so a pod of a rolling update
    still takes the copies of the keys that moved to it."""
    async with cluster(4, join=False, group_kwargs=COLD, server=server_kind) as nodes:
        old, new = nodes[:3], nodes[3]
        join(old)
        await read_all(old)
        new.pool.set_peers(new.url)  # started, nothing discovered yet
        join(nodes)  # discovery's first list: every pod
        await read_all(nodes)
        moved = [k for k in KEYS if new.pool.owner(k) == new.url]
        assert moved
        assert new.getter.total == 0
        assert new.group.stats().handoff_loads == len(moved)
        assert total_loads(nodes) == len(KEYS)


def test_the_previous_ring_and_its_departed_clients_are_released_when_the_window_ends() -> None:
    now = [0.0]
    closed: list[object] = []
    gone, kept = cast(Any, object()), cast(Any, object())
    previous: handoff.PreviousOwners[Any] = handoff.PreviousOwners(
        10.0, HashRing, closed.append, clock=lambda: now[0]
    )
    previous.changed(["a", "b"], set(), {"a": gone, "b": kept}, ["b"], set(), {"b": kept})
    assert previous.departed() == [gone]
    assert {previous.owner(k) for k in KEYS} == {gone, kept}
    now[0] = 10.5  # the window is over
    assert previous.departed() == []
    assert closed == [gone]
    assert previous.owner(KEYS[0]) is None


def test_a_node_that_served_alone_takes_no_copy_when_the_others_come_back() -> None:
    """Only a node's first ring with others counts its self-only ring as having just
    joined: one that served alone since (its peers gone, writes made here only) owns
    what it has, and the others' copies may be older."""
    a, b = cast(Any, object()), cast(Any, object())
    previous: handoff.PreviousOwners[Any] = handoff.PreviousOwners(60.0, HashRing, print)
    mine, others = {"x": a, "y": b}, ["me", "x", "y"]
    previous.changed([], set(), {}, ["me"], {"me"}, {})  # started alone
    previous.changed(["me"], {"me"}, {}, others, {"me"}, mine)  # discovery lists the pods
    assert {previous.owner(k) for k in KEYS} <= {a, b, None}
    assert previous.owner(next(k for k in KEYS if previous.owner(k) is not None)) is not None
    previous.changed(others, {"me"}, mine, ["me"], {"me"}, {})  # the others go away
    previous.written("g", "k")  # a write that reached this node only
    previous.changed(["me"], {"me"}, {}, others, {"me"}, mine)  # and come back
    assert all(previous.owner(k) is None for k in KEYS)


def test_writes_made_in_a_window_are_remembered_across_the_next_change() -> None:
    a, b, c = (cast(Any, object()) for _ in range(3))
    previous: handoff.PreviousOwners[Any] = handoff.PreviousOwners(60.0, HashRing, print)
    previous.changed(["me", "x"], {"me"}, {"x": a}, ["me", "x", "y"], {"me"}, {"x": a, "y": b})
    previous.written("g", "k")
    previous.changed(
        ["me", "x", "y"], {"me"}, {"x": a, "y": b}, ["me", "x", "y", "z"], {"me"},
        {"x": a, "y": b, "z": c},
    )  # fmt: skip
    assert not previous.copy_allowed("g", "k")
    assert previous.copy_allowed("g", "other")

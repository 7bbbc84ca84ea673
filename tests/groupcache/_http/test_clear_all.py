"""Cluster-wide clear: ``await group.clear_all()`` drops the group's entries on every node.

No Go test exists: no variant has it (groupcache-go #17 asked for it).
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from groupcache import (
    Group,
    HTTPPool,
    MultiError,
    ServerKind,
    UnsupportedWriteError,
    Value,
    Workspace,
)
from tests.support.cluster import cluster, total_loads
from tests.support.waiting import until

KEYS = [f"key-{i}" for i in range(60)]


async def test_clear_all_empties_every_node_and_the_next_gets_reload(
    server_kind: ServerKind,
) -> None:
    async with cluster(3, server=server_kind) as nodes:
        for node in nodes:
            await asyncio.gather(*(node.group.get(k) for k in KEYS))
        assert total_loads(nodes) == len(KEYS)
        await nodes[0].group.clear_all()
        for node in nodes:
            assert node.group.cache_stats("main").items == 0
            assert node.group.cache_stats("hot").items == 0
        await asyncio.gather(*(nodes[1].group.get(k) for k in KEYS))
        assert total_loads(nodes) == 2 * len(KEYS)
        assert sum(n.group.stats().server_requests for n in nodes[1:]) >= 2


async def test_a_load_in_flight_during_clear_all_does_not_put_its_value_back(
    server_kind: ServerKind,
) -> None:
    async with cluster(2, server=server_kind) as (a, b):
        key = next(k for k in KEYS if a.pool.owner(k) == b.url)
        gate = asyncio.Event()
        b.getter.gate = gate
        load = asyncio.create_task(a.group.get(key))
        await until(lambda: b.getter.started == 1)  # b's getter is running
        await a.group.clear_all()  # b's flight for key is detached
        gate.set()
        assert await load == b"n1:" + key.encode()  # the caller still gets its value
        assert b.group.peek(key) is None  # but it was not cached over the clear
        assert a.group.peek(key) is None


async def test_a_go_peer_that_cannot_clear_is_reported_and_the_others_are_cleared(
    workspace: Workspace,
) -> None:
    async def go_like(request: web.Request) -> web.Response:
        return web.Response(status=400, text="bad request\n")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", go_like)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    go_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    group = Group("g", lambda k: b"v", 1 << 20, workspace=workspace)
    try:
        async with HTTPPool("http://127.0.0.1:0", workspace=workspace) as pool:
            me = await pool.start()
            pool.set_peers(me, go_url)
            group.local_set("mine", Value(b"x"))
            with pytest.raises(MultiError) as caught:
                await group.clear_all()
            (error,) = caught.value.errors
            assert isinstance(error, UnsupportedWriteError)
            assert go_url in str(error)
            assert group.peek("mine") is None  # this node was cleared all the same
    finally:
        await runner.cleanup()

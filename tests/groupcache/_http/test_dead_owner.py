"""Set and Remove when the key's owner is dead or slow, over real loopback sockets.

The write goes to the owner first; if the owner has not answered within the pool's
write grace (a quarter of its timeout), this node and the other peers are updated
anyway, and the error, when the owner fails, names it. An owner that answers late gets
everyone updated once more, so nothing fetched from it meanwhile outlives the write.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web

from groupcache import Group, GroupcacheError, PeerError, Value, Workspace
from groupcache._protocol.bodies import encode_get_response
from tests.groupcache.helpers import FakePeer, ModPicker, serve_peer_handler
from tests.support.cluster import Node, cluster
from tests.support.getters import CountingGetter
from tests.support.waiting import until

TIMEOUT = 2.0  # the pool's peer timeout: the write grace is 0.5 s


@contextlib.asynccontextmanager
async def silent_peer() -> AsyncIterator[str]:
    """A peer that accepts connections and reads requests, but never answers."""
    release = asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        release.set()
        server.close()
        await server.wait_closed()


@contextlib.contextmanager
def refusing_peer() -> Iterator[str]:
    """A port that is bound but not listening: every connection is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def owned_by(node: Node, url: str) -> str:
    return next(k for k in (f"k{i}" for i in range(1000)) if node.pool.owner(k) == url)


async def write(node: Node, how: str, key: str) -> None:
    if how == "set":
        await node.group.set(key, b"new")
    elif how == "remove":
        await node.group.remove(key)
    else:
        await node.group.remove_keys([key, "other"])


def written(nodes: list[Node], how: str, key: str) -> bool:
    if how == "set":
        return all(n.group._main.peek(key) == b"new" for n in nodes)
    return not any(key in n.group._main for n in nodes)


@pytest.mark.parametrize("how", ["set", "remove", "remove_keys"])
async def test_a_silent_owner_delays_no_node_and_the_error_names_it(how: str) -> None:
    async with silent_peer() as dead, cluster(3, timeout=TIMEOUT) as nodes:
        for node in nodes:
            node.pool.set_peers(*(n.url for n in nodes), dead)
        key = owned_by(nodes[0], dead)
        for node in nodes:
            node.group.local_set(key, Value(b"old"))
        task = asyncio.create_task(write(nodes[0], how, key))
        await until(lambda: written(nodes, how, key))
        assert not task.done()  # everyone has it, while the owner is still being waited for
        with pytest.raises(GroupcacheError, match=re.escape(dead)):
            await task


@pytest.mark.parametrize("how", ["set", "remove", "remove_keys"])
async def test_a_refusing_owner_fails_the_write_but_every_other_node_has_it(how: str) -> None:
    with refusing_peer() as dead:
        async with cluster(3, timeout=TIMEOUT) as nodes:
            for node in nodes:
                node.pool.set_peers(*(n.url for n in nodes), dead)
            key = owned_by(nodes[0], dead)
            for node in nodes:
                node.group.local_set(key, Value(b"old"))
            error = PeerError if how != "remove_keys" else GroupcacheError
            with pytest.raises(error, match=re.escape(dead)):
                await write(nodes[0], how, key)
            assert written(nodes, how, key)


async def test_a_remove_answered_late_by_the_owner_is_not_undone_by_a_fetch_meanwhile() -> None:
    """The other node is told at once, fetches the old value from the owner before the
    owner has removed it, and must not keep that old value once the remove returns."""
    value = b"old"
    answer = asyncio.Event()

    async def owner(request: web.Request) -> web.Response:
        nonlocal value
        if request.method == "DELETE":
            await answer.wait()
            value = b"fresh"  # the owner's getter loads anew after the remove
            return web.Response()
        return web.Response(
            body=encode_get_response(Value(value)), content_type="application/x-protobuf"
        )

    runner, owner_url = await serve_peer_handler(owner)
    try:
        async with cluster(2, timeout=TIMEOUT) as (a, b):
            for node in (a, b):
                node.pool.set_peers(a.url, b.url, owner_url)
            key = owned_by(a, owner_url)
            assert await b.group.get(key) == b"old"  # into b's hot cache
            task = asyncio.create_task(a.group.remove(key))
            try:
                await until(lambda: key not in b.group._hot)  # the grace is over: b told
                assert await b.group.get(key) == b"old"  # fetched from the owner meanwhile
            finally:
                answer.set()
            await task
            assert await b.group.get(key) == b"fresh"
            assert await a.group.get(key) == b"fresh"
    finally:
        await runner.cleanup()


async def test_a_write_error_that_does_not_name_its_peer_is_named_and_chained() -> None:
    class Mute(FakePeer):
        async def set(self, group: str, key: str, value: Value) -> None:
            raise OSError("connection reset")

    with Workspace() as ws:
        owner = Mute(0)
        ws.set_peer_picker(ModPicker([owner]))
        g = Group("named", CountingGetter(), 1 << 20, workspace=ws)
        with pytest.raises(PeerError, match="fake://peer0: connection reset") as info:
            await g.set("k", b"v")
        assert isinstance(info.value.__cause__, OSError)
        assert g._main.peek("k") == b"v"  # written here although the owner failed

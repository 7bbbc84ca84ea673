"""Writes (Set, Remove, remove_keys) across real loopback peers: what a peer cannot take
is an error, never a silent success, and bad expiries or keys are rejected up front."""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from groupcache import (
    Group,
    InvalidKeyError,
    InvalidValueError,
    MultiError,
    PeerError,
    UnsupportedWriteError,
    Value,
)
from groupcache._protocol.bodies import encode_get_response, encode_set_request
from tests.groupcache.helpers import serve_peer_handler
from tests.support.cluster import cluster, node_of
from tests.support.waiting import until


@pytest.mark.parametrize("expire", [math.inf, math.nan, 1e10])
async def test_set_rejects_an_expiry_the_wire_cannot_carry_before_writing(expire: float) -> None:
    async with cluster(2) as nodes:
        key = "k"
        owner = node_of(nodes, nodes[0].pool.owner(key))
        with pytest.raises(InvalidValueError, match="expire_at"):
            await nodes[0].group.set(key, b"v", expire=expire)
        assert await owner.group.get(key) == f"n{nodes.index(owner)}:k".encode()


async def test_set_of_a_key_that_is_not_utf8_is_a_key_error() -> None:
    """A str that carries raw bytes (surrogateescape) cannot go into a SetRequest."""
    async with cluster(2) as nodes:
        for node in nodes:  # owned here or by the peer: the same error, nothing written
            with pytest.raises(InvalidKeyError, match="UTF-8"):
                await node.group.set("raw-\udcff", b"v")
        value = await nodes[0].group.get("raw-\udcff")  # gets take any key
        assert value.endswith(b":raw-\xff")


async def test_a_put_with_a_key_that_is_not_utf8_is_a_400_key_error() -> None:
    """A Go peer's SetRequest may carry any bytes as the key (proto2 strings are not
    checked in Go); we answer the documented key error, not a 503."""
    async with cluster(1) as (node,):
        body = b"\x0a\x01g\x12\x04k\xff\xfez\x1a\x01v\x20\x00"  # group g, key b"k\xff\xfez"
        async with (
            aiohttp.ClientSession() as http,
            http.put(f"{node.url}/_groupcache/g/k", data=body) as resp,
        ):
            assert resp.status == 400
            assert "UTF-8" in await resp.text()
        assert node.getter.total == 0


async def test_a_put_with_a_key_over_the_limit_is_a_400_key_error() -> None:
    async with cluster(1, group_kwargs={"max_key_bytes": 8}) as (node,):
        body = encode_set_request("g", "k" * 9, Value(b"v"))
        async with (
            aiohttp.ClientSession() as http,
            http.put(f"{node.url}/_groupcache/g/k", data=body) as resp,
        ):
            assert resp.status == 400
            assert "over the limit of 8" in await resp.text()
        assert "k" * 9 not in node.group._main


def golang_like(seen: list[str]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """golang/groupcache serves every method as a GET: 200 and the value, and the getter
    ran: a write is never applied there."""

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.method)
        return web.Response(
            body=encode_get_response(Value(b"go:loaded")), content_type="application/x-protobuf"
        )

    return handle


async def write_to(group: Group, write: str, key: str) -> None:
    if write == "set":
        await group.set(key, b"new")
    elif write == "remove":
        await group.remove(key)
    else:
        await group.remove_keys([key])


@pytest.mark.parametrize("write", ["set", "remove", "remove_keys"])
async def test_a_write_owned_by_a_golang_peer_is_an_error_and_changes_nothing_here(
    write: str,
) -> None:
    seen: list[str] = []
    runner, go_url = await serve_peer_handler(golang_like(seen))
    try:
        async with cluster(1) as (node,):
            node.pool.set_peers(go_url)  # the golang peer owns every key
            await node.group.get("k")  # now in the hot cache here
            seen.clear()
            with pytest.raises((UnsupportedWriteError, MultiError)) as info:
                await write_to(node.group, write, "k")
            error = info.value.errors[0] if isinstance(info.value, MultiError) else info.value
            assert isinstance(error, UnsupportedWriteError)
            assert re.search("served the (PUT|DELETE) as a Get", str(error))
            assert isinstance(error, PeerError)
            assert go_url in str(error)
            assert node.group._hot.get("k") == Value(b"go:loaded")  # the owner failed first
            assert seen[-1] == ("PUT" if write == "set" else "DELETE")
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("write", ["set", "remove"])
async def test_a_write_broadcast_to_a_golang_peer_reports_it(write: str) -> None:
    seen: list[str] = []
    runner, go_url = await serve_peer_handler(golang_like(seen))
    try:
        async with cluster(1) as (node,):
            node.pool.set_peers(node.url, go_url)
            key = next(k for k in (f"k{i}" for i in range(100)) if node.pool.owner(k) == node.url)
            with pytest.raises(MultiError) as info:
                await write_to(node.group, write, key)
            (error,) = info.value.errors
            assert isinstance(error, UnsupportedWriteError)
            assert seen == ["PUT" if write == "set" else "DELETE"]
    finally:
        await runner.cleanup()


async def test_remove_keys_to_a_v2_peer_whose_getter_rejects_the_path_falls_back_to_deletes() -> (
    None
):
    """mailgun/modernprogram v2 serve the POST as a Get of the key ``_remove-keys/``; a
    getter that rejects it answers 503 (or 404): one DELETE per key, remembered."""
    seen: list[str] = []

    async def v2(request: web.Request) -> web.Response:
        seen.append(request.method)
        if request.method == "DELETE":
            return web.Response()
        return web.Response(status=503, text="getter: no such key _remove-keys/\n")

    runner, v2_url = await serve_peer_handler(v2)
    try:
        async with cluster(1) as (node,):
            node.pool.set_peers(node.url, v2_url)
            await node.group.remove_keys(["a", "b", "c"])
            assert seen == ["POST", "DELETE", "DELETE", "DELETE"]
            seen.clear()
            await node.group.remove_keys(["d", "e"])  # remembered: DELETEs only
            assert seen == ["DELETE", "DELETE"]
    finally:
        await runner.cleanup()


async def test_remove_keys_to_a_modernprogram_peer_rejecting_the_body_falls_back_to_deletes() -> (
    None
):
    """modernprogram v2 serves the POST as a Get whose body it decodes as a ``GetRequest``
    (its ctx1/ctx2 extension): our JSON does not decode, so it answers 400. One DELETE
    per key then, remembered (found against modernprogram v2.7.14 and v2.7.23)."""
    seen: list[str] = []

    async def modernprogram(request: web.Request) -> web.Response:
        seen.append(request.method)
        if request.method == "DELETE":
            return web.Response()
        return web.Response(status=400, text="proto: cannot parse invalid wire-format data\n")

    runner, url = await serve_peer_handler(modernprogram)
    try:
        async with cluster(1) as (node,):
            node.pool.set_peers(node.url, url)
            await node.group.remove_keys(["a", "b", "c"])
            assert seen == ["POST", "DELETE", "DELETE", "DELETE"]
            seen.clear()
            await node.group.remove_keys(["d", "e"])
            assert seen == ["DELETE", "DELETE"]
    finally:
        await runner.cleanup()


async def test_a_golang_owner_refusing_after_the_grace_says_the_others_have_the_write() -> None:
    """A golang owner whose getter is slow answers a PUT (as a Get) after the write grace,
    when this node and the other peers have the value already: the error must say so,
    not claim (as UnsupportedWriteError does) that nothing changed."""
    seen: list[str] = []
    release = asyncio.Event()
    answer = golang_like(seen)

    async def slow_golang(request: web.Request) -> web.Response:
        await release.wait()  # its getter runs for the PUT: a slow origin
        return await answer(request)

    runner, go_url = await serve_peer_handler(slow_golang)
    try:
        async with cluster(1, timeout=2.0) as (node,):  # a write grace of 0.5 s
            node.pool.set_peers(go_url)  # the golang peer owns every key
            write = asyncio.create_task(node.group.set("k", b"new"))
            await until(lambda: node.group._main.get("k") is not None)  # written here
            release.set()
            with pytest.raises(PeerError) as info:
                await write
            assert not isinstance(info.value, UnsupportedWriteError)
            assert go_url in str(info.value)
            assert "this node and the other peers have" in str(info.value)
            assert isinstance(info.value.__cause__, UnsupportedWriteError)
            assert await node.group.get("k") == b"new"
    finally:
        await runner.cleanup()


async def test_remove_keys_sends_a_key_that_is_not_utf8_as_its_own_delete() -> None:
    """JSON can carry such a key only as a lone-surrogate escape, which Go's decoder turns
    into U+FFFD: groupcache-go v3 would remove another key. Its raw bytes go in a DELETE's
    path instead; the other keys stay in the POST."""
    seen: list[tuple[str, bytes]] = []

    async def v3(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append(
            (request.method, body if request.method == "POST" else request.raw_path.encode())
        )
        return web.Response()

    raw = b"bad-\xff".decode("utf-8", "surrogateescape")
    runner, v3_url = await serve_peer_handler(v3)
    try:
        async with cluster(1) as (node,):
            node.pool.set_peers(node.url, v3_url)
            await node.group.remove_keys(["a", raw, "b"])
            posts = [json.loads(body) for method, body in seen if method == "POST"]
            assert posts == [{"group": "g", "keys": ["a", "b"]}]
            deletes = [path for method, path in seen if method == "DELETE"]
            assert deletes == [b"/_groupcache/g/bad-%FF"]
    finally:
        await runner.cleanup()


async def test_a_failed_delete_of_a_raw_key_still_lets_the_other_keys_be_removed() -> None:
    seen: list[str] = []

    async def v3(request: web.Request) -> web.Response:
        seen.append(request.method)
        if request.method == "DELETE":
            return web.Response(status=500, text="boom\n")
        return web.Response()

    raw = b"bad-\xff".decode("utf-8", "surrogateescape")
    runner, v3_url = await serve_peer_handler(v3)
    try:
        async with cluster(1) as (node,):
            node.pool.set_peers(node.url, v3_url)
            with pytest.raises(MultiError):
                await node.group.remove_keys([raw, "a", "b"])
            assert sorted(seen) == ["DELETE", "POST"]  # the batch went too
    finally:
        await runner.cleanup()

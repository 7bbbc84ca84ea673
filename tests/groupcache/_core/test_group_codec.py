"""``Group(codec=...)``: the getter returns, and ``get`` gives back, the codec's type;
the caches and the wire keep the encoded bytes. Ports the idea of Go's typed sinks
(``StringSink``, ``ProtoSink``); no Go test of it exists as such."""

from __future__ import annotations

import asyncio
import functools
from typing import Any, assert_type

import pytest

from groupcache import JSON, STR, Group, InvalidValueError, ProtobufCodec, Value, Workspace
from groupcache._protocol._groupcache_pb2 import GetRequest
from tests.support.cluster import cluster

USER = {"id": 42, "name": "Ada", "tags": ["math"]}


async def test_a_json_group_returns_what_its_getter_returned_and_caches_the_bytes(
    workspace: Workspace,
) -> None:
    calls: list[str] = []

    async def load(key: str) -> dict[str, Any]:
        calls.append(key)
        return {**USER, "key": key}

    group = Group("users", load, 1 << 20, workspace=workspace, codec=JSON)
    first = await group.get("u1")
    assert first == {**USER, "key": "u1"}
    assert await group.get("u1") == first  # a hit, decoded afresh
    assert calls == ["u1"]
    cached = group.peek("u1")
    assert cached is not None
    assert cached.data == JSON.encode({**USER, "key": "u1"})  # bytes in the cache
    assert group.cache_stats("main").bytes == len("u1") + len(cached.data)


async def test_a_str_group_serves_threads_through_get_sync(workspace: Workspace) -> None:
    group: Group[str] = Group(
        "names", lambda key: f"name of {key}", 1 << 20, workspace=workspace, codec=STR
    )
    assert await asyncio.to_thread(group.get_sync, "k") == "name of k"
    assert await asyncio.to_thread(group.get_sync, "k") == "name of k"  # the thread-side hit


async def test_set_takes_the_codecs_type(workspace: Workspace) -> None:
    group = Group("users", lambda key: {}, 1 << 20, workspace=workspace, codec=JSON)
    await group.set("u2", {"name": "Grace"})
    assert await group.get("u2") == {"name": "Grace"}
    assert group.peek("u2") == Value(b'{"name":"Grace"}')


async def test_a_getter_may_return_encoded_bytes_with_an_expiry_as_a_value(
    workspace: Workspace,
) -> None:
    group = Group(
        "users",
        lambda key: Value(STR.encode("soon gone"), 4_000_000_000.0),
        1 << 20,
        workspace=workspace,
        codec=STR,
    )
    assert await group.get("k") == "soon gone"
    cached = group.peek("k")
    assert cached is not None
    assert cached.expire_at == 4_000_000_000.0


async def test_a_value_the_codec_cannot_encode_is_an_error_and_nothing_is_cached(
    workspace: Workspace,
) -> None:
    group = Group(
        "users", lambda key: {"score": float("nan")}, 1 << 20, workspace=workspace, codec=JSON
    )
    with pytest.raises(InvalidValueError, match=r"group 'users'.*cannot encode") as caught:
        await group.get("k")
    assert isinstance(caught.value.__cause__, ValueError)
    assert group.peek("k") is None
    with pytest.raises(InvalidValueError, match="cannot encode"):
        await group.set("k", {"score": float("inf")})


async def test_the_getters_own_exception_still_reaches_the_caller_unchanged(
    workspace: Workspace,
) -> None:
    boom = LookupError("origin down")

    def load(key: str) -> str:
        raise boom

    group = Group("names", load, 1 << 20, workspace=workspace, codec=STR)
    with pytest.raises(LookupError) as caught:
        await group.get("k")
    assert caught.value is boom


async def test_protobuf_messages_round_trip_through_a_group(workspace: Workspace) -> None:
    codec = ProtobufCodec(GetRequest)
    group = Group(
        "reqs",
        lambda key: GetRequest(group="g", key=key),
        1 << 20,
        workspace=workspace,
        codec=codec,
    )
    message = await group.get("k")
    assert_type(message, GetRequest)
    assert message == GetRequest(group="g", key="k")


async def test_mypy_infers_the_value_type_from_the_codec(workspace: Workspace) -> None:
    by_default = Group("a", lambda key: b"x", 1 << 20, workspace=workspace)
    assert_type(by_default, Group[bytes])
    assert_type(await by_default.get("k"), bytes)
    names = Group("b", lambda key: "x", 1 << 20, workspace=workspace, codec=STR)
    assert_type(names, Group[str])
    assert_type(await names.get("k"), str)


def user_of_node(node: int, key: str) -> dict[str, Any]:
    return {"key": key, "node": node}


async def test_typed_values_cross_real_peers_as_their_encoded_bytes() -> None:
    async with cluster(2) as (a, b):
        for i, node in enumerate((a, b)):
            Group("t", functools.partial(user_of_node, i), 1 << 20, workspace=node.ws, codec=JSON)
        typed = a.ws.get_group("t")
        assert typed is not None
        key = next(k for k in (f"u{i}" for i in range(100)) if a.pool.owner(k) == b.url)
        assert await typed.get(key) == {"key": key, "node": 1}  # b's value, through a
        copy = typed.peek(key)  # a's hot copy: the bytes the wire carried
        assert copy is not None
        assert copy.data == b'{"key":"%s","node":1}' % key.encode()


async def test_a_peer_reply_that_does_not_decode_is_a_peer_error_and_a_local_load() -> None:
    async with cluster(2) as (a, b):
        typed = Group("t", lambda key: {"from": "a"}, 1 << 20, workspace=a.ws, codec=JSON)
        Group("t", lambda key: b"<html>not json", 1 << 20, workspace=b.ws)  # b: raw bytes
        key = next(k for k in (f"k{i}" for i in range(100)) if a.pool.owner(k) == b.url)
        assert await typed.get(key) == {"from": "a"}  # loaded here instead
        assert (typed.stats().peer_errors, typed.stats().local_loads) == (1, 1)
        assert typed.peek(key) == Value(b'{"from":"a"}')  # not b's garbage


class BreakingCodec:
    """STR until ``broken``; then it refuses whatever it is given to decode."""

    broken = False

    def encode(self, value: str, /) -> bytes:
        return value.encode()

    def decode(self, data: bytes, /) -> str:
        if self.broken:
            raise ValueError("cannot read these bytes")
        return data.decode()


async def test_cached_bytes_the_codec_refuses_are_an_error_naming_the_group(
    workspace: Workspace,
) -> None:
    codec = BreakingCodec()
    group = Group("fussy", lambda key: "ok", 1 << 20, workspace=workspace, codec=codec)
    await group.set("k", "fine")
    await group.set("e", "fine", expire=4_000_000_000.0)  # expiring: the slower hit path
    codec.broken = True
    with pytest.raises(InvalidValueError, match=r"group 'fussy': cached bytes do not decode"):
        await group.get("k")
    with pytest.raises(InvalidValueError, match=r"cached bytes do not decode"):
        await group.get("e")
    with pytest.raises(InvalidValueError, match=r"cached bytes do not decode") as caught:
        await asyncio.to_thread(group.get_sync, "k")
    assert isinstance(caught.value.__cause__, ValueError)


async def test_a_peers_set_of_bytes_the_codec_cannot_decode_is_refused_and_changes_nothing(
    workspace: Workspace,
) -> None:
    group = Group("users", lambda key: {}, 1 << 20, workspace=workspace, codec=JSON)
    await group.set("k", {"v": 1})
    with pytest.raises(InvalidValueError, match=r"a Set of bytes .* cannot decode"):
        group.local_set("k", Value(b"<not json>"))  # what a Go peer's Set could send
    assert await group.get("k") == {"v": 1}


def text_of(key: str) -> str:
    return f"text of {key}"


async def test_a_getter_of_another_type_without_its_codec_is_refused_by_mypy_and_at_run_time(
    workspace: Workspace,
) -> None:
    """mypy refuses the call (the ignore below would be unused otherwise, and mypy --strict
    fails on that); at run time the str is not bytes."""
    group = Group("s", text_of, 1 << 20, workspace=workspace)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        await group.get("k")


async def test_a_warm_handoff_copy_that_does_not_decode_is_not_taken() -> None:
    """The previous owner held bytes of another type (its group had no codec then): the
    new owner of a typed group calls its own getter instead of caching them."""
    async with cluster(3, join=False, group_kwargs={"hot_cache": "never"}) as nodes:
        old, new = nodes[:2], nodes[2]
        typed = Group("t", lambda key: {"typed": key}, 1 << 20, workspace=new.ws, codec=JSON)
        for node in old:
            Group("t", lambda key: b"<raw bytes>", 1 << 20, workspace=node.ws)
            node.pool.set_peers(*(m.url for m in old))
        keys = [f"k{i}" for i in range(60)]
        for key in keys:
            await old[0].ws.get_group("t").get(key)  # type: ignore[union-attr]
        for node in nodes:
            node.pool.set_peers(*(m.url for m in nodes))  # the new one joins
        mine = [k for k in keys if new.pool.owner(k) == new.url]
        assert mine
        for key in mine:
            assert await typed.get(key) == {"typed": key}
        assert typed.stats().handoff_loads == 0
        assert typed.stats().local_loads == len(mine)

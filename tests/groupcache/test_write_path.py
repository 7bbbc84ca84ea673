"""Writes (Set, Remove, remove_keys) across real loopback peers: what a peer cannot take
is an error, never a silent success, and bad expiries or keys are rejected up front."""

from __future__ import annotations

import math

import aiohttp
import pytest

from groupcache import InvalidKeyError, InvalidValueError, Value
from groupcache._wire import encode_set_request
from tests.groupcache.cluster import cluster, node_of


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

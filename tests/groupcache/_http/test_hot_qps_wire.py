"""The owner's rate on the wire: asked for by our requesters of ``hot_cache="qps"`` groups
(``X-Groupcache-Rate: 1``, sent only to peers whose replies said they are ours), reported
in ``GetResponse`` field 2 (golang's ``double minute_qps``) and in batch items; Go peers
neither receive the header nor are sent the field."""

from __future__ import annotations

import asyncio
import random
import struct
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from groupcache import Group, HTTPPool, Value, Workspace
from groupcache._core.value import RatedValue
from groupcache._protocol.bodies import (
    decode_batch_response,
    decode_get_response,
    encode_batch_response,
    encode_get_response,
)
from groupcache._protocol.headers import RATE_HEADER
from tests.groupcache.helpers import serve_peer_handler
from tests.support.clock import Clock
from tests.support.cluster import cluster
from tests.support.getters import CountingGetter
from tests.support.waiting import until


class NeverRandom(random.Random):
    """The 1-in-10 fallback never admits: only reported rates do."""

    def randrange(self, *args: Any, **kwargs: Any) -> int:
        return 1


def _double_2(rate: float) -> bytes:
    return b"\x11" + struct.pack("<d", rate)


# -- bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize("field", [3, 2, "both"])
def test_a_rate_rides_in_field_2_as_a_double_beside_the_expiry(field: Any) -> None:
    value = Value(b"v", 1_700_000_000.5)
    body = encode_get_response(value, field, rate=2.5)
    assert body == encode_get_response(value, field) + _double_2(2.5)
    decoded = decode_get_response(body, rated=True)
    assert decoded == RatedValue(b"v", 1_700_000_000.5, rate=2.5)
    assert decode_get_response(body) == value  # not asked for: not taken


def test_without_a_rate_field_2_holds_no_double() -> None:
    body = encode_get_response(Value(b"v"))
    assert decode_get_response(body, rated=True) == Value(b"v")
    assert type(decode_get_response(body, rated=True)) is Value


def test_batch_items_carry_their_rate() -> None:
    items: list[Any] = [(200, RatedValue(b"a", None, rate=4.0)), (200, Value(b"b")), (404, "nf")]
    decoded = decode_batch_response(encode_batch_response(items))
    assert decoded[0] == (200, RatedValue(b"a", None, rate=4.0))
    assert decoded[1] == (200, Value(b"b"))
    assert type(decoded[1][1]) is Value
    assert decoded[2] == (404, "nf")


# -- our peers ------------------------------------------------------------------------------


@pytest.mark.parametrize("server", ["lean", "aiohttp"])
async def test_a_qps_requester_admits_a_key_once_its_owner_reports_the_threshold(
    server: str,
) -> None:
    clock = Clock()  # still: each request adds 1/60 per second to the rate
    kwargs = {"hot_cache": "qps", "hot_qps": 3 / 60, "rng": NeverRandom(), "clock": clock}
    async with cluster(2, join=False, group_kwargs=kwargs, server=server) as (a, b):
        a.pool.set_peers(b.url)
        await a.group.get("warm-up")  # a plain GET: learns that b is ours
        assert b.group._rates.rate("warm-up") == 0.0  # not asked for: not counted
        for n in range(1, 4):
            assert await a.group.get("k") == b"n1:k"
            assert b.group._rates.rate("k") == pytest.approx(n / 60)
        assert a.group.cache_stats("hot").items == 1  # the third reached 3/60
        await a.group.get("k")
        assert b.group.stats().server_requests == 4
        assert type(await a.group.get_value("k")) is Value


async def test_a_batch_carries_the_rate_of_each_key() -> None:
    kwargs = {"hot_cache": "qps", "hot_qps": 0.0, "rng": NeverRandom()}
    async with cluster(2, join=False, group_kwargs=kwargs, batches_in_flight=1) as (a, b):
        a.pool.set_peers(b.url)
        await a.group.get("warm-up")
        b.getter.gate = asyncio.Event()
        tasks = [asyncio.create_task(a.group.get(f"k{i}")) for i in range(30)]
        await until(lambda: b.getter.started >= 2)
        b.getter.gate.set()
        assert await asyncio.gather(*tasks) == [f"n1:k{i}".encode() for i in range(30)]
        assert a.group.cache_stats("hot").items == 30  # every key came with its rate
        assert all(b.group._rates.rate(f"k{i}") > 0 for i in range(30))


async def test_groups_of_other_policies_ask_for_no_rate() -> None:
    async with cluster(2, join=False) as (a, b):
        a.pool.set_peers(b.url)
        await a.group.get("warm-up")
        await a.group.get("k")
        assert len(b.group._rates) == 0


async def test_our_owner_sends_a_rate_only_to_a_request_that_asks() -> None:
    clock = Clock()
    async with cluster(1, group_kwargs={"clock": clock}, expiry_field="both") as (b,):
        url = f"{b.url}/_groupcache/g/k"
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as resp:  # as a Go peer asks
                plain = await resp.read()
            async with session.get(url, headers={RATE_HEADER: "1"}) as resp:
                rated = await resp.read()
        assert plain == encode_get_response(Value(b"n0:k"), "both")
        assert rated == plain + _double_2(1 / 60)


# -- Go peers -------------------------------------------------------------------------------


async def test_a_qps_requester_never_sends_go_peers_the_header() -> None:
    heads: list[dict[str, str]] = []

    async def go_like(request: web.Request) -> web.Response:
        heads.append({k.lower(): v for k, v in request.headers.items()})
        key = request.path.rsplit("/", 1)[1]
        # a double in field 2, as golang's schema could send it: not taken for a rate
        return web.Response(body=encode_get_response(Value(b"go:" + key.encode()), rate=1e9))

    runner, url = await serve_peer_handler(go_like)
    try:
        with Workspace() as ws:
            g = Group(
                "g", CountingGetter(), 1 << 20, workspace=ws, hot_cache="qps", rng=NeverRandom()
            )
            async with HTTPPool("http://127.0.0.1:1", workspace=ws) as pool:
                pool.set_peers(url)
                for _ in range(3):
                    assert await g.get("k") == b"go:k"
                await asyncio.gather(*(g.get(f"c{i}") for i in range(20)))
        assert len(heads) == 23  # never admitted: no rate from a Go peer, and never 1 in 10
        assert not any(RATE_HEADER.lower() in head for head in heads)
        assert g.cache_stats("hot").items == 0
    finally:
        await runner.cleanup()


def test_a_batch_item_carries_its_grace_and_its_rate_in_fields_of_their_own() -> None:
    item = RatedValue(b"a", 1_700_000_000.0, 30.0, rate=4.0)
    (decoded,) = decode_batch_response(encode_batch_response([(200, item)]))
    assert decoded == (200, item)

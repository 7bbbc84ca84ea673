"""Batches bounded by bytes as well as keys: no batch fails because its keys or values
add up past ``max_body_bytes``, and each key of a batch gets its own result."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
from aiohttp import web

from groupcache import Group, HTTPPool, NotFoundError, Value, Workspace
from groupcache._http.batch import Batcher
from groupcache._protocol.bodies import (
    batch_key_cost,
    decode_batch_response,
    encode_batch_request,
    encode_batch_response,
    encode_get_response,
)
from tests.groupcache.helpers import method_counter, serve_peer_handler
from tests.support.cluster import cluster
from tests.support.getters import CountingGetter

LIMIT = 64 << 10


class BigValues(CountingGetter):
    """Returns a 10 kB value per key."""

    async def __call__(self, key: str) -> bytes:
        await super().__call__(key)
        return key.encode().ljust(10_000, b".")


async def test_concurrent_misses_of_large_values_need_no_peer_error_and_load_once() -> None:
    """40 misses of 10 kB values with max_body_bytes=64 KiB: each reply stays under it."""
    posts: Counter[str] = Counter()

    def count_on_b(index: int, pool: HTTPPool) -> None:
        if index == 1:
            pool.app.middlewares.append(method_counter(posts))

    async with cluster(
        2,
        join=False,
        getter=lambda i: BigValues(),
        before_start=count_on_b,
        max_body_bytes=LIMIT,
    ) as (a, b):
        a.pool.set_peers(b.url)
        await a.group.get("warm-up")  # a GET: learns that b serves batches
        keys = [f"k{i}" for i in range(40)]
        values = await asyncio.gather(*(a.group.get(k) for k in keys))
        assert values == [k.encode().ljust(10_000, b".") for k in keys]
        assert a.group.stats().peer_errors == 0
        assert a.getter.total == 0
        assert b.getter.calls == Counter({k: 1 for k in ["warm-up", *keys]})
        assert posts["POST"] >= 1  # batches were sent, and cut to fit


class ShortValues(CountingGetter):
    """Returns the first 8 characters of the key."""

    async def __call__(self, key: str) -> bytes:
        await super().__call__(key)
        return key[:8].encode()


async def test_many_long_keys_are_batched_within_the_peers_body_limit() -> None:
    """Keys of 20 KiB go three to a batch; a key longer than the limit goes alone (GET)."""
    async with cluster(
        2,
        join=False,
        getter=lambda i: ShortValues(),
        max_body_bytes=LIMIT,
        group_kwargs={"max_key_bytes": 128 << 10},
    ) as (a, b):
        a.pool.set_peers(b.url)
        await a.group.get("warm-up")
        keys = [f"{i:02d}".ljust(20 << 10, "x") for i in range(12)]
        keys += [f"{i:02d}".ljust(70 << 10, "y") for i in range(2)]
        values = await asyncio.gather(*(a.group.get(k) for k in keys))
        assert values == [k[:8].encode() for k in keys]
        assert a.group.stats().peer_errors == 0
        assert a.getter.total == 0
        assert b.getter.calls == Counter({k: 1 for k in ["warm-up", *keys]})


async def test_a_batch_is_cut_at_max_bytes_and_an_item_over_it_goes_alone() -> None:
    sent: list[list[str]] = []

    async def send(keys: list[str]) -> list[Value | Exception]:
        sent.append(keys)
        return [Value(k.encode()) for k in keys]

    b = Batcher(send, max_in_flight=1, max_keys=100, max_bytes=10, cost=len)
    values = await asyncio.gather(*(b.get(k) for k in ["aaaa", "bbbb", "cccc", "d" * 20, "ee"]))
    assert [v.data.decode() for v in values] == ["aaaa", "bbbb", "cccc", "d" * 20, "ee"]
    assert sent == [["aaaa", "bbbb"], ["cccc"], ["d" * 20], ["ee"]]


def test_a_batch_reply_leaves_out_the_values_over_the_reply_limit() -> None:
    items: list[tuple[int, Value | str]] = [(200, Value(bytes(400))) for _ in range(5)]
    items.insert(2, (404, "missing " * 100))  # an error is kept, its message shortened
    body = encode_batch_response(items, limit=1000)
    assert len(body) <= 1000
    decoded = decode_batch_response(body)
    assert [status for status, _ in decoded] == [200, 200, 404, 413, 413, 413]
    assert all(isinstance(v, Value) and len(v.data) == 400 for _, v in decoded[:2])
    assert isinstance(decoded[2][1], str)
    assert decoded[2][1].startswith("missing")
    unlimited = decode_batch_response(encode_batch_response(items))
    assert [status for status, _ in unlimited] == [200, 200, 404, 200, 200, 200]


async def scripted_peer(
    counts: Counter[str], *, post: web.Response | None = None
) -> tuple[web.AppRunner, str]:
    """A peer that serves GETs (announcing batches) and answers every POST with ``post``
    (default 405); the key ``nf`` is missing, answered as Go's ``http.Error`` does."""

    async def handle(request: web.Request) -> web.Response:
        counts[request.method] += 1
        if request.method == "POST":
            return post if post is not None else web.Response(status=405)
        key = request.path.rsplit("/", 1)[1]
        if key == "nf":
            return web.Response(
                status=404, text="nf is missing\n", headers={"X-Content-Type-Options": "nosniff"}
            )
        body = encode_get_response(Value(b"peer:" + key.encode()))
        return web.Response(body=body, headers={"X-Groupcache-Batch": "1"})

    return await serve_peer_handler(handle)


async def test_each_key_of_a_refused_batch_gets_its_own_result() -> None:
    """After a batch POST is answered 405, one missing key fails alone."""
    counts: Counter[str] = Counter()
    runner, url = await scripted_peer(counts)
    try:
        with Workspace() as ws:
            getter = CountingGetter()
            g = Group("g", getter, 1 << 20, workspace=ws)
            async with HTTPPool("http://127.0.0.1:1", workspace=ws, batches_in_flight=1) as pool:
                pool.set_peers(url)
                assert await g.get("warm-up") == b"peer:warm-up"
                results = await asyncio.gather(
                    *(g.get(k) for k in ["k1", "nf", "k2"]), return_exceptions=True
                )
        assert counts["POST"] == 1
        assert results[0] == b"peer:k1"
        assert isinstance(results[1], NotFoundError)
        assert results[2] == b"peer:k2"
        assert getter.total == 0
    finally:
        await runner.cleanup()


async def test_a_batch_reply_over_the_limit_from_an_older_peer_is_fetched_key_by_key() -> None:
    """A peer that does not cut its batch replies (an older version) costs no peer error."""
    counts: Counter[str] = Counter()
    huge = web.Response(body=bytes(2 * LIMIT), content_type="application/x-protobuf")
    runner, url = await scripted_peer(counts, post=huge)
    try:
        with Workspace() as ws:
            getter = CountingGetter()
            g = Group("g", getter, 1 << 20, workspace=ws)
            async with HTTPPool(
                "http://127.0.0.1:1", workspace=ws, batches_in_flight=1, max_body_bytes=LIMIT
            ) as pool:
                pool.set_peers(url)
                await g.get("warm-up")
                keys = [f"k{i}" for i in range(5)]
                values = await asyncio.gather(*(g.get(k) for k in keys))
                stats = g.stats()
        assert values == [b"peer:" + k.encode() for k in keys]
        assert counts["POST"] == 1
        assert stats.peer_errors == 0
        assert getter.total == 0
    finally:
        await runner.cleanup()


def test_the_batch_request_encoding_costs_what_the_batcher_counts() -> None:
    keys = ["", "a", "x" * 200, "ü" * 70_000]
    assert len(encode_batch_request(keys)) == sum(batch_key_cost(k) for k in keys)


async def test_a_batch_without_a_reply_limit_is_cut_to_the_owners_own_limit() -> None:
    """A requester of an older version sends no X-Groupcache-Reply-Limit (or garbage)."""
    async with cluster(1, join=False, getter=lambda i: BigValues(), max_body_bytes=LIMIT) as (
        node,
    ):
        body = encode_batch_request([f"k{i}" for i in range(10)])
        path = node.url + "/_groupcache/g/_get-keys/"
        async with aiohttp.ClientSession() as session:
            for headers in ({}, {"X-Groupcache-Reply-Limit": "²"}):
                async with session.post(path, data=body, headers=headers) as resp:
                    assert resp.status == 200
                    reply = await resp.read()
                assert len(reply) <= LIMIT
                statuses = [status for status, _ in decode_batch_response(reply)]
                assert statuses == [200] * 6 + [413] * 4
            headers = {"X-Groupcache-Reply-Limit": "25000"}
            async with session.post(path, data=body, headers=headers) as resp:
                statuses = [status for status, _ in decode_batch_response(await resp.read())]
            assert statuses == [200] * 2 + [413] * 8
        assert node.getter.total == 10  # loaded once: the rest were cached

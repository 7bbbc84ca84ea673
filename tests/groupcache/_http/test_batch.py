"""Coalescing concurrent misses for one owner into batch requests."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from aiohttp import web

from groupcache import (
    Group,
    HTTPPool,
    NotFoundError,
    PeerError,
    RemoteCallError,
    Value,
    Workspace,
)
from groupcache._http.batch import Batcher
from groupcache._http.peer import HTTPPeer
from groupcache._protocol.bodies import encode_get_response
from tests.groupcache.helpers import method_counter, serve_peer_handler
from tests.support.cluster import cluster
from tests.support.getters import CountingGetter
from tests.support.waiting import until


class FakeSend:
    """A batch sender whose calls block until released."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = asyncio.Event()
        self.fail_with: Exception | None = None

    async def __call__(self, keys: list[str]) -> list[Value | Exception]:
        self.batches.append(keys)
        await self.release.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return [NotFoundError(k) if k.startswith("nf") else Value(k.encode()) for k in keys]


async def test_a_lone_get_goes_out_at_once_and_later_ones_wait_to_share_a_batch() -> None:
    send = FakeSend()
    b = Batcher(send, max_in_flight=1, max_keys=100)
    first = asyncio.create_task(b.get("a"))
    await until(lambda: len(send.batches) == 1)
    later = [asyncio.create_task(b.get(k)) for k in ("b", "c", "nf-d")]
    await until(lambda: len(b._pending) == 3)
    assert send.batches == [["a"]]  # the others wait for the batch on the wire
    send.release.set()
    assert (await first).data == b"a"
    results = await asyncio.gather(*later, return_exceptions=True)
    assert send.batches == [["a"], ["b", "c", "nf-d"]]
    assert [r.data for r in results[:2] if isinstance(r, Value)] == [b"b", b"c"]
    assert isinstance(results[2], NotFoundError)


async def test_batches_are_split_at_max_keys() -> None:
    send = FakeSend()
    send.release.set()
    b = Batcher(send, max_in_flight=1, max_keys=3)
    values = await asyncio.gather(*(b.get(f"k{i}") for i in range(7)))
    assert [v.data for v in values] == [f"k{i}".encode() for i in range(7)]
    assert [len(batch) for batch in send.batches] == [3, 3, 1]


async def test_queued_gets_are_spread_over_the_free_batch_slots() -> None:
    """No lock-step: the peer works on one batch while the answer to another is handled."""
    send = FakeSend()
    send.release.set()
    b = Batcher(send, max_in_flight=4, max_keys=3)
    values = await asyncio.gather(*(b.get(f"k{i}") for i in range(7)))
    assert [v.data for v in values] == [f"k{i}".encode() for i in range(7)]
    assert [len(batch) for batch in send.batches] == [2, 2, 2, 1]


async def test_a_cancelled_caller_leaves_without_disturbing_the_others() -> None:
    send = FakeSend()
    b = Batcher(send, max_in_flight=1, max_keys=100)
    blocker = asyncio.create_task(b.get("first"))
    await until(lambda: len(send.batches) == 1)
    gone = asyncio.create_task(b.get("gone"))
    kept = asyncio.create_task(b.get("kept"))
    await until(lambda: len(b._pending) == 2)
    gone.cancel()
    send.release.set()
    assert (await kept).data == b"kept"
    await blocker
    assert send.batches[1] == ["kept"]  # the cancelled key was not even sent
    with pytest.raises(asyncio.CancelledError):
        await gone


async def test_a_failed_batch_fails_each_of_its_keys() -> None:
    send = FakeSend()
    send.fail_with = PeerError("peer down")
    send.release.set()
    b = Batcher(send, max_in_flight=1, max_keys=100)
    results = await asyncio.gather(*(b.get(k) for k in "xyz"), return_exceptions=True)
    assert all(isinstance(r, PeerError) for r in results)


async def test_close_fails_queued_gets_and_cancels_batches_on_the_wire() -> None:
    send = FakeSend()
    b = Batcher(send, max_in_flight=1, max_keys=100)
    on_wire = asyncio.create_task(b.get("a"))
    await until(lambda: len(send.batches) == 1)
    queued = asyncio.create_task(b.get("b"))
    await until(lambda: len(b._pending) == 1)
    b.close()
    for task in (on_wire, queued):
        with pytest.raises(PeerError):
            await task
    assert "queued=0" in repr(b)


async def test_concurrent_misses_for_one_owner_share_requests() -> None:
    counts: Counter[str] = Counter()

    def count_on_b(index: int, pool: HTTPPool) -> None:
        if index == 1:
            pool.app.middlewares.append(method_counter(counts))

    async with cluster(2, join=False, before_start=count_on_b, batches_in_flight=1) as (a, b):
        a.pool.set_peers(b.url)
        await a.group.get("warm-up")  # a GET: learns that b serves batches
        b.getter.gate = asyncio.Event()
        tasks = [asyncio.create_task(a.group.get(f"k{i}")) for i in range(50)]
        await until(lambda: b.getter.started >= 2)
        b.getter.gate.set()
        values = await asyncio.gather(*tasks)
        assert values == [f"n1:k{i}".encode() for i in range(50)]
        assert b.getter.total == 51
        assert counts["GET"] == 1
        assert counts["POST"] <= 3  # k0 alone, then the rest in one or two batches
        assert b.group.stats().server_requests == 51
        assert a.group.stats().peer_loads == 51


async def test_batch_answers_carry_per_key_errors() -> None:
    def make(i: int) -> CountingGetter:
        class Mixed(CountingGetter):
            async def __call__(self, key: str) -> bytes:
                if self.gate is not None:
                    await self.gate.wait()
                if key.startswith("nf"):
                    raise NotFoundError(f"{key} is missing")
                if key.startswith("bad"):
                    raise RuntimeError(f"{key} broke")
                return b"ok:" + key.encode()

        return Mixed()

    async with cluster(2, join=False, getter=make, batches_in_flight=1) as (a, b):
        a.pool.set_peers(b.url)
        await a.group.get("warm-up")
        b.getter.gate = asyncio.Event()
        keys = ["first", "v1", "nf1", "bad1", "v2"]
        tasks = [asyncio.create_task(a.group.get(k)) for k in keys]
        await until(lambda: len(b.group._local_flights) == 5)  # all five on b, in one batch
        peer = a.pool.remote_peers()[0]
        assert isinstance(peer, HTTPPeer)
        assert peer._batchers["g"]._in_flight == 1
        b.getter.gate.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert results[0] == b"ok:first"
        assert results[1] == b"ok:v1"
        assert isinstance(results[2], NotFoundError)
        assert "nf1 is missing" in str(results[2])
        assert isinstance(results[3], RemoteCallError)
        assert results[4] == b"ok:v2"
        assert a.group.stats().peer_errors == 0
        assert a.getter.total == 0  # nothing fell back to a local load


async def go_like_server(counts: Counter[str]) -> tuple[web.AppRunner, str]:
    """A peer that answers GETs like a Go server: no batch header, POST is a GET."""

    async def handle(request: web.Request) -> web.Response:
        counts[request.method] += 1
        key = request.path.rsplit("/", 1)[1]
        return web.Response(body=encode_get_response(Value(b"go:" + key.encode())))

    return await serve_peer_handler(handle)


@pytest.mark.parametrize("batch", [True, False])
async def test_go_peers_and_batch_false_only_ever_get_plain_gets(batch: bool) -> None:
    counts: Counter[str] = Counter()
    runner, url = await go_like_server(counts)
    try:
        with Workspace() as ws:
            g = Group("g", CountingGetter(), 1 << 20, workspace=ws, hot_cache="never")
            async with HTTPPool("http://127.0.0.1:1", workspace=ws, batch=batch) as pool:
                pool.set_peers(url)
                await asyncio.gather(*(g.get(f"k{i}") for i in range(40)))
                await asyncio.gather(*(g.get(f"k{i}") for i in range(40)))
        assert counts == Counter({"GET": 80})  # peer values are not kept: hot_cache="never"
    finally:
        await runner.cleanup()


async def test_gets_beyond_max_pending_fail_at_once_while_the_peer_is_busy() -> None:
    send = FakeSend()
    b = Batcher(send, max_in_flight=1, max_keys=100, max_pending=2)
    first = asyncio.create_task(b.get("a"))
    await until(lambda: len(send.batches) == 1)  # the only batch slot is taken
    queued = [asyncio.create_task(b.get(k)) for k in ("b", "c")]
    await until(lambda: len(b._pending) == 2)
    with pytest.raises(PeerError, match="2 gets already queued"):
        await b.get("d")
    send.release.set()
    assert [v.data for v in await asyncio.gather(first, *queued)] == [b"a", b"b", b"c"]
    assert send.batches == [["a"], ["b", "c"]]


async def test_max_pending_does_not_count_what_the_free_batch_slots_take() -> None:
    send = FakeSend()
    b = Batcher(send, max_in_flight=2, max_keys=3, max_pending=1)
    gets = [asyncio.create_task(b.get(str(i))) for i in range(7)]  # 2 x 3 go out, 1 waits
    await until(lambda: len(send.batches) == 2)
    with pytest.raises(PeerError):
        await b.get("late")
    send.release.set()
    assert len(await asyncio.gather(*gets)) == 7
    assert send.batches == [["0", "1", "2"], ["3", "4", "5"], ["6"]]

"""An overloaded owner: bounded concurrency per peer, bounded queueing, bounded memory.

Node A sends 10,000 concurrent gets of distinct keys to owner B, whose getter is held
until all of them are in flight. B must never see more concurrent loads than A's
per-peer bound (``max_connections_per_peer`` plain GETs, or ``batches_in_flight``
batches of at most 512 keys); A's memory for the 10k pending gets must stay bounded;
once B is released every get succeeds and each key is loaded once, on B.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc

import pytest

from groupcache._protocol.headers import MAX_BATCH_KEYS
from tests.support.cluster import Node, cluster
from tests.support.figures import figure
from tests.support.getters import CountingGetter
from tests.support.waiting import until

from .helpers import mib

N = 10_000


class HeldGetter(CountingGetter):
    """B's getter: tracks concurrency; holds every load until released."""

    def __init__(self, prefix: bytes) -> None:
        super().__init__(prefix)
        self.release = asyncio.Event()
        self.release.set()
        self.current = 0
        self.peak = 0

    async def __call__(self, key: str) -> bytes:
        self.calls[key] += 1
        self.current += 1
        self.peak = max(self.peak, self.current)
        try:
            await self.release.wait()
        finally:
            self.current -= 1
        return self.prefix + key.encode()


def keys_owned_by(a: Node, b: Node, n: int) -> list[str]:
    keys = [k for k in (f"o-{i}" for i in range(4 * n)) if a.pool.owner(k) == b.url][:n]
    assert len(keys) == n
    return keys


@pytest.mark.no_loop_debug
@pytest.mark.parametrize("batch", [True, False], ids=["batched", "plain GETs"])
async def test_ten_thousand_distinct_keys_to_an_overloaded_owner(batch: bool) -> None:
    getters = [HeldGetter(b"a:"), HeldGetter(b"b:")]
    async with cluster(
        2,
        getter=lambda i: getters[i],
        batch=batch,
        max_connections_per_peer=8,
        max_queued_per_peer=N,  # every pending get waits for B: this measures holding them
    ) as (a, b):
        held = getters[1]
        keys = keys_owned_by(a, b, N + 1)
        assert await a.group.get(keys[0]) == b"b:" + keys[0].encode()  # B says it batches
        held.release.clear()
        held.peak = 0
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        began = time.perf_counter()
        gets = [asyncio.ensure_future(a.group.get(k)) for k in keys[1:]]
        bound = 2 * MAX_BATCH_KEYS if batch else 8
        await until(
            lambda: a.group.stats().loads == N + 1 and held.current >= min(bound, N), timeout=30
        )
        pending_bytes = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        peak_while_held = held.peak
        held.release.set()
        results = await asyncio.gather(*gets, return_exceptions=True)
        wall = time.perf_counter() - began
        stats = a.group.stats()
    failed = [r for r in results if not isinstance(r, bytes)]
    figure(
        f"overloaded owner ({'batched' if batch else 'plain GETs'}): {N} concurrent distinct "
        f"keys, {len(failed)} failed, owner saw at most {held.peak} concurrent loads "
        f"(bound {bound}), {mib(pending_bytes)} on the caller for the 10k pending gets "
        f"({pending_bytes // N} B each), {stats.peer_errors} peer errors, wall {wall:.1f} s"
    )
    assert not failed, failed[:3]
    assert peak_while_held <= bound
    assert held.peak <= bound
    assert pending_bytes < 128 << 20  # generous: 13 KiB per pending get (measured ~6)
    assert stats.peer_errors == 0
    assert held.total == N + 1
    assert max(held.calls.values()) == 1


QUEUE = 256


@pytest.mark.no_loop_debug
@pytest.mark.parametrize("batch", [True, False], ids=["batched", "plain GETs"])
async def test_gets_queued_beyond_a_bound_are_loaded_locally_at_once(batch: bool) -> None:
    getters = [HeldGetter(b"a:"), HeldGetter(b"b:")]
    async with cluster(
        2,
        getter=lambda i: getters[i],
        batch=batch,
        max_connections_per_peer=4,
        max_queued_per_peer=QUEUE,
        timeout=20.0,
    ) as (a, b):
        held = getters[1]
        keys = keys_owned_by(a, b, 2001)
        assert await a.group.get(keys[0]) == b"b:" + keys[0].encode()  # B says it batches
        held.release.clear()
        began = time.perf_counter()
        gets = [asyncio.ensure_future(a.group.get(k)) for k in keys[1:]]
        try:
            # B holds what is on the wire (4 GETs, or 2 batches); QUEUE more wait for it;
            # every other get is shed at once to a local load on A, well before `timeout`.
            on_wire = 2 * MAX_BATCH_KEYS if batch else 4
            shed = len(gets) - min(on_wire + QUEUE, len(gets))
            await until(lambda: sum(g.done() for g in gets) >= shed, timeout=5.0)
            shed_after = time.perf_counter() - began
            done = [g.result() for g in gets if g.done()]
            assert all(v.startswith(b"a:") for v in done), done[:3]
            assert a.group.stats().peer_errors >= shed
        finally:
            held.release.set()
            results = await asyncio.gather(*gets, return_exceptions=True)
        stats = a.group.stats()
    failed = [r for r in results if not isinstance(r, bytes)]
    from_b = sum(1 for r in results if isinstance(r, bytes) and r.startswith(b"b:"))
    figure(
        f"queue bound ({'batched' if batch else 'plain GETs'}): {len(gets)} gets to a held "
        f"owner, max_connections_per_peer=4, max_queued_per_peer={QUEUE}: {shed} shed to "
        f"local loads within {shed_after * 1000:.0f} ms, {from_b} served by the owner once "
        f"released, {len(failed)} failed, {stats.peer_errors} peer errors"
    )
    assert not failed, failed[:3]
    assert from_b == len(gets) - shed
    assert stats.local_loads == shed

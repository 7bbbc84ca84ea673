"""Stale-while-revalidate and negative caching between our peers, over real loopback
sockets: the owner's reply carries a value's grace (``X-Groupcache-Grace``) and a
remembered not-found's TTL (``X-Groupcache-Negative-TTL``; in batch replies, fields of the
item), so the requester serves its hot copy stale and remembers the not-found too. The
bodies stay the ones Go peers read; headers they do not know they ignore."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from groupcache import Group, HTTPPool, NotFoundError, ServerKind, Value, Workspace
from groupcache._protocol.bodies import encode_get_response
from tests.support.clock import Clock
from tests.support.waiting import until


class Origin:
    """Keys starting with ``gone`` do not exist; the others expire in 10 s with 30 s of
    grace and say which call loaded them. A call waits for ``gate`` if one is set."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.calls = 0
        self.gate: asyncio.Event | None = None

    async def __call__(self, key: str) -> Value:
        self.calls += 1
        n = self.calls
        if key.startswith("gone"):
            raise NotFoundError(f"{key} does not exist")
        if self.gate is not None:
            await self.gate.wait()
        return Value(f"{key}#{n}".encode(), self.clock.now + 10, grace=30)


@dataclass
class Side:
    group: Group
    pool: HTTPPool
    origin: Origin


@contextlib.asynccontextmanager
async def two_nodes(
    server: ServerKind, *, batch: bool = True, owner_ttl: float = 5.0
) -> AsyncIterator[tuple[Side, Side, Clock]]:
    """An owner of every key and a requester, sharing one fake clock."""
    clock = Clock()
    sides: list[Side] = []
    workspaces: list[Workspace] = []
    try:
        for ttl in (owner_ttl, 0.0):
            ws = Workspace()
            workspaces.append(ws)
            origin = Origin(clock)
            group = Group("g", origin, 1 << 20, workspace=ws, clock=clock, negative_ttl=ttl)
            pool = HTTPPool(
                "http://127.0.0.1:0", workspace=ws, server=server, batch=batch, replicas=1
            )
            await pool.start("127.0.0.1", 0)
            sides.append(Side(group, pool, origin))
        owner, requester = sides
        for side in sides:  # the owner alone on the ring: it owns every key
            side.pool.set_peers(owner.pool.self_url)
        yield owner, requester, clock
    finally:
        for side in sides:
            await side.pool.aclose()
        for ws in workspaces:
            ws.close()


async def raw_get(pool: HTTPPool, key: str) -> tuple[int, dict[str, str], bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{pool.self_url}/_groupcache/g/{key}") as resp,
    ):
        return resp.status, dict(resp.headers), await resp.read()


async def test_a_value_with_a_grace_says_so_in_a_header_and_its_body_is_unchanged(
    server_kind: ServerKind,
) -> None:
    async with two_nodes(server_kind) as (owner, _, clock):
        for _ in range(2):  # a miss, then the cached value (the lean server's fast path)
            status, headers, body = await raw_get(owner.pool, "k")
            assert status == 200
            assert headers["X-Groupcache-Grace"] == "30"
            assert body == encode_get_response(Value(b"k#1", clock.now + 10))


async def test_a_value_without_a_grace_has_no_grace_header(server_kind: ServerKind) -> None:
    async with two_nodes(server_kind) as (owner, _, _clock):
        await owner.group.set("plain", b"x")
        status, headers, _ = await raw_get(owner.pool, "plain")
        assert status == 200
        assert "X-Groupcache-Grace" not in headers


async def test_a_requesters_hot_copy_is_served_stale_while_the_owner_refreshes_it(
    server_kind: ServerKind,
) -> None:
    async with two_nodes(server_kind) as (owner, requester, clock):
        assert await requester.group.get("k") == b"k#1"
        hot = requester.group._hot.peek("k")
        assert isinstance(hot, Value)
        assert hot.grace == 30
        clock.now += 11
        owner.origin.gate = asyncio.Event()
        got = await asyncio.gather(*(requester.group.get("k") for _ in range(8)))
        assert got == [b"k#1"] * 8  # at once, while the owner's origin is held
        await until(lambda: owner.origin.calls == 2)
        owner.origin.gate.set()
        await until(lambda: requester.group.stats().stale_refreshes == 1)
        assert await requester.group.get("k") == b"k#2"
        assert owner.origin.calls == 2
        assert requester.origin.calls == 0
        assert requester.group.stats().stale_hits == 8


async def test_a_remembered_not_found_carries_its_ttl_in_a_header(
    server_kind: ServerKind,
) -> None:
    async with two_nodes(server_kind) as (owner, _, clock):
        first = await raw_get(owner.pool, "gone-1")
        clock.now += 2
        second = await raw_get(owner.pool, "gone-1")
        for status, headers, body in (first, second):
            assert status == 404
            assert headers["X-Groupcache-Error"] == "not-found"
            assert body == b"gone-1 does not exist\n"
        assert first[1]["X-Groupcache-Negative-TTL"] == "5"
        assert second[1]["X-Groupcache-Negative-TTL"] == "3"
        assert owner.origin.calls == 1


async def test_a_not_found_that_is_not_remembered_has_no_ttl_header(
    server_kind: ServerKind,
) -> None:
    async with two_nodes(server_kind, owner_ttl=0.0) as (owner, _, _clock):
        status, headers, _ = await raw_get(owner.pool, "gone-1")
        assert status == 404
        assert "X-Groupcache-Negative-TTL" not in headers


@pytest.mark.parametrize("batch", [False, True])
async def test_the_requester_remembers_the_owners_not_found_for_its_ttl(
    server_kind: ServerKind, batch: bool
) -> None:
    async with two_nodes(server_kind, batch=batch) as (owner, requester, clock):
        await requester.group.get("warm")  # the first request, a plain GET
        keys = [f"gone-{i}" for i in range(6)]
        for _ in range(3):
            results = await asyncio.gather(
                *(requester.group.get(k) for k in keys), return_exceptions=True
            )
            assert all(isinstance(r, NotFoundError) for r in results)
        assert owner.origin.calls == 1 + len(keys)
        served = owner.group.stats().server_requests
        assert requester.group.negative_ttl_left("gone-0") == pytest.approx(5.0)
        clock.now += 6
        with pytest.raises(NotFoundError):
            await requester.group.get("gone-0")
        assert owner.group.stats().server_requests == served + 1
        assert requester.origin.calls == 0


async def test_a_batch_carries_the_grace_of_its_values(server_kind: ServerKind) -> None:
    async with two_nodes(server_kind, batch=True) as (_, requester, _clock):
        await requester.group.get("warm")
        keys = [f"k{i}" for i in range(6)]
        await asyncio.gather(*(requester.group.get(k) for k in keys))
        for key in keys:
            hot = requester.group._hot.peek(key)
            assert isinstance(hot, Value)
            assert hot.grace == 30


async def test_the_pools_aclose_cancels_the_refreshes_in_progress(
    server_kind: ServerKind,
) -> None:
    async with two_nodes(server_kind) as (owner, requester, clock):
        await requester.group.get("k")
        clock.now += 11
        owner.origin.gate = asyncio.Event()
        await requester.group.get("k")
        await until(lambda: requester.group._refresher.running == 1)
        await requester.pool.aclose()
        assert requester.group._refresher.running == 0

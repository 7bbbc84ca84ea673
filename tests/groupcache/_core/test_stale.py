"""Stale-while-revalidate: a value with a grace period is served stale after its expiry
while one background refresh per key runs (a fake clock, gates and events; no sleeps)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from groupcache import Group, InvalidValueError, NotFoundError, Value, Workspace
from groupcache._core import stale
from tests.groupcache.helpers import ModPicker
from tests.support.clock import Clock
from tests.support.waiting import until


class Origin:
    """A getter returning ``v<n>`` (its n-th call) that expires in ``ttl`` with ``grace``;
    a call waits for ``gate`` when one is set, and raises ``fail`` when one is set."""

    def __init__(self, clock: Clock, ttl: float = 10.0, grace: float = 30.0) -> None:
        self.clock = clock
        self.ttl = ttl
        self.grace = grace
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.fail: Exception | None = None
        self.cancelled = 0

    async def __call__(self, key: str) -> Value:
        self.calls += 1
        n = self.calls
        try:
            if self.gate is not None:
                await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.fail is not None:
            raise self.fail
        return Value(f"v{n}".encode(), self.clock.now + self.ttl, grace=self.grace)


def make(workspace: Workspace, **kw: object) -> tuple[Group, Origin, Clock]:
    clock = Clock()
    origin = Origin(clock, **kw)  # type: ignore[arg-type]
    return Group("swr", origin, 1 << 20, workspace=workspace, clock=clock), origin, clock


async def test_after_expiry_gets_within_the_grace_are_served_stale_while_one_refresh_runs(
    workspace: Workspace,
) -> None:
    g, origin, clock = make(workspace)
    assert await g.get("k") == b"v1"
    clock.now += 11  # expired 1 s ago, 29 s of grace left
    origin.gate = asyncio.Event()
    results = await asyncio.gather(*(g.get("k") for _ in range(20)))
    assert results == [b"v1"] * 20  # at once: nobody waited for the origin
    await until(lambda: origin.calls == 2)
    assert origin.calls == 2  # exactly one refresh for the twenty stale gets
    origin.gate.set()
    await until(lambda: g.stats().stale_refreshes == 1)
    assert await g.get("k") == b"v2"
    s = g.stats()
    assert (s.stale_hits, s.stale_refreshes, s.stale_refresh_errors) == (20, 1, 0)
    assert origin.calls == 2


async def test_concurrent_gets_of_a_refreshed_key_share_the_refresh_load(
    workspace: Workspace,
) -> None:
    """The refresh is the key's flight: a get past the grace joins it, never a 2nd load."""
    g, origin, clock = make(workspace, grace=5.0)
    await g.get("k")
    clock.now += 11
    origin.gate = asyncio.Event()
    assert await g.get("k") == b"v1"  # stale; the refresh starts
    await until(lambda: origin.calls == 2)
    clock.now += 10  # past the grace: a normal miss, which joins the refresh's flight
    waiting = asyncio.create_task(g.get("k"))
    await until(lambda: (f := g._local_flights.get("k")) is not None and f.waiters == 2)
    origin.gate.set()
    assert await waiting == b"v2"
    assert origin.calls == 2


async def test_past_the_grace_a_get_waits_for_the_load_as_any_miss(
    workspace: Workspace,
) -> None:
    g, _origin, clock = make(workspace, grace=5.0)
    await g.get("k")
    clock.now += 15.5  # 10 s of life + 5 s of grace are over
    assert await g.get("k") == b"v2"
    assert g.stats().stale_hits == 0


async def test_a_value_without_a_grace_expires_as_before(workspace: Workspace) -> None:
    g, _origin, clock = make(workspace, grace=0.0)
    await g.get("k")
    clock.now += 10.5
    assert await g.get("k") == b"v2"
    assert g.stats().stale_hits == 0
    assert len(g._main) == 1


async def test_a_failed_refresh_is_counted_logged_keeps_the_stale_value_and_backs_off(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    g, origin, clock = make(workspace)
    await g.get("k")
    clock.now += 11
    origin.fail = RuntimeError("origin down")
    with caplog.at_level(logging.WARNING, logger="groupcache"):
        assert await g.get("k") == b"v1"
        await until(lambda: g.stats().stale_refresh_errors == 1)
    assert "origin down" in caplog.text
    assert "next try in 1 s" in caplog.text
    assert await g.get("k") == b"v1"  # still served stale; no new refresh yet: backing off
    assert (origin.calls, g.stats().stale_refresh_errors, g._refresher.running) == (2, 1, 0)
    clock.now += 1.0  # the backoff is over: a new refresh is tried
    assert await g.get("k") == b"v1"
    await until(lambda: g.stats().stale_refresh_errors == 2)
    clock.now += 1.5  # the backoff doubled to 2 s: not over yet
    assert await g.get("k") == b"v1"
    assert (origin.calls, g._refresher.running) == (3, 0)
    origin.fail = None
    clock.now += 0.5
    assert await g.get("k") == b"v1"
    await until(lambda: g.stats().stale_refreshes == 1)
    assert await g.get("k") == b"v4"


async def test_a_refresh_that_finds_the_value_gone_drops_the_stale_copy(
    workspace: Workspace,
) -> None:
    g, origin, clock = make(workspace)
    await g.get("k")
    clock.now += 11
    origin.fail = NotFoundError("deleted at the origin")
    assert await g.get("k") == b"v1"
    await until(lambda: g.stats().stale_refresh_errors == 1)
    with pytest.raises(NotFoundError):
        await g.get("k")


async def test_remove_drops_a_stale_value(workspace: Workspace) -> None:
    g, _origin, clock = make(workspace)
    await g.get("k")
    clock.now += 11
    g.local_remove("k")
    assert await g.get("k") == b"v2"
    assert g.stats().stale_hits == 0


async def test_a_write_during_a_refresh_wins_over_the_refreshed_value(
    workspace: Workspace,
) -> None:
    g, origin, clock = make(workspace)
    await g.get("k")
    clock.now += 11
    origin.gate = asyncio.Event()
    assert await g.get("k") == b"v1"
    await until(lambda: origin.calls == 2)
    await g.set("k", b"written")
    origin.gate.set()
    await until(lambda: not g._refresher.running)
    assert await g.get("k") == b"written"


async def test_aclose_cancels_and_awaits_the_refreshes_in_progress(workspace: Workspace) -> None:
    g, origin, clock = make(workspace)
    await g.get("k")
    clock.now += 11
    origin.gate = asyncio.Event()
    assert await g.get("k") == b"v1"
    await until(lambda: origin.calls == 2)
    await g.aclose()
    assert not g._refresher.running
    await until(lambda: origin.cancelled == 1)  # the flight lost its last waiter
    assert not g._local_flights.get("k")
    await g.aclose()  # idempotent


async def test_a_stale_hot_copy_from_a_peer_is_served_while_its_owner_is_asked_again(
    workspace: Workspace,
) -> None:
    clock = Clock()
    asked: list[str] = []
    gate = asyncio.Event()

    class GracefulPeer:
        url = "fake://owner"

        async def get(self, group: str, key: str) -> Value:
            asked.append(key)
            if len(asked) > 1:
                await gate.wait()
            return Value(f"owner{len(asked)}".encode(), clock.now + 10, grace=30)

        async def set(self, group: str, key: str, value: Value) -> None: ...
        async def remove(self, group: str, key: str) -> None: ...

    workspace.set_peer_picker(ModPicker([GracefulPeer()]))  # type: ignore[list-item]
    g = Group("hot", lambda k: b"local", 1 << 20, workspace=workspace, clock=clock)
    assert await g.get("k") == b"owner1"
    assert "k" in g._hot
    clock.now += 11
    assert list(await asyncio.gather(g.get("k"), g.get("k"))) == [b"owner1", b"owner1"]
    await until(lambda: len(asked) == 2)
    gate.set()
    await until(lambda: g.stats().stale_refreshes == 1)
    assert await g.get("k") == b"owner2"
    assert len(asked) == 2


def test_a_grace_must_be_finite_non_negative_seconds() -> None:
    assert Value(b"x", 5.0, grace=2).grace == 2
    assert Value(b"x").grace == 0.0
    for bad in (-1.0, float("nan"), float("inf"), "3", True):
        with pytest.raises(InvalidValueError):
            Value(b"x", 5.0, grace=bad)  # type: ignore[arg-type]


async def test_get_value_never_serves_a_stale_value(workspace: Workspace) -> None:
    """What peers and the thin Client ask: a Go peer would drop an expired value."""
    g, origin, clock = make(workspace)
    await g.get("k")
    clock.now += 11
    value = await g.get_value("k", from_peer=True)
    assert value.data == b"v2"
    assert g.stats().stale_hits == 0
    assert origin.calls == 2


def test_get_sync_serves_a_stale_value_and_refreshes_it_on_the_loop(
    workspace: Workspace,
) -> None:
    g, origin, clock = make(workspace)
    assert g.get_sync("k") == b"v1"
    clock.now += 11
    assert g.get_sync("k") == b"v1"

    async def refreshed() -> None:
        await until(lambda: g.stats().stale_refreshes == 1)

    workspace.run_sync(refreshed(), timeout=10)
    assert g.get_sync("k") == b"v2"
    assert origin.calls == 2


async def test_retry_times_are_kept_for_a_bounded_number_of_keys(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stale, "_RETRY_KEYS", 1)
    g, origin, clock = make(workspace)
    await g.get("a")
    await g.get("b")
    clock.now += 11
    origin.fail = RuntimeError("origin down")
    assert await g.get("a") == b"v1"
    await until(lambda: g.stats().stale_refresh_errors == 1)
    assert await g.get("b") == b"v2"
    await until(lambda: g.stats().stale_refresh_errors == 2)  # "a"'s retry time forgotten
    assert await g.get("a") == b"v1"
    await until(lambda: g.stats().stale_refresh_errors == 3)  # so it is tried at once

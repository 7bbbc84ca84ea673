"""What a peer's 404, 401 and 403 mean: only a missing value is final.

A peer without the group (a rolling deploy that adds one), a 404 from outside the
protocol (``base_path`` differs) and a refused token are peer errors: the key is loaded
locally, counted, and logged once per peer and group with what is wrong.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest

from groupcache import (
    Client,
    Group,
    GroupNotFoundError,
    HTTPPool,
    NotFoundError,
    PeerError,
    ServerKind,
    Workspace,
)
from groupcache._core.stats import PeerErrorReporter, Stats
from groupcache.metrics import register
from tests.groupcache.helpers import serve_peer_handler
from tests.support.cluster import cluster
from tests.support.getters import CountingGetter

KEYS = [f"k{i}" for i in range(10)]


def peer_lines(caplog: pytest.LogCaptureFixture, url: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if url in r.getMessage()]


async def test_a_peer_without_the_group_is_a_peer_error_logged_once(
    caplog: pytest.LogCaptureFixture, server_kind: ServerKind
) -> None:
    """A node of a newer version adds group "g"; the older node b does not have it."""
    with Workspace() as ws_b:
        Group("other", CountingGetter(), 1 << 20, workspace=ws_b)
        async with HTTPPool("http://127.0.0.1:0", workspace=ws_b, server=server_kind) as pool_b:
            b_url = await pool_b.start()
            with Workspace() as ws_a:
                getter = CountingGetter()
                g = Group("g", getter, 1 << 20, workspace=ws_a)
                async with HTTPPool("http://127.0.0.1:1", workspace=ws_a) as pool_a:
                    pool_a.set_peers(b_url)
                    values = [await g.get(k) for k in KEYS]
                    stats = g.stats()
    assert values == [b"v:" + k.encode() for k in KEYS]
    assert stats.peer_errors == 10
    assert getter.total == 10
    lines = peer_lines(caplog, b_url)
    assert len(lines) == 1, lines
    assert "does not serve group 'g'" in lines[0]


async def test_a_404_from_outside_the_protocol_is_a_peer_error_that_names_base_path(
    caplog: pytest.LogCaptureFixture,
    server_kind: ServerKind,
) -> None:
    async with cluster(1, join=False, server=server_kind) as (b,):
        with Workspace() as ws:
            getter = CountingGetter()
            g = Group("g", getter, 1 << 20, workspace=ws)
            async with HTTPPool("http://127.0.0.1:1", workspace=ws, base_path="/other/") as pool:
                pool.set_peers(b.url)
                values = [await g.get(k) for k in KEYS]
                stats = g.stats()
    assert values == [b"v:" + k.encode() for k in KEYS]
    assert stats.peer_errors == 10
    lines = peer_lines(caplog, b.url)
    assert len(lines) == 1, lines
    assert "base_path" in lines[0]


GO_404S = {
    "no such group": ("no such group: g\n", True),  # golang, mailgun: the group is missing
    "go mux": ("404 page not found\n", True),  # a Go mux: nothing served at this path
    "go ErrNotFound": ("k0 is not in the database\n", False),  # mailgun/v3: the value
}


@pytest.mark.parametrize("case", list(GO_404S))
async def test_a_go_peers_404_is_final_only_for_a_missing_value(case: str) -> None:
    body, local = GO_404S[case]

    async def handle(request: web.Request) -> web.Response:
        # As Go's http.Error writes every error reply.
        return web.Response(status=404, text=body, headers={"X-Content-Type-Options": "nosniff"})

    runner, url = await serve_peer_handler(handle)
    try:
        with Workspace() as ws:
            getter = CountingGetter()
            g = Group("g", getter, 1 << 20, workspace=ws)
            async with HTTPPool("http://127.0.0.1:1", workspace=ws) as pool:
                pool.set_peers(url)
                if local:
                    assert await g.get("k0") == b"v:k0"
                    assert g.stats().peer_errors == 1
                else:
                    with pytest.raises(NotFoundError, match="k0 is not in the database"):
                        await g.get("k0")
                    assert g.stats().peer_errors == 0
                    assert getter.total == 0
    finally:
        await runner.cleanup()


async def test_a_refused_token_is_counted_logged_once_and_exported(
    caplog: pytest.LogCaptureFixture,
    server_kind: ServerKind,
) -> None:
    async with cluster(1, join=False, token="right", server=server_kind) as (b,):
        with Workspace() as ws:
            getter = CountingGetter()
            g = Group("g", getter, 1 << 20, workspace=ws)
            async with HTTPPool("http://127.0.0.1:1", workspace=ws, token="wrong") as pool:
                pool.set_peers(b.url)
                values = await asyncio.gather(*(g.get(k) for k in KEYS))
                stats = g.stats()
                registry = CollectorRegistry()
                register(registry, ws)
                text = generate_latest(registry).decode()
    assert values == [b"v:" + k.encode() for k in KEYS]
    assert stats.peer_errors == 10
    assert stats.peer_auth_errors == 10
    assert 'groupcache_peer_auth_errors_total{group="g"} 10.0' in text
    lines = [r for r in caplog.records if b.url in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert lines[0].levelno == logging.ERROR
    assert "403" in lines[0].getMessage()
    assert "token" in lines[0].getMessage()


async def test_the_value_404_of_our_own_server_stays_final(server_kind: ServerKind) -> None:
    class Missing(CountingGetter):
        async def __call__(self, key: str) -> bytes:
            raise NotFoundError(f"{key} is gone")

    async with cluster(2, join=False, getter=lambda i: Missing(), server=server_kind) as (a, b):
        a.pool.set_peers(b.url)
        with pytest.raises(NotFoundError, match="k is gone") as info:
            await a.group.get("k")
        assert not isinstance(info.value, GroupNotFoundError)
        assert a.group.stats().peer_errors == 0


async def test_client_get_raises_group_not_found_for_a_group_the_node_lacks(
    server_kind: ServerKind,
) -> None:
    async with cluster(1, join=False, server=server_kind) as (node,):
        async with Client(node.url) as client:
            with pytest.raises(GroupNotFoundError, match="no such group: nope"):
                await client.get("nope", "k")
            with pytest.raises(GroupNotFoundError):
                await asyncio.to_thread(client.get_sync, "nope", "k")
        async with Client(node.url, base_path="/elsewhere/") as lost:
            with pytest.raises(PeerError, match="base_path"):
                await lost.get("g", "k")


def test_misconfigurations_are_logged_again_after_the_interval_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    stats = Stats()
    reporter = PeerErrorReporter(stats, clock=lambda: now[0], interval=60.0)
    missing = GroupNotFoundError("http://p:1: no such group: g")
    for i in range(5):
        reporter.record("http://p:1", "g", f"k{i}", missing)
    now[0] = 61.0
    reporter.record("http://p:1", "g", "k9", missing)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert "4 more" in lines[1]
    assert stats.peer_errors == 6


def test_the_misconfiguration_log_drops_stale_peers_once_it_tracks_1024() -> None:
    """Bounded memory with ever new peers (pod IPs come and go): once 1024 (peer, group,
    error) entries are tracked, the next new one drops those logged an interval ago."""
    now = [0.0]
    reporter = PeerErrorReporter(Stats(), clock=lambda: now[0], interval=60.0)
    for i in range(1024):
        peer = f"http://10.0.{i // 256}.{i % 256}:5000"
        reporter.record(peer, "g", "k", GroupNotFoundError(f"{peer}: no such group: g"))
    assert repr(reporter) == "<PeerErrorReporter tracked=1024>"
    now[0] = 30.0
    fresh = "http://10.1.0.1:5000"
    reporter.record(fresh, "g", "k", GroupNotFoundError(f"{fresh}: no such group: g"))
    assert repr(reporter) == "<PeerErrorReporter tracked=1025>"  # none is stale yet
    now[0] = 61.0
    newest = "http://10.1.0.2:5000"
    reporter.record(newest, "g", "k", GroupNotFoundError(f"{newest}: no such group: g"))
    assert repr(reporter) == "<PeerErrorReporter tracked=2>"  # the fresh one and the newest


async def test_a_batch_for_a_group_the_peer_lacks_keeps_batching_on_for_its_other_groups(
    server_kind: ServerKind,
) -> None:
    """During a rolling deploy a batch POST for a new group gets 404 "no such group":
    every key of it is a GroupNotFoundError (a local load), and the peer still serves
    batches for the groups it has, instead of flapping to one GET per key."""
    with Workspace() as ws_b:
        Group("other", CountingGetter(), 1 << 20, workspace=ws_b)
        async with HTTPPool("http://127.0.0.1:0", workspace=ws_b, server=server_kind) as pool_b:
            b_url = await pool_b.start()
            with Workspace() as ws_a:
                getter = CountingGetter()
                g = Group("g", getter, 1 << 20, workspace=ws_a)
                other = Group("other", CountingGetter(), 1 << 20, workspace=ws_a)
                async with HTTPPool("http://127.0.0.1:1", workspace=ws_a) as pool_a:
                    pool_a.set_peers(b_url)
                    await other.get("warm")  # b's reply says it serves batches
                    channel = pool_a.remote_peers()[0]._channel  # type: ignore[attr-defined]
                    assert channel.serves_batches
                    values = await asyncio.gather(*(g.get(k) for k in KEYS))
                    assert channel.serves_batches
                    stats = g.stats()
    assert values == [b"v:" + k.encode() for k in KEYS]
    assert getter.total == len(KEYS)
    assert stats.peer_errors == len(KEYS)

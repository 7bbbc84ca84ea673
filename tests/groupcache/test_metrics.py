"""Prometheus export (ports mailgun promexporter TestExporter/WithNamespace/WithLabels)."""

from __future__ import annotations

import contextlib

import aiohttp
from prometheus_client import CollectorRegistry

import groupcache
from groupcache import Group, HTTPPool, Workspace
from groupcache.metrics import GroupcacheCollector, mount, register
from tests.groupcache.helpers import FakePeer, ModPicker
from tests.support.getters import CountingGetter
from tests.support.waiting import until

NAMES = [
    "groupcache_gets_total",
    "groupcache_hits_total",
    "groupcache_get_from_peers_latency_lower",
    "groupcache_peer_loads_total",
    "groupcache_peer_errors_total",
    "groupcache_loads_total",
    "groupcache_loads_deduped_total",
    "groupcache_local_loads_total",
    "groupcache_local_load_errs_total",
    "groupcache_server_requests_total",
]
CACHE_NAMES = [
    "groupcache_cache_bytes",
    "groupcache_cache_items",
    "groupcache_cache_gets_total",
    "groupcache_cache_hits_total",
    "groupcache_cache_evictions_total",
    "groupcache_cache_evictions_nonexpired_total",
]


async def test_every_mailgun_metric_is_exported_with_the_group_counters(
    workspace: Workspace,
) -> None:
    """Ports promexporter.TestExporter."""
    g = Group("users", CountingGetter(), 1 << 20, workspace=workspace)
    await g.get("a")
    await g.get("a")
    registry = CollectorRegistry()
    register(registry, workspace)
    sample = registry.get_sample_value
    for name in NAMES:
        assert sample(name, {"group": "users"}) is not None, name
    for name in CACHE_NAMES:
        for kind in ("main", "hot"):
            assert sample(name, {"group": "users", "type": kind}) is not None, name
    assert sample("groupcache_gets_total", {"group": "users"}) == 2.0
    assert sample("groupcache_hits_total", {"group": "users"}) == 1.0
    assert sample("groupcache_local_loads_total", {"group": "users"}) == 1.0
    items = sample("groupcache_cache_items", {"group": "users", "type": "main"})
    assert items == 1.0
    assert sample("groupcache_cache_bytes", {"group": "users", "type": "main"}) == 4.0


async def test_a_namespace_prefixes_and_constant_labels_label_every_sample(
    workspace: Workspace,
) -> None:
    """Ports promexporter.TestExporterWithNamespace and WithLabels."""
    Group("g", CountingGetter(), 1 << 20, workspace=workspace)
    registry = CollectorRegistry()
    register(registry, workspace, namespace="myapp", labels={"pod": "p1"})
    assert (
        registry.get_sample_value("myapp_groupcache_gets_total", {"pod": "p1", "group": "g"}) == 0.0
    )


async def test_group_filter_is_read_at_every_scrape(workspace: Workspace) -> None:
    """Ports promexporter.TestExporterWithGroups."""
    a = Group("a", CountingGetter(), 1 << 20, workspace=workspace)
    Group("b", CountingGetter(), 1 << 20, workspace=workspace)
    registry = CollectorRegistry()
    registry.register(GroupcacheCollector(workspace, groups=lambda: [a]))
    assert registry.get_sample_value("groupcache_gets_total", {"group": "a"}) == 0.0
    assert registry.get_sample_value("groupcache_gets_total", {"group": "b"}) is None
    Group("c", CountingGetter(), 1 << 20, workspace=workspace)  # default: all groups, live
    registry2 = CollectorRegistry()
    register(registry2, workspace)
    assert registry2.get_sample_value("groupcache_gets_total", {"group": "c"}) == 0.0


async def test_metrics_endpoint_on_the_pool_app(workspace: Workspace) -> None:
    Group("g", CountingGetter(), 1 << 20, workspace=workspace)
    registry = CollectorRegistry()
    register(registry, workspace)
    async with HTTPPool("http://127.0.0.1:0", workspace=workspace) as pool:
        mount(pool.app, registry)
        url = await pool.start()
        async with aiohttp.ClientSession() as session, session.get(url + "/metrics") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain")
            text = await resp.text()
        assert 'groupcache_gets_total{group="g"} 0.0' in text
        assert "# TYPE groupcache_cache_bytes gauge" in text


async def test_peer_latency_is_exported_in_seconds_and_counts_failed_fetches(
    workspace: Workspace,
) -> None:
    """mailgun's exporter divides the ms gauge by 1000; a failed fetch is timed too."""
    workspace.set_peer_picker(ModPicker([FakePeer(0, fail=True)]))
    g = Group("lat", CountingGetter(), 1 << 20, workspace=workspace)
    await g.get("k")  # the peer fails; loaded locally
    ms = g.stats().peer_latency_max_ms
    assert ms > 0.0
    assert g.stats().peer_errors == 1
    registry = CollectorRegistry()
    register(registry, workspace)
    seconds = registry.get_sample_value("groupcache_get_from_peers_latency_lower", {"group": "lat"})
    assert seconds == ms / 1000.0


async def test_stale_serves_refreshes_and_remembered_not_founds_are_exported(
    workspace: Workspace,
) -> None:
    now = [1000.0]
    calls = [0]

    async def getter(key: str) -> groupcache.Value:
        calls[0] += 1
        if key == "gone":
            raise groupcache.NotFoundError("gone")
        return groupcache.Value(b"v", now[0] + 1, grace=10)

    g = Group("swr", getter, 1 << 20, workspace=workspace, clock=lambda: now[0], negative_ttl=5)
    await g.get("k")
    now[0] += 2
    await g.get("k")  # stale; one refresh
    await until(lambda: g.stats().stale_refreshes == 1)
    for _ in range(3):
        with contextlib.suppress(groupcache.NotFoundError):
            await g.get("gone")
    registry = CollectorRegistry()
    register(registry, workspace)
    sample = registry.get_sample_value
    assert sample("groupcache_stale_hits_total", {"group": "swr"}) == 1.0
    assert sample("groupcache_stale_refreshes_total", {"group": "swr"}) == 1.0
    assert sample("groupcache_stale_refresh_errors_total", {"group": "swr"}) == 0.0
    assert sample("groupcache_negative_hits_total", {"group": "swr"}) == 2.0

"""kubegroup.metrics: series names and values from a fresh registry per test."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from kubegroup import KubeGroupStats
from kubegroup.metrics import KubeGroupCollector
from kubegroup.testing import FakeKubeAPI

from .conftest import StartGroup
from .helpers import WAIT, peers_become


def test_the_collector_exports_go_names_with_an_optional_prefix() -> None:
    registry = CollectorRegistry()
    stats = KubeGroupStats(
        pods=3, peers=2, updates=5, errors=1, healthy=False, unhealthy_seconds=12.5
    )
    registry.register(KubeGroupCollector(lambda: stats, namespace="app"))
    value = registry.get_sample_value
    assert value("app_kubegroup_peers") == 3
    assert value("app_kubegroup_ring_peers") == 2
    assert value("app_kubegroup_events_total") == 5
    assert value("app_kubegroup_errors_total") == 1
    assert value("app_kubegroup_healthy") == 0
    assert value("app_kubegroup_unhealthy_seconds") == 12.5


async def test_a_running_group_is_exported_and_unregistered_on_close(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    registry = CollectorRegistry()
    fake.start_pod("a", labels={"app": "web"}, ip="10.0.0.1")
    fake.create_pod("pending", labels={"app": "web"})
    fake.fail_next_requests(500)
    kg, pool = await start_group(registry=registry)
    await peers_become(pool, "10.0.0.1")
    assert registry.get_sample_value("kubegroup_peers") == 2  # pods seen, ready or not
    assert registry.get_sample_value("kubegroup_ring_peers") == 2
    assert registry.get_sample_value("kubegroup_events_total") == 1
    assert registry.get_sample_value("kubegroup_errors_total") == 1
    await kg.aclose()
    assert registry.get_sample_value("kubegroup_peers") is None


async def test_two_groups_share_a_registry_with_distinct_namespaces(
    start_group: StartGroup,
) -> None:
    registry = CollectorRegistry()
    first, _ = await start_group(registry=registry, metrics_namespace="one")
    second, _ = await start_group(registry=registry, metrics_namespace="two")
    async with asyncio.timeout(WAIT):
        await first.wait_synced()
        await second.wait_synced()
    assert registry.get_sample_value("one_kubegroup_ring_peers") == 1
    assert registry.get_sample_value("two_kubegroup_ring_peers") == 1


async def test_a_duplicate_registration_fails_without_leaving_a_thread(
    start_group: StartGroup,
) -> None:
    registry = CollectorRegistry()
    await start_group(registry=registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        await start_group(registry=registry)

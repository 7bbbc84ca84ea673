"""Errors a retry will not fix: a Role with ``list`` but not ``watch`` (synced once, then
frozen), and 400/422 answers (an invalid request). Each makes the group unhealthy (the
property, its stats and the ``kubegroup_healthy`` metric), is logged at ERROR with what
to fix, and is retried slowly, near ``backoff_max``; the ring is never emptied.
"""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry

from kubegroup import KubeAPIError
from kubegroup.testing import FakeKubeAPI
from tests.support.waiting import THREAD_POLL, until

from .conftest import StartGroup
from .helpers import WEB, in_thread, no_call_emptied_the_ring, peers_become


def forbidden_watches(fake: FakeKubeAPI) -> int:
    return sum(r.is_watch and r.status == 403 for r in fake.requests)


async def test_a_role_without_watch_makes_the_group_unhealthy_with_rbac_advice(
    fake: FakeKubeAPI, start_group: StartGroup, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="kubegroup")
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    fake.deny_namespace("ns1", verbs=("watch",))
    registry = CollectorRegistry()
    kg, pool = await start_group(registry=registry, backoff_initial=0.01, backoff_max=0.2)
    await peers_become(pool, "10.0.0.1")  # the list works: synced
    await in_thread(lambda: fake.wait_for_requests(lambda _: forbidden_watches(fake) >= 2))
    assert kg.synced
    assert not kg.healthy
    assert not kg.stats().healthy
    assert registry.get_sample_value("kubegroup_healthy") == 0
    assert "listing pods in namespace 'ns1' is allowed but watching them is forbidden" in (
        caplog.text
    )
    assert "add 'watch' to the verbs" in caplog.text
    gaps = [r.time for r in fake.requests if r.is_watch]
    assert gaps[1] - gaps[0] >= 0.1  # slow: near backoff_max, not backoff_initial
    fake.deny_namespace("ns1", False)  # the Role is fixed: healthy again, changes flow
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")
    await peers_become(pool, "10.0.0.1", "10.0.0.2")
    await until(lambda: kg.healthy, interval=THREAD_POLL)
    assert no_call_emptied_the_ring(pool.calls)


@pytest.mark.parametrize("status", [400, 422])
async def test_an_invalid_request_is_a_configuration_error_retried_slowly(
    fake: FakeKubeAPI, start_group: StartGroup, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    caplog.set_level(logging.WARNING, logger="kubegroup")
    fake.fail_next_requests(status, count=2)
    kg, pool = await start_group(backoff_initial=0.01, backoff_max=0.4)
    await in_thread(lambda: fake.wait_for_requests(lambda r: len(r) >= 2))
    first, second = fake.requests[:2]
    assert (first.status, second.status) == (status, status)
    assert second.time - first.time >= 0.2  # near backoff_max, not backoff_initial
    assert not kg.healthy
    err = kg.last_error
    assert isinstance(err, KubeAPIError)
    assert err.status == status
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors, caplog.text
    assert "configuration error" in errors[0].getMessage()
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]
    await peers_become(pool)  # once the server accepts it
    assert kg.healthy


async def test_unhealthy_seconds_counts_a_failing_streak_and_resets_on_success(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    registry = CollectorRegistry()
    kg, pool = await start_group(registry=registry, backoff_initial=0.01, backoff_max=0.05)
    await peers_become(pool, "10.0.0.1")
    await until(lambda: kg.healthy, interval=THREAD_POLL)
    assert kg.unhealthy_seconds == 0.0
    fake.deny_namespace("ns1", verbs=("watch",))
    fake.cut_watches()
    await until(lambda: kg.unhealthy_seconds > 0.0, interval=THREAD_POLL)
    first = kg.unhealthy_seconds
    await in_thread(lambda: fake.wait_for_requests(lambda _: forbidden_watches(fake) >= 3))
    assert kg.unhealthy_seconds > first  # one streak: measured from its first failure
    assert kg.stats().unhealthy_seconds > 0.0
    assert (registry.get_sample_value("kubegroup_unhealthy_seconds") or 0.0) > 0.0
    fake.deny_namespace("ns1", False)
    await until(lambda: kg.healthy, interval=THREAD_POLL)
    assert kg.unhealthy_seconds == 0.0
    assert registry.get_sample_value("kubegroup_unhealthy_seconds") == 0.0

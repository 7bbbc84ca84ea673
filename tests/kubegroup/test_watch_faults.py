"""More API faults through a KubeGroup: HTTP 410 on a watch, 410 storms, ERROR events and
garbage mid-stream, 429 on a running watch, huge Retry-After, 401 vs 403 advice, TLS.

Observed through ``kg.stats()``, a RecordingPool and the fake's request log, like
test_watch.py.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time

import pytest
from kubernetes import client as k8s

from kubegroup import KubeAPIError, KubeConnectionError, update_peers
from kubegroup.testing import FakeKubeAPI, RecordingPool
from tests.support.waiting import THREAD_POLL, until

from .conftest import StartGroup
from .helpers import (
    SELF,
    WAIT,
    WEB,
    TLSFiles,
    group_options,
    lists,
    no_call_emptied_the_ring,
    peers_become,
    synced_and_watching,
    watches,
)


@pytest.mark.parametrize("count", [1, 3])
async def test_an_http_410_on_a_watch_relists(
    fake: FakeKubeAPI, start_group: StartGroup, count: int
) -> None:
    """A 410 status (not an ERROR event) on a watch request means: relist."""
    kg, pool = await synced_and_watching(fake, start_group, "10.0.0.1")
    rv = fake.resource_version
    fake.fail_next_requests(410, count=count)
    fake.cut_watches()
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")
    await peers_become(pool, "10.0.0.1", "10.0.0.2")
    gone = [r for r in fake.requests if r.status == 410]
    assert len(gone) == count
    assert [r.is_watch for r in gone] == [True] + [False] * (count - 1)  # then lists
    assert gone[0].query["resourceVersion"] == rv
    assert len(lists(fake)) == 2
    assert kg.stats().relists == count
    assert no_call_emptied_the_ring(pool.calls)


async def test_a_410_storm_relists_once_per_expiry_and_backs_off(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    kg, pool = await synced_and_watching(
        fake, start_group, "10.0.0.1", backoff_initial=0.05, backoff_max=0.1
    )
    fake.expire_next_watch(count=6)
    fake.close_watches()
    await until(lambda: kg.stats().relists >= 6, interval=THREAD_POLL)
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")
    await peers_become(pool, "10.0.0.1", "10.0.0.2")
    listed = lists(fake)
    assert len(listed) == 7  # the first list, then one per expiry: bounded
    gaps = [b.time - a.time for a, b in itertools.pairwise(listed[1:])]
    assert all(gap >= 0.025 for gap in gaps[1:]), gaps  # from the 2nd expiry on: backoff
    assert kg.stats().relists == 6


async def test_a_garbage_line_is_an_error_then_the_watch_resumes(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    kg, pool = await synced_and_watching(
        fake, start_group, "10.0.0.1", backoff_initial=0.2, backoff_max=0.4
    )
    rv = fake.resource_version
    sent = time.monotonic()
    assert fake.send_raw(b"<html>502 Bad Gateway</html>\n") == 1
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")
    await peers_become(pool, "10.0.0.1", "10.0.0.2")
    err = kg.last_error
    assert isinstance(err, KubeAPIError)
    assert (err.status, err.reason) == (200, "InvalidResponse")
    assert kg.stats().errors == 1
    assert watches(fake)[1].query["resourceVersion"] == rv
    assert watches(fake)[1].time - sent >= 0.1  # backed off: the first delay is 0.1..0.2 s
    assert len(lists(fake)) == 1
    assert no_call_emptied_the_ring(pool.calls)


async def test_a_500_error_event_is_retried_from_the_same_revision(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    kg, pool = await synced_and_watching(
        fake, start_group, "10.0.0.1", backoff_initial=0.2, backoff_max=0.4
    )
    rv = fake.resource_version
    sent = time.monotonic()
    assert fake.send_error_event(500, "etcdserver: leader changed") == 1
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")
    await peers_become(pool, "10.0.0.1", "10.0.0.2")
    err = kg.last_error
    assert isinstance(err, KubeAPIError)
    assert (err.status, err.message) == (500, "etcdserver: leader changed")
    assert kg.stats().errors == 1
    assert kg.stats().relists == 0
    assert watches(fake)[1].query["resourceVersion"] == rv
    assert watches(fake)[1].time - sent >= 0.1
    assert no_call_emptied_the_ring(pool.calls)


async def test_a_410_error_event_mid_stream_relists(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    kg, pool = await synced_and_watching(fake, start_group, "10.0.0.1")
    assert fake.send_error_event(410) == 1
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")
    await peers_become(pool, "10.0.0.1", "10.0.0.2")
    assert (kg.stats().relists, kg.stats().errors) == (1, 0)
    assert len(lists(fake)) == 2


async def test_a_429_on_a_running_watch_waits_for_retry_after_and_resumes(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    kg, pool = await synced_and_watching(fake, start_group, "10.0.0.1", backoff_max=1.0)
    rv = fake.resource_version
    fake.fail_next_requests(429, retry_after=1)
    fake.cut_watches()
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")
    await peers_become(pool, "10.0.0.1", "10.0.0.2")
    _cut, refused, retried = watches(fake)[:3]
    assert (refused.status, retried.status) == (429, 200)
    assert retried.time - refused.time >= 1.0
    assert refused.query["resourceVersion"] == retried.query["resourceVersion"] == rv
    err = kg.last_error
    assert isinstance(err, KubeAPIError)
    assert (err.status, err.retry_after) == (429, 1.0)
    assert len(lists(fake)) == 1


async def test_a_retry_after_of_a_day_is_capped_at_backoff_max(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    fake.fail_next_requests(429, retry_after=86400)
    kg, pool = await start_group()  # backoff_max=0.05
    async with asyncio.timeout(WAIT):
        await kg.wait_synced()
    assert pool.calls == [(SELF,)]
    err = kg.last_error
    assert isinstance(err, KubeAPIError)
    assert err.retry_after == 86400.0


async def test_unauthorized_is_logged_as_a_credentials_problem_not_rbac(
    fake: FakeKubeAPI, start_group: StartGroup, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail_next_requests(401, count=2)
    caplog.set_level(logging.ERROR, logger="kubegroup")
    kg, pool = await start_group()
    await peers_become(pool)
    assert "rejected our credentials" in caplog.text
    assert "service-account token" in caplog.text
    assert "grant" not in caplog.text
    err = kg.last_error
    assert isinstance(err, KubeAPIError)
    assert (err.status, err.is_auth_error) == (401, True)


async def test_a_tls_failure_is_a_connection_error(tls_files: TLSFiles) -> None:
    """A client that does not trust the server's certificate: not an API status."""
    with FakeKubeAPI(tls_cert=tls_files.cert, tls_key=tls_files.key) as api:
        config = k8s.Configuration(host=api.url)  # no CA: the self-signed cert is refused
        pool = RecordingPool()
        with k8s.ApiClient(config) as client:
            kg = await update_peers(pool, **group_options(client))
            async with kg:
                await until(lambda: kg.last_error is not None, interval=THREAD_POLL)
                err = kg.last_error
                assert isinstance(err, KubeConnectionError), repr(err)
                assert "CERTIFICATE_VERIFY_FAILED" in str(err)
                assert not kg.healthy
        assert pool.calls == []

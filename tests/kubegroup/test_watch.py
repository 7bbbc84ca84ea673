"""The list/watch loop under API faults, observed through ``kg.peers``, a RecordingPool
and the fake's request log: resume, relist on 410, backoff, Retry-After, auth errors,
and the rule that an API error never empties the ring.
"""

from __future__ import annotations

import asyncio
import itertools
import logging

import pytest

from kubegroup import KubeAPIError, KubeConnectionError
from kubegroup._watch import wrap_error
from kubegroup.testing import FakeKubeAPI
from tests.support.waiting import THREAD_POLL, until

from .conftest import StartGroup
from .helpers import (
    SELF,
    WAIT,
    WEB,
    in_thread,
    lists,
    no_call_emptied_the_ring,
    peers_become,
    synced_and_watching,
    watch_requests,
    watches,
)


async def test_the_watch_starts_from_the_list_revision_with_bookmarks_and_timeouts(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    await synced_and_watching(fake, start_group, "10.0.0.1", watch_timeout=100)
    (listed,) = lists(fake)
    (watch,) = watches(fake)
    assert listed.query == {"labelSelector": "app=web", "resourceVersion": "0", "limit": "500"}
    assert watch.query["resourceVersion"] == fake.resource_version
    assert watch.query["allowWatchBookmarks"] == "true"
    assert watch.query["labelSelector"] == "app=web"
    assert 100 <= int(watch.query["timeoutSeconds"]) <= 200


async def test_a_clean_close_resumes_from_the_last_revision_without_relisting(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    kg, pool = await synced_and_watching(fake, start_group, "10.0.0.1")
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")
    await peers_become(pool, "10.0.0.1", "10.0.0.2")
    rv = fake.resource_version
    fake.close_watches()
    fake.start_pod("c", labels=WEB, ip="10.0.0.3")
    await peers_become(pool, "10.0.0.1", "10.0.0.2", "10.0.0.3")
    assert [w.query["resourceVersion"] for w in watches(fake)][1] == rv
    assert len(lists(fake)) == 1
    assert kg.last_error is None


async def test_an_abrupt_cut_is_an_error_but_resumes_and_keeps_the_peers(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    kg, pool = await synced_and_watching(fake, start_group, "10.0.0.1")
    rv = fake.resource_version
    fake.cut_watches()
    fake.set_unready("p0")
    await peers_become(pool)
    assert watches(fake)[1].query["resourceVersion"] == rv
    assert len(lists(fake)) == 1
    assert isinstance(kg.last_error, KubeConnectionError)
    assert no_call_emptied_the_ring(pool.calls)


async def test_a_stalled_watch_trips_the_read_timeout_and_replays_what_it_missed(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    kg, pool = await synced_and_watching(fake, start_group, "10.0.0.1", read_timeout=0.3)
    rv = fake.resource_version
    fake.stall_watches()
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")  # not sent on the stalled stream
    await peers_become(pool, "10.0.0.1", "10.0.0.2")
    assert watches(fake)[1].query["resourceVersion"] == rv
    assert len(lists(fake)) == 1
    assert kg.last_error is None


async def test_an_expired_watch_relists(fake: FakeKubeAPI, start_group: StartGroup) -> None:
    kg, pool = await synced_and_watching(fake, start_group, "10.0.0.1")
    fake.expire_next_watch()
    fake.close_watches()
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")
    await peers_become(pool, "10.0.0.1", "10.0.0.2")
    assert len(lists(fake)) == 2
    assert kg.stats().relists == 1


async def test_a_relist_after_compaction_drops_pods_deleted_during_an_outage(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    kg, pool = await synced_and_watching(fake, start_group, "10.0.0.1", "10.0.0.2")
    fake.refuse_connections()
    fake.force_delete_pod("p1")  # its DELETED event is lost with the history
    fake.start_pod("c", labels=WEB, ip="10.0.0.3")
    fake.compact()
    fake.accept_connections()
    await peers_become(pool, "10.0.0.1", "10.0.0.3")
    assert kg.stats().relists == 1
    assert no_call_emptied_the_ring(pool.calls)
    expired = [w for w in watches(fake) if w.status == 200][1]
    assert int(expired.query["resourceVersion"]) < int(fake.resource_version)


async def test_refused_connections_keep_the_last_peers_until_the_api_returns(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    kg, pool = await synced_and_watching(fake, start_group, "10.0.0.1")
    fake.refuse_connections()
    await until(
        lambda: kg.stats().errors >= 2, interval=THREAD_POLL
    )  # the cut watch, then a refused connection
    assert not kg.healthy
    fake.set_unready("p0")  # the API says so, but we can't hear it yet
    assert kg.peers == ("http://10.0.0.1:5000", SELF)
    fake.accept_connections()
    await peers_become(pool)
    assert no_call_emptied_the_ring(pool.calls)
    assert kg.healthy


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retried_with_backoff_and_recovered_from(
    fake: FakeKubeAPI, start_group: StartGroup, status: int
) -> None:
    kg, pool = await synced_and_watching(fake, start_group, "10.0.0.1")
    fake.fail_next_requests(status, count=3)
    fake.cut_watches()
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")
    await peers_become(pool, "10.0.0.1", "10.0.0.2")
    failed = [r for r in fake.requests if r.status == status]
    assert len(failed) == 3
    assert all(a.time < b.time for a, b in itertools.pairwise(failed))
    err = kg.last_error
    assert isinstance(err, KubeAPIError)
    assert err.status == status
    assert kg.stats().errors == 4  # the cut, then 3 failures


async def test_retry_after_is_honoured(fake: FakeKubeAPI, start_group: StartGroup) -> None:
    fake.fail_next_requests(429, retry_after=1)
    kg, pool = await start_group(backoff_max=1.0)  # Retry-After is honoured up to this
    await peers_become(pool)
    refused, retried = fake.requests[:2]
    assert refused.status == 429
    assert retried.time - refused.time >= 1.0  # backoff alone would be 0.01 s at first
    err = kg.last_error
    assert isinstance(err, KubeAPIError)
    assert (err.status, err.retry_after) == (429, 1.0)


async def test_forbidden_is_logged_clearly_retried_slowly_and_recovered_from(
    fake: FakeKubeAPI, start_group: StartGroup, caplog: pytest.LogCaptureFixture
) -> None:
    fake.deny_namespace("ns1")
    caplog.set_level(logging.ERROR, logger="kubegroup")
    kg, pool = await start_group(backoff_initial=0.01, backoff_max=0.4)
    await in_thread(lambda: fake.wait_for_requests(lambda r: len(r) >= 2))
    first, second = fake.requests[:2]
    assert (first.status, second.status) == (403, 403)
    assert second.time - first.time >= 0.2  # near backoff_max, not backoff_initial
    assert not kg.healthy
    err = kg.last_error
    assert isinstance(err, KubeAPIError)
    assert (err.status, err.reason, err.is_auth_error) == (403, "Forbidden", True)
    assert "cannot list resource" in err.message
    assert "grant 'list' and 'watch' on pods" in caplog.text
    assert pool.calls == []
    fake.deny_namespace("ns1", False)
    await peers_become(pool)
    assert kg.healthy


async def test_unauthorized_is_an_auth_error_too() -> None:
    err = wrap_error(KubeAPIError(401, "Unauthorized"))
    assert isinstance(err, KubeAPIError)
    assert err.is_auth_error


async def test_forbidden_while_running_keeps_the_peers(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    _kg, pool = await synced_and_watching(fake, start_group, "10.0.0.1")
    fake.fail_next_requests(403, count=2)
    fake.cut_watches()
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")
    await peers_become(pool, "10.0.0.1", "10.0.0.2")
    assert no_call_emptied_the_ring(pool.calls)


async def test_bookmarks_advance_the_resume_revision(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    await synced_and_watching(fake, start_group, "10.0.0.1")
    fake.create_pod("other", labels={"app": "db"})  # not selected: no event for us
    bookmark_rv = fake.resource_version
    assert fake.send_bookmark() == 1
    fake.close_watches()
    await watch_requests(fake, 2)
    assert watches(fake)[1].query["resourceVersion"] == bookmark_rv


async def test_a_server_that_closes_watches_at_once_is_not_hammered(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    """A watch ending immediately with no events costs a backoff delay, like client-go."""
    kg, pool = await synced_and_watching(fake, start_group, backoff_initial=0.05, backoff_max=0.1)
    for n in range(1, 4):
        await watch_requests(fake, n)
        fake.close_watches()  # the n-th watch is registered before it is logged
    await watch_requests(fake, 4)
    starts = [w.time for w in watches(fake)]
    assert all(b - a >= 0.025 for a, b in itertools.pairwise(starts))
    assert kg.last_error is None
    assert pool.calls == [(SELF,)]


async def test_the_loop_keeps_going_after_many_failures(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    fake.fail_next_requests(500, count=10)
    kg, pool = await start_group()
    async with asyncio.timeout(WAIT):
        await kg.wait_synced()
    assert kg.stats().errors == 10
    assert pool.calls == [(SELF,)]

"""Which LISTs the loop sends, as client-go's reflector does: the first from the watch
cache (``resourceVersion="0"``, with a ``limit`` the cache ignores); after a watch 410 "not
older than" the last revision seen; a quorum read, paged with ``limit``/``continue``, only
once that is gone.
"""

from __future__ import annotations

from kubegroup.testing import FakeKubeAPI

from .conftest import StartGroup
from .helpers import WEB, in_thread, lists, peers_become, synced_and_watching


async def test_the_first_list_is_served_from_the_watch_cache_and_paged(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    await synced_and_watching(fake, start_group, "10.0.0.1")
    (listed,) = lists(fake)
    assert listed.query["resourceVersion"] == "0"
    assert listed.query["limit"] == "500"


async def test_the_first_list_asks_for_pages_and_takes_the_caches_single_answer(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    """kube-apiserver v1.37.2 serves ``resourceVersion=0`` whole from its watch cache,
    whatever the ``limit``: one request, all the pods."""
    ips = [f"10.0.0.{i}" for i in range(1, 8)]
    kg, _pool = await synced_and_watching(fake, start_group, *ips, list_page_size=3)
    (listed,) = lists(fake)
    assert (listed.query["resourceVersion"], listed.query["limit"]) == ("0", "3")
    assert kg.stats().pods == 7


async def test_a_quorum_relist_of_a_large_namespace_is_paged_at_one_revision(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    ips = [f"10.0.0.{i}" for i in range(1, 8)]
    kg, pool = await synced_and_watching(fake, start_group, *ips, list_page_size=3)
    fake.fail_next_requests(410, count=2)  # the watch, then the relist at its revision
    fake.cut_watches()
    fake.start_pod("p7", labels=WEB, ip="10.0.0.8")
    await peers_become(pool, *ips, "10.0.0.8")
    pages = lists(fake)[1:]  # the quorum relist: 3 + 3 + 2 pods
    assert [p.query.get("continue") is None for p in pages] == [True, False, False]
    assert [p.query.get("resourceVersion") for p in pages] == [None, None, None]
    assert {p.query["limit"] for p in pages} == {"3"}
    assert kg.stats().pods == 8


async def test_a_relist_after_a_watch_410_asks_for_the_last_revision_seen(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    kg, pool = await synced_and_watching(fake, start_group, "10.0.0.1")
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")
    await peers_become(pool, "10.0.0.1", "10.0.0.2")
    seen = fake.resource_version
    fake.expire_next_watch()
    fake.close_watches()
    fake.start_pod("c", labels=WEB, ip="10.0.0.3")
    await peers_become(pool, "10.0.0.1", "10.0.0.2", "10.0.0.3")
    relist = lists(fake)[1]
    assert relist.query["resourceVersion"] == seen  # not older than: from the watch cache
    assert "limit" not in relist.query  # a paged list at N would be an exact etcd read
    assert kg.stats().relists == 1


async def test_only_a_relist_that_expired_too_falls_back_to_a_quorum_read(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    kg, pool = await synced_and_watching(fake, start_group, "10.0.0.1")
    seen = fake.resource_version
    fake.fail_next_requests(410, count=2)  # the watch, then the relist at `seen`: gone
    fake.cut_watches()
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")
    await peers_become(pool, "10.0.0.1", "10.0.0.2")
    await in_thread(lambda: fake.wait_for_watches(1))
    expired = [r for r in fake.requests if r.status == 410]
    assert [(r.is_watch, r.query.get("resourceVersion")) for r in expired] == [
        (True, seen),
        (False, seen),
    ]
    quorum = lists(fake)[1]
    assert "resourceVersion" not in quorum.query  # a consistent read, paged
    assert quorum.query["limit"] == "500"
    fake.expire_next_watch()  # the next expiry: "not older than" again, not quorum
    fake.close_watches()
    fake.start_pod("c", labels=WEB, ip="10.0.0.3")
    await peers_become(pool, "10.0.0.1", "10.0.0.2", "10.0.0.3")
    assert "resourceVersion" in lists(fake)[2].query
    assert kg.stats().relists == 3


async def test_a_relist_at_a_version_the_server_has_not_reached_falls_back_to_a_quorum_read(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    """As client-go (isTooLargeResourceVersionError): after the 504 "Too large resource
    version" kube-apiserver v1.37.2 gives a list at a future revision (etcd restored from
    a backup, a lagging API server), the next list must not ask for that revision again."""
    kg, pool = await synced_and_watching(fake, start_group, "10.0.0.1")
    seen = fake.resource_version
    fake.fail_next_requests(410)  # the watch expires: relist "not older than" `seen`
    fake.fail_next_requests(
        504, message=f"Timeout: Too large resource version: {seen}, current: 1", retry_after=1
    )
    fake.cut_watches()
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")
    await peers_become(pool, "10.0.0.1", "10.0.0.2")
    relists = [r for r in fake.requests if not r.is_watch][1:]
    assert [r.status for r in relists] == [504, 200]
    assert relists[0].query["resourceVersion"] == seen
    assert "resourceVersion" not in relists[1].query  # a consistent read, at last
    assert kg.healthy

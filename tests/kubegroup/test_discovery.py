"""KubeGroup end to end against FakeKubeAPI: pod lifecycles become peer lists; close is clean.

Every lifecycle script of ``FakeKubeAPI`` is checked through ``kg.peers`` and a
RecordingPool. API faults are in test_watch.py and test_watch_faults.py; configuration in
test_config.py.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from kubernetes import client as k8s

import kubegroup
from kubegroup import KubeGroupError
from kubegroup.testing import FakeKubeAPI, RecordingPool

from .conftest import StartGroup
from .helpers import SELF, WAIT, group_options, in_thread, peers_become, url

WEB = {"app": "web"}


def kubegroup_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("kubegroup")]


async def test_ready_pods_become_sorted_peers_with_self(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    kg, pool = await start_group()
    async with asyncio.timeout(WAIT):
        await kg.wait_synced()
    assert kg.synced
    assert kg.peers == (url("10.0.0.1"), url("10.0.0.2"), SELF)
    assert pool.calls == [kg.peers]


async def test_the_pool_is_not_touched_before_the_first_list(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    fake.fail_next_requests(500, count=3)
    kg, pool = await start_group()
    assert kg.peers == ()
    async with asyncio.timeout(WAIT):
        await kg.wait_synced()
    assert pool.calls == [(SELF,)]
    assert kg.stats().errors == 3


async def test_a_pod_joins_only_once_it_has_an_ip_and_is_ready_and_leaves_when_unready(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    _kg, pool = await start_group()
    await peers_become(pool)
    fake.create_pod("a", labels=WEB)
    fake.assign_ip("a", "10.0.0.1")
    fake.start_pod("marker", labels=WEB, ip="10.0.0.9")
    await peers_become(pool, "10.0.0.9")  # "a" (not ready) came first and was left out
    fake.set_ready("a")
    await peers_become(pool, "10.0.0.1", "10.0.0.9")
    fake.set_unready("a")
    await peers_become(pool, "10.0.0.9")
    fake.set_ready("a")
    await peers_become(pool, "10.0.0.1", "10.0.0.9")
    assert all(url("10.0.0.1") not in call for call in pool.calls[:2])


async def test_a_terminating_pod_leaves_at_once_though_still_ready(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")
    _kg, pool = await start_group()
    await peers_become(pool, "10.0.0.1", "10.0.0.2")
    fake.delete_pod("a")
    await peers_become(pool, "10.0.0.2")
    fake.finish_termination("a")
    fake.start_pod("c", labels=WEB, ip="10.0.0.3")
    await peers_become(pool, "10.0.0.2", "10.0.0.3")
    assert all(url("10.0.0.1") not in call for call in pool.calls[1:])


async def test_a_force_deleted_pod_leaves(fake: FakeKubeAPI, start_group: StartGroup) -> None:
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    kg, pool = await start_group()
    await peers_become(pool, "10.0.0.1")
    fake.force_delete_pod("a")
    await peers_become(pool)
    assert kg.peers == (SELF,)


async def test_relabelling_a_pod_out_of_the_selector_and_back(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    _kg, pool = await start_group()
    await peers_become(pool, "10.0.0.1")
    fake.relabel_pod("a", {"app": "web-canary"})
    await peers_become(pool)
    fake.relabel_pod("a", {"app": "web", "track": "canary"})
    await peers_become(pool, "10.0.0.1")


async def test_a_reused_ip_stays_a_peer_while_any_ready_pod_holds_it(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    fake.start_pod("old", labels=WEB, ip="10.0.0.7")
    _kg, pool = await start_group()
    await peers_become(pool, "10.0.0.7")
    fake.start_pod("new", labels=WEB, ip="10.0.0.7")  # both ready with one IP: one URL
    fake.start_pod("marker", labels=WEB, ip="10.0.0.9")
    await peers_become(pool, "10.0.0.7", "10.0.0.9")
    fake.force_delete_pod("old")
    fake.force_delete_pod("marker")
    await peers_become(pool, "10.0.0.7")
    fake.force_delete_pod("new")
    fake.start_pod("newer", labels=WEB, ip="10.0.0.7")
    await peers_become(pool, "10.0.0.7")
    assert all(len(call) == len(set(call)) for call in pool.calls)


async def test_self_is_a_peer_while_its_own_pod_is_not_ready(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    fake.start_pod("me", labels=WEB, ip="10.99.0.1", ready=False)
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    kg, pool = await start_group()
    await peers_become(pool, "10.0.0.1")
    fake.set_ready("me")
    fake.set_unready("a")
    await peers_become(pool)
    assert kg.peers == (SELF,)


async def test_other_namespaces_and_other_labels_are_ignored(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    fake.start_pod("a", labels=WEB, ip="10.0.0.1", namespace="elsewhere")
    fake.start_pod("b", labels={"app": "db"}, ip="10.0.0.2")
    fake.start_pod("c", labels=WEB, ip="10.0.0.3")
    _kg, pool = await start_group()
    await peers_become(pool, "10.0.0.3")


async def test_set_based_selectors_work_end_to_end(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    fake.start_pod("a", labels={"app": "web", "track": "canary"}, ip="10.0.0.1")
    fake.start_pod("b", labels={"app": "web"}, ip="10.0.0.2")
    fake.start_pod("c", labels={"app": "api"}, ip="10.0.0.3")
    _kg, pool = await start_group(label_selector="app in (web, api), track notin (canary)")
    await peers_become(pool, "10.0.0.2", "10.0.0.3")


async def test_debounce_applies_the_first_change_at_once_and_coalesces_a_burst(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    kg, pool = await start_group(debounce=0.2)
    await peers_become(pool)
    ips = [f"10.0.1.{i}" for i in range(1, 11)]
    for i, ip in enumerate(ips):
        fake.start_pod(f"p{i}", labels=WEB, ip=ip)
    await peers_become(pool, *ips)
    assert len(pool.calls) < 10  # 30 writes: far fewer updates
    assert kg.stats().updates == len(pool.calls)


async def test_an_unchanged_peer_list_is_not_set_again(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    _kg, pool = await start_group()
    await peers_become(pool, "10.0.0.1")
    fake.relabel_pod("a", {"app": "web", "extra": "1"})  # MODIFIED, same peers
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")
    await peers_become(pool, "10.0.0.1", "10.0.0.2")
    assert len(pool.calls) == 2


async def test_a_failing_pool_is_retried_on_the_next_change(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    kg, pool = await start_group()
    await peers_become(pool)
    original = pool.set_peers
    failures: list[tuple[str, ...]] = []

    def flaky(*urls: str) -> None:
        if not failures:
            failures.append(urls)
            raise RuntimeError("pool rejected the list")
        original(*urls)

    pool.set_peers = flaky  # type: ignore[method-assign]
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")
    await peers_become(pool, "10.0.0.1", "10.0.0.2")
    assert failures
    assert kg.stats().errors == 1


async def test_aclose_joins_the_thread_and_leaves_no_task_behind(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    tasks_before = asyncio.all_tasks()
    kg, pool = await start_group()
    await peers_become(pool)
    await in_thread(lambda: fake.wait_for_watches(1))
    assert kubegroup_threads() == [kg._watcher.thread]
    await kg.aclose()
    assert not kg._watcher.thread.is_alive()
    assert kubegroup_threads() == []
    assert asyncio.all_tasks() == tasks_before
    assert kg.closed
    assert not kg.healthy


async def test_close_is_idempotent_and_async_with_closes(start_group: StartGroup) -> None:
    kg, _pool = await start_group()
    async with kg:
        async with asyncio.timeout(WAIT):
            await kg.wait_synced()
    assert kg.closed
    kg.close()
    await kg.aclose()
    kg.close()


async def test_no_set_peers_after_close_even_with_a_trailing_update_pending(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    kg, pool = await start_group(debounce=60.0)
    await peers_become(pool)
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    async with asyncio.timeout(WAIT):
        while not kg._debouncer.pending:  # noqa: ASYNC110 - state set by a loop callback
            await asyncio.sleep(0)
    kg.close()
    assert not kg._debouncer.pending
    assert pool.calls == [(SELF,)]
    assert kg.peers == (SELF,)


async def test_close_from_another_thread_waits_for_the_pool_and_stops_updates(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    kg, pool = await start_group()
    await peers_become(pool)
    closer = threading.Thread(target=kg.close)
    closer.start()
    await in_thread(closer.join)
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    await asyncio.sleep(0)
    assert pool.calls == [(SELF,)]


async def test_close_interrupts_a_stalled_watch_at_once(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    fake.stall_next_watch()
    kg, pool = await start_group(request_timeout=30.0, read_timeout=30.0)
    await peers_become(pool)
    await in_thread(lambda: fake.wait_for_watches(1))
    async with asyncio.timeout(5):  # the fallback join would take 35 s
        await kg.aclose()
    assert not kg._watcher.thread.is_alive()


async def test_wait_synced_raises_if_closed_first(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    fake.refuse_connections()
    kg, pool = await start_group()
    waiter = asyncio.create_task(kg.wait_synced())
    await kg.aclose()
    with pytest.raises(KubeGroupError, match="closed before"):
        await waiter
    assert pool.calls == []


async def test_opening_and_closing_many_groups_leaks_no_thread(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    for _ in range(20):
        kg, _pool = await start_group()
        async with asyncio.timeout(WAIT):
            await kg.wait_synced()
        await kg.aclose()
        assert kubegroup_threads() == []


async def test_repr_and_stats_describe_the_group(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    fake.create_pod("b", labels=WEB)
    kg, pool = await start_group()
    await peers_become(pool, "10.0.0.1")
    stats = kg.stats()
    assert (stats.pods, stats.peers, stats.lists, stats.healthy) == (2, 2, 1, True)
    assert repr(kg) == "<KubeGroup ns1/'app=web' healthy peers=2>"
    assert (kg.namespace, kg.label_selector, kg.my_url) == ("ns1", "app=web", SELF)


class FlakyPool(RecordingPool):
    """A RecordingPool whose first ``failures`` calls raise."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.attempts = 0
        self.attempted = asyncio.Event()

    def set_peers(self, *urls: str) -> None:
        self.attempts += 1
        self.attempted.set()
        if self.failures:
            self.failures -= 1
            raise RuntimeError("pool rejected the list")
        super().set_peers(*urls)


async def flaky_group(
    pool: FlakyPool, api_client: k8s.ApiClient, **overrides: Any
) -> kubegroup.KubeGroup:
    return await kubegroup.update_peers(pool, **group_options(api_client, **overrides))


async def test_a_failed_first_delivery_is_retried_in_a_quiet_namespace(
    fake: FakeKubeAPI, api_client: k8s.ApiClient
) -> None:
    """No pod changes after the list: only the retry can ever sync the group."""
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    pool = FlakyPool(failures=2)
    async with await flaky_group(pool, api_client) as kg:
        async with asyncio.timeout(WAIT):
            await kg.wait_synced()
        assert pool.calls == [(url("10.0.0.1"), SELF)]
        assert pool.attempts == 3
        assert kg.stats().errors == 2
        assert kg.peers == (url("10.0.0.1"), SELF)


async def test_a_failed_later_delivery_is_retried_without_another_change(
    fake: FakeKubeAPI, api_client: k8s.ApiClient
) -> None:
    pool = FlakyPool(failures=0)
    async with await flaky_group(pool, api_client) as kg:
        await peers_become(pool)
        pool.failures = 1
        fake.start_pod("a", labels=WEB, ip="10.0.0.1")
        await peers_become(pool, "10.0.0.1")
        assert pool.attempts == 3
        assert kg.stats().errors == 1


async def test_close_cancels_a_pending_delivery_retry(
    fake: FakeKubeAPI, api_client: k8s.ApiClient
) -> None:
    pool = FlakyPool(failures=1)
    kg = await flaky_group(pool, api_client, backoff_initial=30.0, backoff_max=60.0)
    async with asyncio.timeout(WAIT):
        await pool.attempted.wait()
    assert kg._retry is not None
    await kg.aclose()
    assert kg._retry is None
    assert pool.calls == []


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_peer_urls_use_the_pools_scheme(
    fake: FakeKubeAPI,
    api_client: k8s.ApiClient,
    monkeypatch: pytest.MonkeyPatch,
    scheme: str,
) -> None:
    """With ``scheme="https"`` a pool serving TLS gets https:// URLs, self included."""
    monkeypatch.setenv("POD_IP", "10.99.0.1")
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    fake.start_pod("b", labels=WEB, ip="fd00::2")
    pool = FlakyPool(failures=0)
    async with await flaky_group(pool, api_client, my_url=None, scheme=scheme) as kg:
        async with asyncio.timeout(WAIT):
            await kg.wait_synced()
        hosts = ("10.0.0.1:5000", "10.99.0.1:5000", "[fd00::2]:5000")
        assert kg.my_url == f"{scheme}://10.99.0.1:5000"
        assert pool.calls == [tuple(f"{scheme}://{h}" for h in hosts)]


async def test_an_unknown_scheme_is_a_config_error(api_client: k8s.ApiClient) -> None:
    with pytest.raises(kubegroup.KubeConfigError, match="scheme 'ftp'"):
        await flaky_group(FlakyPool(failures=0), api_client, scheme="ftp")

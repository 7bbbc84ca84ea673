"""Scenarios that run on FakeKubeAPI and on the real kube-apiserver alike.

Each test takes ``kube_backend`` (fake, real): the same moves through the same
:class:`~tests.kubegroup.backends.KubeBackend` calls, the same assertions, and a printed
figure per backend, so the fake's answers stay what the real server's are. kubegroup runs
in this process (on the real server: its in-cluster path, with the example's RBAC).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from kubegroup import KubeAPIError, KubeGroup
from kubegroup.testing import FakeKubeAPI, RecordingPool
from tests.support.figures import figure
from tests.support.realkube import BACKEND_PARAM, RealKube

from .backends import FakeBackend, KubeBackend, RealBackend, in_thread, pod_url

WAIT = 60.0  # seconds for one convergence, on either backend


def ip(i: int) -> str:
    return f"127.0.{i // 250}.{i % 250 + 1}"


def never_emptied(pool: RecordingPool, me: str = pod_url(ip(1))) -> bool:
    """Whether every ``set_peers`` call kept this pod (``my_url``) in the ring."""
    return all(me in call for call in pool.calls)


@pytest.fixture(params=["fake", "real"])
def kube_backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[KubeBackend]:
    """The scenario's API: a FakeKubeAPI, or a namespace on the session's kube-apiserver."""
    if request.param == "fake":
        fake: FakeKubeAPI = request.getfixturevalue("fake")
        backend: FakeBackend | RealBackend = FakeBackend(fake)
    else:
        kube: RealKube = request.getfixturevalue("real_kube")
        namespace: str = request.getfixturevalue("fresh_namespace")
        backend = RealBackend(kube, namespace, tmp_path, monkeypatch)
    try:
        yield backend
    finally:
        backend.close()


assert BACKEND_PARAM == "kube_backend"  # the real server's first user gets its build time


@pytest.fixture
async def started() -> AsyncIterator[list[KubeGroup]]:
    """KubeGroups a test started, closed at its end whatever happened."""
    groups: list[KubeGroup] = []
    yield groups
    for kg in groups:
        await kg.aclose()


async def changes(pool: RecordingPool, action: Any, *ips: str) -> float:
    """Make an API change, then wait for the ring ``ips``: seconds from the API call."""
    began = time.monotonic()
    await in_thread(action)
    return await ring_becomes(pool, *ips, since=began)


async def start(
    backend: KubeBackend, started: list[KubeGroup], **options: Any
) -> tuple[KubeGroup, RecordingPool]:
    pool = RecordingPool()
    options = {"debounce": 0, "my_url": pod_url(ip(1)), "backoff_initial": 0.2,
               "backoff_max": 2.0, **options}  # fmt: skip
    kg = await backend.start(pool, **options)
    started.append(kg)
    async with asyncio.timeout(WAIT):
        await kg.wait_synced()
    return kg, pool


async def ring_becomes(pool: RecordingPool, *ips: str, since: float | None = None) -> float:
    """Wait until the pool's peers are exactly ``ips``; the seconds since ``since``."""
    began = time.monotonic() if since is None else since
    want = tuple(sorted(pod_url(i) for i in ips))
    async with asyncio.timeout(WAIT):
        await pool.wait_until(lambda p: p.peers == want)
    return time.monotonic() - began


async def test_the_ring_follows_ready_not_ready_terminating_deleted_and_new_pods(
    kube_backend: KubeBackend, started: list[KubeGroup]
) -> None:
    b = kube_backend
    for i in (1, 2, 3):
        await in_thread(lambda i=i: b.ready_pod(f"web-{i}", ip(i)))
    await in_thread(lambda: b.ready_pod("db", ip(9), labels={"app": "db"}))  # not selected
    kg, pool = await start(b, started)
    await ring_becomes(pool, ip(1), ip(2), ip(3))

    not_ready = await changes(pool, lambda: b.set_ready("web-3", ip(3), False), ip(1), ip(2))
    await changes(pool, lambda: b.set_ready("web-3", ip(3), True), ip(1), ip(2), ip(3))
    terminating = await changes(pool, lambda: b.terminate("web-3"), ip(1), ip(2))
    deleted = await changes(pool, lambda: b.delete("web-2"), ip(1))
    joined = await changes(pool, lambda: b.ready_pod("web-4", ip(4)), ip(1), ip(4))
    figure(
        f"[{b.name}] ring: NotReady left {not_ready:.3f} s, terminating left "
        f"{terminating:.3f} s, deleted left {deleted:.3f} s, new Ready joined {joined:.3f} s"
    )
    assert never_emptied(pool)
    assert kg.healthy


async def test_an_api_server_restart_never_empties_the_ring(
    kube_backend: KubeBackend, started: list[KubeGroup]
) -> None:
    b = kube_backend
    for i in (1, 2, 3):
        await in_thread(lambda i=i: b.ready_pod(f"web-{i}", ip(i)))
    kg, pool = await start(b, started)
    await ring_becomes(pool, ip(1), ip(2), ip(3))
    before = kg.stats()
    began = time.monotonic()
    await in_thread(b.restart_api)
    down = time.monotonic() - began
    took = await changes(pool, lambda: b.ready_pod("web-4", ip(4)), ip(1), ip(2), ip(3), ip(4))
    after = kg.stats()
    errors, relists = after.errors - before.errors, after.relists - before.relists
    watches = after.watches - before.watches
    figure(
        f"[{b.name}] API server restart ({down:.2f} s): a pod created after it reached the "
        f"ring in {took:.2f} s; {errors} errors, {relists} relists, {watches} new watches"
    )
    assert never_emptied(pool)
    assert after.lists + after.watches > before.lists + before.watches


async def test_watch_forbidden_makes_the_group_unhealthy_until_the_role_is_fixed(
    kube_backend: KubeBackend, started: list[KubeGroup]
) -> None:
    b = kube_backend
    for i in (1, 2):
        await in_thread(lambda i=i: b.ready_pod(f"web-{i}", ip(i)))
    kg, pool = await start(b, started, watch_timeout=1)
    await ring_becomes(pool, ip(1), ip(2))
    await in_thread(lambda: b.forbid_watch(True))
    began = time.monotonic()
    async with asyncio.timeout(WAIT):
        while not (  # noqa: ASYNC110 - the watch thread's state
            isinstance(kg.last_error, KubeAPIError) and kg.last_error.status == 403
        ):
            await asyncio.sleep(0.02)
    refused = time.monotonic() - began
    assert kg.synced
    assert not kg.healthy
    assert kg.unhealthy_seconds > 0
    assert pool.peers == (pod_url(ip(1)), pod_url(ip(2)))
    await in_thread(lambda: b.forbid_watch(False))
    took = await changes(pool, lambda: b.ready_pod("web-3", ip(3)), ip(1), ip(2), ip(3))
    figure(
        f"[{b.name}] watch forbidden: a 403 after {refused:.2f} s; the Role fixed, a new "
        f"pod reached the ring in {took:.2f} s"
    )
    async with asyncio.timeout(WAIT):
        while not kg.healthy:  # noqa: ASYNC110 - the watch thread's state
            await asyncio.sleep(0.02)
    assert never_emptied(pool)


@pytest.mark.timeout(300)
async def test_six_hundred_ready_pods_among_twelve_hundred_make_the_ring(
    kube_backend: KubeBackend, started: list[KubeGroup]
) -> None:
    b = kube_backend
    matching = 600

    def make(i: int) -> None:
        labels = None if i < matching else {"app": "other"}
        b.ready_pod(f"p-{i}", ip(i), labels=labels)

    began = time.monotonic()
    with ThreadPoolExecutor(8) as workers:
        await in_thread(lambda: list(workers.map(make, range(2 * matching))))
    created = time.monotonic() - began
    began = time.monotonic()
    kg, pool = await start(b, started, my_url=pod_url(ip(0)), list_page_size=100)
    synced = time.monotonic() - began
    assert pool.peers == tuple(sorted(pod_url(ip(i)) for i in range(matching)))
    assert kg.stats().pods == matching
    figure(
        f"[{b.name}] {matching} matching + {matching} other pods made in {created:.1f} s; "
        f"the ring of {len(pool.peers)} synced in {synced:.2f} s (pages of 100 asked)"
    )

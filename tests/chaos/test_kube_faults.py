"""Kubernetes API faults through FakeKubeAPI: the ring never empties and converges.

A KubeGroup watches pods ``p0`` (always Ready) and ``p1``; during each fault pod ``p1``
leaves and ``p2`` joins. Every peer list given to the pool must hold this node and
``p0``; once the fault ends the pool must converge on ``{self, p0, p2}``. After
``aclose()`` no kubegroup or fake-API thread and no task may remain.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

import kubegroup
from kubegroup.testing import FakeKubeAPI, RecordedRequest, RecordingPool

from .helpers import figure

SELF = "http://10.99.0.1:5000"
WEB = {"app": "web"}
BACKOFF_INITIAL = 0.02
BACKOFF_MAX = 0.1
OUTAGE = 1.5  # stands in for a 30 s outage: many backoff cycles long


def url(ip: str) -> str:
    return f"http://{ip}:5000"


async def until(predicate: Callable[[], bool], limit: float = 10.0) -> None:
    """Poll state owned by the watch thread, with a tiny interval, within ``limit``."""
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 - another thread's state, no event
            await asyncio.sleep(0.005)


def lists(api: FakeKubeAPI) -> list[RecordedRequest]:
    return [r for r in api.requests if not r.is_watch and r.status == 200]


def change_pods(api: FakeKubeAPI) -> None:
    api.force_delete_pod("p1")
    api.start_pod("p2", labels=WEB, ip="10.0.0.3")


SCENARIOS = [
    "stream cut",
    "stall",
    "410 storm",
    "410 status",
    "garbage line",
    "500 ERROR event",
    "403",
    "500",
    "API down",
]


@pytest.mark.parametrize("fault", SCENARIOS)
async def test_api_faults_never_empty_the_ring_and_converge(fault: str) -> None:
    threads_before = set(threading.enumerate())
    tasks_before = asyncio.all_tasks()
    pool = RecordingPool()
    with FakeKubeAPI(namespace="ns1") as api, api.api_client() as client:
        api.start_pod("p0", labels=WEB, ip="10.0.0.1")
        api.start_pod("p1", labels=WEB, ip="10.0.0.2")
        kg = await kubegroup.update_peers(
            pool,
            label_selector="app=web",
            port=5000,
            namespace="ns1",
            api_client=client,
            my_url=SELF,
            debounce=0.0,
            read_timeout=0.3,
            backoff_initial=BACKOFF_INITIAL,
            backoff_max=BACKOFF_MAX,
        )
        async with kg:
            await pool.wait_for_peers(sorted([url("10.0.0.1"), url("10.0.0.2"), SELF]))
            await until(lambda: api.watch_count >= 1)
            errors_before = kg.stats().errors
            detail = ""
            if fault == "stream cut":
                api.cut_watches()
                change_pods(api)
            elif fault == "stall":
                api.stall_watches()
                change_pods(api)
            elif fault == "410 storm":
                api.expire_next_watch(count=20)
                api.close_watches()
                change_pods(api)
                await until(lambda: kg.stats().relists >= 20)
                detail = f", {kg.stats().relists} relists, {len(lists(api))} LISTs"
                assert len(lists(api)) <= 21  # one per expiry at most, with backoff
            elif fault == "410 status":  # a 410 answer to the watch request itself
                api.fail_next_requests(410, count=5)
                api.cut_watches()
                change_pods(api)
                await until(lambda: kg.stats().relists >= 5)
                detail = f", {kg.stats().relists} relists"
            elif fault == "garbage line":
                api.send_raw(b"\x00not json{\n")
                change_pods(api)
                await until(lambda: kg.stats().errors > errors_before)
            elif fault == "500 ERROR event":
                api.send_error_event(500)
                change_pods(api)
                await until(lambda: kg.stats().errors > errors_before)
            elif fault in ("403", "500"):
                api.fail_next_requests(int(fault), count=5)
                api.cut_watches()
                change_pods(api)
            else:
                api.refuse_connections()
                began = time.monotonic()
                change_pods(api)
                await until(lambda: time.monotonic() - began >= OUTAGE, OUTAGE + 5)
                cycles = kg.stats().errors - errors_before
                assert cycles >= 5, cycles
                assert not kg.healthy
                detail = (
                    f", API down {OUTAGE} s (standing in for 30 s) = {cycles} failed attempts "
                    f"with backoff {BACKOFF_INITIAL}..{BACKOFF_MAX} s"
                )
                api.accept_connections()
            recovered = time.monotonic()
            expected = sorted([url("10.0.0.1"), url("10.0.0.3"), SELF])
            async with asyncio.timeout(10):
                await pool.wait_for_peers(expected)
            converged = time.monotonic() - recovered
            stats = kg.stats()
        calls = list(pool.calls)
    threads_left = [t for t in threading.enumerate() if t not in threads_before]
    tasks_left = [t for t in asyncio.all_tasks() - tasks_before if not t.done()]
    figure(
        f"kube API fault '{fault}': ring never empty ({len(calls)} set_peers calls, each with "
        f"self and p0), {stats.errors - errors_before} errors counted{detail}, converged "
        f"{converged * 1000:.0f} ms after the fault ended; after aclose: "
        f"{len(threads_left)} threads, {len(tasks_left)} tasks left"
    )
    assert all(SELF in c and url("10.0.0.1") in c for c in calls), calls
    assert not threads_left, threads_left
    assert not tasks_left, tasks_left

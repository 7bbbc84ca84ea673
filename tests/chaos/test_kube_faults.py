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

import pytest

import kubegroup
from kubegroup.testing import FakeKubeAPI, RecordedRequest, RecordingPool
from tests.support.figures import figure
from tests.support.waiting import THREAD_POLL, until

SELF = "http://10.99.0.1:5000"
WEB = {"app": "web"}
BACKOFF_INITIAL = 0.02
BACKOFF_MAX = 0.1
# "API down" is 1.5 s with a fast backoff (many backoff cycles); "API down 30 s" is the
# outage of the issue with the default first delay and a 5 s cap, so its convergence
# figure is what a deployment with backoff_max=5 would see.
OUTAGES = {"API down": 1.5, "API down 30 s": 30.0}
BACKOFF = {"API down 30 s": (0.8, 5.0)}


def url(ip: str) -> str:
    return f"http://{ip}:5000"


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
    "API down 30 s",
]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("fault", SCENARIOS)
async def test_api_faults_never_empty_the_ring_and_converge(fault: str) -> None:
    backoff_initial, backoff_max = BACKOFF.get(fault, (BACKOFF_INITIAL, BACKOFF_MAX))
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
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
        )
        async with kg:
            await pool.wait_for_peers(sorted([url("10.0.0.1"), url("10.0.0.2"), SELF]))
            await until(lambda: api.watch_count >= 1, interval=THREAD_POLL)
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
                await until(lambda: kg.stats().relists >= 20, interval=THREAD_POLL)
                detail = f", {kg.stats().relists} relists, {len(lists(api))} LISTs"
                assert len(lists(api)) <= 21  # one per expiry at most, with backoff
            elif fault == "410 status":  # a 410 answer to the watch request itself
                api.fail_next_requests(410, count=5)
                api.cut_watches()
                change_pods(api)
                await until(lambda: kg.stats().relists >= 5, interval=THREAD_POLL)
                detail = f", {kg.stats().relists} relists"
            elif fault == "garbage line":
                api.send_raw(b"\x00not json{\n")
                change_pods(api)
                await until(lambda: kg.stats().errors > errors_before, interval=THREAD_POLL)
            elif fault == "500 ERROR event":
                api.send_error_event(500)
                change_pods(api)
                await until(lambda: kg.stats().errors > errors_before, interval=THREAD_POLL)
            elif fault in ("403", "500"):
                api.fail_next_requests(int(fault), count=5)
                api.cut_watches()
                change_pods(api)
            else:
                outage = OUTAGES[fault]
                api.refuse_connections()
                began = time.monotonic()
                change_pods(api)
                # The outage itself lasts its length: here time passing is the point.
                await asyncio.sleep(outage - (time.monotonic() - began))
                cycles = kg.stats().errors - errors_before
                assert cycles >= 5, cycles
                assert not kg.healthy
                detail = (
                    f", API down {outage} s = {cycles} failed attempts "
                    f"with backoff {backoff_initial}..{backoff_max} s"
                )
                api.accept_connections()
            recovered = time.monotonic()
            expected = sorted([url("10.0.0.1"), url("10.0.0.3"), SELF])
            async with asyncio.timeout(backoff_max + 10):
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

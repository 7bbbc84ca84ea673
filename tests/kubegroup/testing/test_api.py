"""The public kubegroup.testing helpers: FakeKubeAPI's pod lifecycle scripts and RecordingPool.

Each lifecycle step is observed through a watch with the official client, so the test
also proves the objects deserialise into ``V1Pod`` at every step.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from kubernetes import client as k8s

from kubegroup.testing import FakeKubeAPI, RecordingPool

from ..helpers import events


def replay(core: k8s.CoreV1Api, since: str, n: int, selector: str = "") -> list[tuple[str, Any]]:
    """The ``n`` events after revision ``since``, deserialised by the client."""
    return [
        (kind, obj)
        for kind, obj, _ in events(core, n, resource_version=since, label_selector=selector)
    ]


def ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def test_create_assign_ip_ready_unready(fake: FakeKubeAPI, core: k8s.CoreV1Api) -> None:
    rv = fake.resource_version
    fake.create_pod("a", labels={"app": "x"})
    ip = fake.assign_ip("a")
    fake.set_ready("a")
    fake.set_unready("a")
    (k1, created), (k2, scheduled), (k3, up), (k4, down) = replay(core, rv, 4)
    assert [k1, k2, k3, k4] == ["ADDED", "MODIFIED", "MODIFIED", "MODIFIED"]
    assert type(created).__name__ == "V1Pod"  # deserialised by the client, not a dict
    assert (created.status.phase, created.status.pod_ip, created.status.conditions) == (
        "Pending",
        None,
        None,
    )
    assert (scheduled.status.phase, scheduled.status.pod_ip, ready(scheduled)) == (
        "Running",
        ip,
        False,
    )
    raw = fake.get_pod("a")
    assert raw is not None
    assert raw["status"]["podIPs"] == [{"ip": ip}]
    assert ready(up)
    assert not ready(down)
    assert created.metadata.uid == down.metadata.uid
    assert int(down.metadata.resource_version) == int(rv) + 4


def test_assigned_ips_are_distinct_unless_reused_on_purpose(fake: FakeKubeAPI) -> None:
    a = fake.start_pod("a")["status"]["podIP"]
    b = fake.start_pod("b")["status"]["podIP"]
    assert a != b
    fake.force_delete_pod("a")
    assert fake.start_pod("c", ip=a)["status"]["podIP"] == a


def test_graceful_delete_keeps_ready_then_terminates_then_deletes(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    fake.start_pod("a")
    rv = fake.resource_version
    marked = fake.delete_pod("a", grace_period_seconds=30)
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 30
    fake.finish_termination("a")
    (k1, terminating), (k2, exited), (k3, gone) = replay(core, rv, 3)
    assert [k1, k2, k3] == ["MODIFIED", "MODIFIED", "DELETED"]
    assert terminating.metadata.deletion_timestamp is not None
    assert ready(terminating)
    assert exited.status.phase == "Succeeded"
    assert not ready(exited)
    assert gone.metadata.resource_version == str(int(rv) + 3)
    assert fake.get_pod("a") is None


def test_force_delete_and_zero_grace_delete_at_once(fake: FakeKubeAPI, core: k8s.CoreV1Api) -> None:
    fake.start_pod("a")
    fake.start_pod("b")
    rv = fake.resource_version
    last = fake.force_delete_pod("a")
    fake.delete_pod("b", grace_period_seconds=0)
    assert [(k, p.metadata.name) for k, p in replay(core, rv, 2)] == [
        ("DELETED", "a"),
        ("DELETED", "b"),
    ]
    assert ready_dict(last)
    assert fake.pods() == []


def ready_dict(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"]["conditions"])


def test_relabel_replaces_the_labels(fake: FakeKubeAPI, core: k8s.CoreV1Api) -> None:
    fake.start_pod("a", labels={"app": "x", "v": "1"})
    rv = fake.resource_version
    fake.relabel_pod("a", {"app": "y"})
    ((kind, pod),) = replay(core, rv, 1, "app=x")
    # leaving the selector, DELETED carries the previous object (kube-apiserver v1.37.2)
    assert (kind, pod.metadata.labels) == ("DELETED", {"app": "x", "v": "1"})
    assert fake.get_pod("a")["metadata"]["labels"] == {"app": "y"}  # type: ignore[index]


def test_helpers_default_to_the_fakes_namespace_and_accept_another(fake: FakeKubeAPI) -> None:
    fake.create_pod("a")
    fake.create_pod("a", namespace="ns2")
    assert [p["metadata"]["namespace"] for p in fake.pods()] == ["ns1", "ns2"]
    assert [p["metadata"]["name"] for p in fake.pods(namespace="ns2")] == ["a"]
    assert fake.get_pod("a", namespace="ns2") is not None


def test_helpers_raise_for_missing_or_duplicate_pods(fake: FakeKubeAPI) -> None:
    fake.create_pod("a")
    with pytest.raises(KeyError):
        fake.create_pod("a")
    with pytest.raises(KeyError):
        fake.set_ready("zz")
    with pytest.raises(KeyError):
        fake.force_delete_pod("zz")


def test_returned_pods_are_copies(fake: FakeKubeAPI) -> None:
    pod = fake.create_pod("a", labels={"app": "x"})
    pod["metadata"]["labels"]["app"] = "mutated"
    got = fake.get_pod("a")
    assert got is not None
    assert got["metadata"]["labels"] == {"app": "x"}


def test_wait_helpers_time_out_with_timeout_error(fake: FakeKubeAPI) -> None:
    with pytest.raises(TimeoutError):
        fake.wait_for_watches(1, timeout=0.01)
    with pytest.raises(TimeoutError):
        fake.wait_for_requests(lambda reqs: len(reqs) > 0, timeout=0.01)


def test_wait_for_requests_wakes_on_a_request_from_another_thread(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    t = threading.Thread(target=core.list_namespaced_pod, args=("ns1",))
    t.start()
    reqs = fake.wait_for_requests(lambda reqs: len(reqs) == 1)
    t.join()
    assert reqs[0].path == "/api/v1/namespaces/ns1/pods"


async def test_recording_pool_records_calls_and_wakes_waiters() -> None:
    pool = RecordingPool()
    assert pool.peers is None

    async def later() -> None:
        pool.set_peers("http://a:1")
        await asyncio.sleep(0)
        pool.set_peers("http://a:1", "http://b:1")

    async with asyncio.timeout(5), asyncio.TaskGroup() as tg:
        tg.create_task(later())
        await pool.wait_for_peers(["http://a:1", "http://b:1"])
    assert pool.calls == [("http://a:1",), ("http://a:1", "http://b:1")]
    await pool.wait_until(lambda p: len(p.calls) == 2)

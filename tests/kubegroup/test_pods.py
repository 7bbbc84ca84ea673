"""Pod objects to peers: Ready + IP + not terminating; sorted, de-duplicated, self included."""

from __future__ import annotations

from typing import Any

from kubegroup._pods import PodInfo, peer_urls, pod_info


def pod(
    name: str = "a", ip: str = "10.0.0.1", ready: str = "True", deleting: bool = False
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {
        "metadata": meta,
        "status": {"podIP": ip, "conditions": [{"type": "Ready", "status": ready}]},
    }


def test_pod_info_reads_name_ip_readiness_and_termination() -> None:
    assert pod_info(pod()) == PodInfo("a", "10.0.0.1", ready=True, terminating=False)
    assert pod_info(pod(ready="False", deleting=True)) == PodInfo("a", "10.0.0.1", False, True)


def test_incomplete_pods_are_not_peers() -> None:
    assert pod_info({}) == PodInfo("", "", False, False)
    assert not pod_info({"metadata": {"name": "x"}, "status": {"conditions": None}}).is_peer
    assert not pod_info(pod(ip="")).is_peer
    assert not pod_info(pod(ready="Unknown")).is_peer
    assert not pod_info(pod(deleting=True)).is_peer
    assert pod_info(pod()).is_peer


def test_peer_urls_are_sorted_unique_and_include_self() -> None:
    pods = [
        pod_info(pod("b", "10.0.0.2")),
        pod_info(pod("a", "10.0.0.1")),
        pod_info(pod("c", "10.0.0.1")),
        pod_info(pod("d", "10.0.0.3", ready="False")),
        pod_info(pod("e", "fd00::5")),
    ]
    me = "http://10.0.0.9:5000"
    assert peer_urls(pods, port=5000, my_url=me) == (
        "http://10.0.0.1:5000",
        "http://10.0.0.2:5000",
        me,
        "http://[fd00::5]:5000",
    )
    assert peer_urls([], port=5000, my_url=me) == (me,)
    assert peer_urls(pods[:1], port=5000, my_url="http://10.0.0.2:5000") == (
        "http://10.0.0.2:5000",
    )
    assert peer_urls([], port=5000, my_url=None) == ()


def test_peer_urls_take_the_scheme() -> None:
    pods = [pod_info(pod("a", "10.0.0.1")), pod_info(pod("b", "fd00::5"))]
    me = "https://10.0.0.9:5000"
    assert peer_urls(pods, port=5000, my_url=me, scheme="https") == (
        "https://10.0.0.1:5000",
        me,
        "https://[fd00::5]:5000",
    )

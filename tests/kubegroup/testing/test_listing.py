"""The fake's pod LIST as the official client sees it: pages with ``limit``/``continue`` at
one revision, ``resourceVersion`` semantics with and without a limit, and the 400/410/422
answers the apiserver gives to misuse. Also the verb-level RBAC denial and hung requests.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from kubegroup._config import watch_client
from kubegroup.testing import FakeKubeAPI

from ..helpers import WAIT, status_body

WEB = {"app": "web"}


def page(core: k8s.CoreV1Api, **kwargs: Any) -> dict[str, Any]:
    """One LIST answer as JSON (the raw body: no client models involved)."""
    resp: Any = core.list_namespaced_pod("ns1", _preload_content=False, **kwargs)
    doc: dict[str, Any] = json.loads(resp.data)
    return doc


def names(doc: dict[str, Any]) -> list[str]:
    return [p["metadata"]["name"] for p in doc["items"]]


def test_limit_and_continue_page_through_one_revision(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    for i in range(5):
        fake.create_pod(f"p{i}", labels=WEB)
    first = page(core, label_selector="app=web", limit=2)
    assert names(first) == ["p0", "p1"]
    assert first["metadata"]["remainingItemCount"] == 3
    rv = first["metadata"]["resourceVersion"]
    fake.force_delete_pod("p3")  # after the first page: the next pages still show it
    pages = [first]
    while "continue" in pages[-1]["metadata"]:
        token = pages[-1]["metadata"]["continue"]
        pages.append(page(core, label_selector="app=web", limit=2, _continue=token))
    assert [names(p) for p in pages] == [["p0", "p1"], ["p2", "p3"], ["p4"]]
    assert {p["metadata"]["resourceVersion"] for p in pages} == {rv}
    assert "remainingItemCount" not in pages[-1]["metadata"]


def test_no_limit_or_a_large_one_gives_everything_without_a_continue_token(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    for i in range(3):
        fake.create_pod(f"p{i}", labels=WEB)
    for limit in (None, 3, 500):
        pods = page(core, limit=limit)
        assert names(pods) == ["p0", "p1", "p2"]
        assert "continue" not in pods["metadata"]


def test_a_continue_token_whose_revision_was_compacted_is_410_expired(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    for i in range(3):
        fake.create_pod(f"p{i}", labels=WEB)
    token = page(core, limit=1)["metadata"]["continue"]
    fake.create_pod("later", labels=WEB)
    fake.compact()
    with pytest.raises(ApiException) as info:
        core.list_namespaced_pod("ns1", limit=1, _continue=token)
    assert info.value.status == 410
    assert status_body(info.value)["reason"] == "Expired"
    assert "continue parameter is too old" in status_body(info.value)["message"]


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"resource_version": "1001"}, 400),  # continue with a resourceVersion
        ({"resource_version": "1001", "resource_version_match": "NotOlderThan"}, 422),
        ({}, None),
        ({"resource_version": "0"}, None),  # "0" is allowed with continue
    ],
)
def test_continue_rejects_a_resource_version_like_the_apiserver(
    fake: FakeKubeAPI, core: k8s.CoreV1Api, kwargs: dict[str, str], status: int | None
) -> None:
    for i in range(2):
        fake.create_pod(f"p{i}", labels=WEB)
    token = page(core, limit=1)["metadata"]["continue"]
    if status is None:
        assert names(page(core, _continue=token, **kwargs)) == ["p1"]
        return
    with pytest.raises(ApiException) as info:
        page(core, _continue=token, **kwargs)
    assert info.value.status == status


def test_a_garbled_continue_token_is_a_400(core: k8s.CoreV1Api) -> None:
    with pytest.raises(ApiException) as info:
        core.list_namespaced_pod("ns1", _continue="not-a-token")
    assert info.value.status == 400
    assert "continue key is not valid" in status_body(info.value)["message"]


def test_resource_version_semantics_of_a_list(fake: FakeKubeAPI, core: k8s.CoreV1Api) -> None:
    """RV "0" and N without a limit: the current state. N with a limit: exactly N (etcd),
    so 410 once compacted, as client-go's reflector avoids by not paging such lists."""
    fake.create_pod("a", labels=WEB)
    old = fake.resource_version
    fake.create_pod("b", labels=WEB)
    assert names(page(core, resource_version="0")) == ["a", "b"]
    assert names(page(core, resource_version=old)) == ["a", "b"]
    paged = page(core, resource_version=old, limit=10)
    assert (names(paged), paged["metadata"]["resourceVersion"]) == (["a"], old)
    fake.compact()
    assert names(page(core, resource_version=old)) == ["a", "b"]
    with pytest.raises(ApiException) as info:
        core.list_namespaced_pod("ns1", resource_version=old, limit=10)
    assert info.value.status == 410


def test_a_bad_limit_is_a_400(fake: FakeKubeAPI) -> None:
    reply = fake.api_client().rest_client.pool_manager.request(
        "GET", f"{fake.url}/api/v1/namespaces/ns1/pods?limit=ten"
    )
    assert reply.status == 400


def test_denying_only_watch_lets_lists_through(fake: FakeKubeAPI, core: k8s.CoreV1Api) -> None:
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    fake.deny_namespace("ns1", verbs=("watch",))
    assert names(page(core)) == ["a"]
    with pytest.raises(ApiException) as info:
        core.list_namespaced_pod("ns1", watch=True, timeout_seconds=1)
    assert info.value.status == 403
    assert 'cannot watch resource "pods"' in status_body(info.value)["message"]
    fake.deny_namespace("ns1", False)
    assert page(core, watch=True, timeout_seconds=1)["type"] == "ADDED"  # one event: JSON


def test_a_hung_request_is_logged_with_status_0_and_ends_when_the_client_leaves(
    fake: FakeKubeAPI, api_client: k8s.ApiClient
) -> None:
    core = k8s.CoreV1Api(watch_client(api_client))  # urllib3 retries off
    fake.hang_next_requests(1)
    failed: list[BaseException] = []

    def call() -> None:
        try:
            core.list_namespaced_pod("ns1", _request_timeout=(5, 0.5))
        except Exception as exc:
            failed.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    (hung,) = fake.wait_for_requests(lambda reqs: len(reqs) >= 1, WAIT)
    assert hung.status == 0
    thread.join(WAIT)
    assert failed  # the client's read timeout: the server never answered
    assert page(core)["items"] == []  # one-shot


def test_resource_version_0_is_answered_whole_whatever_the_limit(fake: FakeKubeAPI) -> None:
    """Observed on kube-apiserver v1.37.2: a list at "0" (the watch cache) with limit=100
    over 600 pods came back whole, without ``continue`` or ``remainingItemCount``."""
    for i in range(5):
        fake.start_pod(f"p{i}", labels=WEB, namespace="ns1")
    with fake.api_client() as client:
        doc = page(k8s.CoreV1Api(client), resource_version="0", limit=2)
    assert len(doc["items"]) == 5
    assert "continue" not in doc["metadata"]
    assert "remainingItemCount" not in doc["metadata"]

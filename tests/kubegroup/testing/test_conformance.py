"""FakeKubeAPI answers as the real server does where a review found it did not.

Each docstring says what was observed on kube-apiserver v1.37.2 (with etcd, RBAC, a watch
cache) with curl and the official client; the test holds the fake to the same answer.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from kubegroup.testing import FakeKubeAPI

from ..helpers import drain, events, on_watch, status_body


def raw(
    fake: FakeKubeAPI, query: str, path: str = "/api/v1/namespaces/ns1/pods"
) -> tuple[contextlib.closing[http.client.HTTPConnection], http.client.HTTPResponse]:
    conn = http.client.HTTPConnection(fake.host, fake.port, timeout=10)
    conn.request("GET", f"{path}?{query}")
    return contextlib.closing(conn), conn.getresponse()


@pytest.mark.parametrize(
    "value", ["1", "true", "True", "TRUE", "t", "T", "yes", "y", "on", "f", "no", "garbage", ""]
)
def test_any_watch_value_but_0_and_false_opens_a_watch(fake: FakeKubeAPI, value: str) -> None:
    """Observed on kube-apiserver v1.37.2: ``watch=`` is true unless it is "0" or "false" in
    any case (apimachinery's query-parameter bool, not Go's ParseBool): ``watch=yes``,
    ``watch=f`` and a bare ``watch=`` all stream events; nothing is a 400."""
    fake.create_pod("a")
    conn, resp = raw(fake, f"watch={value}&timeoutSeconds=1")
    with conn:
        body = resp.read()
    assert resp.status == 200
    assert [json.loads(line)["type"] for line in body.splitlines()] == ["ADDED"]


@pytest.mark.parametrize("value", ["0", "false", "False", "FALSE", "fAlSe"])
def test_watch_0_or_false_in_any_case_lists(fake: FakeKubeAPI, value: str) -> None:
    """Observed on kube-apiserver v1.37.2: each of these answers a PodList."""
    conn, resp = raw(fake, f"watch={value}")
    with conn:
        assert json.loads(resp.read())["kind"] == "PodList"


def test_a_repeated_query_parameter_counts_by_its_first_value(fake: FakeKubeAPI) -> None:
    """Observed on kube-apiserver v1.37.2: ``watch=false&watch=1`` lists, ``watch=1&watch=false``
    watches; ``resourceVersion=abc&resourceVersion=5`` is a 400 for "abc"."""
    conn, resp = raw(fake, "watch=false&watch=1")
    with conn:
        assert json.loads(resp.read())["kind"] == "PodList"
    conn, resp = raw(fake, "watch=1&watch=false&timeoutSeconds=1")
    with conn:
        assert resp.getheader("Transfer-Encoding") == "chunked"
        resp.read()
    conn, resp = raw(fake, f"resourceVersion=abc&resourceVersion={fake.resource_version}")
    with conn:
        assert resp.status == 400
        resp.read()


def test_a_pod_relabelled_out_of_the_selector_is_deleted_with_its_previous_object(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    """Observed on kube-apiserver v1.37.2: relabelling app=web to app=other under a watch on
    app=web sends DELETED whose object still has app=web, at the relabel's resourceVersion;
    relabelling back sends ADDED with the new object. Live and replayed alike."""
    fake.start_pod("a", labels={"app": "web"})
    since = fake.resource_version
    with on_watch(fake, lambda: fake.relabel_pod("a", {"app": "other"})):
        seen = [
            (k, p) for k, p, _ in events(core, 1, label_selector="app=web", resource_version=since)
        ]
    rv = fake.resource_version
    replayed = [
        (k, p) for k, p, _ in events(core, 1, label_selector="app=web", resource_version=since)
    ]
    for kind, pod in (*seen, *replayed):
        assert kind == "DELETED"
        assert pod.metadata.labels == {"app": "web"}
        assert pod.metadata.resource_version == rv


def test_a_list_from_a_future_resource_version_is_a_504_too_large_after_a_wait() -> None:
    """Observed on kube-apiserver v1.37.2: a list at resourceVersion 5000 when the store is at
    229 waits 3 s, then answers 504 reason Timeout "Timeout: Too large resource version:
    5000, current: 229", details.causes [ResourceVersionTooLarge], retryAfterSeconds 1, and
    a Retry-After: 1 header; with or without limit or resourceVersionMatch."""
    with FakeKubeAPI(future_version_wait=0.05) as api, api.api_client() as client:
        core = k8s.CoreV1Api(client)
        future = str(int(api.resource_version) + 10)
        for options in ({}, {"limit": 2}, {"resource_version_match": "NotOlderThan"}):
            with pytest.raises(ApiException) as info:
                core.list_namespaced_pod("default", resource_version=future, **options)
            assert info.value.status == 504
            assert (info.value.headers or {})["Retry-After"] == "1"
            body = status_body(info.value)
            assert body["reason"] == "Timeout"
            assert body["message"] == (
                f"Timeout: Too large resource version: {future}, current: {api.resource_version}"
            )
            assert body["details"] == {
                "causes": [
                    {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
                ],
                "retryAfterSeconds": 1,
            }


def test_a_list_from_a_version_the_store_reaches_within_the_wait_is_served(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    """The real server waits (3 s) for its cache to reach the version before refusing: a
    write racing the list (before or during its wait) lets it answer 200 at that version."""
    target = str(int(fake.resource_version) + 1)
    writer = threading.Thread(target=fake.create_pod, args=("late",), name="test-writer")
    writer.start()
    try:
        pods: Any = core.list_namespaced_pod("ns1", resource_version=target)
    finally:
        writer.join()
    assert pods.metadata.resource_version == target
    assert [p.metadata.name for p in pods.items] == ["late"]


def test_a_watch_from_a_future_version_waits_and_sends_only_later_events(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    """Observed on kube-apiserver v1.37.2: a watch from current+3 answers 200 at once and
    then sends only the events after that version (writes 2 and 3 are skipped); a watch
    from a version never reached ends cleanly at its timeoutSeconds with no event."""
    future = str(int(fake.resource_version) + 2)

    def writes() -> None:
        for name in ("one", "two", "three"):
            fake.create_pod(name)

    with on_watch(fake, writes):
        seen = [p.metadata.name for _, p, _ in events(core, 1, resource_version=future)]
    assert seen == ["three"]
    far = str(int(fake.resource_version) + 1000)
    assert drain(core, resource_version=far, timeout_seconds=1) == []


def test_restart_gives_every_resumed_watch_a_410_from_its_fresh_cache(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    """Observed on kube-apiserver v1.37.2 restarted on the same etcd: every watch from a
    resourceVersion older than the new cache's starting one (the newest before the restart
    included) gets an ERROR event 410 Expired "too old resource version: 268 (272)", where
    272 is the cache's first version and a watch from 272 works. Lists at an exact older
    version are still served from etcd. Open watches end cleanly, not cut."""
    fake.start_pod("a")
    before = fake.resource_version
    with on_watch(fake, fake.restart):
        # ended cleanly by the restart (timeout_seconds: the client does not resume on its own)
        assert drain(core, resource_version=before, timeout_seconds=30) == []
    start = fake.resource_version
    with pytest.raises(ApiException) as info:
        drain(core, resource_version=before, _request_timeout=5)
    assert info.value.status == 410
    assert info.value.reason == f"Expired: too old resource version: {before} ({start})"
    assert drain(core, resource_version=start, timeout_seconds=1) == []
    old: Any = core.list_namespaced_pod(
        "ns1", resource_version=before, resource_version_match="Exact"
    )
    assert [p.metadata.name for p in old.items] == ["a"]


def test_events_older_than_the_watch_cache_window_give_410() -> None:
    """Observed on kube-apiserver v1.37.2: 150 writes, 80 s idle (the cache keeps events for
    75 s), 150 more writes: watches from before the evicted events got "too old resource
    version: 280 (380)", later ones worked, and an exact list at 280 still came from etcd.
    The fake evicts by age alone (its clock is injectable), the real one once it is full."""
    now = [0.0]
    with FakeKubeAPI(watch_cache_window=75.0, clock=lambda: now[0]) as api:
        api.create_pod("old")
        first = api.resource_version
        api.create_pod("older-than-the-window")
        now[0] = 80.0
        api.create_pod("fresh")
        fresh = api.resource_version
        with api.api_client() as client:
            core = k8s.CoreV1Api(client)
            with pytest.raises(ApiException) as info:
                drain(core, namespace="default", resource_version=first, _request_timeout=5)
            assert info.value.status == 410
            assert info.value.reason == (
                f"Expired: too old resource version: {first} ({int(fresh) - 1})"
            )
            since = str(int(fresh) - 1)
            assert drain(core, namespace="default", resource_version=since, timeout_seconds=1)
            old: Any = core.list_namespaced_pod("default", resource_version=first, limit=5)
            assert [p.metadata.name for p in old.items] == ["old"]


def test_requests_share_a_kept_alive_connection(fake: FakeKubeAPI) -> None:
    """Observed on kube-apiserver v1.37.2 over HTTP/1.1: a list, a 404 and a watch that ends
    at its timeoutSeconds all leave the connection open for the next request (curl
    "Re-using existing connection"); no Connection: close."""
    fake.create_pod("a")
    conn = http.client.HTTPConnection(fake.host, fake.port, timeout=10)
    with contextlib.closing(conn):
        socks = []
        for path in (
            "/api/v1/namespaces/ns1/pods?limit=1",
            "/api/v1/namespaces/ns1/pods/missing",
            "/api/v1/namespaces/ns1/pods?watch=1&timeoutSeconds=1",
            "/api/v1/namespaces/ns1/pods",
        ):
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            assert resp.getheader("Connection") != "close", path
            socks.append(conn.sock)
        assert all(s is socks[0] and s is not None for s in socks)


def read_chunks(sock: socket.socket) -> list[bytes]:
    """Read one chunked response from ``sock``; return its chunks' payloads."""
    stream = sock.makefile("rb")
    while stream.readline() not in (b"\r\n", b""):
        pass  # headers
    chunks: list[bytes] = []
    while True:
        size = int(stream.readline().strip(), 16)
        if size == 0:
            return chunks
        chunks.append(stream.read(size))
        stream.readline()


def test_a_burst_of_events_shares_chunks_and_a_line_may_span_two(fake: FakeKubeAPI) -> None:
    """Observed on kube-apiserver v1.37.2 (HTTP/1.1): the initial events of a watch come in
    2048-byte chunks, each holding the end of one event line and the start of the next, so
    clients must split lines across chunk boundaries."""
    for i in range(6):
        fake.create_pod(f"pod-{i}", labels={"padding": "x" * 60})
    with socket.create_connection((fake.host, fake.port), timeout=10) as sock:
        sock.sendall(
            b"GET /api/v1/namespaces/ns1/pods?watch=1&timeoutSeconds=1 HTTP/1.1\r\n"
            b"Host: fake\r\n\r\n"
        )
        chunks = read_chunks(sock)
    body = b"".join(chunks)
    assert [json.loads(line)["type"] for line in body.splitlines()] == ["ADDED"] * 6
    assert all(len(c) <= 2048 for c in chunks)
    assert any(c.count(b"\n") >= 1 and not c.endswith(b"\n") for c in chunks)
    assert len(chunks) < 6 or any(c.count(b"\n") >= 2 for c in chunks)


def test_a_forbidden_get_names_the_pod_like_rbac(fake: FakeKubeAPI, core: k8s.CoreV1Api) -> None:
    """Observed on kube-apiserver v1.37.2 with a Role granting only list: get answers 403
    'pods "a" is forbidden: User "system:serviceaccount:p1:kg" cannot get resource "pods" in
    API group "" in the namespace "p1"' with details {name: a, kind: pods}; list and watch
    answer 'pods is forbidden: ... cannot watch ...' with details {kind: pods}."""
    fake.start_pod("a")
    fake.deny_namespace("ns1", verbs=("get", "watch"))
    with pytest.raises(ApiException) as info:
        core.read_namespaced_pod("a", "ns1")
    body = status_body(info.value)
    assert body["message"].startswith('pods "a" is forbidden: User "system:serviceaccount:')
    assert body["message"].endswith(
        'cannot get resource "pods" in API group "" in the namespace "ns1"'
    )
    assert body["details"] == {"name": "a", "kind": "pods"}
    with pytest.raises(ApiException) as info:
        drain(core)
    body = status_body(info.value)
    assert body["message"].startswith("pods is forbidden: ")
    assert "cannot watch resource" in body["message"]
    assert body["details"] == {"kind": "pods"}
    assert core.list_namespaced_pod("ns1").items


def test_bad_request_statuses_carry_no_details(fake: FakeKubeAPI) -> None:
    """Observed on kube-apiserver v1.37.2: a 400 (bad selector, bad limit) is
    {kind, apiVersion, metadata, status, message, reason: BadRequest, code} with no details;
    a 404 for a pod has details {name, kind: pods}."""
    conn, resp = raw(fake, "labelSelector=app%20in%20(")
    with conn:
        body = json.loads(resp.read())
    assert set(body) == {"kind", "apiVersion", "metadata", "status", "message", "reason", "code"}
    conn, resp = raw(fake, "", path="/api/v1/namespaces/ns1/pods/missing")
    with conn:
        assert json.loads(resp.read())["details"] == {"name": "missing", "kind": "pods"}

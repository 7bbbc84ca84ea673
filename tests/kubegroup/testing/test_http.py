"""FakeKubeAPI conformance: the official client is the oracle for list, watch and errors.

Covers the HTTP protocol of the Kubernetes API: selectors, revisions, replay, 410, bookmarks,
timeoutSeconds, Go booleans, chunked ND-JSON, Status bodies, auth, TLS and the stream
faults. Pod lifecycle scripts are in test_testing.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from kubegroup.testing import FakeKubeAPI

from ..helpers import TLSFiles, drain, events, on_watch, status_body


def names(items: Any) -> list[str]:
    return sorted(p.metadata.name for p in items)


def raw_get(fake: FakeKubeAPI, query: str) -> urllib3.BaseHTTPResponse:
    return urllib3.request(
        "GET",
        f"{fake.url}/api/v1/namespaces/ns1/pods?{query}",
        preload_content=False,
        retries=False,
    )


def test_list_filters_by_label_selector_and_reports_the_current_revision(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    fake.start_pod("a", labels={"app": "x", "tier": "1"})
    fake.start_pod("b", labels={"app": "x"})
    fake.start_pod("c", labels={"app": "y"})
    fake.start_pod("d", labels={"app": "x"}, namespace="other")
    pods: Any = core.list_namespaced_pod("ns1", label_selector="app in (x),!tier")
    assert names(pods.items) == ["b"]
    assert pods.metadata.resource_version == fake.resource_version
    assert names(core.list_namespaced_pod("ns1").items) == ["a", "b", "c"]
    assert names(core.list_pod_for_all_namespaces(label_selector="app=x").items) == ["a", "b", "d"]


def test_list_of_an_unknown_namespace_is_empty_not_404(core: k8s.CoreV1Api) -> None:
    assert core.list_namespaced_pod("nowhere").items == []


def test_list_items_carry_no_kind_and_deserialise_as_pods(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    fake.start_pod("a", labels={"app": "x"}, ip="10.1.2.3")
    raw = json.loads(raw_get(fake, "labelSelector=app%3Dx").read())
    assert raw["kind"] == "PodList"
    assert "kind" not in raw["items"][0]
    pod: Any = core.list_namespaced_pod("ns1").items[0]
    assert pod.status.pod_ip == "10.1.2.3"
    assert {c.type: c.status for c in pod.status.conditions}["Ready"] == "True"


def test_a_malformed_selector_is_a_400_status(core: k8s.CoreV1Api) -> None:
    with pytest.raises(ApiException) as info:
        core.list_namespaced_pod("ns1", label_selector="app in (")
    assert info.value.status == 400
    body = status_body(info.value)
    assert (body["kind"], body["reason"], body["code"]) == ("Status", "BadRequest", 400)


def test_field_selectors_filter_and_unknown_fields_are_rejected(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    fake.start_pod("a", ip="10.0.9.1")
    fake.start_pod("b")
    assert names(core.list_namespaced_pod("ns1", field_selector="status.podIP=10.0.9.1").items) == [
        "a"
    ]
    assert names(core.list_namespaced_pod("ns1", field_selector="metadata.name!=a").items) == ["b"]
    with pytest.raises(ApiException) as info:
        core.list_namespaced_pod("ns1", field_selector="spec.bogus=1")
    assert info.value.status == 400


def test_get_returns_a_pod_and_404_for_a_missing_one(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    fake.create_pod("a")
    pod: Any = core.read_namespaced_pod("a", "ns1")
    assert pod.metadata.name == "a"
    with pytest.raises(ApiException) as info:
        core.read_namespaced_pod("zz", "ns1")
    assert (info.value.status, status_body(info.value)["reason"]) == (404, "NotFound")


def test_watch_without_revision_starts_with_synthetic_added_then_live_events(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    fake.start_pod("a", labels={"app": "x"})
    fake.start_pod("b", labels={"app": "y"})
    seen = []
    for kind, pod, _ in events(core, 2, label_selector="app=x"):
        seen.append((kind, pod.metadata.name))
        if len(seen) == 1:
            fake.set_unready("a")
    assert seen == [("ADDED", "a"), ("MODIFIED", "a")]


@pytest.mark.parametrize("revision", ["0", ""])
def test_watch_from_revision_zero_or_empty_means_current_state(
    fake: FakeKubeAPI, core: k8s.CoreV1Api, revision: str
) -> None:
    fake.start_pod("a")
    seen = [(k, p.metadata.name) for k, p, _ in events(core, 1, resource_version=revision)]
    assert seen == [("ADDED", "a")]


def test_watch_from_a_revision_replays_exactly_the_missed_matching_events(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    fake.start_pod("a", labels={"app": "x"})
    listed: Any = core.list_namespaced_pod("ns1")
    rv = listed.metadata.resource_version
    fake.create_pod("b", labels={"app": "x"})
    fake.create_pod("c", labels={"app": "other"})
    fake.force_delete_pod("a")
    seen = [
        (k, p.metadata.name, p.metadata.resource_version)
        for k, p, _ in events(core, 2, label_selector="app=x", resource_version=rv)
    ]
    assert seen == [("ADDED", "b", str(int(rv) + 1)), ("DELETED", "a", str(int(rv) + 3))]


def test_relabelling_turns_into_added_and_deleted_for_a_filtered_watch(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    fake.start_pod("a", labels={"app": "y"})
    rv = fake.resource_version
    fake.relabel_pod("a", {"app": "x"})  # starts matching
    fake.set_unready("a")  # both match
    fake.relabel_pod("a", {"app": "z"})  # stops matching
    fake.set_ready("a")  # neither matches: not sent
    fake.relabel_pod("a", {"app": "x"})
    seen = [k for k, _, _ in events(core, 4, label_selector="app=x", resource_version=rv)]
    assert seen == ["ADDED", "MODIFIED", "DELETED", "ADDED"]


def test_a_compacted_revision_gives_410_on_the_first_attempt_with_a_timeout(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    fake.start_pod("a")
    rv = fake.resource_version
    fake.set_unready("a")
    fake.compact()
    with pytest.raises(ApiException) as info:
        drain(core, resource_version=str(int(rv) - 1), timeout_seconds=5)
    assert info.value.status == 410
    assert "too old resource version" in info.value.reason


def test_a_compacted_revision_gives_410_after_the_clients_single_retry(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    fake.start_pod("a")
    rv = fake.resource_version
    fake.set_unready("a")
    fake.compact()
    with pytest.raises(ApiException) as info:
        drain(core, resource_version=rv)
    assert info.value.status == 410
    assert sum(r.is_watch for r in fake.requests) == 2


def test_the_watch_from_the_current_revision_survives_compaction(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    fake.start_pod("a")
    rv = fake.compact()
    fake.create_pod("b")
    seen = [(k, p.metadata.name) for k, p, _ in events(core, 1, resource_version=rv)]
    assert seen == [("ADDED", "b")]


def test_history_beyond_its_limit_is_compacted() -> None:
    with FakeKubeAPI(history_limit=2) as fake, fake.api_client() as client:
        core = k8s.CoreV1Api(client)
        fake.create_pod("a", namespace="ns1")
        old = fake.resource_version
        fake.create_pod("b", namespace="ns1")
        fake.create_pod("c", namespace="ns1")
        fake.create_pod("d", namespace="ns1")
        with pytest.raises(ApiException) as info:
            drain(core, resource_version=old, timeout_seconds=5)
        assert info.value.status == 410
        seen = [p.metadata.name for _, p, _ in events(core, 2, resource_version=str(int(old) + 1))]
        assert seen == ["c", "d"]


def test_expire_next_watch_answers_once_with_a_410_error_event(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    fake.create_pod("a")
    fake.expire_next_watch()
    with pytest.raises(ApiException) as info:
        drain(core, resource_version=fake.resource_version, timeout_seconds=5)
    assert info.value.status == 410
    assert [k for k, _, _ in events(core, 1)] == ["ADDED"]


def test_bookmarks_advance_the_clients_revision_only_when_allowed(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    fake.create_pod("a")
    fake.create_pod("b", labels={"app": "other"})
    for kind, obj, w in events(core, 2, label_selector="app!=other", allow_watch_bookmarks=True):
        if kind == "ADDED":
            assert fake.send_bookmark() == 1
        else:
            assert kind == "BOOKMARK"
            assert obj["metadata"]["resourceVersion"] == fake.resource_version
            assert w.resource_version == fake.resource_version
    seen = []
    for kind, _, _ in events(core, 3):  # no allowWatchBookmarks: the bookmark is not sent
        seen.append(kind)
        if len(seen) == 2:
            fake.send_bookmark()
            fake.set_unready("a")
    assert seen == ["ADDED", "ADDED", "MODIFIED"]


def test_periodic_bookmarks_and_a_final_bookmark_before_the_timeout_close() -> None:
    with FakeKubeAPI(bookmark_interval=0.2) as fake, fake.api_client() as client:
        core = k8s.CoreV1Api(client)
        kinds = [k for k, _, _ in events(core, allow_watch_bookmarks=True, timeout_seconds=1)]
        assert kinds.count("BOOKMARK") >= 3
        assert kinds[-1] == "BOOKMARK"


def test_timeout_seconds_ends_the_stream_cleanly(fake: FakeKubeAPI, core: k8s.CoreV1Api) -> None:
    fake.create_pod("a")
    assert [k for k, _, _ in events(core, timeout_seconds=1)] == ["ADDED"]


@pytest.mark.parametrize("value", ["True", "true", "1", "t", "TRUE"])
def test_watch_accepts_go_style_booleans(fake: FakeKubeAPI, value: str) -> None:
    fake.create_pod("a")
    fake.create_pod("b")
    resp = raw_get(fake, f"watch={value}")
    try:
        assert resp.headers["Transfer-Encoding"] == "chunked"
        assert fake.close_watches() == 1
        lines = resp.read().split(b"\n")
    finally:
        resp.release_conn()
    assert lines[-1] == b""  # newline-terminated, and no blank line anywhere else
    assert all(lines[:-1])
    assert [json.loads(line)["type"] for line in lines[:-1]] == ["ADDED", "ADDED"]


def test_watch_false_lists_and_any_other_value_watches(fake: FakeKubeAPI) -> None:
    """Observed on kube-apiserver v1.37.2: ``watch=yes`` is a watch, not a 400."""
    assert json.loads(raw_get(fake, "watch=False").read())["kind"] == "PodList"
    resp = raw_get(fake, "watch=yes&timeoutSeconds=1")
    assert resp.headers["Transfer-Encoding"] == "chunked"
    resp.read()
    resp.release_conn()


def test_streaming_list_sends_state_then_an_initial_events_end_bookmark(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    fake.create_pod("a")
    seen = list(
        events(
            core,
            2,
            send_initial_events=True,
            resource_version_match="NotOlderThan",
            allow_watch_bookmarks=True,
        )
    )
    assert [k for k, _, _ in seen] == ["ADDED", "BOOKMARK"]
    assert seen[1][1]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    for kwargs in ({"send_initial_events": True}, {"resource_version_match": "NotOlderThan"}):
        with pytest.raises(ApiException) as info:
            drain(core, **kwargs)
        assert info.value.status == 422
    with pytest.raises(ApiException) as info:
        core.list_namespaced_pod("ns1", send_initial_events=True)
    assert info.value.status == 422


def test_exact_list_rebuilds_an_older_state_and_410s_when_compacted(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    fake.create_pod("a")
    rv = fake.resource_version
    fake.create_pod("b")
    fake.force_delete_pod("a")
    old: Any = core.list_namespaced_pod("ns1", resource_version=rv, resource_version_match="Exact")
    assert (names(old.items), old.metadata.resource_version) == (["a"], rv)
    fake.compact()
    with pytest.raises(ApiException) as info:
        core.list_namespaced_pod("ns1", resource_version=rv, resource_version_match="Exact")
    assert info.value.status == 410


def test_a_cut_stream_raises_protocol_error(fake: FakeKubeAPI, core: k8s.CoreV1Api) -> None:
    fake.create_pod("a")
    with on_watch(fake, fake.cut_watches), pytest.raises(urllib3.exceptions.ProtocolError):
        drain(core)


def test_close_watches_ends_the_stream_cleanly(fake: FakeKubeAPI, core: k8s.CoreV1Api) -> None:
    fake.create_pod("a")
    with on_watch(fake, fake.close_watches):
        assert drain(core, timeout_seconds=60) == ["ADDED"]


def test_a_stalled_stream_trips_the_client_read_timeout(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    fake.create_pod("a")
    seen: list[str] = []

    def stall() -> None:
        fake.stall_watches()
        fake.create_pod("b")  # dropped: a stalled stream sends nothing

    with on_watch(fake, stall), pytest.raises(urllib3.exceptions.ReadTimeoutError):
        seen.extend(drain(core, resource_version=fake.resource_version, _request_timeout=(5, 0.3)))
    assert seen == []
    fake.stall_next_watch()
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        drain(core, _request_timeout=(5, 0.3))


@pytest.mark.parametrize(("status", "reason"), [(403, "Forbidden"), (500, "InternalError")])
def test_fail_next_request_answers_once_with_a_status(
    fake: FakeKubeAPI, core: k8s.CoreV1Api, status: int, reason: str
) -> None:
    fake.fail_next_requests(status)
    with pytest.raises(ApiException) as info:
        core.list_namespaced_pod("ns1")
    assert info.value.status == status
    assert status_body(info.value)["reason"] == reason
    core.list_namespaced_pod("ns1")


def test_a_429_carries_retry_after_and_applies_to_watches_too(fake: FakeKubeAPI) -> None:
    fake.fail_next_requests(429, retry_after=7, count=2)
    for query in ("", "watch=true"):
        resp = urllib3.request(
            "GET", f"{fake.url}/api/v1/namespaces/ns1/pods?{query}", retries=False
        )
        assert (resp.status, resp.headers["Retry-After"]) == (429, "7")
        assert json.loads(resp.data)["reason"] == "TooManyRequests"
    assert raw_get(fake, "watch=0").status == 200


def test_a_denied_namespace_is_forbidden_until_allowed(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    fake.deny_namespace("ns1")
    with pytest.raises(ApiException) as info:
        core.list_namespaced_pod("ns1")
    assert info.value.status == 403
    assert 'cannot list resource "pods"' in status_body(info.value)["message"]
    core.list_namespaced_pod("ns2")
    fake.deny_namespace("ns1", False)
    core.list_namespaced_pod("ns1")


def test_refused_connections_come_back_on_the_same_port_with_the_same_state(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    fake.create_pod("a")
    port = fake.port
    fake.refuse_connections()
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        core.list_namespaced_pod("ns1", _request_timeout=2)
    fake.accept_connections()
    assert fake.port == port
    assert names(core.list_namespaced_pod("ns1").items) == ["a"]


def test_refusing_connections_cuts_open_watches(fake: FakeKubeAPI, core: k8s.CoreV1Api) -> None:
    fake.create_pod("a")
    with on_watch(fake, fake.refuse_connections), pytest.raises(urllib3.exceptions.ProtocolError):
        drain(core)


def test_the_request_log_records_method_path_query_and_headers(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    core.list_namespaced_pod("ns1", label_selector="app=x", _request_timeout=3)
    (req,) = fake.requests
    assert (req.method, req.path, req.status) == ("GET", "/api/v1/namespaces/ns1/pods", 200)
    assert req.query == {"labelSelector": "app=x"}
    assert req.headers["accept"] == "application/json"
    assert "OpenAPI-Generator" in req.headers["user-agent"]
    assert not req.is_watch


def test_unknown_paths_and_writes_are_status_errors(fake: FakeKubeAPI) -> None:
    assert urllib3.request("GET", f"{fake.url}/apis/apps/v1/deployments").status == 404
    assert urllib3.request("POST", f"{fake.url}/api/v1/namespaces/ns1/pods").status == 405
    assert json.loads(urllib3.request("GET", f"{fake.url}/version").data)["major"] == "1"


def test_a_token_is_required_when_configured_and_the_scheme_is_case_insensitive() -> None:
    with FakeKubeAPI(token="s3cret") as fake:
        assert urllib3.request("GET", f"{fake.url}/api/v1/pods").status == 401
        for scheme in ("Bearer", "bearer"):
            headers = {"Authorization": f"{scheme} s3cret"}
            assert urllib3.request("GET", f"{fake.url}/api/v1/pods", headers=headers).status == 200
        with fake.api_client() as client:
            k8s.CoreV1Api(client).list_namespaced_pod("default")


def test_tls_serves_https_with_the_given_certificate(tls_files: TLSFiles) -> None:
    with (
        FakeKubeAPI(tls_cert=tls_files.cert, tls_key=tls_files.key, token="t") as fake,
        fake.api_client() as client,
    ):
        assert fake.url.startswith("https://127.0.0.1:")
        fake.start_pod("a")
        core = k8s.CoreV1Api(client)
        assert names(core.list_namespaced_pod("default").items) == ["a"]
        with on_watch(fake, fake.cut_watches), pytest.raises(urllib3.exceptions.ProtocolError):
            drain(core, namespace="default")


def test_close_ends_open_watches_and_is_idempotent(fake: FakeKubeAPI, core: k8s.CoreV1Api) -> None:
    fake.create_pod("a")
    with on_watch(fake, fake.close):
        assert drain(core, timeout_seconds=60) == ["ADDED"]
    fake.close()
    fake.accept_connections()  # a closed fake stays closed
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        core.list_namespaced_pod("ns1", _request_timeout=2)

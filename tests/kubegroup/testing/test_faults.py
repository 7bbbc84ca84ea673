"""Fault scripts are consumed one request at a time, in order; mid-stream faults
(raw bytes, ERROR events) reach every open watch in order with its events."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from kubegroup.testing import FakeKubeAPI
from kubegroup.testing._faults import ErrorReply, Faults, status_reason

from ..helpers import WAIT, drain, on_watch


def test_scripted_errors_are_consumed_in_order() -> None:
    faults = Faults()
    faults.fail_requests(ErrorReply(429, "slow down", 3), 2)
    faults.fail_requests(ErrorReply(500, "boom"), 1)
    got = [faults.take_error() for _ in range(4)]
    assert [r.status if r else None for r in got] == [429, 429, 500, None]
    assert got[0] is not None
    assert (got[0].reason, got[0].retry_after) == ("TooManyRequests", 3)


def test_expiries_and_stalls_are_counted_one_shots() -> None:
    faults = Faults()
    faults.expire_watches(2)
    faults.stall_watches(1)
    assert [faults.take_expiry() for _ in range(3)] == [True, True, False]
    assert [faults.take_stall() for _ in range(2)] == [True, False]


def test_denial_is_per_namespace_and_cluster_scope_is_denied_if_any_is() -> None:
    faults = Faults()
    faults.deny("a", True)
    assert faults.is_denied("a")
    assert not faults.is_denied("b")
    assert faults.is_denied(None)
    faults.deny("a", False)
    assert not faults.is_denied(None)


def test_status_reasons_follow_kubernetes_conventions() -> None:
    assert [status_reason(c) for c in (403, 410, 418)] == ["Forbidden", "Expired", "Unknown"]


def watch_body(fake: FakeKubeAPI, action: Callable[[], object]) -> bytes:
    """The whole body of a raw watch from the current revision while ``action`` runs."""
    query = f"watch=1&resourceVersion={fake.resource_version}"
    with on_watch(fake, action):
        resp = urllib3.request(
            "GET",
            f"{fake.url}/api/v1/namespaces/ns1/pods?{query}",
            preload_content=False,
            retries=False,
            timeout=WAIT,
        )
        try:
            return resp.read()
        finally:
            resp.release_conn()


def test_send_raw_writes_the_bytes_verbatim_in_order(fake: FakeKubeAPI) -> None:
    def action() -> None:
        assert fake.send_raw(b"") == 1  # no chunk at all: it would end the stream
        fake.send_raw(b"garbage\n")
        fake.create_pod("a")
        fake.send_raw(b"no newline")
        fake.close_watches()

    lines = watch_body(fake, action).split(b"\n")
    assert lines[0] == b"garbage"
    assert lines[1].startswith(b'{"type": "ADDED"')
    assert lines[2] == b"no newline"
    assert len(lines) == 3


def test_send_error_event_sends_a_status_and_ends_the_stream(fake: FakeKubeAPI) -> None:
    body = watch_body(fake, lambda: fake.send_error_event(503, "etcd is slow"))
    assert body.count(b"\n") == 1
    assert body.startswith(b'{"type": "ERROR", "object": {"kind": "Status"')
    assert b'"code": 503' in body
    assert b'"reason": "ServiceUnavailable"' in body
    assert b'"message": "etcd is slow"' in body


def test_the_official_client_raises_the_error_events_code(
    fake: FakeKubeAPI, core: k8s.CoreV1Api
) -> None:
    with (
        on_watch(fake, lambda: fake.send_error_event(500)),
        pytest.raises(ApiException) as info,
    ):
        drain(core, resource_version=fake.resource_version, timeout_seconds=30)
    assert info.value.status == 500
    assert "injected 500" in str(info.value.reason)


def test_mid_stream_faults_without_a_watch_reach_nobody(fake: FakeKubeAPI) -> None:
    assert fake.send_raw(b"x\n") == 0
    assert fake.send_error_event(410) == 0

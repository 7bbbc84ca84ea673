"""The error hierarchy: Status bodies parsed into KubeAPIError, Retry-After in both forms."""

from __future__ import annotations

import email.utils
import json

from kubegroup import KubeAPIError, KubeConfigError, KubeConnectionError, KubeGroupError
from kubegroup._errors import api_error_from_status, parse_retry_after


def test_every_error_is_a_kubegroup_error() -> None:
    for cls in (KubeAPIError, KubeConfigError, KubeConnectionError):
        assert issubclass(cls, KubeGroupError)
    assert issubclass(KubeConfigError, ValueError)


def test_a_status_body_fills_reason_message_and_code() -> None:
    body = json.dumps(
        {
            "kind": "Status",
            "reason": "Expired",
            "message": "too old resource version: 1 (5)",
            "code": 410,
        }
    )
    err = api_error_from_status(200, body, headers={"Retry-After": "3"})
    assert (err.status, err.reason, err.message, err.retry_after) == (
        410,
        "Expired",
        "too old resource version: 1 (5)",
        3.0,
    )
    assert str(err) == "410 Expired: too old resource version: 1 (5)"
    assert not err.is_auth_error


def test_a_non_status_body_is_kept_as_the_message() -> None:
    err = api_error_from_status(502, b"bad gateway", http_reason="Bad Gateway")
    assert (err.reason, err.message) == ("Bad Gateway", "bad gateway")
    assert str(api_error_from_status(503, None)) == "503 "


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    when = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after(when, now=1_000_000) == 30.0

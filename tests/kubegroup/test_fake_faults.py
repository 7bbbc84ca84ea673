"""Fault scripts are consumed one request at a time, in order."""

from __future__ import annotations

from kubegroup._fake_faults import ErrorReply, Faults, status_reason


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

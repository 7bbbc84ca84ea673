"""describe_failure: which errors are configuration errors (slow retry, ERROR + advice)."""

from __future__ import annotations

import logging

import pytest

from kubegroup import KubeAPIError, KubeConnectionError
from kubegroup._failures import describe_failure


@pytest.mark.parametrize("status", [400, 401, 403, 422])
def test_config_statuses_are_errors_retried_slowly(status: int) -> None:
    f = describe_failure(KubeAPIError(status, "X"), where="ns", phase="list", listed=False)
    assert (f.config_error, f.level) == (True, logging.ERROR)
    assert "%.1f" in f.message


@pytest.mark.parametrize(
    "err", [KubeAPIError(500, "InternalError"), KubeAPIError(429, "x"), KubeConnectionError("x")]
)
def test_transient_failures_are_warnings(err: Exception) -> None:
    f = describe_failure(err, where="ns", phase="watch", listed=True)  # type: ignore[arg-type]
    assert (f.config_error, f.level) == (False, logging.WARNING)


def test_a_forbidden_watch_after_a_good_list_names_the_missing_verb() -> None:
    err = KubeAPIError(403, "Forbidden")
    assert "add 'watch'" in describe_failure(err, where="n", phase="watch", listed=True).message
    assert "add 'watch'" not in describe_failure(err, where="n", phase="list", listed=True).message
    assert (
        "add 'watch'" not in describe_failure(err, where="n", phase="watch", listed=False).message
    )

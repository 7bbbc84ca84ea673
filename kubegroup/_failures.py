"""What a failed pod list or watch means, and what to tell the operator about it.

Errors a retry will not fix soon are *configuration errors*: 401 (credentials), 403
(RBAC) and 400/422 (a request the server finds invalid: selector, option or server
version). They are logged at ERROR with what to change and retried near ``backoff_max``.
Everything else (connection failures, 5xx, 429, a malformed answer) is transient: a
WARNING, and an exponential backoff.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ._errors import KubeAPIError, KubeGroupError

__all__ = ["Failure", "describe_failure"]


@dataclass(frozen=True, slots=True)
class Failure:
    """How to report and retry one failure."""

    config_error: bool  # retried slowly (near backoff_max), logged at ERROR
    level: int
    message: str  # with one ``%.1f`` for the retry delay


def describe_failure(err: KubeGroupError, *, where: str, phase: str, listed: bool) -> Failure:
    """Classify ``err`` from a ``phase`` ("list" or "watch") request on pods in ``where``.

    ``listed``: a list has succeeded before, so a 403 on the watch means the Role lacks
    ``watch`` only.
    """
    status = err.status if isinstance(err, KubeAPIError) else 0
    if status == 401:
        return Failure(
            True,
            logging.ERROR,
            f"kubegroup: the API server rejected our credentials for pods in {where} ({err}); "
            "check the service-account token (mounted, not expired, of this cluster) or the "
            "kubeconfig user. Retrying in %.1f s.",
        )
    if status == 403 and phase == "watch" and listed:
        return Failure(
            True,
            logging.ERROR,
            f"kubegroup: listing pods in {where} is allowed but watching them is forbidden "
            f"({err}); add 'watch' to the verbs on pods of this pod's service-account Role, "
            "else the peers never change after the first list. Unhealthy; retrying in %.1f s.",
        )
    if status == 403:
        return Failure(
            True,
            logging.ERROR,
            f"kubegroup: not allowed to list/watch pods in {where} ({err}); grant 'list' and "
            "'watch' on pods to this pod's service account (Role + RoleBinding). "
            "Retrying in %.1f s.",
        )
    if status in (400, 422):
        return Failure(
            True,
            logging.ERROR,
            f"kubegroup: the API server refused the pod {phase} in {where} as invalid "
            f"({err}); this is a configuration error (label selector, an option this server "
            "does not support): fix it, a retry will not. Unhealthy; retrying in %.1f s.",
        )
    return Failure(
        False,
        logging.WARNING,
        f"kubegroup: pod {phase} in {where} failed: {err}; retrying in %.1f s",
    )

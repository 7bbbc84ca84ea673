"""The fake API server's request parsing and its pod LIST, with pagination.

What the real apiserver does (the Kubernetes API concepts page, and kube-apiserver v1.37.2
as observed):

- ``resourceVersion`` unset: a consistent (quorum) read; ``"0"``: any version (the watch
  cache); ``N`` without ``resourceVersionMatch``: not older than N, except with a
  ``limit``, where it means exactly N (etcd), hence 410 once N is compacted.
- ``resourceVersion="0"`` is served whole from the watch cache: its ``limit`` is
  ignored (observed on kube-apiserver v1.37.2: 600 pods, ``limit=100``, one page and no
  ``continue``).
- Otherwise ``limit`` pages the result: ``metadata.continue`` is an opaque token (here, as in the
  apiserver, base64 of ``{"v", "rv", "start"}``) and ``remainingItemCount`` counts the
  rest. Every page is served at the first page's revision; a token whose revision was
  compacted answers 410 ``Expired``. ``continue`` with a ``resourceVersion`` other than
  ``"0"`` is a 400, with ``resourceVersionMatch`` a 422.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from ._faults import status_reason
from ._log import query_bool
from ._pods import Pod
from ._store import Expired, PodStore, WatchFilter

__all__ = ["BadRequest", "list_pods", "revision", "status_object"]

CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You "
    "can start a new list without the continue parameter, or use the continue token in "
    "this response to retrieve the remainder of the results."
)


class BadRequest(Exception):
    """A request the server rejects with ``status`` (400, 410, 422, 504) and a Status body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.retry_after = retry_after


def status_object(
    code: int, message: str, *, reason: str | None = None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return a ``Status`` failure object, as the apiserver sends it (``details`` only where
    it sends them: a 400 or a 401 has none, a pod's 403 and 404 name the kind)."""
    status: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or status_reason(code),
    }
    if details is not None:
        status["details"] = details
    status["code"] = code
    return status


def too_large(requested: int, current: int) -> BadRequest:
    """The 504 a list at a version the store has not reached gets (after the wait).

    Observed on kube-apiserver v1.37.2 for a list at 5000 with the store at 229, after 3 s:
    504 Timeout "Timeout: Too large resource version: 5000, current: 229", a
    ResourceVersionTooLarge cause, retryAfterSeconds 1 and a ``Retry-After: 1`` header.
    """
    cause = {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
    return BadRequest(
        504,
        f"Timeout: Too large resource version: {requested}, current: {current}",
        details={"causes": [cause], "retryAfterSeconds": 1},
        retry_after=1,
    )


def revision(value: str | None) -> int | None:
    """None for unset or "0" ("any"), else the integer revision."""
    if value is None or value in ("", "0"):
        return None
    if not value.isdigit():
        raise BadRequest(400, f"resourceVersion: invalid value {value!r}")
    return int(value)


def _key(pod: Pod) -> tuple[str, str]:
    """The store's sort key (namespace, name); a token spells it ``namespace/name``."""
    meta = pod["metadata"]
    return str(meta["namespace"]), str(meta["name"])


def _encode_continue(rv: int, start: tuple[str, str]) -> str:
    doc = {"v": "meta.k8s.io/v1", "rv": rv, "start": "/".join(start) + "\x00"}
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode()))
        rv, start = doc["rv"], doc["start"]
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise BadRequest(400, f"continue key is not valid: {exc}") from exc
    if not isinstance(rv, int) or not isinstance(start, str) or doc.get("v") != "meta.k8s.io/v1":
        raise BadRequest(400, "continue key is not valid: incorrect encoded start key or version")
    namespace, _, name = start.rstrip("\x00").partition("/")
    return rv, (namespace, name)


def _limit(query: Mapping[str, str]) -> int:
    raw = query.get("limit") or "0"
    if not raw.lstrip("-").isdigit():
        raise BadRequest(400, f"limit: invalid value {raw!r}")
    return max(0, int(raw))


def list_pods(
    store: PodStore, flt: WatchFilter, query: Mapping[str, str], *, future_wait: float = 3.0
) -> dict[str, Any]:
    """Serve a pod LIST (one page of it); raise :class:`BadRequest` for a bad request.

    A version the store has not reached is waited for up to ``future_wait`` seconds, then
    refused with :func:`too_large`, as the apiserver does.
    """
    if query_bool(query, "sendInitialEvents"):
        raise BadRequest(422, "sendInitialEvents is forbidden for list")
    match = query.get("resourceVersionMatch") or None
    raw_rv = query.get("resourceVersion")
    rv = revision(raw_rv)
    limit, token = _limit(query), query.get("continue") or ""
    if raw_rv == "0" and not token:
        limit = 0  # the watch cache answers "any version" whole, without pages
    if match not in (None, "NotOlderThan", "Exact"):
        raise BadRequest(422, f"resourceVersionMatch: unsupported value {match!r}")
    if match and raw_rv in (None, ""):
        raise BadRequest(422, "resourceVersionMatch is forbidden unless resourceVersion is set")
    if match == "Exact" and rv is None:
        raise BadRequest(422, 'resourceVersionMatch "Exact" is forbidden for "0"')
    start: tuple[str, str] | None = None
    exact: int | None = None  # unset, "0" or not older than N: the current state
    if token:
        if match:  # option validation (422) comes before the storage layer's 400
            raise BadRequest(422, "resourceVersionMatch is forbidden when continue is provided")
        if rv is not None:
            raise BadRequest(400, "specifying resource version is not allowed when using continue")
        exact, start = _decode_continue(token)
    elif match == "Exact" or (limit and rv is not None and match is None):
        exact = rv  # a paged list at N is served from etcd at exactly N
    if rv is not None and not token and not store.wait_for_revision(rv, future_wait):
        raise too_large(rv, store.revision)
    try:
        at, pods = store.list_pods(flt, exact=exact)
    except Expired as exc:
        raise BadRequest(410, CONTINUE_EXPIRED if token else str(exc)) from exc
    if start is not None:
        pods = [p for p in pods if _key(p) > start]
    meta: dict[str, Any] = {"resourceVersion": str(at)}
    if limit and len(pods) > limit:
        meta["continue"] = _encode_continue(at, _key(pods[limit - 1]))
        meta["remainingItemCount"] = len(pods) - limit
        pods = pods[:limit]
    items = [{k: v for k, v in p.items() if k not in ("kind", "apiVersion")} for p in pods]
    return {"kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": items}

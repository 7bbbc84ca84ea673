"""One pod LIST, page by page, as client-go's reflector and pager do it.

- The first list asks for ``resourceVersion="0"``: any version, served from the
  apiserver's watch cache instead of a quorum read from etcd.
- A relist after a watch expired asks for the last revision seen: "not older than",
  also from the cache. Only when that revision is gone too (a 410 on the list) does
  the next list leave it out: a consistent read.
- Lists at ``""`` or ``"0"`` ask for pages with ``limit`` (``continue`` tokens; the pages
  after the first carry no resourceVersion); kube-apiserver v1.37.2 pages the quorum
  read and answers ``"0"`` whole from its watch cache. A list at a revision N is not
  paged: with a limit the server would read exactly N from etcd. A continue token that expired
  mid-way falls back to one unpaged list, as client-go's pager does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._errors import KubeAPIError
from ._stream import wrap_error

__all__ = ["Fetch", "list_all"]

Fetch = Callable[[str, int, str], Any]
"""``fetch(resource_version, limit, continue_token) -> decoded JSON`` of one LIST request."""


def _page(doc: Any) -> tuple[str, list[dict[str, Any]], str]:
    """Return ``(resourceVersion, items, continue token)`` of one LIST answer.

    Raises:
        ValueError: not a pod list.
    """
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    rv = meta.get("resourceVersion") if isinstance(meta, dict) else None
    if not rv or not isinstance(rv, str | int) or isinstance(rv, bool):
        raise ValueError("a pod list without metadata.resourceVersion")
    items = doc.get("items") or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValueError("a pod list whose items are not pod objects")
    token = meta.get("continue") if isinstance(meta, dict) else None
    return str(rv), items, token if isinstance(token, str) else ""


def list_all(fetch: Fetch, *, resource_version: str, page_size: int) -> tuple[str, list[Any]]:
    """List every page; return ``(the list's resourceVersion, all items)``.

    Raises:
        KubeGroupError: a request failed (the caller retries; a 410 means relist).
        ValueError: an answer that is not a pod list.
    """
    limit = page_size if resource_version in ("", "0") else 0
    rv, items, token = _page(fetch(resource_version, limit, ""))
    while token:
        try:
            doc = fetch("", limit, token)
        except Exception as exc:
            err = wrap_error(exc)
            if not (isinstance(err, KubeAPIError) and err.status == 410):
                if err is exc:
                    raise
                raise err from exc
            # The token's revision was compacted meanwhile: everything in one request.
            rv, items, _ = _page(fetch(resource_version, 0, ""))
            break
        _, more, token = _page(doc)
        items.extend(more)
    return rv, items

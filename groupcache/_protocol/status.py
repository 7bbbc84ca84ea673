"""What a peer's error reply means (shared by the peer client and the thin Client).

A 404 has three causes, and only the first is final:

* the value does not exist: our servers say so in ``X-Groupcache-Error: not-found``; a Go
  server (mailgun, v3) answers its getter's ``ErrNotFound`` with a plain ``http.Error``;
* the node has no such group (``no such group: G``, from our servers and Go's alike): a
  node of another version during a rolling deploy → :class:`GroupNotFoundError`;
* nothing groupcache is served at that path (another ``base_path``, a proxy, Go's mux
  "404 page not found", aiohttp's "404: Not Found") → :class:`ForeignReplyError`.

401 and 403 (a token that differs between the nodes) → :class:`PeerAuthError`.
"""

from __future__ import annotations

from typing import Protocol

from .._errors import (
    ForeignReplyError,
    GroupcacheError,
    GroupNotFoundError,
    NotFoundError,
    PeerAuthError,
    PeerError,
    RemoteCallError,
)
from .bodies import ERROR_HEADER, NO_SUCH_GROUP, NOT_FOUND

ERROR_BODY_LIMIT = 1 << 20
"""As mailgun, an error body is reported up to 1 MiB."""
_GO_MUX_404 = "404 page not found"  # net/http's NotFound, written with http.Error too


class Headers(Protocol):
    """Reply headers with a case-insensitive (or lower-cased) ``get``."""

    def get(self, name: str, /) -> str | None: ...


def error_message(body: bytes) -> str:
    """Return an error reply's body as text, as Go's clients report it."""
    return body[:ERROR_BODY_LIMIT].decode("utf-8", "replace").rstrip("\n")


def not_found_error(
    headers: Headers, message: str, *, url: str, group: str, path: str
) -> GroupcacheError:
    """Return what a 404 to a GET of ``group`` at ``path`` (the request's base) means."""
    kind = headers.get(ERROR_HEADER.lower())
    if kind == NOT_FOUND:
        return NotFoundError(message)
    if kind == NO_SUCH_GROUP or message == f"no such group: {group}":
        return GroupNotFoundError(f"{url}: {message}")
    if kind is not None:  # a kind of a later version
        return PeerError(f"{url}: 404 ({kind}): {message}")
    # Go's http.Error (and our servers before the header) marks its replies "nosniff".
    go_error = headers.get("x-content-type-options") == "nosniff"
    if go_error and message != _GO_MUX_404:
        return NotFoundError(message)
    return ForeignReplyError(
        f"{url}: no groupcache protocol at {path!r} there (404 {message[:80]!r}): "
        f"does every node use the same base_path?"
    )


def reply_error(
    status: int, headers: Headers, body: bytes, *, url: str, method: str, group: str, path: str
) -> GroupcacheError:
    """Return the error a non-200 reply stands for (404/503 only for GETs, as mailgun).

    Args:
        status: The reply's status.
        headers: Its headers.
        body: Its body.
        url: The peer's URL, for messages.
        method: The request's method.
        group: The request's group.
        path: The base the request was sent under (the peer's URL path and base path).
    """
    message = error_message(body)
    if status in (401, 403):
        return PeerAuthError(f"{url}: refused our token: status {status}: {message}")
    if method == "GET" and status == 404:
        return not_found_error(headers, message, url=url, group=group, path=path)
    if method == "GET" and status == 503:
        return RemoteCallError(message)
    return PeerError(f"{url}: server returned status {status}: {message}")

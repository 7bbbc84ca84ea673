"""Statuses and errors, both ways: :func:`error_status` is what a server answers for an
error, :func:`reply_error` what a client raises for a reply (peer client, batch items and
the thin Client alike).

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
    InvalidKeyError,
    NotFoundError,
    PeerAuthError,
    PeerError,
    RemoteCallError,
    WireError,
)
from .headers import (
    ERROR_BODY_LIMIT,
    ERROR_HEADER,
    NEGATIVE_TTL_HEADER,
    NO_SUCH_GROUP,
    NOT_FOUND,
    parse_seconds,
)

_GO_MUX_404 = "404 page not found"  # net/http's NotFound, written with http.Error too
_NEGATIVE_TTL = NEGATIVE_TTL_HEADER.lower()


class Headers(Protocol):
    """Reply headers with a case-insensitive (or lower-cased) ``get``."""

    def get(self, name: str, /) -> str | None: ...


def error_message(body: bytes) -> str:
    """Return an error reply's body as text, as Go's clients report it."""
    return body[:ERROR_BODY_LIMIT].decode("utf-8", "replace").rstrip("\n")


def lacks_group(headers: Headers, body: bytes, group: str) -> bool:
    """Whether an error reply says the peer has no such group (ours mark it in
    :data:`ERROR_HEADER`; Go's and older ones say ``no such group: G``)."""
    return _says_no_group(headers.get(ERROR_HEADER.lower()), error_message(body), group)


def _says_no_group(kind: str | None, message: str, group: str) -> bool:
    return kind == NO_SUCH_GROUP or message == f"no such group: {group}"


def not_found_error(
    headers: Headers, message: str, *, url: str, group: str, path: str
) -> GroupcacheError:
    """Return what a 404 to a GET of ``group`` at ``path`` (the request's base) means."""
    kind = headers.get(ERROR_HEADER.lower())
    if kind == NOT_FOUND:
        exc = NotFoundError(message)
        exc.negative_ttl = parse_seconds(headers.get(_NEGATIVE_TTL))
        return exc
    if _says_no_group(kind, message, group):
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


def error_status(exc: BaseException) -> tuple[int, str | None]:
    """Return the status a server answers ``exc`` with, and what a 404 says is missing
    (:data:`ERROR_HEADER`): a request that breaks the protocol or has a bad key → 400, a
    value that does not exist → 404 ``not-found``, any other failure of the getter → 503.
    """
    if isinstance(exc, (WireError, InvalidKeyError)):
        return 400, None
    if isinstance(exc, NotFoundError):
        return 404, NOT_FOUND
    return 503, None


_ITEM_HEADERS = {ERROR_HEADER.lower(): NOT_FOUND}  # a batch item's 404 is always this


def item_error(
    status: int, message: str, *, url: str, group: str, path: str, negative_ttl: float = 0.0
) -> GroupcacheError:
    """Return the error an item of a batch reply stands for, as :func:`reply_error` would
    for the same status to a plain GET (a 404 the owner remembers: with its TTL)."""
    headers = _ITEM_HEADERS
    if negative_ttl:
        headers = {**headers, _NEGATIVE_TTL: repr(negative_ttl)}
    return reply_error(
        status, headers, message.encode(), url=url, method="GET", group=group, path=path
    )

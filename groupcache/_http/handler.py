"""The peer protocol, independent of the HTTP server (``HTTPPool.ServeHTTP`` in http.go,
plus v2/v3 writes and batches).

``GET {base}{group}/{key}`` answers a ``GetResponse``; ``PUT`` is a Set (key from the
body), ``DELETE`` a local Remove, ``POST {base}{group}/_remove-keys/`` a v3 batch remove
and ``POST {base}{group}/_get-keys/`` a batch get. A request from a peer is always served
from this node, from its cache or its getter, and never forwarded again: peers whose
rings disagree during a rolling update cannot loop. Only a GET marked by our thin
:class:`~groupcache.Client` is routed to the key's owner.

:class:`PeerHandler` turns a request (method, raw target, headers, body) into a
:class:`Reply`; the lean server (:mod:`.lean`) and the aiohttp application
(:mod:`.server`) only carry bytes to and from it.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .._core.group import Group
from .._core.latency import Kind, ServedLatency
from .._core.value import RatedValue, Value, check_set_key
from .._core.workspace import Workspace
from .._errors import InvalidKeyError, NotFoundError, WireError
from .._protocol.bodies import (
    BatchItem,
    ExpiryField,
    RememberedNotFound,
    decode_batch_request,
    decode_remove_keys,
    decode_set_request,
    encode_batch_response,
    encode_get_response,
)
from .._protocol.headers import (
    BATCH_HEADER,
    CLIENT_HEADER,
    CONTENT_TYPE,
    ERROR_HEADER,
    GRACE_HEADER,
    NEGATIVE_TTL_HEADER,
    NO_SUCH_GROUP,
    NOT_CACHED,
    NOT_FOUND,
    RATE_HEADER,
    REPLY_LIMIT_HEADER,
    format_seconds,
)
from .._protocol.paths import GET_KEYS, REMOVE_KEYS, parse_clear, parse_handoff, parse_path
from .._protocol.status import Headers, error_status

logger = logging.getLogger("groupcache")

_TEXT = "text/plain; charset=utf-8"
_BATCH_OK = ((BATCH_HEADER, "1"),)
_NOSNIFF = ("X-Content-Type-Options", "nosniff")
METHODS = ("GET", "PUT", "DELETE", "POST")
_CLIENT = CLIENT_HEADER.lower()  # headers are looked up by lower-case name
_REPLY_LIMIT = REPLY_LIMIT_HEADER.lower()
_RATE = RATE_HEADER.lower()


class BodyTooLarge(Exception):
    """Raised by a transport's body reader: the request body is over the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body over the limit of {limit} bytes")
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Reply:
    """What to answer: a status, its body and content type, and extra headers."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


def error_reply(
    status: int, message: str, missing: str | None = None, negative_ttl: float | None = None
) -> Reply:
    """An error as Go's ``http.Error`` writes it; a 404 of the protocol says what is
    ``missing`` (:data:`NOT_FOUND` or :data:`NO_SUCH_GROUP`) in :data:`ERROR_HEADER`, and
    a not-found remembered here for how long more in :data:`NEGATIVE_TTL_HEADER`."""
    headers: tuple[tuple[str, str], ...] = (_NOSNIFF,)
    if missing is not None:
        headers += ((ERROR_HEADER, missing),)
    if negative_ttl is not None:
        headers += ((NEGATIVE_TTL_HEADER, format_seconds(negative_ttl)),)
    return Reply(status, (message + "\n").encode(), _TEXT, headers)


def value_reply(value: Value, expiry_field: ExpiryField, rate: float | None = None) -> Reply:
    """A ``GetResponse`` for ``value`` (with the owner's ``rate`` of its key, if asked);
    its grace, if any, in :data:`GRACE_HEADER`."""
    headers: tuple[tuple[str, str], ...] = _BATCH_OK
    if value.grace and value.expire_at is not None:
        headers += ((GRACE_HEADER, format_seconds(value.grace)),)
    return Reply(200, encode_get_response(value, expiry_field, rate), CONTENT_TYPE, headers)


EMPTY_OK = Reply(200)


def reply_limit(headers: Headers, default: int | None) -> int | None:
    """The largest batch reply the requester accepts: its header, else ``default``."""
    given = headers.get(_REPLY_LIMIT) or ""
    if given.isascii() and given.isdigit() and 0 < len(given) <= 18 and int(given) > 0:
        return int(given)
    return default  # none, or garbage (left to the default rather than refused)


async def _get_batch(group: Group, keys: list[str], rated: bool) -> list[BatchItem]:
    """Serve every key of a batch from this node, concurrently; errors per key; each
    value with the owner's rate of its key when the requester asked (``rated``)."""
    for _ in keys[1:]:
        group.count_server_request()  # one per key: the request was counted once already
    results = await group.get_values(keys, from_peer=True)
    return [
        _batch_item(group, key, result, rated) for key, result in zip(keys, results, strict=True)
    ]


def _batch_item(group: Group, key: str, result: Value | BaseException, rated: bool) -> BatchItem:
    if isinstance(result, Value):
        return 200, _rated(group, key, result) if rated else result
    ttl = group.negative_ttl_left(key) if isinstance(result, NotFoundError) else None
    if ttl is not None:
        return 404, RememberedNotFound(str(result), ttl)
    return error_status(result)[0], str(result)


def _rated(group: Group, key: str, value: Value) -> RatedValue:
    return RatedValue(value.data, value.expire_at, value.grace, rate=group.owner_rate(key))


class PeerHandler:
    """Serves a workspace's groups to peers under ``base_path``.

    Args:
        workspace: Whose groups to serve.
        base_path: Where the protocol lives, starting and ending with ``/``.
        token: When set, every request must carry ``Authorization: Bearer <token>``
            (401 without it, 403 with a wrong one).
        allow_anonymous_get: With a token, still serve GETs without it (for Go peers,
            which cannot send one); writes always need the token.
        expiry_field: Which ``GetResponse`` field carries the expiry (see
            :func:`~groupcache._protocol.bodies.encode_get_response`).
        max_body_bytes: The size of a batch reply when the request does not say how
            large one its sender accepts (``None``: no bound).
    """

    def __init__(
        self,
        workspace: Workspace,
        base_path: str,
        *,
        token: str | None = None,
        allow_anonymous_get: bool = False,
        max_body_bytes: int | None = None,
        expiry_field: ExpiryField = 3,
    ) -> None:
        self.workspace = workspace
        self.base_path = base_path
        self._max_body = max_body_bytes
        self._expiry_field: ExpiryField = expiry_field
        self._token = None if token is None else f"Bearer {token}".encode()
        self._anonymous_get = allow_anonymous_get
        self.served = ServedLatency()
        """The latency of the thin Clients' gets served here, by kind."""

    @property
    def guarded(self) -> bool:
        """Whether requests need the token."""
        return self._token is not None

    def check_token(self, method: str, headers: Headers, protocol: bool) -> Reply | None:
        """Refuse a request without the token (``None``: admitted). ``allow_anonymous_get``
        admits only GETs of the ``protocol`` (values, for Go peers), never ``/stats`` or
        ``/metrics``."""
        if self._token is None:
            return None
        given = headers.get("authorization")
        if given is None:
            if self._anonymous_get and method == "GET" and protocol:
                return None
            return error_reply(401, "missing token")
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._token):
            return error_reply(403, "bad token")
        return None

    def cached_get(self, raw_path: str, headers: Headers) -> bytes | None:
        """The ``GetResponse`` body for a peer's GET whose value is cached here, served
        without a task; ``None`` when the request needs :meth:`respond` (a miss, an error,
        a routed GET of the thin Client). The token was checked by the caller."""
        try:
            group_name, key = parse_path(raw_path, self.base_path)
        except WireError:
            return None
        group = self.workspace.get_group(group_name)
        if group is None or headers.get(_CLIENT) == "1":
            return None
        value = group.cached_value(key)
        if value is None:
            return None
        group.count_server_request()
        rate = group.owner_rate(key) if headers.get(_RATE) == "1" else None
        return encode_get_response(value, self._expiry_field, rate)

    async def respond(
        self,
        method: str,
        raw_path: str,
        headers: Headers,
        body: Callable[[], Awaitable[bytes]],
        base_path: str | None = None,
    ) -> Reply:
        """Serve one request of the protocol (its token already checked); ``body`` reads
        the request body, ``base_path`` is the base as mounted (default: the pool's)."""
        try:
            group_name, key = parse_path(raw_path, base_path or self.base_path)
        except WireError as exc:
            base = base_path or self.base_path
            handoff = parse_handoff(raw_path, base) if method == "GET" else None
            if handoff is not None:
                return self._copy(*handoff)
            cleared = parse_clear(raw_path, base) if method == "DELETE" else None
            if cleared is not None:
                return self._clear(cleared)
            return error_reply(400, str(exc))
        group = self.workspace.get_group(group_name)
        if group is None:
            return error_reply(404, f"no such group: {group_name}", NO_SUCH_GROUP)
        if method not in METHODS:
            group.count_server_request()
            return error_reply(405, "Only GET, DELETE, PUT, POST are supported")
        try:
            return await self._serve(group, method, key, headers, body)
        except BodyTooLarge as exc:
            return error_reply(413, str(exc))
        except Exception as exc:
            status, missing = error_status(exc)
            if status == 503:
                logger.debug("groupcache: %s %s/%r failed: %r", method, group_name, key, exc)
            ttl = group.negative_ttl_left(key) if missing == NOT_FOUND else None
            return error_reply(status, str(exc), missing, ttl)

    async def _serve_client(self, group: Group, key: str) -> Reply:
        """A thin Client's get, routed through the ring, its latency recorded by kind."""
        started = time.perf_counter()
        kind: Kind = "hit"
        if group.peek(key) is None:
            kind = "origin" if self.workspace.peer_picker.pick_peer(key) is None else "peer"
        value = await group.get_value(key)
        self.served.record(kind, time.perf_counter() - started)
        return value_reply(value, self._expiry_field)

    def _clear(self, group_name: str) -> Reply:
        """A cluster-wide clear reaching this node: drop the group's entries here."""
        group = self.workspace.get_group(group_name)
        if group is None:
            return error_reply(404, f"no such group: {group_name}", NO_SUCH_GROUP)
        group.count_server_request()
        group.clear()
        return EMPTY_OK

    def _copy(self, group_name: str, key: str) -> Reply:
        """A warm handoff's cached-only GET: the cached value, or 404 ``not-cached``;
        never the getter, never forwarded, counted nowhere but the reply."""
        group = self.workspace.get_group(group_name)
        if group is None:
            return error_reply(404, f"no such group: {group_name}", NO_SUCH_GROUP)
        try:
            cached = group.peek(key)
        except InvalidKeyError as exc:
            return error_reply(400, str(exc))
        if cached is None:
            return error_reply(404, "not cached", NOT_CACHED)
        return value_reply(cached, self._expiry_field)

    async def _serve(
        self,
        group: Group,
        method: str,
        key: str,
        headers: Headers,
        body: Callable[[], Awaitable[bytes]],
    ) -> Reply:
        group.count_server_request()
        if method == "GET":
            # Only our thin Client asks to be routed; peers (Go ones included) never.
            if headers.get(_CLIENT) == "1":
                return await self._serve_client(group, key)
            value = await group.get_value(key, from_peer=True)
            rate = group.owner_rate(key) if headers.get(_RATE) == "1" else None
            return value_reply(value, self._expiry_field, rate)
        if method == "PUT":
            _, set_key, stored = decode_set_request(await body())
            check_set_key(set_key, group.max_key_bytes)
            group.local_set(set_key, stored)
            return EMPTY_OK
        if method == "DELETE":
            group.local_remove(key)
            return EMPTY_OK
        if key == GET_KEYS:
            keys = decode_batch_request(await body())
            items = await _get_batch(group, keys, headers.get(_RATE) == "1")
            limit = reply_limit(headers, self._max_body)
            return Reply(200, encode_batch_response(items, limit), CONTENT_TYPE, _BATCH_OK)
        if key != REMOVE_KEYS:
            return error_reply(404, "invalid path for POST method")
        _, keys = decode_remove_keys(await body())
        for k in keys:
            group.local_remove(k)
        return EMPTY_OK

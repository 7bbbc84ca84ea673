"""The peer-facing HTTP handler (``HTTPPool.ServeHTTP`` in http.go, plus v2/v3 writes).

``GET {base}{group}/{key}`` answers a ``GetResponse``; ``PUT`` is a Set (key from the
body), ``DELETE`` a local Remove, ``POST {base}{group}/_remove-keys/`` a v3 batch remove.
A request from a peer is always served from this node, from its cache or its getter, and
never forwarded again: peers whose rings disagree during a rolling update cannot loop.
Only a GET marked by our thin :class:`~groupcache.Client` is routed to the key's owner.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import weakref
from collections.abc import Awaitable, Callable

from aiohttp import web

from .._core.group import Group
from .._core.value import Value, check_set_key
from .._core.workspace import Workspace
from .._errors import WireError
from .._protocol.bodies import (
    BatchItem,
    ExpiryField,
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
    NO_SUCH_GROUP,
    REPLY_LIMIT_HEADER,
)
from .._protocol.paths import GET_KEYS, REMOVE_KEYS, parse_path
from .._protocol.status import error_status

logger = logging.getLogger("groupcache")

_BATCH_OK = {BATCH_HEADER: "1"}
_JOIN_TIMEOUT = 5.0  # seconds join_connections() waits for cancelled connection tasks


async def _get_batch(group: Group, keys: list[str]) -> list[BatchItem]:
    """Serve every key of a batch from this node, concurrently; errors per key."""
    for _ in keys[1:]:
        group.count_server_request()  # one per key: the request was counted once already
    results = await group.get_values(keys, from_peer=True)
    return [
        (200, result) if isinstance(result, Value) else (error_status(result)[0], str(result))
        for result in results
    ]


def error_response(status: int, message: str, missing: str | None = None) -> web.Response:
    """Return an error as Go's ``http.Error`` writes it; a 404 of the protocol says what
    is ``missing`` (:data:`NOT_FOUND` or :data:`NO_SUCH_GROUP`)."""
    headers = {"X-Content-Type-Options": "nosniff"}
    if missing is not None:
        headers[ERROR_HEADER] = missing
    return web.Response(
        status=status,
        text=message + "\n",
        content_type="text/plain",
        charset="utf-8",
        headers=headers,
    )


def reply_limit(request: web.Request, default: int | None) -> int | None:
    """The largest batch reply the requester accepts: its header, else ``default``."""
    given = request.headers.get(REPLY_LIMIT_HEADER, "")
    if given.isascii() and given.isdigit() and 0 < len(given) <= 18 and int(given) > 0:
        return int(given)
    return default  # none, or garbage (left to the default rather than refused)


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
        self._workspace = workspace
        self._max_body = max_body_bytes
        self._expiry_field: ExpiryField = expiry_field
        self._base = base_path
        self._token = None if token is None else f"Bearer {token}".encode()
        self._anonymous_get = allow_anonymous_get
        self._connections: weakref.WeakSet[asyncio.Task[None]] = weakref.WeakSet()

    def app(self, max_body_bytes: int) -> web.Application:
        """Return an aiohttp application that serves the protocol under the base path
        (bodies up to ``max_body_bytes``), guarded by :meth:`middleware`."""
        app = web.Application(client_max_size=max_body_bytes)
        app.middlewares.append(self.middleware)
        app.router.add_route("*", self._base + "{tail:.*}", self.handle, expect_handler=self.expect)
        return app

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Guard every route of the app with the token (``/stats`` and ``/metrics`` too)
        and remember each request's connection task, for shutdown."""
        self._connections.add(request.task)
        denied = self._check_token(request)
        if denied is not None:
            return denied
        return await handler(request)

    async def join_connections(self) -> None:
        """Cancel the connection tasks still running and wait for them (after shutdown).

        aiohttp cancels the connections that outlive its shutdown grace period without
        waiting for them, and it keeps waiting for the unsent body of an early-answered
        request (its "lingering close") even after the client has gone.
        """
        pending = [task for task in self._connections if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=_JOIN_TIMEOUT)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Handle one peer request (the token was checked by :meth:`middleware`)."""
        try:
            group_name, key = parse_path(request.raw_path, self._mounted_base(request))
        except WireError as exc:
            return error_response(400, str(exc))
        group = self._workspace.get_group(group_name)
        if group is None:
            return error_response(404, f"no such group: {group_name}", NO_SUCH_GROUP)
        group.count_server_request()
        method = request.method
        try:
            if method == "GET":
                # Only our thin Client asks to be routed; peers (Go ones included) never.
                routed = request.headers.get(CLIENT_HEADER) == "1"
                value = await group.get_value(key, from_peer=not routed)
                return web.Response(
                    body=encode_get_response(value, self._expiry_field),
                    content_type=CONTENT_TYPE,
                    headers=_BATCH_OK,
                )
            if method == "PUT":
                _, set_key, stored = decode_set_request(await request.read())
                check_set_key(set_key, group.max_key_bytes)
                group.local_set(set_key, stored)
                return web.Response()
            if method == "DELETE":
                group.local_remove(key)
                return web.Response()
            if method == "POST":
                if key == GET_KEYS:
                    keys = decode_batch_request(await request.read())
                    items = await _get_batch(group, keys)
                    limit = reply_limit(request, self._max_body)
                    return web.Response(
                        body=encode_batch_response(items, limit),
                        content_type=CONTENT_TYPE,
                        headers=_BATCH_OK,
                    )
                if key != REMOVE_KEYS:
                    return error_response(404, "invalid path for POST method")
                _, keys = decode_remove_keys(await request.read())
                for k in keys:
                    group.local_remove(k)
                return web.Response()
        except web.HTTPException:
            raise  # e.g. 413 from aiohttp's body size limit
        except Exception as exc:
            status, missing = error_status(exc)
            if status == 503:
                logger.debug("groupcache: %s %s/%r failed: %r", method, group_name, key, exc)
            return error_response(status, str(exc), missing)
        return error_response(405, "Only GET, DELETE, PUT, POST are supported")

    async def expect(self, request: web.Request) -> web.StreamResponse | None:
        """Answer an ``Expect`` header before the body is sent.

        ``100-continue`` gets its interim response, unless the token check already fails
        (the client then need not send the body). Any other expectation is ignored, as
        RFC 9110 allows, so the request gets one of the protocol's documented statuses.
        """
        self._connections.add(request.task)
        denied = self._check_token(request)
        if denied is not None:
            return denied
        expectation = request.headers.get("Expect", "").lower()
        if expectation == "100-continue" and request.version >= (1, 1):
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            request.writer.output_size = 0  # the interim response is not part of the body
        return None

    def _mounted_base(self, request: web.Request) -> str:
        """The base path as requested: with the prefix of a parent app, if mounted in one
        (the route's own pattern says; the raw path alone cannot, e.g. with base ``/``)."""
        resource = request.match_info.route.resource
        if resource is None:
            return self._base
        return resource.canonical.removesuffix("{tail}")

    def _check_token(self, request: web.Request) -> web.Response | None:
        """Refuse a request without the token; ``allow_anonymous_get`` admits only GETs
        of the protocol (values, for Go peers), never ``/stats`` or ``/metrics``."""
        if self._token is None:
            return None
        given = request.headers.get("Authorization")
        if given is None:
            anonymous = self._anonymous_get and request.method == "GET"
            if anonymous and request.match_info.handler == self.handle:
                return None
            return error_response(401, "missing token")
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._token):
            return error_response(403, "bad token")
        return None

"""The protocol as an aiohttp application (``pool.app``), to mount in a user's server.

Every request is carried to the transport-agnostic :class:`PeerHandler`; the token guards
every route of the app (``/stats`` and ``/metrics`` too), and the connections' tasks are
remembered so that shutdown can end them.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable

from aiohttp import web

from .handler import BodyTooLarge, PeerHandler, Reply

_JOIN_TIMEOUT = 5.0  # seconds join_connections() waits for cancelled connection tasks


def to_response(reply: Reply) -> web.Response:
    """The aiohttp response of a :class:`Reply`."""
    headers = dict(reply.headers)
    if reply.content_type is not None:
        headers["Content-Type"] = reply.content_type
    return web.Response(status=reply.status, body=reply.body, headers=headers)


class AiohttpPeerApp:
    """``handler`` served by an aiohttp application (see :meth:`app`)."""

    def __init__(self, handler: PeerHandler) -> None:
        self._handler = handler
        self._connections: weakref.WeakSet[asyncio.Task[None]] = weakref.WeakSet()

    def app(self, max_body_bytes: int) -> web.Application:
        """Return an aiohttp application that serves the protocol under the base path
        (bodies up to ``max_body_bytes``), guarded by :meth:`middleware`."""
        app = web.Application(client_max_size=max_body_bytes)
        app.middlewares.append(self.middleware)
        app.router.add_route(
            "*", self._handler.base_path + "{tail:.*}", self.handle, expect_handler=self.expect
        )
        return app

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Guard every route of the app with the token and remember each request's
        connection task, for shutdown."""
        self._connections.add(request.task)
        denied = self._check_token(request)
        if denied is not None:
            return to_response(denied)
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

        async def body() -> bytes:
            try:
                return await request.read()
            except web.HTTPRequestEntityTooLarge as exc:
                raise BodyTooLarge(request.client_max_size) from exc

        reply = await self._handler.respond(
            request.method, request.raw_path, request.headers, body, self._mounted_base(request)
        )
        return to_response(reply)

    async def expect(self, request: web.Request) -> web.StreamResponse | None:
        """Answer an ``Expect`` header before the body is sent.

        ``100-continue`` gets its interim response, unless the token check already fails
        (the client then need not send the body). Any other expectation is ignored, as
        RFC 9110 allows, so the request gets one of the protocol's documented statuses.
        """
        self._connections.add(request.task)
        denied = self._check_token(request)
        if denied is not None:
            return to_response(denied)
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
            return self._handler.base_path
        return resource.canonical.removesuffix("{tail}")

    def _check_token(self, request: web.Request) -> Reply | None:
        protocol = request.match_info.handler == self.handle
        return self._handler.check_token(request.method, request.headers, protocol)

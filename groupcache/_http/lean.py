"""The lean peer server: HTTP/1.1 on an ``asyncio.Protocol``, parsed by httptools (llhttp,
the parser uvicorn uses), in front of the transport-agnostic :class:`PeerHandler`.

A GET whose value is cached here is answered inside ``data_received``, without a task;
anything else runs in one task per connection, requests answered in order (pipelining).
Keep-alive as HTTP/1.0 and 1.1 define it, chunked bodies, ``Expect: 100-continue``, TLS,
bounded request line, headers and body (400, 400, 413), 400 for malformed requests, an
idle timeout, and a shutdown that lets requests in progress finish for a grace period.
"""

from __future__ import annotations

import asyncio
import logging
import ssl as ssl_module
from collections import deque
from collections.abc import Callable
from typing import cast

import httptools

from .handler import BodyTooLarge, PeerHandler, Reply, error_reply
from .replies import CONTINUE, DateClock, encode_hit, encode_reply

logger = logging.getLogger("groupcache")

DEFAULT_IDLE_TIMEOUT = 75.0
"""Seconds a connection may stay open without a request (aiohttp's keep-alive default)."""
DEFAULT_MAX_HEADER_BYTES = 16 << 10
_MAX_PIPELINED = 16  # requests parsed ahead of the one being served; then reading pauses
_FOREIGN = error_reply(404, "404 page not found")  # as Go's mux answers outside the base

Extra = Callable[[], Reply]
"""A handler of one extra GET endpoint (``/stats``, ``/metrics``) of the lean server."""


class _Request:
    __slots__ = ("body", "headers", "keep_alive", "method", "target")

    def __init__(self, method: str, target: str, headers: dict[str, str]) -> None:
        self.method = method
        self.target = target
        self.headers = headers
        self.body = b""
        self.keep_alive = True


class LeanServer:
    """Serves ``handler`` (and ``extra`` GET endpoints) on one listening socket.

    Args:
        handler: The protocol.
        max_line_bytes: Longest request target accepted (400 beyond).
        max_header_bytes: Most bytes of header names and values (400 beyond).
        max_body_bytes: Largest request body (413 beyond; the connection is closed).
        idle_timeout: Seconds a connection may wait for (the rest of) a request.
        extra: GET endpoints outside the protocol, by exact path, behind the token.
    """

    def __init__(
        self,
        handler: PeerHandler,
        *,
        max_line_bytes: int,
        max_body_bytes: int,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        extra: dict[str, Extra] | None = None,
    ) -> None:
        self.handler = handler
        self.max_line = max_line_bytes
        self.max_header = max_header_bytes
        self.max_body = max_body_bytes
        self.idle_timeout = idle_timeout
        self.extra = dict(extra or {})
        self.clock = DateClock()
        self.connections: set[_Connection] = set()
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.TimerHandle | None = None
        self.closing = False

    async def start(self, host: str, port: int, ssl: ssl_module.SSLContext | None) -> int:
        """Listen on ``host:port``; return the bound port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), host, port, ssl=ssl, reuse_address=True
        )
        self._sweeper = loop.call_later(self.idle_timeout / 4, self._sweep)
        port_bound: int = self._server.sockets[0].getsockname()[1]
        return port_bound

    def _sweep(self) -> None:
        """Close the connections idle for longer than ``idle_timeout`` (one timer for all,
        rather than one per request)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() - self.idle_timeout
        for conn in list(self.connections):
            if conn.idle_since(deadline):
                conn.close()
        self._sweeper = loop.call_later(self.idle_timeout / 4, self._sweep)

    async def aclose(self, grace: float) -> None:
        """Stop listening, close idle connections, give requests in progress ``grace``
        seconds, then cancel them and close what is left."""
        self.closing = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for conn in list(self.connections):
            if conn.task is None:
                conn.close()
        busy = [c.task for c in self.connections if c.task is not None]
        if busy:
            _, pending = await asyncio.wait(busy, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=grace)
        for conn in list(self.connections):
            conn.close()
        await server.wait_closed()


class _Connection(asyncio.Protocol):
    """One client connection: parsing, the fast path, the queue of requests to serve."""

    def __init__(self, server: LeanServer) -> None:
        self.server = server
        self.handler = server.handler
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()
        self.task: asyncio.Task[None] | None = None
        self.queue: deque[_Request | Reply] = deque()  # a Reply: answer it, then close
        self.last_active = self.loop.time()
        self.partial = False  # a request has begun arriving
        self.paused = False  # reading paused: too many pipelined, or writes backed up
        self.writes_paused = False
        self.closed = False
        # the request being parsed
        self._url: list[bytes] = []
        self._url_len = 0
        self._headers: dict[str, str] = {}
        self._header_bytes = 0
        self._body: list[bytes] = []
        self._body_len = 0
        self._request: _Request | None = None
        self._refused = False  # answered before its body (limit, token): close after

    # -- asyncio.Protocol -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike
        self.transport = cast(asyncio.Transport, transport)
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)
        self.queue.clear()

    def pause_writing(self) -> None:
        self.writes_paused = True
        self._pause()

    def resume_writing(self) -> None:
        self.writes_paused = False
        self._resume()

    def data_received(self, data: bytes) -> None:
        self.last_active = self.loop.time()
        if self._refused:
            return  # the rest of a request already answered: the connection closes
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.queue_last_then_close()
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            if isinstance(cause, _Refused):  # raised by a callback below
                self.refuse(cause.reply)
            else:
                self.refuse(error_reply(400, f"bad request: {_cause(exc)}"))

    def eof_received(self) -> bool | None:
        if self.task is None and not self.queue:
            self.close()
        return True  # half-close: finish answering what arrived (pipelined requests)

    # -- httptools callbacks -------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.partial = True
        self._url.clear()
        self._url_len = 0
        self._headers = {}
        self._header_bytes = 0
        self._body.clear()
        self._body_len = 0

    def on_url(self, url: bytes) -> None:
        self._url_len += len(url)
        if self._url_len > self.server.max_line:
            raise _Refused(error_reply(400, "request line too long"))
        self._url.append(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value)
        if self._header_bytes > self.server.max_header:
            raise _Refused(error_reply(400, "request headers too large"))
        key = name.decode("latin-1").lower()
        self._headers[key] = value.decode("utf-8", "surrogateescape")

    def on_headers_complete(self) -> None:
        parser = self.parser
        method = parser.get_method().decode("latin-1")
        target = b"".join(self._url).decode("utf-8", "surrogateescape")
        request = _Request(method, target, self._headers)
        self._request = request
        if "host" not in self._headers and parser.get_http_version() == "1.1":
            raise _Refused(error_reply(400, "missing required Host header"))  # as Go's
        length = self._headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.server.max_body:
            raise _Refused(error_reply(413, str(BodyTooLarge(self.server.max_body))))
        expect = self._headers.get("expect")
        if expect is not None and expect.lower() == "100-continue":
            self._continue(request, parser.get_http_version() != "1.0")

    def on_body(self, body: bytes) -> None:
        self._body_len += len(body)
        if self._body_len > self.server.max_body:
            raise _Refused(error_reply(413, str(BodyTooLarge(self.server.max_body))))
        self._body.append(body)

    def on_message_complete(self) -> None:
        request = self._request
        assert request is not None
        self._request = None
        self.partial = False
        if self._body:
            request.body = b"".join(self._body) if len(self._body) > 1 else self._body[0]
        request.keep_alive = self.parser.should_keep_alive()
        if self.task is None and not self.queue and self._serve_at_once(request):
            return
        self.queue.append(request)
        if len(self.queue) > _MAX_PIPELINED:
            self._pause()
        if self.task is None:
            self.task = self.loop.create_task(self._serve_queue())

    # -- serving -------------------------------------------------------------------------

    def _serve_at_once(self, request: _Request) -> bool:
        """Answer a GET of a cached value now, in ``data_received``; ``False`` when the
        request needs the task."""
        if request.method != "GET":
            return False
        handler = self.handler
        if handler.guarded and handler.check_token("GET", request.headers, True) is not None:
            return False
        body = handler.cached_get(request.target, request.headers)
        if body is None:
            return False
        transport = self.transport
        assert transport is not None
        transport.write(encode_hit(body, self.server.clock.date(), request.keep_alive))
        if not request.keep_alive:
            self.close()
        return True

    async def _serve_queue(self) -> None:
        try:
            while self.queue and not self.closed:
                request = self.queue.popleft()
                if isinstance(request, Reply):  # refused while earlier ones were served
                    self.write_reply(request, keep_alive=False)
                    self.close()
                    return
                if self.paused and len(self.queue) <= _MAX_PIPELINED // 2:
                    self._resume()
                reply = await self._reply(request)
                keep = request.keep_alive and not self.server.closing
                self.write_reply(reply, keep, head_only=request.method == "HEAD")
                if not keep:
                    self.close()
                    return
        finally:
            self.task = None
        self.last_active = self.loop.time()

    async def _reply(self, request: _Request) -> Reply:
        handler = self.handler
        path = request.target.split("?", 1)[0]
        protocol = path.startswith(handler.base_path)
        if not protocol and path not in self.server.extra:
            return _FOREIGN
        denied = handler.check_token(request.method, request.headers, protocol)
        if denied is not None:
            return denied
        if not protocol:
            if request.method != "GET":
                return error_reply(405, "Only GET is supported")
            return self.server.extra[path]()
        body = request.body

        async def read() -> bytes:
            return body

        try:
            return await handler.respond(request.method, request.target, request.headers, read)
        except Exception:  # a bug: answer it, keep serving
            logger.exception("groupcache: serving %s %r failed", request.method, request.target)
            return error_reply(503, "internal error")

    def write_reply(self, reply: Reply, keep_alive: bool, head_only: bool = False) -> None:
        """Write ``reply`` (after the ones before it)."""
        transport = self.transport
        if transport is None or self.closed:
            return
        transport.write(encode_reply(reply, self.server.clock.date(), keep_alive, head_only))

    def _continue(self, request: _Request, http11: bool) -> None:
        """Answer ``Expect: 100-continue`` before the body comes: refused at once when
        the token check fails, else ``100 Continue`` (unless answers to earlier pipelined
        requests are still owed: the client then sends its body after its own wait)."""
        if not http11 or self.task is not None or self.queue:
            return
        protocol = request.target.startswith(self.handler.base_path)
        denied = self.handler.check_token(request.method, request.headers, protocol)
        if denied is not None:
            raise _Refused(denied)
        assert self.transport is not None
        self.transport.write(CONTINUE)

    def refuse(self, reply: Reply) -> None:
        """Answer ``reply`` once the requests before it are answered, then close."""
        self._refused = True
        if self.transport is not None:
            self.transport.pause_reading()
        self.partial = False
        if self.task is None and not self.queue:
            self.write_reply(reply, keep_alive=False)
            self.close()
            return
        self.queue.append(reply)

    def queue_last_then_close(self) -> None:
        """An ``Upgrade`` request: serve what was parsed, ignore the rest, then close."""
        self._refused = True
        for request in self.queue:
            if isinstance(request, _Request):
                request.keep_alive = False
        if self.task is None and not self.queue:
            self.close()

    def _pause(self) -> None:
        if not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def _resume(self) -> None:
        if self.paused and not self.writes_paused and self.transport is not None:
            self.paused = False
            if not self._refused:
                self.transport.resume_reading()

    def idle_since(self, deadline: float) -> bool:
        """Whether the connection has waited for a request since before ``deadline``."""
        return self.task is None and not self.queue and self.last_active < deadline

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()


class _Refused(Exception):
    """Raised from a parser callback: answer ``reply`` and close the connection."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _cause(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]

"""A lean HTTP/1.1 client for peer requests: keep-alive connections over asyncio protocols.

The peer protocol needs little of HTTP: a few methods, small header sets, bodies framed by
Content-Length or (Go servers, for bodies over 2 KiB) chunked encoding. Doing just that is
several times cheaper per request than a general client, which was the bottleneck of a
peer fetch (``benchmarks/bench_go_peer.py`` measures it); :mod:`groupcache._http.http1` parses
the responses. A :class:`PeerChannel` adds what every request to one peer needs: its base
path, our token, and the mapping of replies to errors.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import ssl as ssl_module
import time
from urllib.parse import urlsplit

from .._core.value import Value
from .._errors import (
    ClosedError,
    PeerError,
    QueueFullError,
    ReplyTooLargeError,
    TransportError,
    WireError,
)
from .._protocol.bodies import decode_get_response
from .._protocol.headers import BATCH_HEADER, GRACE_HEADER, RATE_HEADER, parse_seconds
from .._protocol.paths import base_of, path_key, request_path
from .._protocol.status import reply_error
from .expiry import Expiry
from .health import PeerHealth
from .http1 import Connection, Response
from .slots import Slots

_BATCH_HEADER = BATCH_HEADER.lower()  # the replies' headers are lower-cased
_GRACE_HEADER = GRACE_HEADER.lower()
ASK_RATE = f"{RATE_HEADER}: 1\r\n".encode()
"""The header line by which a ``hot_cache="qps"`` group asks a peer of ours for its rate."""

__all__ = [
    "ConnectionPool",
    "PeerChannel",
    "QueueFullError",
    "ReplyTooLargeError",
    "Response",
    "TransportError",
]


class ConnectionPool:
    """Keep-alive HTTP/1.1 connections to one ``http(s)://host:port`` origin.

    At most ``max_connections`` requests are in flight; at most ``max_queued`` more wait
    for a free connection, and a request beyond that fails at once with
    :class:`QueueFullError` (the caller then loads locally instead of waiting for an
    overloaded peer). A request that fails on a reused idle connection (the server closed
    it meanwhile) is retried once on a fresh one. Every request is bounded by ``timeout``
    seconds.
    """

    def __init__(
        self,
        origin: str,
        *,
        max_connections: int,
        max_queued: int | None = None,
        timeout: float,
        connect_timeout: float,
        ssl: ssl_module.SSLContext | None = None,
        max_body_bytes: int,
    ) -> None:
        parts = urlsplit(origin)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        default_port = 443 if self._https else 80
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._host_header = host if self._port == default_port else f"{host}:{self._port}"
        self._ssl = (ssl or ssl_module.create_default_context()) if self._https else None
        self._idle: collections.deque[Connection] = collections.deque()
        self._slots = Slots(max_connections, max_queued)
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._max_body = max_body_bytes
        self._closed = False
        self._expiry = Expiry(f"no response within {timeout} s")

    @property
    def max_body_bytes(self) -> int:
        """Return the largest reply body accepted (the peers' request limit, too)."""
        return self._max_body

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: bytes = b"",
        body: bytes | None = None,
    ) -> Response:
        """Send one request and return the response.

        Args:
            method: The HTTP method.
            path: The already escaped path.
            headers: Extra header lines, each ending in ``\\r\\n``.
            body: The request body, if any.

        Raises:
            TransportError: on any failure below HTTP semantics.
        """
        return await self.send(self.encode(method, path, headers, body))

    def encode(self, method: str, path: str, headers: bytes, body: bytes | None) -> bytes:
        """Return the bytes of a request (as :meth:`request` takes it)."""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self._host_header}\r\n".encode()
        if body is not None:
            head += b"Content-Length: %d\r\n" % len(body)
        return head + headers + b"\r\n" + (body or b"")

    def tail(self, headers: bytes) -> bytes:
        """Return what follows the path of a request without a body: the protocol, the
        ``Host`` header, ``headers`` and the empty line."""
        return f" HTTP/1.1\r\nHost: {self._host_header}\r\n".encode() + headers + b"\r\n"

    async def send(self, data: bytes) -> Response:
        """Send one whole request (head and body) and return the response, within
        ``timeout`` seconds (as :meth:`request`)."""
        slots = self._slots
        if slots.try_take():
            conn = self._idle_connection()  # its loop's clock: no get_running_loop()
            loop = conn.loop if conn is not None else None
            deadline = (loop or asyncio.get_running_loop()).time() + self._timeout
        else:
            deadline = _loop_time() + self._timeout
            try:
                async with asyncio.timeout(self._timeout):
                    await slots.take()
            except TimeoutError as exc:
                raise TransportError(f"no response within {self._timeout} s") from exc
            conn = None
        try:
            if conn is None:
                conn = self._idle_connection() or await self._connect(deadline)
            try:
                response, keep = await self._round_trip(conn, data, deadline)
            except BaseException as exc:
                conn.close()  # also when cancelled mid-exchange: its state is unknown
                if not isinstance(exc, (OSError, TransportError)):
                    raise
                if not conn.reused or isinstance(exc, TransportError):
                    raise _wrap(exc) from exc
                conn = await self._connect(deadline)  # the idle one had gone stale: once more
                try:
                    response, keep = await self._round_trip(conn, data, deadline)
                except BaseException as again:
                    conn.close()
                    if isinstance(again, (OSError, TransportError)):
                        raise _wrap(again) from again
                    raise
        finally:
            slots.give()
        if keep and not self._closed:
            conn.reused = True
            self._idle.append(conn)
        else:
            conn.close()
        return response

    def _round_trip(
        self, conn: Connection, data: bytes, deadline: float
    ) -> asyncio.Future[tuple[Response, bool]]:
        """Send ``data`` on ``conn``: the future of its response, failed at ``deadline``."""
        waiter = conn.send(data)
        self._expiry.watch(conn, waiter, deadline)
        return waiter

    def _idle_connection(self) -> Connection | None:
        idle = self._idle
        while idle:
            conn = idle.pop()
            if conn.usable():
                return conn
            conn.close()
        return None

    async def _connect(self, deadline: float) -> Connection:
        if self._closed:
            raise TransportError("connection pool is closed")
        max_body = self._max_body
        limit = min(self._connect_timeout, deadline - _loop_time())
        try:
            async with asyncio.timeout(limit):
                _, conn = await asyncio.get_running_loop().create_connection(
                    lambda: Connection(max_body),
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._https else None,
                )
        except TimeoutError as exc:
            if limit < self._connect_timeout:  # the request's own deadline came first
                raise TransportError(f"no response within {self._timeout} s") from exc
            raise TransportError(f"connect timed out after {self._connect_timeout} s") from exc
        except (OSError, ssl_module.SSLError) as exc:
            raise TransportError(f"connect failed: {exc}") from exc
        return conn

    def close(self) -> None:
        """Refuse new requests and close the idle connections, without waiting."""
        self._closed = True
        while self._idle:
            self._idle.pop().close()

    async def aclose(self) -> None:
        """Close the idle connections; connections in use close when released."""
        self._closed = True
        while self._idle:
            conn = self._idle.pop()
            conn.close()
            with contextlib.suppress(OSError, ssl_module.SSLError):
                await conn.wait_closed()


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


def _wrap(exc: BaseException) -> TransportError:
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, ClosedError):
        return TransportError(str(exc))
    return TransportError(f"{type(exc).__name__}: {exc}")


class PeerChannel:
    """The requests to one peer: its connections, its base path and our token, with the
    replies mapped to errors (:func:`~groupcache._protocol.status.reply_error`) and the
    plain GET that every variant understands. The peer client and its batches share it.

    Args:
        url: The peer's base URL, e.g. ``http://10.0.0.2:8080``.
        connections: The keep-alive connections to that peer.
        base_path: The peers' base path.
        headers: Header lines sent with every request (the token).
        batches: Whether to note that the peer serves batch gets (its replies say so).
    """

    __slots__ = (
        "_get_prefixes",
        "_get_tail",
        "_headers",
        "_note_batches",
        "_rated_tail",
        "base",
        "conns",
        "health",
        "ours",
        "serves_batches",
        "url",
    )

    def __init__(
        self,
        url: str,
        *,
        connections: ConnectionPool,
        base_path: str,
        headers: bytes,
        batches: bool,
        health: PeerHealth | None = None,
    ) -> None:
        self.url = url
        self.base = base_of(url, base_path)
        self.conns = connections
        self._headers = headers
        self._get_prefixes: dict[str, bytes] = {}  # group -> b"GET {base}{group}/"
        self._get_tail = connections.tail(headers)
        self._rated_tail = connections.tail(headers + ASK_RATE)
        self._note_batches = batches
        self.serves_batches = False
        """Whether a reply of the peer said it serves batch gets (our nodes do)."""
        self.ours = False
        """Whether the last plain GET's reply said so (:data:`BATCH_HEADER`): only such a
        peer is asked for its rate of a key (a Go peer never is)."""
        self.health = health if health is not None else PeerHealth()
        """Its consecutive failures; down after a few (:mod:`.health`)."""

    def path(self, group: str, key: str) -> str:
        """Return the escaped request path of ``key`` (or an endpoint) in ``group``."""
        return request_path(self.base, group, key)

    async def get_one(self, group: str, key: str, rated: bool = False) -> Value:
        """Fetch one key with a plain GET, as Go peers understand it; ``rated``: ask for
        the owner's rate of the key too, if the peer is :attr:`ours`."""
        prefix = self._get_prefixes.get(group)
        if prefix is None:
            prefix = self._get_prefixes[group] = (
                f"GET {request_path(self.base, group, '')}".encode()
            )
        ask = rated and self.ours
        health = self.health  # as _send, inlined: one coroutine less per get
        if health.down_until:
            self._admit()
        try:
            tail = self._rated_tail if ask else self._get_tail
            resp = await self.conns.send(prefix + path_key(key) + tail)
        except TransportError as exc:
            raise self._failed(exc) from exc
        if health.failures:
            health.succeeded()
        self.check(resp, "GET", group)
        ours = self.ours = resp.headers.get(_BATCH_HEADER) == "1"
        if self._note_batches and ours:
            self.serves_batches = True
        return self.decode_value(resp, ask)

    def decode_value(self, resp: Response, rated: bool = False) -> Value:
        """Decode the ``GetResponse`` of a 200 from this peer, with the grace its header
        gives (its expiry is the group's to judge, by the group's clock); ``rated``: with
        the rate we asked for, if it came."""
        try:
            value = decode_get_response(resp.body, rated)
        except WireError as exc:
            raise PeerError(f"{self.url}: {exc}") from exc
        grace = resp.headers.get(_GRACE_HEADER)
        if grace is not None:  # our peers' values only: Go's never have one
            return dataclasses.replace(value, grace=parse_seconds(grace))  # a RatedValue too
        return value

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        content_type: str | None = None,
        extra: bytes = b"",
    ) -> Response:
        """Send one request to the peer (``extra``: more header lines); transport
        failures become :class:`PeerError` and count against the peer's health (while
        it is down, every request fails so at once)."""
        headers = self._headers + extra
        if content_type is not None:
            headers += b"Content-Type: " + content_type.encode() + b"\r\n"
        return await self._send(self.conns.encode(method, path, headers, body))

    async def _send(self, data: bytes) -> Response:
        health = self.health
        if health.down_until:
            self._admit()
        try:
            resp = await self.conns.send(data)
        except TransportError as exc:
            raise self._failed(exc) from exc
        if health.failures:
            health.succeeded()
        return resp

    def _admit(self) -> None:
        """Raise :class:`PeerError` while the peer is down (:meth:`PeerHealth.admit`)."""
        health = self.health
        if not health.admit():
            raise PeerError(
                f"{self.url}: down after {health.failures} failed requests in a row "
                f"(tried again in {health.down_until - time.monotonic():.1f} s)"
            )

    def _failed(self, exc: TransportError) -> PeerError:
        """Return the :class:`PeerError` for a failed request, counted against the peer's
        health unless it only found the queue full (overloaded, not down)."""
        if not isinstance(exc, QueueFullError):
            self.health.failed()
        return PeerError(f"{self.url}: {exc}")

    def check(self, resp: Response, method: str, group: str) -> None:
        """Raise the error a reply other than 200 stands for (:func:`reply_error`)."""
        if resp.status != 200:
            raise reply_error(
                resp.status,
                resp.headers,
                resp.body,
                url=self.url,
                method=method,
                group=group,
                path=self.base,
            )

"""A lean HTTP/1.1 client for peer requests: keep-alive connections over asyncio protocols.

The peer protocol needs little of HTTP: a few methods, small header sets, bodies framed by
Content-Length or (Go servers, for bodies over 2 KiB) chunked encoding. Doing just that is
several times cheaper per request than a general client, which was the bottleneck of a
peer fetch (``benchmarks/bench_go_peer.py`` measures it); :mod:`groupcache._http.http1` parses
the responses.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ssl as ssl_module
from urllib.parse import urlsplit

from .._errors import ClosedError, QueueFullError, ReplyTooLargeError, TransportError
from .http1 import Connection, Response

__all__ = ["ConnectionPool", "QueueFullError", "ReplyTooLargeError", "Response", "TransportError"]


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
        self._slots = asyncio.Semaphore(max_connections)
        self._max_queued = max_queued
        self._queued = 0
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._max_body = max_body_bytes
        self._closed = False

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
        head = f"{method} {path} HTTP/1.1\r\nHost: {self._host_header}\r\n".encode()
        if body is not None:
            head += b"Content-Length: %d\r\n" % len(body)
        data = head + headers + b"\r\n" + (body or b"")
        slots = self._slots
        try:
            async with asyncio.timeout(self._timeout):
                if slots.locked():
                    await self._wait_for_slot()
                else:
                    await slots.acquire()
                try:
                    return await self._exchange(data)
                finally:
                    slots.release()
        except TimeoutError as exc:
            raise TransportError(f"no response within {self._timeout} s") from exc

    async def _wait_for_slot(self) -> None:
        if self._max_queued is not None and self._queued >= self._max_queued:
            raise QueueFullError(f"all connections busy and {self._queued} requests already queued")
        self._queued += 1
        try:
            await self._slots.acquire()
        finally:
            self._queued -= 1

    async def _exchange(self, data: bytes) -> Response:
        conn = await self._acquire()
        try:
            response, keep = await conn.send(data)
        except (OSError, TransportError) as exc:
            conn.close()
            if not conn.reused or isinstance(exc, TransportError):
                raise _wrap(exc) from exc
            conn = await self._connect()  # the idle connection had gone stale: once more
            try:
                response, keep = await conn.send(data)
            except (OSError, TransportError) as again:
                conn.close()
                raise _wrap(again) from again
        except BaseException:
            conn.close()  # cancelled mid-exchange: the connection's state is unknown
            raise
        if keep and not self._closed:
            conn.reused = True
            self._idle.append(conn)
        else:
            conn.close()
        return response

    async def _acquire(self) -> Connection:
        while self._idle:
            conn = self._idle.pop()
            if conn.usable():
                return conn
            conn.close()
        return await self._connect()

    async def _connect(self) -> Connection:
        if self._closed:
            raise TransportError("connection pool is closed")
        max_body = self._max_body
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, conn = await asyncio.get_running_loop().create_connection(
                    lambda: Connection(max_body),
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._https else None,
                )
        except TimeoutError as exc:
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


def _wrap(exc: BaseException) -> TransportError:
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, ClosedError):
        return TransportError(str(exc))
    return TransportError(f"{type(exc).__name__}: {exc}")

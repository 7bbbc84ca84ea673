"""A lean HTTP/1.1 client for peer requests: keep-alive connections over asyncio streams.

The peer protocol needs little of HTTP: a few methods, small header sets, bodies framed by
Content-Length or (Go servers, for bodies over 2 KiB) chunked encoding. Doing just that is
several times cheaper per request than a general client (groupcache-family §2.2b found the
aiohttp client to be the bottleneck of a peer fetch).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ssl as ssl_module
from dataclasses import dataclass
from urllib.parse import urlsplit

_MAX_HEADER_BYTES = 64 * 1024
_MAX_HEADERS = 100


class TransportError(Exception):
    """The request failed below HTTP semantics: connect, send, framing, size or time."""


class QueueFullError(TransportError):
    """Every connection is busy and the queue of waiting requests is full: not sent."""


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response: status, lower-cased headers and the whole body."""

    status: int
    headers: dict[str, str]
    body: bytes


class _Conn:
    __slots__ = ("reader", "reused", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.reused = False

    def close(self) -> None:
        self.writer.close()


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
        self._idle: collections.deque[_Conn] = collections.deque()
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
            response, keep = await _send(conn, data, self._max_body)
        except (OSError, asyncio.IncompleteReadError, TransportError) as exc:
            conn.close()
            if not conn.reused or isinstance(exc, TransportError):
                raise _wrap(exc) from exc
            conn = await self._connect()  # the idle connection had gone stale: once more
            try:
                response, keep = await _send(conn, data, self._max_body)
            except (OSError, asyncio.IncompleteReadError, TransportError) as again:
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

    async def _acquire(self) -> _Conn:
        while self._idle:
            conn = self._idle.pop()
            if not conn.reader.at_eof() and not conn.writer.is_closing():
                return conn
            conn.close()
        return await self._connect()

    async def _connect(self) -> _Conn:
        if self._closed:
            raise TransportError("connection pool is closed")
        try:
            async with asyncio.timeout(self._connect_timeout):
                reader, writer = await asyncio.open_connection(
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._https else None,
                    limit=_MAX_HEADER_BYTES,
                )
        except TimeoutError as exc:
            raise TransportError(f"connect timed out after {self._connect_timeout} s") from exc
        except (OSError, ssl_module.SSLError) as exc:
            raise TransportError(f"connect failed: {exc}") from exc
        return _Conn(reader, writer)

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
                await conn.writer.wait_closed()


def _wrap(exc: BaseException) -> TransportError:
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, asyncio.IncompleteReadError):
        return TransportError(f"connection closed after {len(exc.partial)} bytes")
    return TransportError(f"{type(exc).__name__}: {exc}")


async def _send(conn: _Conn, data: bytes, max_body: int) -> tuple[Response, bool]:
    conn.writer.write(data)
    await conn.writer.drain()
    reader = conn.reader
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as exc:
        raise TransportError("response header too large") from exc
    status, version, headers = _parse_head(head)
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader, max_body)
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError as exc:
            raise TransportError("bad Content-Length") from exc
        if length < 0 or length > max_body:
            raise TransportError(f"reply of {length} bytes is over the limit of {max_body}")
        body = await reader.readexactly(length)
    else:  # no framing: the body runs to the end of the connection
        body = await reader.read(max_body + 1)
        while len(body) <= max_body and not reader.at_eof():
            more = await reader.read(max_body + 1 - len(body))
            if not more:
                break
            body += more
        if len(body) > max_body:
            raise TransportError(f"reply is over the limit of {max_body} bytes")
        return Response(status, headers, body), False
    connection = headers.get("connection", "").lower()
    keep = connection != "close" and (version != "HTTP/1.0" or connection == "keep-alive")
    return Response(status, headers, body), keep


def _parse_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise TransportError(f"bad status line {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise TransportError(f"bad header line {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
        if len(headers) > _MAX_HEADERS:
            raise TransportError("too many response headers")
    return int(parts[1]), parts[0], headers


async def _read_chunked(reader: asyncio.StreamReader, max_body: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        try:
            n = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise TransportError("bad chunk size") from exc
        if n == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return b"".join(chunks)
        size += n
        if n < 0 or size > max_body:
            raise TransportError(f"reply is over the limit of {max_body} bytes")
        chunks.append(await reader.readexactly(n))
        if await reader.readexactly(2) != b"\r\n":
            raise TransportError("bad chunk terminator")

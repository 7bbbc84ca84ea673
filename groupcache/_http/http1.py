"""One keep-alive HTTP/1.1 client connection as an asyncio Protocol.

A request is written as one buffer; the response is parsed as its bytes arrive, in
``data_received``, and handed over through one future. Compared with asyncio streams
(``readuntil`` + ``readexactly``, each a coroutine and usually a loop turn), this costs a
third less CPU per peer request: a peer fetch is small and the client is its bottleneck.

Framing as the peer protocol needs it: Content-Length, chunked (Go servers, for bodies
over 2 KiB) and, without either, the body up to the end of the connection.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import cast

from .._errors import ClosedError, ReplyTooLargeError, TransportError

__all__ = ["ClosedError", "Connection", "ReplyTooLargeError", "Response", "TransportError"]

MAX_HEADER_BYTES = 64 * 1024
_MAX_HEADERS = 100
_MAX_CHUNK_LINE = 4096  # a chunk-size line (with extensions) longer than this is garbage

_HEAD, _LENGTH, _CHUNKED, _UNTIL_CLOSE, _IDLE = range(5)
_KNOWN = {
    name: name.lower()
    for name in (
        "Connection",
        "Content-Length",
        "Content-Type",
        "Date",
        "Transfer-Encoding",
        "X-Content-Type-Options",
        "X-Groupcache-Batch",
        "X-Groupcache-Error",
    )
}
"""The header names our servers and Go's send, lower-cased ahead (any other name is
stripped and lower-cased as it comes)."""


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response: status, lower-cased headers and the whole body."""

    status: int
    headers: dict[str, str]
    body: bytes


class Connection(asyncio.Protocol):
    """A client connection that carries one request at a time (no pipelining).

    :meth:`send` writes a request and returns a future of ``(response, keep_alive)``.
    Malformed or oversized replies fail it with :class:`TransportError`, a connection
    closed early with :class:`ClosedError` (or the OSError that closed it). Bytes that
    arrive while no request waits make the connection unusable.
    """

    def __init__(self, max_body: int) -> None:
        self.reused = False
        self.transport: asyncio.Transport | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        """The connection's loop, kept: ``asyncio.get_running_loop()`` makes a ``getpid``
        system call on every call in CPython 3.11."""
        self._max_body = max_body
        self._waiter: asyncio.Future[tuple[Response, bool]] | None = None
        self._buf = bytearray()
        self._mode = _IDLE
        self._status = 0
        self._version = ""
        self._headers: dict[str, str] = {}
        self._length = 0
        self._chunks: list[bytes] = []
        self._chunk: int | None = None  # bytes of the current chunk still to come
        self._trailers = False
        self._lost: asyncio.Future[None] | None = None

    # -- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)
        self.loop = loop = asyncio.get_running_loop()
        self._lost = loop.create_future()

    def data_received(self, data: bytes) -> None:
        if self._mode == _IDLE:  # nobody asked: the stream is out of step for good
            self.close()
            return
        try:
            if self._mode == _HEAD and not self._buf:  # a reply begins: read it from data
                taken = self._take_head(data)
                if taken is None:
                    self._buf += data
                    return
                if self._mode == _LENGTH and len(data) - taken == self._length:
                    self._finish(data[taken:], self._keep_alive())  # the usual: all at once
                    return
                self._buf += memoryview(data)[taken:]
            else:
                self._buf += data
            self._parse()
        except TransportError as exc:
            self._fail(exc)

    def eof_received(self) -> bool:
        self._ended(None)
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended(exc)
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    # -- use ----------------------------------------------------------------------------

    def usable(self) -> bool:
        """Whether the connection can take another request."""
        transport = self.transport
        return self._mode == _IDLE and transport is not None and not transport.is_closing()

    def send(self, data: bytes) -> asyncio.Future[tuple[Response, bool]]:
        """Write ``data`` (a whole request) and return the future of its response."""
        waiter: asyncio.Future[tuple[Response, bool]] = (
            self.loop or asyncio.get_running_loop()
        ).create_future()
        transport = self.transport
        if transport is None or transport.is_closing():
            waiter.set_exception(ClosedError("connection closed after 0 bytes"))
            return waiter
        self._waiter = waiter
        self._buf.clear()
        self._mode = _HEAD
        transport.write(data)
        return waiter

    def close(self) -> None:
        """Close the connection (a request in progress fails)."""
        self._mode = _IDLE
        if self.transport is not None:
            self.transport.close()

    async def wait_closed(self) -> None:
        """Wait until the connection is gone."""
        if self._lost is not None:
            await self._lost

    # -- parsing ------------------------------------------------------------------------

    def _parse(self) -> None:
        buf = self._buf
        if self._mode == _HEAD:
            taken = self._take_head(buf)
            if taken is None:
                return
            del buf[:taken]
        if self._mode == _LENGTH:
            if len(buf) >= self._length:
                body = bytes(buf[: self._length])
                extra = len(buf) > self._length  # more than was asked for: out of step
                self._finish(body, self._keep_alive() and not extra)
        elif self._mode == _CHUNKED:
            self._parse_chunks()
        elif self._mode == _UNTIL_CLOSE and len(buf) > self._max_body:
            raise ReplyTooLargeError(f"reply is over the limit of {self._max_body} bytes")

    def _take_head(self, buf: bytes | bytearray) -> int | None:
        """Parse the response head at the start of ``buf`` and set the framing of its
        body; return the bytes it took, or ``None`` while it is incomplete."""
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEADER_BYTES:
                raise TransportError("response header too large")
            return None
        if end + 4 > MAX_HEADER_BYTES:
            raise TransportError("response header too large")
        self._status, self._version, headers = parse_head(bytes(buf[: end + 4]))
        self._headers = headers
        if headers.get("transfer-encoding", "").lower() == "chunked":
            self._mode, self._chunks, self._chunk, self._trailers = _CHUNKED, [], None, False
            self._length = 0
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError as exc:
                raise TransportError("bad Content-Length") from exc
            if length < 0 or length > self._max_body:
                raise ReplyTooLargeError(
                    f"reply of {length} bytes is over the limit of {self._max_body}"
                )
            self._mode, self._length = _LENGTH, length
        else:
            self._mode = _UNTIL_CLOSE
        return end + 4

    def _parse_chunks(self) -> None:
        buf = self._buf
        while True:
            if self._chunk is None:  # a chunk-size line, or a trailer line after the last
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > _MAX_CHUNK_LINE:
                        raise TransportError("bad chunk size")
                    return
                line = bytes(buf[:end])
                del buf[: end + 2]
                if self._trailers:
                    if not line:
                        self._finish(b"".join(self._chunks), self._keep_alive() and not buf)
                        return
                    continue
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError as exc:
                    raise TransportError("bad chunk size") from exc
                if size < 0:
                    raise TransportError("bad chunk size")
                if size == 0:
                    self._trailers = True
                    continue
                self._length += size
                if self._length > self._max_body:
                    raise ReplyTooLargeError(f"reply is over the limit of {self._max_body} bytes")
                self._chunk = size
            else:
                size = self._chunk
                if len(buf) < size + 2:
                    return
                if buf[size : size + 2] != b"\r\n":
                    raise TransportError("bad chunk terminator")
                self._chunks.append(bytes(buf[:size]))
                del buf[: size + 2]
                self._chunk = None

    def _keep_alive(self) -> bool:
        connection = self._headers.get("connection", "").lower()
        return connection != "close" and (self._version != "HTTP/1.0" or connection == "keep-alive")

    def _finish(self, body: bytes, keep: bool) -> None:
        waiter, self._waiter = self._waiter, None
        self._mode = _IDLE
        self._buf.clear()
        if waiter is not None and not waiter.done():
            waiter.set_result((Response(self._status, self._headers, body), keep))

    def fail(self, exc: BaseException) -> None:
        """Fail the request in progress with ``exc`` and close the connection."""
        self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        waiter, self._waiter = self._waiter, None
        self.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def _ended(self, exc: Exception | None) -> None:
        """The peer closed the connection (``exc`` None) or it broke."""
        if self._mode == _UNTIL_CLOSE and exc is None:
            self._finish(bytes(self._buf), False)
        elif self._mode != _IDLE:
            error = exc if isinstance(exc, OSError) else None
            self._fail(error or ClosedError(f"connection closed after {len(self._buf)} bytes"))
        self._mode = _IDLE


def parse_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    """Parse a response head (status line and headers, ending with an empty line).

    Raises:
        TransportError: not an HTTP/1.x response head.
    """
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
        headers[_KNOWN.get(name) or name.strip().lower()] = value.strip()
        if len(headers) > _MAX_HEADERS:
            raise TransportError("too many response headers")
    return int(parts[1]), parts[0], headers

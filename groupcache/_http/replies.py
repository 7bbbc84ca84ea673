"""HTTP/1.1 responses as bytes: the status line, headers and body of a :class:`Reply`
in one buffer, the ``Date`` header formatted once a second, and the prebuilt head of a
cached value's reply (the lean server's fast path)."""

from __future__ import annotations

import time
from email.utils import formatdate

from .handler import Reply

REASONS = {
    100: "Continue",
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    503: "Service Unavailable",
}
"""The reason phrase of every status the peer protocol answers with."""
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_HIT_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nX-Groupcache-Batch: 1\r\n"


class DateClock:
    """The ``Date`` header line, formatted once a second."""

    __slots__ = ("_line", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._line = b""

    def date(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._line = b"Date: " + formatdate(now, usegmt=True).encode() + b"\r\n"
        return self._line


def encode_reply(reply: Reply, date: bytes, keep_alive: bool, head_only: bool = False) -> bytes:
    """``reply`` as one buffer; without its body for a HEAD request."""
    lines = [b"HTTP/1.1 %d %s\r\n" % (reply.status, REASONS[reply.status].encode())]
    if reply.content_type is not None:
        lines.append(b"Content-Type: %s\r\n" % reply.content_type.encode())
    for name, value in reply.headers:
        lines.append(b"%s: %s\r\n" % (name.encode(), value.encode()))
    lines.append(date)
    if not keep_alive:
        lines.append(b"Connection: close\r\n")
    lines.append(b"Content-Length: %d\r\n\r\n" % len(reply.body))
    if not head_only:
        lines.append(reply.body)
    return b"".join(lines)


def encode_hit(body: bytes, date: bytes, keep_alive: bool) -> bytes:
    """The reply to a GET of a cached value whose protobuf ``body`` is encoded: the same
    bytes :func:`encode_reply` gives for it, with one formatting step."""
    if keep_alive:
        return b"%s%sContent-Length: %d\r\n\r\n%s" % (_HIT_HEAD, date, len(body), body)
    return b"%s%sConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (
        _HIT_HEAD,
        date,
        len(body),
        body,
    )

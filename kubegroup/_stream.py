"""Reading the watch's raw HTTP response: bounded lines, interrupting reads, error mapping.

The watch is read from the raw urllib3 response (``_preload_content=False``). A line is
capped (a server or proxy that never sends a newline must not grow memory without
bound), and every client or urllib3 exception is mapped into the kubegroup hierarchy.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import cast

import urllib3
from kubernetes.client.exceptions import ApiException

from ._errors import KubeAPIError, KubeConnectionError, KubeGroupError, api_error_from_status

__all__ = ["MAX_LINE", "lines", "shutdown", "wrap_error"]

MAX_LINE = 16 << 20
"""The default cap of one watch line (16 MiB: a pod object is a few KiB)."""


def wrap_error(exc: BaseException) -> KubeGroupError:
    """Translate a client or urllib3 exception into the kubegroup hierarchy.

    The client turns a TLS failure into ``ApiException(status=0)``; that is a connection
    problem (a wrong CA, a proxy in the way), not an answer from the API server.
    """
    if isinstance(exc, KubeGroupError):
        return exc
    if isinstance(exc, ApiException):
        if not exc.status:
            reason = " ".join(str(exc.reason or "").split())
            return KubeConnectionError(reason or "the API server could not be reached")
        headers = cast("dict[str, str] | None", exc.headers)
        return api_error_from_status(
            int(exc.status), exc.body, http_reason=str(exc.reason or ""), headers=headers
        )
    if isinstance(exc, ValueError):  # JSON that is not an event or a list, or a huge line
        return KubeAPIError(200, "InvalidResponse", f"malformed response: {exc}")
    return KubeConnectionError(f"{type(exc).__name__}: {exc}")


_READ_SIZE = 64 << 10


def _blank(line: bytes | bytearray) -> bool:
    return not line or line.isspace()


def lines(resp: urllib3.BaseHTTPResponse, max_line: int = MAX_LINE) -> Iterator[bytes]:
    """Yield the non-blank lines of a streamed response.

    Each chunk is scanned once and the partial line kept in a ``bytearray``, so the cost
    is linear in the bytes read.

    Raises:
        ValueError: a line (without its newline) is longer than ``max_line`` bytes; it
            is detected before more than ``max_line`` bytes of it are buffered.
    """
    buffer = bytearray()
    # A bounded read size: with amt=None urllib3 reads a whole HTTP chunk at once, however
    # large its header says it is. A smaller chunk is still handed over as soon as it came.
    for chunk in resp.stream(amt=_READ_SIZE, decode_content=False):
        view, start = memoryview(chunk), 0
        while True:
            end = chunk.find(b"\n", start)
            stop = len(chunk) if end < 0 else end
            if len(buffer) + stop - start > max_line:
                raise ValueError(f"a watch line longer than {max_line} bytes")
            buffer += view[start:stop]
            if end < 0:
                break
            if not _blank(buffer):
                yield bytes(buffer)
            buffer.clear()
            start = end + 1
    if not _blank(buffer):
        yield bytes(buffer)


def shutdown(resp: urllib3.BaseHTTPResponse) -> None:
    """Shut the response's socket down so a blocked read returns at once.

    urllib3 >= 2.3 keeps a handle on the socket even after ``Connection: close`` moved
    it from the connection to the response; older versions only have ``conn.sock``.
    """
    with contextlib.suppress(Exception):
        resp.shutdown()
        return
    sock = getattr(getattr(resp, "connection", None), "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

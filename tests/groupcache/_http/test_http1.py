"""The response parser of a peer connection, fed as a socket may deliver the bytes."""

from __future__ import annotations

import asyncio

import pytest

from groupcache._http.http1 import ClosedError, Connection, Response, TransportError


class FakeTransport(asyncio.Transport):
    """Records what the connection writes; closing is remembered, nothing else happens."""

    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def connect(max_body: int = 1 << 20) -> tuple[Connection, FakeTransport]:
    conn = Connection(max_body)
    transport = FakeTransport()
    conn.connection_made(transport)
    return conn, transport


def feed(conn: Connection, data: bytes, step: int) -> None:
    for i in range(0, len(data), step):
        conn.data_received(data[i : i + step])


CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Groupcache-Batch: 1\r\n\r\n"
    b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n"
)
LENGTH = b"HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nno such k\n"


@pytest.mark.parametrize("step", [1, 2, 3, 7, 1000])
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            CHUNKED,
            Response(
                200, {"transfer-encoding": "chunked", "x-groupcache-batch": "1"}, b"hello world"
            ),
        ),
        (LENGTH, Response(404, {"content-length": "10"}, b"no such k\n")),
    ],
)
async def test_a_response_split_anywhere_parses_the_same(
    raw: bytes, expected: Response, step: int
) -> None:
    conn, transport = connect()
    for _ in range(2):  # and the connection is kept for the next request
        waiter = conn.send(b"GET /k HTTP/1.1\r\n\r\n")
        feed(conn, raw, step)
        assert waiter.result() == (expected, True)
        assert conn.usable()
    assert transport.written == b"GET /k HTTP/1.1\r\n\r\n" * 2


async def test_a_body_to_the_end_of_the_connection_ends_with_it() -> None:
    conn, _ = connect()
    waiter = conn.send(b"GET / HTTP/1.1\r\n\r\n")
    feed(conn, b"HTTP/1.0 200 OK\r\n\r\nall of ", 5)
    feed(conn, b"it", 1)
    assert not waiter.done()
    assert conn.eof_received() is False
    assert waiter.result() == (Response(200, {}, b"all of it"), False)


@pytest.mark.parametrize(
    ("raw", "keep"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok", True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", False),  # out of step
    ],
)
async def test_keep_alive_follows_the_version_the_header_and_the_framing(
    raw: bytes, keep: bool
) -> None:
    conn, _ = connect()
    waiter = conn.send(b"GET / HTTP/1.1\r\n\r\n")
    conn.data_received(raw)
    response, kept = waiter.result()
    assert (response.body, kept) == (b"ok", keep)


async def test_bytes_nobody_asked_for_make_the_connection_unusable() -> None:
    conn, transport = connect()
    conn.data_received(b"HTTP/1.1 200 OK\r\n\r\n")
    assert transport.closed
    assert not conn.usable()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 20000, "header too large"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 5000, "chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n", "chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n", "over the limit"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "over the limit"),
        (b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 2000, "over the limit"),
    ],
)
async def test_malformed_or_oversized_replies_fail_and_close(raw: bytes, message: str) -> None:
    conn, transport = connect(max_body=1024)
    waiter = conn.send(b"GET / HTTP/1.1\r\n\r\n")
    feed(conn, raw, 4096)
    with pytest.raises(TransportError, match=message):
        waiter.result()
    assert transport.closed


async def test_a_connection_closed_early_says_how_far_it_got() -> None:
    conn, _ = connect()
    waiter = conn.send(b"GET / HTTP/1.1\r\n\r\n")
    conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc")
    conn.connection_lost(None)
    with pytest.raises(ClosedError, match="closed after 3 bytes"):
        waiter.result()
    reset = ConnectionResetError("reset by peer")
    conn2, _ = connect()
    waiter2 = conn2.send(b"GET / HTTP/1.1\r\n\r\n")
    conn2.connection_lost(reset)
    assert waiter2.exception() is reset
    assert conn2.send(b"GET / HTTP/1.1\r\n\r\n").exception() is not None

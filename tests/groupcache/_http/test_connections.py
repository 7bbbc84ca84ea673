"""The lean HTTP/1.1 client, against scripted servers on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, cast

import pytest

from groupcache._http.connections import ConnectionPool, QueueFullError, TransportError
from groupcache._http.expiry import Expiry
from tests.support.waiting import until

Reply = Callable[[bytes], bytes | None]  # request head -> raw response (None: close)


class Server:
    def __init__(self, reply: Reply, close_after: bool) -> None:
        self.reply = reply
        self.close_after = close_after
        self.connections = 0
        self.requests: list[bytes] = []
        self.open = 0
        self.max_open = 0
        self.gate: asyncio.Event | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                self.requests.append(head)
                if self.gate is not None:
                    await self.gate.wait()
                out = self.reply(head)
                if out is None:
                    return
                writer.write(out)
                await writer.drain()
                if self.close_after:
                    return
        finally:
            self.open -= 1
            writer.close()


@contextlib.asynccontextmanager
async def serve(reply: Reply, *, close_after: bool = False) -> AsyncIterator[tuple[Server, str]]:
    state = Server(reply, close_after)
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield state, f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


def pool(url: str, **kwargs: float) -> ConnectionPool:
    options: dict[str, float] = {
        "max_connections": 4,
        "timeout": 5.0,
        "connect_timeout": 2.0,
        "max_body_bytes": 1 << 20,
    }
    options.update(kwargs)
    return ConnectionPool(
        url,
        max_connections=int(options["max_connections"]),
        timeout=options["timeout"],
        connect_timeout=options["connect_timeout"],
        max_body_bytes=int(options["max_body_bytes"]),
        max_queued=int(options["max_queued"]) if "max_queued" in options else None,
    )


def ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


async def test_content_length_replies_reuse_one_connection() -> None:
    async with serve(lambda head: ok(b"hello", b"X-Groupcache-Batch: 1\r\n")) as (srv, url):
        p = pool(url)
        for _ in range(5):
            resp = await p.request("GET", "/a%20b", headers=b"X-Test: 1\r\n")
            assert (resp.status, resp.body) == (200, b"hello")
            assert resp.headers["x-groupcache-batch"] == "1"
        assert srv.connections == 1
        assert srv.requests[0].startswith(b"GET /a%20b HTTP/1.1\r\nHost: 127.0.0.1:")
        assert b"X-Test: 1\r\n" in srv.requests[0]
        await p.aclose()


async def test_chunked_replies_as_go_sends_bodies_over_2k() -> None:
    body = b"x" * 5000
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunked += b"1000;ext=1\r\n" + body[:4096] + b"\r\n"
    chunked += b"%x\r\n" % (len(body) - 4096) + body[4096:] + b"\r\n0\r\nTrailer: t\r\n\r\n"
    async with serve(lambda head: chunked) as (srv, url):
        p = pool(url)
        assert (await p.request("GET", "/k")).body == body
        assert (await p.request("GET", "/k")).body == body
        assert srv.connections == 1
        await p.aclose()


async def test_unframed_replies_read_to_the_end_and_are_not_reused() -> None:
    reply = b"HTTP/1.0 200 OK\r\n\r\nold school"
    async with serve(lambda head: reply, close_after=True) as (srv, url):
        p = pool(url)
        assert (await p.request("GET", "/k")).body == b"old school"
        assert (await p.request("GET", "/k")).body == b"old school"
        assert srv.connections == 2
        await p.aclose()


async def test_connection_close_is_honoured() -> None:
    async with serve(lambda head: ok(b"x", b"Connection: close\r\n")) as (srv, url):
        p = pool(url)
        await p.request("GET", "/a")
        await p.request("GET", "/b")
        assert srv.connections == 2
        await p.aclose()


async def test_a_stale_keep_alive_connection_is_retried_once_on_a_fresh_one() -> None:
    served = 0

    def reply(head: bytes) -> bytes | None:
        nonlocal served
        served += 1
        return None if served == 2 else ok(b"fine")  # drop the reused connection once

    async with serve(reply) as (srv, url):
        p = pool(url)
        assert (await p.request("GET", "/1")).body == b"fine"
        assert (await p.request("GET", "/2")).body == b"fine"
        assert srv.connections == 2
        await p.aclose()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"garbage\r\n\r\n", "bad status line"),
        (b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "bad header line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n", "over the limit"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "closed after 5 bytes"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX", "chunk terminator"),
    ],
)
async def test_malformed_replies_are_transport_errors(raw: bytes, message: str) -> None:
    sent = False

    def reply(head: bytes) -> bytes | None:
        nonlocal sent
        if sent:
            return None
        sent = True
        return raw

    async with serve(reply, close_after=True) as (_, url):
        p = pool(url)
        with pytest.raises(TransportError, match=message):
            await p.request("GET", "/k")
        await p.aclose()


async def test_an_unframed_body_over_the_limit_is_refused() -> None:
    big = b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 200
    async with serve(lambda head: big, close_after=True) as (_, url):
        p = pool(url, max_body_bytes=100)
        with pytest.raises(TransportError, match="over the limit"):
            await p.request("GET", "/k")
        await p.aclose()


async def test_a_slow_server_times_out() -> None:
    async with serve(lambda head: ok(b"late")) as (srv, url):
        srv.gate = asyncio.Event()
        p = pool(url, timeout=0.05)
        with pytest.raises(TransportError, match="no response within"):
            await p.request("GET", "/k")
        srv.gate.set()
        await p.aclose()


async def test_every_slow_request_times_out_on_its_own_deadline() -> None:
    """One timer serves every request on the wire: it fires for the earliest deadline,
    fails what is due and waits again for the later ones."""
    async with serve(lambda head: ok(b"late")) as (srv, url):
        srv.gate = asyncio.Event()
        p = pool(url, timeout=0.1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        first = asyncio.create_task(p.request("GET", "/a"))
        await asyncio.sleep(0.05)  # the second request's deadline is later than the first's
        second_started = loop.time()
        with pytest.raises(TransportError, match=r"no response within 0\.1 s"):
            await p.request("GET", "/b")
        assert loop.time() - second_started >= 0.1
        with pytest.raises(TransportError, match=r"no response within 0\.1 s"):
            await first
        assert loop.time() - started >= 0.1
        srv.gate.set()
        await p.aclose()


async def test_a_request_waiting_for_a_busy_connection_times_out_too() -> None:
    async with serve(lambda head: ok(b"late")) as (srv, url):
        srv.gate = asyncio.Event()
        p = pool(url, timeout=0.1, max_connections=1)
        first = asyncio.create_task(p.request("GET", "/a"))
        await until(lambda: len(srv.requests) == 1)
        with pytest.raises(TransportError, match=r"no response within 0\.1 s"):
            await p.request("GET", "/b")  # never got the connection
        with pytest.raises(TransportError):
            await first
        srv.gate.set()
        await p.aclose()


async def test_a_request_cancelled_mid_exchange_closes_its_connection() -> None:
    async with serve(lambda head: ok(b"late")) as (srv, url):
        srv.gate = asyncio.Event()
        p = pool(url)
        task = asyncio.create_task(p.request("GET", "/a"))
        await until(lambda: len(srv.requests) == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        srv.gate.set()
        assert (await p.request("GET", "/b")).body == b"late"
        assert srv.connections == 2  # its state unknown: closed, never reused
        await p.aclose()


@contextlib.contextmanager
def hanging_listener() -> Iterator[int]:
    """A port whose accept queue is full: a connect to it hangs (no SYN-ACK)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))  # takes the one queue slot
    try:
        yield port
    finally:
        filler.close()
        listener.close()


@pytest.mark.parametrize(
    ("request_timeout", "connect_timeout", "message"),
    [(0.1, 5.0, r"no response within 0\.1 s"), (5.0, 0.1, r"connect timed out after 0\.1 s")],
)
async def test_a_hanging_connect_ends_at_the_earlier_of_both_timeouts(
    request_timeout: float, connect_timeout: float, message: str
) -> None:
    with hanging_listener() as port:
        url = f"http://127.0.0.1:{port}"
        p = pool(url, timeout=request_timeout, connect_timeout=connect_timeout)
        with pytest.raises(TransportError, match=message):
            await p.request("GET", "/k")
        await p.aclose()


async def test_connection_refused_and_closed_pools_are_transport_errors() -> None:
    async with serve(lambda head: ok(b"")) as (_, url):
        pass  # the server is gone now
    p = pool(url)
    with pytest.raises(TransportError, match="connect failed"):
        await p.request("GET", "/k")
    p.close()
    with pytest.raises(TransportError, match="closed"):
        await p.request("GET", "/k")


async def test_requests_in_flight_are_bounded_per_peer() -> None:
    async with serve(lambda head: ok(b"v")) as (srv, url):
        srv.gate = asyncio.Event()
        p = pool(url, max_connections=3)
        tasks = [asyncio.create_task(p.request("GET", f"/{i}")) for i in range(10)]
        while len(srv.requests) < 3:  # noqa: ASYNC110 - a condition on the server's state
            await asyncio.sleep(0)
        for _ in range(20):
            await asyncio.sleep(0)  # give any excess request the chance to appear
        assert len(srv.requests) == 3
        srv.gate.set()
        assert all(r.status == 200 for r in await asyncio.gather(*tasks))
        assert srv.max_open == 3
        await p.aclose()


async def test_requests_beyond_the_queue_bound_fail_at_once() -> None:
    async with serve(lambda head: ok(b"v")) as (srv, url):
        srv.gate = asyncio.Event()
        p = pool(url, max_connections=2, max_queued=3)
        tasks = [asyncio.create_task(p.request("GET", f"/{i}")) for i in range(5)]
        while len(srv.requests) < 2:  # noqa: ASYNC110 - a condition on the server's state
            await asyncio.sleep(0)
        with pytest.raises(QueueFullError, match="3 requests already queued"):
            await p.request("GET", "/over")
        srv.gate.set()
        assert [r.status for r in await asyncio.gather(*tasks)] == [200] * 5
        assert (await p.request("GET", "/again")).status == 200  # the queue drained
        await p.aclose()


async def test_bodies_are_sent_with_their_length() -> None:
    async with serve(lambda head: ok(b"")) as (srv, url):
        p = pool(url)
        await p.request("PUT", "/k", body=b"12345")
        assert b"Content-Length: 5\r\n" in srv.requests[0]
        await p.aclose()


async def test_a_request_registered_later_with_an_earlier_deadline_moves_the_timer_up() -> None:
    """The one timer is set again for a sooner deadline: a request that waited for a
    connection (and so registers late) with less time left fails on time."""
    failed: dict[str, asyncio.Event] = {"slow": asyncio.Event(), "soon": asyncio.Event()}

    class FakeConnection:
        def __init__(self, name: str) -> None:
            self.name = name

        def fail(self, exc: BaseException) -> None:
            failed[self.name].set()

    loop = asyncio.get_running_loop()
    expiry = Expiry("timed out")
    slow, soon = FakeConnection("slow"), FakeConnection("soon")
    expiry.watch(cast(Any, slow), loop.create_future(), loop.time() + 30.0)
    expiry.watch(cast(Any, soon), loop.create_future(), loop.time() + 0.05)
    async with asyncio.timeout(5.0):  # not 30 s: the timer was moved up
        await failed["soon"].wait()
    assert not failed["slow"].is_set()

"""The thin Client against scripted nodes: a whole request is bounded by ``timeout``.

A socket timeout bounds each read, not the request: a node that trickles its reply a
byte at a time, each byte well within the timeout, would keep ``get_sync`` waiting for
as long as it likes. Both ``get_sync`` and ``get`` must give up with :class:`PeerError`
once ``timeout`` seconds have passed in all, whether the node trickles the status line
and headers or only the body, over plain HTTP or TLS.
"""

from __future__ import annotations

import asyncio
import ssl
import time

import pytest
import trustme

from groupcache import Client, PeerError, Value
from groupcache._protocol.bodies import encode_get_response
from tests.support.scripted import ScriptedPeer

TIMEOUT = 0.5
MARGIN = 0.5  # scheduling slack on a loaded machine; far below the trickle's length
BYTE_EVERY = 0.05  # a tenth of TIMEOUT: no single read ever waits as long as TIMEOUT
VALUE = b"v" * 100  # trickled whole, the reply would take over 5 s: 10x TIMEOUT


def reply(value: bytes, *, close: bool = False) -> tuple[bytes, bytes]:
    """A node's 200 reply for ``value``: (head, body)."""
    body = encode_get_response(Value(value))
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
        b"Content-Length: %d\r\n%s\r\n" % (len(body), b"Connection: close\r\n" if close else b"")
    )
    return head, body


class Trickle:
    """Behaviour of a node that sends its reply one byte every BYTE_EVERY seconds
    (the head at once and then the body so, if ``body_only``)."""

    def __init__(self, *, body_only: bool) -> None:
        self.body_only = body_only
        self.sent = 0  # bytes trickled

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, body = reply(VALUE)
        if self.body_only:
            writer.write(head)
        for byte in body if self.body_only else head + body:
            writer.write(bytes([byte]))
            await writer.drain()
            self.sent += 1
            await asyncio.sleep(BYTE_EVERY)  # the node's pace, the behaviour under test


async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    head, body = reply(b"value")
    writer.write(head + body)
    await writer.drain()


async def answer_and_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    head, body = reply(b"value", close=True)
    writer.write(head + body)
    await writer.drain()
    writer.close()


@pytest.fixture(scope="module")
def tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server, client) contexts for 127.0.0.1 from a throwaway CA."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


def timed_get_sync(client: Client) -> tuple[BaseException | bytes, float]:
    """Call ``get_sync`` (in a worker thread); return its result or error, and seconds."""
    began = time.monotonic()
    try:
        result: BaseException | bytes = client.get_sync("g", "k")
    except Exception as exc:
        result = exc
    return result, time.monotonic() - began


@pytest.mark.parametrize("body_only", [False, True], ids=["head", "body"])
@pytest.mark.parametrize("use_tls", [False, True], ids=["http", "https"])
async def test_get_sync_gives_up_on_a_trickling_node_after_timeout(
    body_only: bool, use_tls: bool, tls: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    trickle = Trickle(body_only=body_only)
    peer = ScriptedPeer(trickle)
    async with peer.serve(ssl=tls[0] if use_tls else None) as url:
        client = Client(url, timeout=TIMEOUT, ssl=tls[1] if use_tls else None)
        try:
            result, took = await asyncio.to_thread(timed_get_sync, client)
        finally:
            client.close()
    assert isinstance(result, PeerError), result
    assert f"no whole reply within {TIMEOUT} s" in str(result)
    assert took < TIMEOUT + MARGIN, f"gave up after {took:.2f} s"
    assert trickle.sent >= 3  # reads kept succeeding: only the deadline could stop it


@pytest.mark.parametrize("body_only", [False, True], ids=["head", "body"])
async def test_async_get_gives_up_on_a_trickling_node_after_timeout(body_only: bool) -> None:
    trickle = Trickle(body_only=body_only)
    peer = ScriptedPeer(trickle)
    async with peer.serve() as url, Client(url, timeout=TIMEOUT) as client:
        began = time.monotonic()
        with pytest.raises(PeerError):
            await client.get("g", "k")
        took = time.monotonic() - began
    assert took < TIMEOUT + MARGIN, f"gave up after {took:.2f} s"
    assert trickle.sent >= 3


@pytest.mark.parametrize("use_tls", [False, True], ids=["http", "https"])
async def test_get_sync_keeps_its_connection_alive_within_the_deadline(
    use_tls: bool, tls: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    peer = ScriptedPeer(answer)
    async with peer.serve(ssl=tls[0] if use_tls else None) as url:
        with Client(url, timeout=TIMEOUT, ssl=tls[1] if use_tls else None) as client:
            # One thread: a Client keeps one connection per thread.
            values = await asyncio.to_thread(lambda: [client.get_sync("g", "k") for _ in "123"])
    assert values == [b"value"] * 3
    assert (peer.connections, peer.requests) == (1, 3)


async def test_get_sync_reads_a_reply_whose_node_closes_the_connection() -> None:
    peer = ScriptedPeer(answer_and_close)
    async with peer.serve() as url:
        with Client(url, timeout=TIMEOUT) as client:
            values = await asyncio.to_thread(lambda: [client.get_sync("g", "k") for _ in "12"])
    assert values == [b"value"] * 2
    assert (peer.connections, peer.requests) == (2, 2)

"""A peer that misbehaves never fails a get and never holds one past the timeout.

One in-process node shares its ring with a scripted peer (a raw asyncio server) that
owns about half the keys. For each fault, 40 keys the peer owns are each asked for 4
times at once: every get must return the local getter's value, every key's one flight
must count one peer error, and the slowest get must end within the configured timeout
(plus scheduling slack).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from groupcache import Value
from groupcache._protocol.bodies import encode_get_response
from tests.support.cluster import cluster
from tests.support.figures import figure
from tests.support.scripted import Behaviour, ScriptedPeer, reset

TIMEOUT = 0.5
SLACK = 0.75
KEYS = 40
GETS_PER_KEY = 4


def reply(status: bytes, body: bytes, *, length: int | None = None, extra: bytes = b"") -> bytes:
    n = len(body) if length is None else length
    return b"HTTP/1.1 " + status + b"\r\nContent-Length: %d\r\n" % n + extra + b"\r\n" + body


async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # answers nothing; returns once the client gives up


async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        async with asyncio.timeout(TIMEOUT * 3):  # a reply after the client's timeout
            await reader.read()
    except TimeoutError:
        writer.write(reply(b"200 OK", encode_get_response(Value(b"too late"))))


async def garbage_protobuf(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(reply(b"200 OK", b"\xff\xff\xff\xff\x0fnot a protobuf"))


async def truncated(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    body = encode_get_response(Value(b"x" * 100))
    writer.write(reply(b"200 OK", body[:30], length=len(body)))
    await writer.drain()
    writer.close()


async def length_over_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(reply(b"200 OK", b"\x0a\x02ok", length=1000))  # then nothing more
    await reader.read()


async def length_under_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    body = encode_get_response(Value(b"y" * 100))
    writer.write(reply(b"200 OK", body, length=50))  # the rest poisons the connection


async def huge_length(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(reply(b"200 OK", b"", length=10 << 30))


async def status_500(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(reply(b"500 Internal Server Error", b"boom\n"))


async def connection_reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    reset(writer)


async def closed_silently(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")


async def bad_chunks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")


async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    for _ in range(1000):  # one byte every 50 ms: each read makes progress, the whole can't
        writer.write(b"\x00")
        await writer.drain()
        await asyncio.sleep(0.05)  # the fault's own pace, not synchronisation


FAULTS: dict[str, Behaviour] = {
    "no reply (hang)": hang,
    "slow (replies after the timeout)": slow,
    "garbage protobuf": garbage_protobuf,
    "truncated body, then close": truncated,
    "Content-Length over the body, held open": length_over_body,
    "Content-Length under the body": length_under_body,
    "Content-Length of 10 GiB": huge_length,
    "500": status_500,
    "connection reset (RST)": connection_reset,
    "closed without a reply": closed_silently,
    "not HTTP": not_http,
    "bad chunked framing": bad_chunks,
    "body trickled byte by byte": trickle,
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_faulty_peer_ends_in_local_loads_and_counted_peer_errors(fault: str) -> None:
    peer = ScriptedPeer(FAULTS[fault])
    async with (
        peer.serve() as peer_url,
        cluster(1, timeout=TIMEOUT, connect_timeout=TIMEOUT) as (node,),
    ):
        node.pool.set_peers(node.url, peer_url)
        candidates = (f"key-{i}" for i in range(10_000))
        keys = [k for k in candidates if node.pool.owner(k) == peer_url][:KEYS]
        assert len(keys) == KEYS
        durations: list[float] = []

        async def get(key: str) -> bytes | BaseException:
            began = time.perf_counter()
            try:
                return await node.group.get(key)
            except Exception as exc:
                return exc
            finally:
                durations.append(time.perf_counter() - began)

        began = time.perf_counter()
        results = await asyncio.gather(*(get(k) for k in keys * GETS_PER_KEY))
        wall = time.perf_counter() - began
        stats = node.group.stats()

    failed = [r for r in results if not isinstance(r, bytes)]
    wrong = [
        (k, r)
        for k, r in zip(keys * GETS_PER_KEY, results, strict=True)
        if r != b"n0:" + k.encode()
    ]
    figure(
        f"peer fault '{fault}': {len(results)} gets of {KEYS} keys, {len(failed)} failed, "
        f"{stats.peer_errors} peer errors, {stats.local_loads} local loads, "
        f"{peer.requests} requests reached the peer, slowest get {max(durations):.2f} s "
        f"(timeout {TIMEOUT} s), wall {wall:.2f} s"
    )
    assert not failed, failed[:3]
    assert not wrong, wrong[:3]
    assert stats.peer_errors == KEYS  # one flight per key, one error per flight
    assert stats.local_loads == KEYS
    assert stats.peer_loads == 0
    assert max(durations) <= TIMEOUT + SLACK

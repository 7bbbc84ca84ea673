"""The transport floor of bench_peer_fetch: the cheapest asyncio code that exchanges the
same bytes as a per-key peer GET.

:func:`capture_exchange` records, through a relay on 127.0.0.1, the exact request our
``HTTPPool(batch=False)`` client sends for one key and the exact response our owner
answers (status line, headers, protobuf ``GetResponse``). The floor then replays them:

* :class:`FloorServer`, in a process of its own (``python benchmarks/_floor.py --loop L
  --response HEX``), answers every request head (up to its empty line) with the recorded
  response bytes;
* :class:`FloorClient` keeps one keep-alive connection per request in flight and writes
  the recorded request with the key in its path; :class:`FloorConnection` finds the end
  of the response head and its Content-Length, and hands over the body.

Nothing else: no routing, no validation, no protobuf decode. Whatever our peer path
costs beyond this is the price of HTTP semantics, limits and the cache itself.

Usage (the server process; bench_peer_fetch starts it):
    .venv/bin/python benchmarks/_floor.py --loop asyncio --response HEX
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from dataclasses import dataclass
from typing import cast

from _common import run
from _fetch import KEYS, Sample, measure

import groupcache

GROUP = "bench"
_HEAD_END = b"\r\n\r\n"
_LENGTHS = (b"\r\nContent-Length:", b"\r\ncontent-length:")


@dataclass(frozen=True)
class Exchange:
    """One recorded per-key GET: the request for ``key`` sent to ``host``, and its reply."""

    request: bytes
    response: bytes
    host: bytes
    key: bytes

    def template(self, host: bytes) -> tuple[bytes, bytes]:
        """The request as (bytes before the key, bytes after it), addressed to ``host``."""
        request = self.request.replace(self.host, host)
        marker = b"/" + self.key + b" HTTP/1."
        at = request.find(marker)
        if at < 0 or request.count(marker) != 1:
            raise RuntimeError(f"no single {marker!r} in the recorded request {request!r}")
        return request[: at + 1], request[at + 1 + len(self.key) :]

    def body(self) -> bytes:
        """The response body (the encoded ``GetResponse``)."""
        return self.response[self.response.index(_HEAD_END) + 4 :]


# -- recording the real exchange ------------------------------------------------------


async def capture_exchange(owner_url: str, key: str = KEYS[0]) -> Exchange:
    """Get ``key`` with our client through a recording relay to ``owner_url``."""
    owner_host, owner_port = owner_url.removeprefix("http://").rsplit(":", 1)
    sent, answered = bytearray(), bytearray()
    finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, log: bytearray) -> None:
        while data := await src.read(65536):
            log += data
            dst.write(data)
        dst.close()

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(owner_host, int(owner_port))
            await asyncio.gather(pump(reader, up_writer, sent), pump(up_reader, writer, answered))
        finally:
            if not finished.done():
                finished.set_result(None)

    server = await asyncio.start_server(relay, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def never(k: str) -> bytes:
        raise AssertionError("the owner should serve every key")

    try:
        with groupcache.Workspace() as ws:
            group = groupcache.Group(GROUP, never, 1 << 20, workspace=ws, hot_cache="never")
            async with groupcache.HTTPPool("http://127.0.0.1:1", workspace=ws, batch=False) as pool:
                pool.set_peers(f"http://127.0.0.1:{port}")
                await group.get(key)
        await asyncio.wait_for(finished, 10)  # the pool closed its connection: all relayed
    finally:
        server.close()
        await server.wait_closed()
    request, response = bytes(sent), bytes(answered)
    if request.count(_HEAD_END) != 1 or not request.endswith(_HEAD_END):
        raise RuntimeError(f"expected one bodiless request, recorded {request!r}")
    if parse_response(response) != (len(response), response[response.index(_HEAD_END) + 4 :]):
        raise RuntimeError(f"expected one response, recorded {response!r}")
    return Exchange(request, response, f"127.0.0.1:{port}".encode(), key.encode())


def parse_response(buf: bytes) -> tuple[int, bytes] | None:
    """The floor's parse: (bytes taken, body) of the response at the start of ``buf``, or
    None while it is incomplete."""
    end = buf.find(_HEAD_END)
    if end < 0:
        return None
    for name in _LENGTHS:
        at = buf.find(name, 0, end)
        if at >= 0:
            break
    else:
        raise RuntimeError("the floor expects a Content-Length")
    start = at + len(name)
    total = end + 4 + int(buf[start : buf.find(b"\r", start)])
    if len(buf) < total:
        return None
    return total, buf[end + 4 : total]


# -- the floor ------------------------------------------------------------------------


class FloorServer(asyncio.Protocol):
    """Answers every request head with the same response bytes."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        start = 0
        while (end := buf.find(_HEAD_END, start)) >= 0:
            assert self.transport is not None
            self.transport.write(self.response)
            start = end + 4
        self.buf = buf[start:]


class FloorConnection(asyncio.Protocol):
    """One keep-alive client connection; :attr:`waiter` gets the body of the response."""

    def __init__(self) -> None:
        self.buf = b""
        self.waiter: asyncio.Future[bytes] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        parsed = parse_response(buf)
        if parsed is None:
            self.buf = buf
            return
        self.buf = b""
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(parsed[1])

    def connection_lost(self, exc: Exception | None) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionError(f"floor connection lost: {exc}"))


class FloorClient:
    """Sends the recorded request for each key, one connection per request in flight."""

    def __init__(self, url: str, exchange: Exchange) -> None:
        host = url.removeprefix("http://")
        self._host, port = host.rsplit(":", 1)
        self._port = int(port)
        self._prefix, self._suffix = exchange.template(host.encode())
        self._idle: list[FloorConnection] = []
        self._all: list[FloorConnection] = []
        self._loop = asyncio.get_running_loop()

    async def get(self, key: str) -> bytes:
        idle = self._idle
        if idle:
            conn = idle.pop()
        else:
            _, conn = await self._loop.create_connection(FloorConnection, self._host, self._port)
            self._all.append(conn)
        waiter: asyncio.Future[bytes] = self._loop.create_future()
        conn.waiter = waiter
        assert conn.transport is not None
        conn.transport.write(self._prefix + key.encode() + self._suffix)
        body = await waiter
        idle.append(conn)
        return body

    def close(self) -> None:
        for conn in self._all:
            if conn.transport is not None:
                conn.transport.close()


async def floor_series(
    loop: str, url: str, pid: int, exchange: Exchange, levels: list[int], seconds: float
) -> list[Sample]:
    """Measure the floor at each level of ``levels`` (the server at ``url``, PID ``pid``)."""
    client = FloorClient(url, exchange)
    try:
        if await client.get(KEYS[1]) != exchange.body():
            raise RuntimeError("the floor server did not answer the recorded body")
        return [await measure("floor", loop, client.get, c, seconds, pid) for c in levels]
    finally:
        client.close()


def floor_command(loop: str, exchange: Exchange) -> list[str]:
    """The command line of a floor server process answering ``exchange``'s response."""
    return [sys.executable, __file__, "--loop", loop, "--response", exchange.response.hex()]


async def serve(response: bytes) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: FloorServer(response), "127.0.0.1", 0)
    print(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    try:
        await loop.run_in_executor(None, sys.stdin.read)  # until EOF
    finally:
        server.close()
        with contextlib.suppress(OSError):
            await server.wait_closed()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loop", default="asyncio")
    parser.add_argument("--response", required=True, help="the response bytes, in hex")
    args = parser.parse_args()
    run(serve(bytes.fromhex(args.response)), args.loop)


if __name__ == "__main__":
    main()

"""Shared chaos helpers: figures, memory readings, scripted misbehaving peers and the
tombstone that counts attempts to reach a dead one."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl as ssl_module
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable

PAGE = os.sysconf("SC_PAGE_SIZE")

FIGURES: list[str] = []
"""Every ``FIGURE:`` line of this run, in order; conftest.py shows and saves them."""


def figure(text: str) -> None:
    """Record one report line and print it (seen with ``-s``).

    The "chaos figures" section of the terminal summary repeats every recorded line,
    so they appear in CI output too, and conftest.py writes them to a file.
    """
    line = f"FIGURE: {text}"
    FIGURES.append(line)
    print(f"\n{line}", flush=True)


def rss_bytes() -> int:
    """This process's resident set size now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def mib(n: float) -> str:
    return f"{n / (1 << 20):.1f} MiB"


Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
"""What a scripted peer does once it has read a whole request."""


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """Read one request (head and Content-Length body); return its head."""
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":", 1)[1]))
    return head


def reset(writer: asyncio.StreamWriter) -> None:
    """Abort the connection with a TCP RST instead of a FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class ScriptedPeer:
    """A raw asyncio server on 127.0.0.1 that misbehaves as ``behaviour`` says.

    Every handler task is tracked and cancelled at close, so nothing is left pending.
    """

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.requests = 0
        self.connections = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        try:
            while True:
                try:
                    await read_request(reader)
                except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
                    return
                self.requests += 1
                await self.behaviour(reader, writer)
                if writer.is_closing():
                    return
        except ConnectionError:
            return
        except asyncio.CancelledError:
            # serve() cancels the handlers still running at close; end as any other
            # handler, else Python 3.11's start_server logs "Exception in callback".
            return
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()

    @contextlib.asynccontextmanager
    async def serve(self, ssl: ssl_module.SSLContext | None = None) -> AsyncIterator[str]:
        """Listen on a free port (with TLS if ``ssl``); yield the peer URL; stop and reap
        every handler."""
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=ssl)
        port = server.sockets[0].getsockname()[1]
        try:
            yield f"{'http' if ssl is None else 'https'}://127.0.0.1:{port}"
        finally:
            server.close()
            for writer in list(self._writers):
                writer.close()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await server.wait_closed()


class _ResetOnConnect(asyncio.Protocol):
    def __init__(self, attempts: list[float]) -> None:
        self.attempts = attempts

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.attempts.append(time.perf_counter())
        assert isinstance(transport, asyncio.Transport)
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()


class Tombstone:
    """Listens on a dead peer's port and resets every connection, timing each attempt.

    The kernel would refuse them unseen; here each one is counted, with its
    ``time.perf_counter()`` in :attr:`attempts`, and the client still gets a transport
    error (a reset instead of a refusal) at once, as from a dead peer.
    """

    def __init__(self) -> None:
        self.attempts: list[float] = []

    @contextlib.asynccontextmanager
    async def listen(self, port: int) -> AsyncIterator[None]:
        """Listen on 127.0.0.1:``port`` (free again once its process is reaped)."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _ResetOnConnect(self.attempts), "127.0.0.1", port, reuse_address=True
        )
        try:
            yield
        finally:
            server.close()
            await server.wait_closed()

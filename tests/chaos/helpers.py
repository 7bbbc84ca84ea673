"""Helpers of the chaos tests: memory readings and the tombstone that counts attempts to
reach a dead peer (figures: tests.support.figures; scripted peers: tests.support.scripted)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import time
from collections.abc import AsyncIterator

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """This process's resident set size now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def mib(n: float) -> str:
    return f"{n / (1 << 20):.1f} MiB"


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

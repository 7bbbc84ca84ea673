"""A scripted peer: a raw asyncio server on 127.0.0.1 that misbehaves as a test says.

Each request (head and Content-Length body) is read, then the test's behaviour decides
what, if anything, goes back: a stall, garbage, a reset, a half response.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl as ssl_module
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

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

"""An asyncio TCP proxy that passes bytes through and can go silent without closing anything.

It listens on ``host`` (127.0.0.1, or a bridge gateway for the pods of a network
namespace) and forwards every connection to ``upstream``. ``blackhole()`` models a dead
link that neither side notices: a NAT or conntrack entry dropped, a node gone, a
middlebox that keeps the socket but forwards nothing. Bytes already in flight are
swallowed; both connections stay open. Connections made after it are forwarded normally
(the route came back), so a client that reconnects recovers.
"""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["TCPProxy"]


class _Link:
    """One client connection and its upstream; ``silent`` stops both directions."""

    def __init__(self) -> None:
        self.silent = False
        self.ended = False  # a side closed before any blackhole: nothing left to silence
        self.writers: list[asyncio.StreamWriter] = []


class TCPProxy:
    """Forward ``host``:<port> to ``upstream``; use ``async with``."""

    def __init__(self, upstream_host: str, upstream_port: int, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self._upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._links: list[_Link] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> TCPProxy:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for link in self._links:
            for writer in link.writers:
                writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def blackhole(self) -> int:
        """Silence every open connection (nothing forwarded, nothing closed); return how many."""
        live = [link for link in self._links if not link.silent and not link.ended]
        for link in live:
            link.silent = True
        return len(live)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link()
        self._links.append(link)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.close()
            return
        link.writers += [writer, up_writer]
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(link, src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _pump(link: _Link, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await src.read(65536):
                if link.silent:
                    continue  # swallowed: the far side never sees it, nor an EOF
                dst.write(data)
                await dst.drain()
            if not link.silent:
                link.ended = True
                dst.close()
        if link.silent:  # keep the other side open, as a dead route does, until __aexit__
            await asyncio.Event().wait()

"""An HTTPPool served from its own event loop in a background thread, for raw-socket tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Any

from groupcache import Group, HTTPPool, NotFoundError, Workspace

MAX_KEY_BYTES = 1024
MAX_BODY_BYTES = 256 << 10


async def getter(key: str) -> bytes:
    if key.startswith("nf"):
        raise NotFoundError(f"no {key!r}")
    if key.startswith("err"):
        raise RuntimeError(f"origin failed for {key!r}")
    return b"v:" + key.encode("utf-8", "surrogateescape")


class ServerThread:
    """One node (group ``g``, no peers) on 127.0.0.1, its loop in debug mode."""

    def __init__(self, **pool_kwargs: Any) -> None:
        self._pool_kwargs = {"max_body_bytes": MAX_BODY_BYTES, **pool_kwargs}
        self.kind: str = pool_kwargs.get("server", "auto")
        self.loop = asyncio.new_event_loop()
        self.loop.set_debug(True)
        self.loop.slow_callback_duration = 5.0
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-server", daemon=True)
        self.workspace = Workspace()
        self.group = Group("g", getter, 1 << 20, workspace=self.workspace, max_key_bytes=1024)
        self.pool: HTTPPool | None = None
        self.leftover = 0  # tasks still pending on the loop after pool.aclose()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self._ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        self.pool = HTTPPool("http://127.0.0.1:0", workspace=self.workspace, **self._pool_kwargs)
        url = await self.pool.start("127.0.0.1", 0)
        self.port = int(url.rsplit(":", 1)[1])

    def start(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(10):
            raise TimeoutError("server thread did not start")
        return self

    def stop(self) -> None:
        pool = self.pool
        if pool is not None:
            asyncio.run_coroutine_threadsafe(pool.aclose(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        leftover = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        self.leftover = len(leftover)
        for task in leftover:
            task.cancel()
        if leftover:
            self.loop.run_until_complete(asyncio.wait(leftover))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()
        self.workspace.close()

    def exchange(self, data: bytes, wait: float = 5.0) -> tuple[bytes, bool]:
        """Send raw bytes; return what the server answers until it closes, and whether
        it was still silent and open after ``wait`` seconds (waiting for more input)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=wait) as sock:
            # The server may answer and close before reading everything.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(data)
            chunks = []
            try:
                while chunk := sock.recv(1 << 16):
                    chunks.append(chunk)
            except ConnectionResetError:
                pass
            except TimeoutError:
                return b"".join(chunks), True
            return b"".join(chunks), False


def status_of(response: bytes) -> int | None:
    """The status code of the first final response (after any 100 Continue), or None."""
    while response.startswith(b"HTTP/1.1 100 "):
        response = response.split(b"\r\n\r\n", 1)[1]
    if not response.startswith(b"HTTP/1."):
        return None
    return int(response.split(b" ", 2)[1])

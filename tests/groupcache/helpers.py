"""Helpers of the groupcache tests: fake peers, a picker, scripted peer handlers."""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from groupcache import PeerError, PeerGetter, Value


class FakePeer:
    """An in-memory peer: returns ``b"peer<i>:" + key`` and counts requests."""

    def __init__(self, index: int, *, fail: bool = False) -> None:
        self.url = f"fake://peer{index}"
        self.index = index
        self.fail = fail
        self.hits = 0
        self.sets: list[tuple[str, str, Value]] = []
        self.removes: list[tuple[str, str]] = []

    async def get(self, group: str, key: str) -> Value:
        self.hits += 1
        if self.fail:
            raise PeerError(f"{self.url} is down")
        return Value(f"peer{self.index}:{key}".encode())

    async def set(self, group: str, key: str, value: Value) -> None:
        if self.fail:
            raise PeerError(f"{self.url} is down")
        self.sets.append((group, key, value))

    async def remove(self, group: str, key: str) -> None:
        if self.fail:
            raise PeerError(f"{self.url} is down")
        self.removes.append((group, key))


class ModPicker:
    """golang TestPeers' picker: ``crc32(key) % len(slots)``; a ``None`` slot is local."""

    def __init__(self, slots: Sequence[FakePeer | None]) -> None:
        self.slots = list(slots)

    def pick_peer(self, key: str) -> PeerGetter | None:
        return self.slots[zlib.crc32(key.encode()) % len(self.slots)]

    def remote_peers(self) -> Sequence[PeerGetter]:
        return [p for p in self.slots if p is not None]


async def serve_peer_handler(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> tuple[web.AppRunner, str]:
    """Serve ``handler`` for every method under ``/_groupcache/`` on 127.0.0.1, port 0:
    a scripted peer. Returns the runner (to clean up) and the peer's URL."""
    app = web.Application()
    app.router.add_route("*", "/_groupcache/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def method_counter(counts: Counter[str]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Return an aiohttp middleware that counts the requests it sees by method."""

    @web.middleware
    async def count(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        counts[request.method] += 1
        return await handler(request)

    return count

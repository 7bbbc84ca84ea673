"""RecordingPool: a peer pool stand-in for tests (public in :mod:`kubegroup.testing`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

__all__ = ["RecordingPool"]


class RecordingPool:
    """A peer pool stand-in: records every ``set_peers`` call (use on the event loop)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self._changed = asyncio.Event()

    def set_peers(self, *urls: str) -> None:
        """Record the new peer list."""
        self.calls.append(urls)
        self._changed.set()

    @property
    def peers(self) -> tuple[str, ...] | None:
        """The latest peer list, or None before the first call."""
        return self.calls[-1] if self.calls else None

    async def wait_until(self, predicate: Callable[[RecordingPool], bool]) -> None:
        """Wait until ``predicate(self)`` holds (wrap in ``asyncio.timeout``)."""
        while not predicate(self):
            self._changed.clear()
            await self._changed.wait()

    async def wait_for_peers(self, urls: Iterable[str]) -> None:
        """Wait until the latest peer list equals ``urls`` (in order)."""
        expected = tuple(urls)
        await self.wait_until(lambda pool: pool.peers == expected)

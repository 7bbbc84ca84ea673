"""The bound on one peer's requests in flight: a counter and a FIFO queue of futures.

``asyncio.Semaphore`` would do, but its ``locked()`` and ``acquire()`` scan the waiters
with ``any()`` on every call, a few per cent of a peer GET's CPU; a request that finds a
free slot here costs one comparison.
"""

from __future__ import annotations

import asyncio
import collections

from .._errors import QueueFullError


class Slots:
    """At most ``limit`` holders at once; up to ``max_queued`` more wait in FIFO order
    (``None``: no bound), and one beyond that fails at once with :class:`QueueFullError`.
    """

    __slots__ = ("_free", "_max_queued", "_waiters")

    def __init__(self, limit: int, max_queued: int | None) -> None:
        self._free = limit
        self._max_queued = max_queued
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def try_take(self) -> bool:
        """Take a slot if one is free and nobody waits for one; return whether it did."""
        if self._free and not self._waiters:
            self._free -= 1
            return True
        return False

    async def take(self) -> None:
        """Wait for a slot, in turn.

        Raises:
            QueueFullError: ``max_queued`` requests wait already.
        """
        if self.try_take():
            return
        waiters = self._waiters
        if self._max_queued is not None and len(waiters) >= self._max_queued:
            raise QueueFullError(f"all connections busy and {len(waiters)} requests already queued")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if not waiter.done() or waiter.cancelled():
                if waiter in waiters:
                    waiters.remove(waiter)  # gave up while still queued
            else:
                self.give()  # handed a slot, then cancelled before using it: pass it on
            raise

    def give(self) -> None:
        """Return a slot: to the first waiter still waiting, else to the free ones."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

"""Per-key call deduplication for asyncio (port of golang/groupcache singleflight).

Unlike Go's, every waiter may give up on its own: the work runs in its own task behind
``asyncio.shield``, a cancelled or timed-out waiter only stops waiting, and the task is
cancelled only when its last waiter is gone (mailgun#30). A flight that is *forgotten*
(because a Remove or Set overtook it) keeps serving the waiters it has, while new callers
start a new flight; its ``forgotten`` flag tells the work not to publish a stale result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Flight(Generic[T]):
    """One in-progress call for a key."""

    __slots__ = ("forgotten", "key", "task", "waiters")

    def __init__(self, key: str) -> None:
        self.key = key
        self.waiters = 0
        self.forgotten = False
        self.task: asyncio.Task[T]

    def __repr__(self) -> str:
        return f"<Flight key={self.key!r} waiters={self.waiters} forgotten={self.forgotten}>"


class SingleFlight(Generic[T]):
    """Runs at most one call per key at a time; concurrent callers share its outcome.

    The outcome, value or exception, is delivered to every waiter unchanged and never
    kept after the call ends. Only the event loop that created it may use an instance.
    """

    __slots__ = ("_flights",)

    def __init__(self) -> None:
        self._flights: dict[str, Flight[T]] = {}

    async def do(self, key: str, fn: Callable[[Flight[T]], Awaitable[T]]) -> T:
        """Return the result of ``fn(flight)``, joining the call in progress for ``key``.

        Raises:
            BaseException: whatever ``fn`` raised, unchanged.
        """
        flight = self._flights.get(key)
        if flight is None or flight.task.done():  # done: cancelled before it ever ran
            flight = Flight(key)
            self._flights[key] = flight
            flight.task = asyncio.get_running_loop().create_task(self._run(fn, flight))
        flight.waiters += 1
        try:
            return await asyncio.shield(flight.task)
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.task.done():
                # Nobody wants the result any more: let new callers start afresh.
                self.forget(key, flight)
                flight.task.cancel()
                flight.task.add_done_callback(_retrieve)

    def forget(self, key: str, flight: Flight[T] | None = None) -> None:
        """Detach the flight for ``key`` (if it is ``flight``, when given) and mark it stale."""
        current = self._flights.get(key)
        if current is not None and (flight is None or current is flight):
            del self._flights[key]
            current.forgotten = True

    def forget_all(self) -> None:
        """Detach every flight in progress and mark them stale."""
        for flight in self._flights.values():
            flight.forgotten = True
        self._flights.clear()

    def get(self, key: str) -> Flight[T] | None:
        """Return the flight in progress for ``key``, if any (for introspection)."""
        return self._flights.get(key)

    def __len__(self) -> int:
        return len(self._flights)

    async def _run(self, fn: Callable[[Flight[T]], Awaitable[T]], flight: Flight[T]) -> T:
        try:
            return await fn(flight)
        finally:  # here rather than in a done callback: one loop turn less per call
            if self._flights.get(flight.key) is flight:
                del self._flights[flight.key]

    def __repr__(self) -> str:
        return f"<SingleFlight in_flight={len(self._flights)}>"


def _retrieve(task: asyncio.Task[T]) -> None:
    """Mark a call's exception as retrieved: nobody was left waiting for it."""
    if not task.cancelled():
        task.exception()

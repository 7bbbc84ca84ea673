"""Per-key call deduplication for asyncio (port of golang/groupcache singleflight).

Unlike Go's, every waiter may give up on its own: the work runs in its own task behind
``asyncio.shield``, a cancelled or timed-out waiter only stops waiting, and the task is
cancelled only when its last waiter is gone (mailgun#30). A flight that is *forgotten*
(because a Remove or Set overtook it) keeps serving the waiters it has, while new callers
start a new flight; its ``forgotten`` flag tells the work not to publish a stale result.
"""

from __future__ import annotations

import asyncio
import functools
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
        if flight is None:
            flight = Flight(key)
            self._flights[key] = flight
            flight.task = asyncio.get_running_loop().create_task(_call(fn, flight))
            flight.task.add_done_callback(functools.partial(self._finished, flight))
        flight.waiters += 1
        try:
            return await asyncio.shield(flight.task)
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.task.done():
                # Nobody wants the result any more: let new callers start afresh.
                self.forget(key, flight)
                flight.task.cancel()

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

    def _finished(self, flight: Flight[T], _task: object) -> None:
        if self._flights.get(flight.key) is flight:
            del self._flights[flight.key]
        if not flight.task.cancelled():
            flight.task.exception()  # retrieved: waiters may all be gone

    def __repr__(self) -> str:
        return f"<SingleFlight in_flight={len(self._flights)}>"


async def _call(fn: Callable[[Flight[T]], Awaitable[T]], flight: Flight[T]) -> T:
    return await fn(flight)

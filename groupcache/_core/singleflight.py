"""Per-key call deduplication for asyncio (port of golang/groupcache singleflight).

Unlike Go's, every waiter may give up on its own: the work runs in a task of its own,
each waiter awaits a future of its own, a cancelled or timed-out waiter only stops
waiting, and the task is cancelled only when its last waiter is gone (mailgun#30).
A flight that is *forgotten* (because a Remove or Set overtook it) keeps serving the
waiters it has, while new callers start a new flight; its ``forgotten`` flag tells the
work not to publish a stale result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Flight(Generic[T]):
    """One in-progress call for a key."""

    __slots__ = ("forgotten", "futures", "key", "task")

    def __init__(self, key: str) -> None:
        self.key = key
        self.futures: list[asyncio.Future[T]] = []  # one per waiter
        self.forgotten = False
        self.task: asyncio.Task[None]

    @property
    def waiters(self) -> int:
        """Return how many callers wait for the outcome."""
        return len(self.futures)

    def __repr__(self) -> str:
        return f"<Flight key={self.key!r} waiters={self.waiters} forgotten={self.forgotten}>"


class SingleFlight(Generic[T]):
    """Runs at most one call per key at a time; concurrent callers share its outcome.

    The outcome, value or exception, is delivered to every waiter unchanged and never
    kept after the call ends. Only the event loop that created it may use an instance.
    Each waiter awaits a future of its own, which the call's task resolves as its last
    step (rather than awaiting the task itself, which would cancel it with the waiter).
    """

    __slots__ = ("_flights",)

    def __init__(self) -> None:
        self._flights: dict[str, Flight[T]] = {}

    async def do(self, key: str, fn: Callable[[Flight[T]], Awaitable[T]]) -> T:
        """Return the result of ``fn(flight)``, joining the call in progress for ``key``.

        Raises:
            BaseException: whatever ``fn`` raised, unchanged.
        """
        loop = asyncio.get_running_loop()
        flight = self._flights.get(key)
        if flight is None or flight.task.done():  # done: cancelled before it ever ran
            flight = Flight(key)
            self._flights[key] = flight
            flight.task = loop.create_task(self._run(fn, flight))
        future: asyncio.Future[T] = loop.create_future()
        flight.futures.append(future)
        try:
            return await future
        except BaseException:
            if future.done() and not future.cancelled():
                future.exception()  # the outcome, or one this waiter left unread
                raise
            # This waiter gave up (cancelled, or timed out) before the outcome.
            futures = flight.futures
            if future in futures:
                futures.remove(future)
            if not futures and not flight.task.done():
                # Nobody wants the result any more: let new callers start afresh.
                self.forget(key, flight)
                flight.task.cancel()
            raise

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

    async def _run(self, fn: Callable[[Flight[T]], Awaitable[T]], flight: Flight[T]) -> None:
        try:
            result = await fn(flight)
        except asyncio.CancelledError:
            self._end(flight)
            for future in flight.futures:
                future.cancel()
            raise
        except BaseException as exc:
            self._end(flight)
            for future in flight.futures:
                if not future.done():
                    future.set_exception(exc)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise  # the loop's business too; anything else is the waiters' alone
        else:
            self._end(flight)
            for future in flight.futures:
                if not future.done():
                    future.set_result(result)
        finally:
            flight.futures = []  # the waiters hold theirs; drop the references

    def _end(self, flight: Flight[T]) -> None:
        if self._flights.get(flight.key) is flight:
            del self._flights[flight.key]

    def __repr__(self) -> str:
        return f"<SingleFlight in_flight={len(self._flights)}>"

"""Coalescing concurrent gets for one owner into batch requests (mailgun#9, thanos#2962).

While ``max_in_flight`` batches to a peer are on the wire, further gets wait in a queue;
each time a batch completes, everything queued (up to ``max_keys``) goes out as the next
one. A lone get goes out at once, so batching adds no latency when there is no load, and
under load one request carries many keys. A batch is bounded by bytes as well as keys
(its keys' ``cost`` adds up to ``max_bytes`` at most, the peer's body limit); a key that
alone costs more goes out alone (the sender sends a one-key batch as a plain GET).
At most ``max_pending`` gets wait in the queue
beyond what the free batch slots take at once: one more fails at once with
:class:`PeerError`, and the group loads it locally.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from .._core.value import Value
from .._errors import PeerError

SendBatch = Callable[[list[str]], Awaitable[list[Value | Exception]]]


class Batcher:
    """Queues gets of one group on one peer and sends them in batches.

    Args:
        send: Fetches several keys in one request; returns one value or exception per key,
            in order. An exception it raises fails every key of the batch.
        max_in_flight: Batches on the wire at once.
        max_keys: Most keys in one batch.
        max_pending: Most gets waiting for a batch (``None``: no bound).
        max_bytes: Most bytes the keys of one batch may cost (``None``: no bound).
        cost: The bytes one key costs in a batch.
    """

    __slots__ = (
        "_cost",
        "_in_flight",
        "_max_bytes",
        "_max_in_flight",
        "_max_keys",
        "_max_pending",
        "_pending",
        "_scheduled",
        "_send",
        "_tasks",
    )

    def __init__(
        self,
        send: SendBatch,
        *,
        max_in_flight: int,
        max_keys: int,
        max_pending: int | None = None,
        max_bytes: int | None = None,
        cost: Callable[[str], int] = len,
    ) -> None:
        self._send = send
        self._max_bytes = max_bytes
        self._cost = cost
        self._max_in_flight = max_in_flight
        self._max_keys = max_keys
        self._max_pending = max_pending
        self._pending: list[tuple[str, asyncio.Future[Value]]] = []
        self._in_flight = 0
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def get(self, key: str) -> Value:
        """Return ``key``'s value from the next batch (a cancelled caller just leaves).

        Raises:
            PeerError: ``max_pending`` gets are queued already; this one is not sent.
        """
        if self._max_pending is not None:
            # What the next launch sends at once is not waiting for a busy peer.
            free = (self._max_in_flight - self._in_flight) * self._max_keys
            if len(self._pending) >= self._max_pending + free:
                raise PeerError(f"{len(self._pending)} gets already queued for a batch")
        future: asyncio.Future[Value] = asyncio.get_running_loop().create_future()
        self._pending.append((key, future))
        self._kick()
        return await future

    def _kick(self) -> None:
        if self._pending and not self._scheduled and self._in_flight < self._max_in_flight:
            self._scheduled = True  # launch after this loop turn: gather what arrives with it
            asyncio.get_running_loop().call_soon(self._launch)

    def _launch(self) -> None:
        self._scheduled = False
        while self._pending and self._in_flight < self._max_in_flight:
            # Spread what is queued over the free slots, so that the peer answers one
            # batch while this node handles the previous answer (no lock-step).
            free = self._max_in_flight - self._in_flight
            size = min(self._max_keys, -(-len(self._pending) // free))
            batch = self._take(size)
            if batch:
                self._in_flight += 1
                task = asyncio.get_running_loop().create_task(self._run(batch))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def _take(self, size: int) -> list[tuple[str, asyncio.Future[Value]]]:
        """Take up to ``size`` gets off the queue, and no more than ``max_bytes`` allows
        (at least one); the cancelled ones are dropped."""
        limit = self._max_bytes
        batch: list[tuple[str, asyncio.Future[Value]]] = []
        taken = nbytes = 0
        for key, future in self._pending:
            if taken == size:
                break
            if not future.done():
                if limit is not None:
                    nbytes += self._cost(key)
                    if batch and nbytes > limit:
                        break
                batch.append((key, future))
            taken += 1
        del self._pending[:taken]
        return batch

    async def _run(self, batch: list[tuple[str, asyncio.Future[Value]]]) -> None:
        try:
            results = await self._send([key for key, _ in batch])
        except Exception as exc:
            results = [exc] * len(batch)
        except BaseException:
            for _, future in batch:
                if not future.done():
                    future.set_exception(PeerError("batch request was cancelled"))
            raise
        finally:
            self._in_flight -= 1
            self._kick()
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    def close(self) -> None:
        """Cancel the batches on the wire and fail the queued gets with :class:`PeerError`."""
        for task in list(self._tasks):
            task.cancel()
        pending, self._pending = self._pending, []
        for _, future in pending:
            if not future.done():
                future.set_exception(PeerError("peer connection closed"))

    def __repr__(self) -> str:
        return f"<Batcher queued={len(self._pending)} in_flight={self._in_flight}>"

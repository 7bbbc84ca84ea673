"""Coalescing concurrent gets for one owner into batch requests (mailgun#9, thanos#2962).

While ``max_in_flight`` batches to a peer are on the wire, further gets wait in a queue;
each time a batch completes, everything queued (up to ``max_keys``) goes out as the next
one (:func:`get_batch`, on the peer's channel). A lone get goes out at once, so batching
adds no latency when there is no load, and under load one request carries many keys. A
batch is bounded by bytes as well as keys (its keys' ``cost`` adds up to ``max_bytes`` at
most, the peer's body limit); a key that alone costs more goes out alone (the sender sends
a one-key batch as a plain GET).
At most ``max_pending`` gets wait in the queue
beyond what the free batch slots take at once: one more fails at once with
:class:`PeerError`, and the group loads it locally.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from .._core.value import Value
from .._errors import GroupNotFoundError, PeerError, ReplyTooLargeError, WireError
from .._protocol.bodies import (
    LEFT_OUT,
    RememberedNotFound,
    decode_batch_response,
    encode_batch_request,
)
from .._protocol.headers import CONTENT_TYPE, REPLY_LIMIT_HEADER
from .._protocol.paths import GET_KEYS
from .._protocol.status import item_error, lacks_group
from .connections import ASK_RATE, PeerChannel

SendBatch = Callable[[list[str]], Awaitable[list[Value | Exception]]]

_GETS_AT_ONCE = 8
"""Plain GETs in flight at once for the keys of one batch that are fetched on their own."""


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


async def get_batch(
    channel: PeerChannel, group: str, keys: list[str], rated: bool = False
) -> list[Value | Exception]:
    """Fetch ``keys`` of ``group`` in one batch request on ``channel``: one value or error
    per key, in order (a :data:`SendBatch` for :class:`Batcher`); ``rated``: ask for the
    owner's rate of each key too (batches go to peers of ours only).

    A lone key, and the keys the owner left out to keep its reply under our limit, are
    fetched with plain GETs; so is the whole batch when the owner does not serve batches
    (any more) or cannot take this one.

    Raises:
        PeerError: the request failed, or the reply is not a batch reply.
    """
    if len(keys) == 1:  # a lone get: the common case without load, kept lean
        try:
            return [await channel.get_one(group, keys[0], rated)]
        except Exception as exc:
            return [exc]
    limit = channel.conns.max_body_bytes
    extra = f"{REPLY_LIMIT_HEADER}: {limit}\r\n".encode() + (ASK_RATE if rated else b"")
    body = encode_batch_request(keys)
    path = channel.path(group, GET_KEYS)
    try:
        resp = await channel.request("POST", path, body, content_type=CONTENT_TYPE, extra=extra)
    except PeerError as exc:
        if isinstance(exc.__cause__, ReplyTooLargeError):  # an owner that does not
            return await _get_each(channel, group, keys, rated)  # cut its replies (older)
        raise
    if resp.status == 404 and lacks_group(
        resp.headers, resp.body, group
    ):  # a rolling deploy: it has
        missing = GroupNotFoundError(f"{channel.url}: no such group: {group}")  # others
        return [missing] * len(keys)
    if resp.status in (404, 405):  # no longer a peer of ours at this URL
        channel.serves_batches = False
        return await _get_each(channel, group, keys, rated)
    if resp.status == 413:  # the owner's body limit is below ours
        return await _get_each(channel, group, keys, rated)
    channel.check(resp, "POST", group)
    try:
        items = decode_batch_response(resp.body)
    except WireError as exc:
        raise PeerError(f"{channel.url}: {exc}") from exc
    if len(items) != len(keys):
        raise PeerError(f"{channel.url}: {len(items)} answers for {len(keys)} keys")
    results: list[Value | Exception] = []
    left_out: list[int] = []
    for i, (status, item) in enumerate(items):
        if isinstance(item, Value):
            results.append(item)
        elif status == LEFT_OUT:  # it would have taken the reply over our limit
            left_out.append(i)
            results.append(PeerError(f"{channel.url}: left out"))  # fetched below
        elif isinstance(item, RememberedNotFound):
            results.append(
                item_error(
                    status,
                    item.message,
                    url=channel.url,
                    group=group,
                    path=channel.base,
                    negative_ttl=item.negative_ttl,
                )
            )
        else:
            results.append(
                item_error(status, item, url=channel.url, group=group, path=channel.base)
            )
    if left_out:
        fetched = await _get_each(channel, group, [keys[i] for i in left_out], rated)
        for i, result in zip(left_out, fetched, strict=True):
            results[i] = result
    return results


async def _get_each(
    channel: PeerChannel, group: str, keys: list[str], rated: bool
) -> list[Value | Exception]:
    """Fetch ``keys`` with plain GETs, a few at a time; each key gets its own result."""
    slots = asyncio.Semaphore(_GETS_AT_ONCE)

    async def one(key: str) -> Value | Exception:
        async with slots:
            try:
                return await channel.get_one(group, key, rated)
            except Exception as exc:
                return exc

    return list(await asyncio.gather(*(one(k) for k in keys)))

"""The bound on a peer's requests in flight (connections.Slots)."""

from __future__ import annotations

import asyncio

import pytest

from groupcache._errors import QueueFullError
from groupcache._http.slots import Slots
from tests.support.waiting import until


async def test_free_slots_are_taken_at_once_and_the_rest_wait_in_turn() -> None:
    slots = Slots(2, None)
    assert slots.try_take()
    assert slots.try_take()
    assert not slots.try_take()
    order: list[int] = []

    async def wait(i: int) -> None:
        await slots.take()
        order.append(i)

    tasks = [asyncio.create_task(wait(i)) for i in range(3)]
    await until(lambda: len(slots._waiters) == 3)
    slots.give()
    slots.give()
    await until(lambda: len(order) == 2)
    assert order == [0, 1]
    assert not slots.try_take()  # the third still waits: a free slot goes to it first
    slots.give()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2]


async def test_take_returns_at_once_while_a_slot_is_free() -> None:
    slots = Slots(1, 0)
    await slots.take()
    assert not slots.try_take()


async def test_a_full_queue_fails_at_once() -> None:
    slots = Slots(1, 1)
    assert slots.try_take()
    first = asyncio.create_task(slots.take())
    await until(lambda: len(slots._waiters) == 1)
    with pytest.raises(QueueFullError, match="1 requests already queued"):
        await slots.take()
    slots.give()
    await first


async def test_a_waiter_that_gives_up_leaves_the_queue() -> None:
    slots = Slots(1, None)
    assert slots.try_take()
    task = asyncio.create_task(slots.take())
    await until(lambda: len(slots._waiters) == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not slots._waiters
    slots.give()
    assert slots.try_take()


async def test_a_slot_handed_to_a_waiter_cancelled_meanwhile_passes_on() -> None:
    slots = Slots(1, None)
    assert slots.try_take()
    first = asyncio.create_task(slots.take())
    second = asyncio.create_task(slots.take())
    await until(lambda: len(slots._waiters) == 2)
    slots.give()  # to the first, which is cancelled before it runs again
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await second  # the slot went on to the second
    assert not slots.try_take()
    slots.give()
    assert slots.try_take()

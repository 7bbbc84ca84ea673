"""Per-key call deduplication (ports golang/mailgun singleflight_test.go, plus cancellation)."""

from __future__ import annotations

import asyncio

import pytest

from groupcache._core.singleflight import Flight, SingleFlight
from tests.support.waiting import until


class Boom(BaseException):
    """A BaseException that is not an Exception, as a misbehaving getter might raise."""


async def test_do_returns_the_value() -> None:
    """Ports singleflight.TestDo."""
    sf: SingleFlight[str] = SingleFlight()

    async def fn(_: Flight[str]) -> str:
        return "bar"

    assert await sf.do("key", fn) == "bar"
    assert len(sf) == 0


async def test_do_returns_the_error_unchanged() -> None:
    """Ports singleflight.TestDoErr."""
    sf: SingleFlight[str] = SingleFlight()
    err = ValueError("some error")

    async def fn(_: Flight[str]) -> str:
        raise err

    with pytest.raises(ValueError, match="some error") as info:
        await sf.do("key", fn)
    assert info.value is err


async def test_concurrent_callers_share_one_call() -> None:
    """Ports singleflight.TestDoDupSuppress, synchronised on the waiter count, not sleeps."""
    sf: SingleFlight[str] = SingleFlight()
    release = asyncio.Event()
    calls = 0

    async def fn(_: Flight[str]) -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        return "bar"

    tasks = [asyncio.create_task(sf.do("key", fn)) for _ in range(10)]
    await until(lambda: (f := sf.get("key")) is not None and f.waiters == 10)
    release.set()
    assert await asyncio.gather(*tasks) == ["bar"] * 10
    assert calls == 1


async def test_error_reaches_every_waiter_and_is_not_kept() -> None:
    sf: SingleFlight[str] = SingleFlight()
    release = asyncio.Event()
    calls = 0

    async def fn(_: Flight[str]) -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        raise KeyError("nope")

    tasks = [asyncio.create_task(sf.do("key", fn)) for _ in range(5)]
    await until(lambda: (f := sf.get("key")) is not None and f.waiters == 5)
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, KeyError) for r in results)
    assert len({id(r) for r in results}) == 1  # the very same exception object
    release.clear()
    release.set()
    with pytest.raises(KeyError):
        await sf.do("key", fn)
    assert calls == 2  # the error was not cached: the next call ran again


@pytest.mark.parametrize("cancelled", [0, 1, 4])
async def test_cancelled_waiters_do_not_cancel_the_call_for_the_others(cancelled: int) -> None:
    """Each waiter may give up on its own (mailgun#30); the call goes on for the rest."""
    sf: SingleFlight[str] = SingleFlight()
    release = asyncio.Event()
    calls = 0

    async def fn(_: Flight[str]) -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        return "v"

    tasks = [asyncio.create_task(sf.do("key", fn)) for _ in range(5)]
    await until(lambda: (f := sf.get("key")) is not None and f.waiters == 5)
    for t in tasks[:cancelled]:
        t.cancel()
    await until(lambda: (f := sf.get("key")) is not None and f.waiters == 5 - cancelled)
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results[:cancelled])
    assert results[cancelled:] == ["v"] * (5 - cancelled)
    assert calls == 1


async def test_call_is_cancelled_when_its_last_waiter_leaves() -> None:
    sf: SingleFlight[str] = SingleFlight()
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def fn(_: Flight[str]) -> str:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    tasks = [asyncio.create_task(sf.do("key", fn)) for _ in range(3)]
    await started.wait()
    for t in tasks:
        t.cancel()
    await asyncio.wait_for(cancelled.wait(), 5)
    assert sf.get("key") is None

    async def fresh(_: Flight[str]) -> str:
        return "fresh"

    assert await sf.do("key", fresh) == "fresh"


async def test_a_timed_out_waiter_leaves_the_load_running_for_a_later_one() -> None:
    sf: SingleFlight[str] = SingleFlight()
    release = asyncio.Event()

    async def fn(_: Flight[str]) -> str:
        await release.wait()
        return "v"

    patient = asyncio.create_task(sf.do("key", fn))
    await until(lambda: sf.get("key") is not None)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0):
            await sf.do("key", fn)
    release.set()
    assert await patient == "v"


async def test_base_exception_does_not_wedge_the_key() -> None:
    """Like mailgun TestDoPanic: the key works again after the call blew up."""
    sf: SingleFlight[str] = SingleFlight()

    async def bad(_: Flight[str]) -> str:
        raise Boom()

    async def good(_: Flight[str]) -> str:
        return "ok"

    with pytest.raises(Boom):
        await sf.do("key", bad)
    assert sf.get("key") is None
    assert await sf.do("key", good) == "ok"


async def test_forget_marks_the_flight_stale_and_lets_new_callers_start_afresh() -> None:
    sf: SingleFlight[str] = SingleFlight()
    release = asyncio.Event()
    seen: list[bool] = []

    async def old(flight: Flight[str]) -> str:
        await release.wait()
        seen.append(flight.forgotten)
        return "old"

    async def new(flight: Flight[str]) -> str:
        return "new"

    first = asyncio.create_task(sf.do("key", old))
    await until(lambda: sf.get("key") is not None)
    sf.forget("key")
    assert await sf.do("key", new) == "new"
    release.set()
    assert await first == "old"
    assert seen == [True]


async def test_forget_all_detaches_every_flight() -> None:
    sf: SingleFlight[str] = SingleFlight()
    release = asyncio.Event()

    async def fn(flight: Flight[str]) -> str:
        await release.wait()
        return flight.key

    tasks = [asyncio.create_task(sf.do(k, fn)) for k in "abc"]
    await until(lambda: len(sf) == 3)
    sf.forget_all()
    assert len(sf) == 0
    release.set()
    assert await asyncio.gather(*tasks) == ["a", "b", "c"]
    assert "in_flight=0" in repr(sf)


async def test_a_call_cancelled_from_inside_cancels_every_waiter() -> None:
    sf: SingleFlight[str] = SingleFlight()
    started = asyncio.Event()

    async def cancelled(_: Flight[str]) -> str:
        started.set()
        raise asyncio.CancelledError()

    waiters = [asyncio.create_task(sf.do("key", cancelled)) for _ in range(3)]
    await started.wait()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    assert sf.get("key") is None


async def test_the_outcome_is_delivered_without_the_calls_task_keeping_it() -> None:
    """An error reaches the waiters only: no "Task exception was never retrieved" later."""
    sf: SingleFlight[str] = SingleFlight()
    release = asyncio.Event()

    async def boom(_: Flight[str]) -> str:
        await release.wait()
        raise Boom()

    waiter = asyncio.create_task(sf.do("key", boom))
    await until(lambda: (f := sf.get("key")) is not None and f.waiters == 1)
    flight = sf.get("key")
    assert flight is not None
    release.set()
    with pytest.raises(Boom):
        await waiter
    await flight.task
    assert flight.task.exception() is None

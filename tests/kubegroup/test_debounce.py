"""Debouncer on a scripted clock: leading call at once, one trailing call per window."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any, cast

import pytest

from kubegroup._debounce import Debouncer


class Handle:
    def __init__(self, when: float, fn: Callable[[], None]) -> None:
        self.when, self.fn, self.cancelled = when, fn, False

    def cancel(self) -> None:
        self.cancelled = True


class ScriptedLoop:
    """Just enough of an event loop: call_later is recorded, time moves when told."""

    def __init__(self) -> None:
        self.now = 0.0
        self.handles: list[Handle] = []

    def call_later(self, delay: float, fn: Callable[[], None]) -> Handle:
        handle = Handle(self.now + delay, fn)
        self.handles.append(handle)
        return handle

    def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [h for h in self.handles if h.when <= self.now and not h.cancelled]
        self.handles = [h for h in self.handles if h not in due]
        for h in due:
            h.fn()


def make(delay: float) -> tuple[ScriptedLoop, Debouncer, list[float]]:
    loop = ScriptedLoop()
    runs: list[float] = []
    debouncer = Debouncer(
        cast(asyncio.AbstractEventLoop, loop), delay, lambda: runs.append(loop.now)
    )
    return loop, debouncer, runs


def test_the_first_call_runs_at_once_and_a_burst_becomes_one_trailing_run() -> None:
    loop, d, runs = make(2.0)
    d.trigger()
    assert runs == [0.0]
    for _ in range(5):
        loop.advance(0.1)
        d.trigger()
    assert d.pending
    loop.advance(1.5)
    assert runs == [0.0, 2.0]


def test_the_trailing_run_opens_a_new_window_so_the_rate_stays_bounded() -> None:
    loop, d, runs = make(1.0)
    for _ in range(40):  # a steady stream: one call every 0.1 s for 4 s
        d.trigger()
        loop.advance(0.1)
    loop.advance(2.0)
    assert len(runs) <= 5
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(runs))


def test_a_quiet_window_closes_and_the_next_call_runs_at_once_again() -> None:
    loop, d, runs = make(1.0)
    d.trigger()
    loop.advance(1.0)
    loop.advance(5.0)
    d.trigger()
    assert runs == [0.0, 6.0]


def test_zero_delay_runs_every_call() -> None:
    loop, d, runs = make(0.0)
    for _ in range(3):
        d.trigger()
    assert runs == [0.0, 0.0, 0.0]
    assert loop.handles == []


def test_cancel_drops_the_pending_run_and_later_triggers() -> None:
    loop, d, runs = make(1.0)
    d.trigger()
    d.trigger()
    d.cancel()
    loop.advance(5.0)
    d.trigger()
    assert runs == [0.0]
    assert not d.pending


def test_a_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        Debouncer(cast(Any, ScriptedLoop()), -1, lambda: None)

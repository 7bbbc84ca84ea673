"""Backoff: doubling, jittered into [d/2, d], capped, floored by Retry-After, resettable
by a call or by time."""

from __future__ import annotations

import random

import pytest

from kubegroup._backoff import Backoff


def test_delays_double_with_jitter_up_to_the_cap() -> None:
    b = Backoff(initial=1.0, maximum=8.0, rng=random.Random(1))
    delays = [b.next_delay() for _ in range(6)]
    for delay, base in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert base / 2 <= delay <= base


def test_reset_starts_over_and_at_least_raises_the_floor() -> None:
    b = Backoff(initial=1.0, maximum=8.0, rng=random.Random(2))
    for _ in range(5):
        b.next_delay()
    b.reset()
    assert b.next_delay() <= 1.0
    assert b.next_delay(at_least=30.0) == 30.0


def test_slow_delays_stay_near_the_maximum() -> None:
    b = Backoff(initial=0.1, maximum=10.0, rng=random.Random(3))
    assert all(5.0 <= b.slow_delay() <= 10.0 for _ in range(20))


@pytest.mark.parametrize(("initial", "maximum"), [(0, 1), (2, 1)])
def test_nonsense_bounds_are_refused(initial: float, maximum: float) -> None:
    with pytest.raises(ValueError, match="initial"):
        Backoff(initial=initial, maximum=maximum)


def test_a_delay_long_after_the_previous_one_starts_over() -> None:
    """client-go's backoff manager: healthy for ``reset_after`` s resets the backoff."""
    now = [0.0]
    b = Backoff(
        initial=1.0, maximum=8.0, rng=random.Random(4), reset_after=120.0, clock=lambda: now[0]
    )
    for _ in range(4):
        now[0] += 5.0  # failing over and over: never reset
        b.next_delay()
    now[0] += 100.0
    assert b.next_delay() >= 4.0  # still growing
    now[0] += 121.0
    assert b.next_delay() <= 1.0
    assert b.next_delay() >= 1.0  # counting again from there


def test_without_reset_after_only_reset_starts_over() -> None:
    now = [0.0]
    b = Backoff(initial=1.0, maximum=8.0, rng=random.Random(5), clock=lambda: now[0])
    for _ in range(4):
        b.next_delay()
    now[0] += 1e6
    assert b.next_delay() >= 4.0

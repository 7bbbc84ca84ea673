"""The one condition wait of the tests: ``until``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

TIMEOUT = 10.0
"""Default bound of one wait, in seconds: a failing wait fails, it never hangs."""


async def until(
    predicate: Callable[[], object],
    timeout: float = TIMEOUT,  # noqa: ASYNC109 - a bounded wait is what this helper is
    *,
    interval: float = 0.0,
) -> None:
    """Return once ``predicate()`` is true; raise ``TimeoutError`` after ``timeout`` seconds.

    For state with no event to await. The predicate is checked at once, then after each
    pass of the event loop: with ``interval=0`` the wait only yields, it never waits for
    time to pass. State changed by another thread (a FakeKubeAPI's watch thread) may be
    polled with a small ``interval`` instead, which leaves that thread the CPU.
    """
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - no event exists for this state
            await asyncio.sleep(interval)

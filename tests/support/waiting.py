"""The one condition wait of the tests: ``until``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

TIMEOUT = 10.0
"""Default bound of one wait, in seconds: a failing wait fails, it never hangs."""

THREAD_POLL = 0.005
"""The ``interval`` for state another thread changes. Spinning on the loop instead holds
the GIL against that thread: a KubeGroup's 410 storm took 9.5 s of a 10 s wait under
coverage while spinning, 3.0 s polled at this interval."""


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
    polled with ``interval=THREAD_POLL`` instead, which leaves that thread the CPU.
    """
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - no event exists for this state
            await asyncio.sleep(interval)

"""Stale-while-revalidate: a value past its expiry but within its grace (``Value.grace``)
is served at once while one background refresh per key loads the next one.

The refresh is an ordinary load of the key through the group's singleflight, so gets that
miss meanwhile (past the grace, or from peers) join it rather than start another. The
refresh tasks belong to the group: :meth:`Refresher.aclose` cancels and awaits them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from .._errors import GroupNotFoundError, NotFoundError
from .cache import Cache
from .stats import Stats
from .value import Value

logger = logging.getLogger("groupcache")

RETRY_FIRST = 1.0
"""Seconds after a failed refresh before a stale get starts another; doubled at each
failure in a row, up to :data:`RETRY_MAX`, so an origin that is down is not hammered."""
RETRY_MAX = 30.0
_RETRY_KEYS = 10_000  # keys whose retry time is kept at once; past that, forgotten


class Refresher:
    """Serves a group's stale values and runs their background refreshes.

    Args:
        group: The group's name, for the log.
        caches: The group's main and hot caches, in the order they are read.
        clock: The group's clock.
        stats: The group's counters (``stale_*``).
        load: Loads a key as a get's miss does (through the group's singleflight).
    """

    __slots__ = ("_caches", "_clock", "_group", "_load", "_retry", "_stats", "_tasks")

    def __init__(
        self,
        group: str,
        caches: tuple[Cache, Cache],
        clock: Callable[[], float],
        stats: Stats,
        load: Callable[[str], Awaitable[Value]],
    ) -> None:
        self._group = group
        self._caches = caches
        self._clock = clock
        self._stats = stats
        self._load = load
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._retry: dict[str, tuple[float, float]] = {}  # key -> (not before, last delay)

    @property
    def running(self) -> int:
        """Return how many refreshes are in progress."""
        return len(self._tasks)

    def serve(self, key: str) -> bytes | None:
        """Return the stale bytes of ``key`` and make sure a refresh of it runs, or ``None``
        when no cached value of ``key`` is within its grace (on the home loop, after a miss)."""
        now = self._clock()
        for cache in self._caches:
            value = cache.stale(key, now)
            if value is not None:
                self._stats.stale_hits += 1
                loop = asyncio.get_running_loop()
                task = self._tasks.get(key)
                retry = self._retry.get(key)
                waiting = retry is not None and now < retry[0]  # after a failure: back off
                if (task is None or task.get_loop() is not loop) and not waiting:
                    self._tasks[key] = loop.create_task(
                        self._refresh(key), name=f"groupcache-refresh {self._group}/{key[:64]}"
                    )
                return value.data
        return None

    async def _refresh(self, key: str) -> None:
        try:
            await self._load(key)
        except Exception as exc:
            self._stats.stale_refresh_errors += 1
            if isinstance(exc, NotFoundError) and not isinstance(exc, GroupNotFoundError):
                self._retry.pop(key, None)
                self._drop_stale(key)  # the value no longer exists: serve it no more
                logger.debug("groupcache: %s/%r is gone: %s", self._group, key, exc)
            else:
                delay = self._back_off(key)
                logger.warning(
                    "groupcache: refresh of stale %s/%r failed (stale value kept; next try "
                    "in %.0f s): %r",
                    self._group,
                    key,
                    delay,
                    exc,
                )
        else:
            self._retry.pop(key, None)
            self._stats.stale_refreshes += 1
            self._drop_stale(key)  # a fresh value not cached (hot cache policy, size)
        finally:
            if self._tasks.get(key) is asyncio.current_task():
                del self._tasks[key]

    def _back_off(self, key: str) -> float:
        """Hold the next refresh of ``key`` back; return for how many seconds."""
        last = self._retry.get(key)
        delay = RETRY_FIRST if last is None else min(RETRY_MAX, 2 * last[1])
        if len(self._retry) >= _RETRY_KEYS:
            self._retry.clear()
        self._retry[key] = (self._clock() + delay, delay)
        return delay

    def _drop_stale(self, key: str) -> None:
        now = self._clock()
        for cache in self._caches:
            if cache.stale(key, now) is not None:
                cache.remove(key)

    async def aclose(self) -> None:
        """Cancel the refreshes in progress on this loop and wait for them to end."""
        loop = asyncio.get_running_loop()
        tasks = [t for t in self._tasks.values() if t.get_loop() is loop]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

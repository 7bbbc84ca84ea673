"""Negative caching: a key's :class:`NotFoundError` remembered for a while
(``Group(negative_ttl=...)``), so that gets of a missing key do not reach the origin.

Remembered not-founds live in a byte-bounded LRU of their own beside the value caches:
each costs its key, its message (cut to :data:`MAX_MESSAGE`) and :data:`ENTRY_OVERHEAD`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from .._errors import GroupcacheError, GroupNotFoundError, NotFoundError
from .singleflight import Flight
from .stats import Stats
from .value import check_seconds, key_size

ENTRY_OVERHEAD = 64
"""Bytes counted per remembered not-found besides its key and message."""
MAX_MESSAGE = 256
"""Characters of a not-found's message that are kept (and said again)."""


def is_negative(exc: BaseException) -> bool:
    """Whether ``exc`` says that a value does not exist (not that a peer lacks the group)."""
    return isinstance(exc, NotFoundError) and not isinstance(exc, GroupNotFoundError)


class NegativeCache:
    """Keys known not to exist until a deadline, at most ``max_bytes`` of them (LRU).

    Args:
        clock: The group's clock (Unix seconds).
        max_bytes: The budget; ``<= 0`` remembers nothing.
        stats: The group's counters (``negative_hits``).
        ttl: Seconds a getter's not-found is remembered (``negative_ttl``; 0: never).

    Raises:
        GroupcacheError: ``ttl`` is not finite, non-negative seconds.
    """

    __slots__ = ("_clock", "_od", "_stats", "max_bytes", "nbytes", "ttl")

    def __init__(
        self, clock: Callable[[], float], max_bytes: int, stats: Stats, ttl: float
    ) -> None:
        check_seconds("negative_ttl", ttl, GroupcacheError)
        self.ttl = ttl
        self._clock = clock
        self._stats = stats
        self._od: OrderedDict[str, tuple[float, str]] = OrderedDict()  # key: (until, message)
        self.max_bytes = max_bytes
        self.nbytes = 0

    def add(self, key: str, ttl: float, message: str) -> None:
        """Remember for ``ttl`` seconds that ``key`` does not exist (as ``message`` says)."""
        message = message[:MAX_MESSAGE]
        cost = _cost(key, message)
        if ttl <= 0 or cost > self.max_bytes:
            return
        self.remove(key)
        self._od[key] = (self._clock() + ttl, message)
        self.nbytes += cost
        while self.nbytes > self.max_bytes:
            old, (_, old_message) = self._od.popitem(last=False)
            self.nbytes -= _cost(old, old_message)

    def note(self, flight: Flight[Any], exc: BaseException, ttl: float | None = None) -> None:
        """Remember the key of the load ``flight`` for ``ttl`` seconds (default:
        :attr:`ttl`) if ``exc`` says it does not exist, unless a write overtook the load."""
        ttl = self.ttl if ttl is None else ttl
        if ttl and is_negative(exc) and not flight.forgotten:
            self.add(flight.key, ttl, str(exc))

    def check(self, key: str) -> None:
        """Raise the remembered :class:`NotFoundError` of ``key``, if it is still live.

        Raises:
            NotFoundError: ``key`` is remembered not to exist (``negative_ttl`` set on it).
        """
        entry = self._od.get(key)
        if entry is None:
            return
        until, message = entry
        left = until - self._clock()
        if left < 0:
            self.remove(key)
            return
        self._od.move_to_end(key)
        self._stats.negative_hits += 1
        exc = NotFoundError(message)
        exc.negative_ttl = left
        raise exc

    def ttl_left(self, key: str) -> float | None:
        """Return the seconds ``key`` is still remembered not to exist, or ``None``."""
        entry = self._od.get(key)
        if entry is None:
            return None
        left = entry[0] - self._clock()
        return left if left >= 0 else None

    def remove(self, key: str) -> None:
        """Forget ``key`` (a write of it)."""
        entry = self._od.pop(key, None)
        if entry is not None:
            self.nbytes -= _cost(key, entry[1])

    def clear(self) -> None:
        """Forget every key."""
        self._od.clear()
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._od)


def _cost(key: str, message: str) -> int:
    return key_size(key) + len(message) + ENTRY_OVERHEAD

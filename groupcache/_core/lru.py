"""A least-recently-used map over an OrderedDict (port of golang/groupcache lru/lru.go).

It knows nothing of sizes or expiry; :mod:`groupcache._core.cache` adds those.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """An LRU map; ``max_entries == 0`` means no entry limit.

    ``on_evicted(key, value)`` is called when an entry leaves the map because it was
    evicted or removed, but not when it is replaced by :meth:`add`.
    """

    __slots__ = ("_od", "max_entries", "on_evicted")

    def __init__(
        self,
        max_entries: int = 0,
        on_evicted: Callable[[K, V], None] | None = None,
    ) -> None:
        self._od: OrderedDict[K, V] = OrderedDict()
        self.max_entries = max_entries
        self.on_evicted = on_evicted

    def add(self, key: K, value: V) -> V | None:
        """Insert or replace ``key`` as most recently used; return the replaced value."""
        od = self._od
        old = od.get(key)
        od[key] = value
        if old is not None:
            od.move_to_end(key)
        elif self.max_entries and len(od) > self.max_entries:
            self.remove_oldest()
        return old

    def get(self, key: K) -> V | None:
        """Return the value of ``key`` and mark it recently used, or ``None``."""
        value = self._od.get(key)
        if value is not None:
            self._od.move_to_end(key)
        return value

    def peek(self, key: K) -> V | None:
        """Return the value of ``key`` without touching its recency."""
        return self._od.get(key)

    def remove(self, key: K) -> V | None:
        """Remove ``key``; return its value, or ``None`` when absent."""
        value = self._od.pop(key, None)
        if value is not None and self.on_evicted is not None:
            self.on_evicted(key, value)
        return value

    def remove_oldest(self) -> tuple[K, V] | None:
        """Remove and return the least recently used entry, or ``None`` when empty."""
        if not self._od:
            return None
        key, value = self._od.popitem(last=False)
        if self.on_evicted is not None:
            self.on_evicted(key, value)
        return key, value

    def clear(self) -> None:
        """Remove every entry, calling ``on_evicted`` for each."""
        while self._od:
            self.remove_oldest()

    def __len__(self) -> int:
        return len(self._od)

    def __contains__(self, key: object) -> bool:
        return key in self._od

    def __iter__(self) -> Iterator[K]:
        """Iterate keys from least to most recently used."""
        return iter(list(self._od))

    def __repr__(self) -> str:
        return f"<LRU entries={len(self._od)} max_entries={self.max_entries}>"

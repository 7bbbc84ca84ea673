"""A byte-accounted LRU cache of values with lazy expiry (the ``cache`` type of groupcache.go).

Sizes are ``len(key) + len(value)`` in bytes, the key measured in UTF-8, as in Go. The
budget shared by a group's main and hot caches is enforced by the group, not here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ._lru import LRU
from ._value import Value


def key_size(key: str) -> int:
    """Return the size of ``key`` in bytes as Go counts it (UTF-8; lone surrogates kept)."""
    if key.isascii():
        return len(key)
    return len(key.encode("utf-8", "surrogateescape"))


@dataclass(frozen=True, slots=True)
class CacheStats:
    """A snapshot of one cache's counters (Go's ``CacheStats``)."""

    bytes: int
    items: int
    gets: int
    hits: int
    evictions: int


class Cache:
    """An LRU of :class:`Value` with byte accounting and lazy, strict-before expiry.

    Only the event loop that owns the group touches a cache, so it needs no lock.
    Counters: ``gets`` and ``hits`` per lookup; ``evictions`` counts entries dropped by
    :meth:`remove_oldest` (budget pressure) and expired entries found by a lookup, not
    explicit removals or replacements.
    """

    __slots__ = ("_clock", "_lru", "evictions", "gets", "hits", "nbytes")

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lru: LRU[str, Value] = LRU()
        self._clock = clock
        self.nbytes = 0
        self.gets = 0
        self.hits = 0
        self.evictions = 0

    def get(self, key: str) -> Value | None:
        """Return the live value of ``key`` (marking it recently used), or ``None``."""
        self.gets += 1
        value = self._lru.get(key)
        if value is None:
            return None
        if value.expire_at is not None and value.expire_at < self._clock():
            self._drop(key)
            self.evictions += 1
            return None
        self.hits += 1
        return value

    def add(self, key: str, value: Value) -> None:
        """Insert or replace ``key``, keeping the byte count exact (mailgun PR#52)."""
        old = self._lru.add(key, value)
        if old is None:
            self.nbytes += key_size(key) + len(value.data)
        else:
            self.nbytes += len(value.data) - len(old.data)

    def remove(self, key: str) -> bool:
        """Remove ``key``; return whether it was present."""
        return self._drop(key)

    def remove_oldest(self) -> None:
        """Evict the least recently used entry (no-op when empty)."""
        item = self._lru.remove_oldest()
        if item is not None:
            key, value = item
            self.nbytes -= key_size(key) + len(value.data)
            self.evictions += 1

    def clear(self) -> None:
        """Drop every entry without counting evictions."""
        self._lru = LRU()
        self.nbytes = 0

    def _drop(self, key: str) -> bool:
        value = self._lru.remove(key)
        if value is None:
            return False
        self.nbytes -= key_size(key) + len(value.data)
        return True

    @property
    def items(self) -> int:
        """Return the number of entries, expired ones not yet seen included."""
        return len(self._lru)

    def __contains__(self, key: object) -> bool:
        return key in self._lru

    def stats(self) -> CacheStats:
        """Return a snapshot of the counters."""
        return CacheStats(
            bytes=self.nbytes,
            items=len(self._lru),
            gets=self.gets,
            hits=self.hits,
            evictions=self.evictions,
        )

    def __repr__(self) -> str:
        return f"<Cache bytes={self.nbytes} items={len(self._lru)}>"

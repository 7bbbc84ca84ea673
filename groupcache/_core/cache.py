"""A byte-accounted LRU cache of values with lazy expiry (the ``cache`` type of groupcache.go
and its lru/lru.go in one).

Sizes are ``len(key) + len(value)`` in bytes, the key measured in UTF-8, as in Go. The
budget shared by a group's main and hot caches is kept by :func:`populate`.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from .value import Value, key_size

logger = logging.getLogger("groupcache")


@dataclass(frozen=True, slots=True)
class CacheStats:
    """A snapshot of one cache's counters (Go's ``CacheStats``)."""

    bytes: int
    items: int
    gets: int
    hits: int
    evictions: int
    evictions_nonexpired: int = 0
    """Evictions of live entries because the budget was full (modernprogram's counter)."""


Entry: TypeAlias = bytes | Value
"""What a cache stores: plain bytes for a value that never expires (47 bytes less per
entry than a :class:`Value`), the :class:`Value` itself when it has an expiry."""


def entry_size(entry: Entry) -> int:
    """Return the length of an entry's data."""
    return len(entry) if isinstance(entry, bytes) else len(entry.data)


class Cache:
    """An LRU map of :class:`Value` with byte accounting and lazy, strict-before expiry.

    Only the event loop that owns the group changes a cache, so it needs no lock (reads
    from other threads use :meth:`get_threadsafe`). Counters: ``hits`` and ``misses`` per
    :meth:`lookup`; ``evictions`` counts entries dropped by :meth:`remove_oldest` (budget
    pressure) and expired entries found by a lookup, not explicit removals or
    replacements.
    """

    __slots__ = (
        "_clock",
        "_od",
        "evictions",
        "evictions_nonexpired",
        "hits",
        "misses",
        "nbytes",
        "peek",
        "touch",
    )

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._od: OrderedDict[str, Entry] = OrderedDict()  # least recently used first
        self.peek: Callable[[str], Entry | None] = self._od.get
        """Return the entry of ``key`` as stored, expired or not, counting nothing and
        leaving its recency: with :attr:`touch` and :attr:`hits`, the inlined hit of a
        never-expiring entry (bound C methods: a Python call costs a fifth of a hit)."""
        self.touch: Callable[[str], None] = self._od.move_to_end
        """Mark ``key`` most recently used (``KeyError`` if it is absent)."""
        self._clock = clock
        self.nbytes = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.evictions_nonexpired = 0

    def lookup(self, key: str) -> Entry | None:
        """Return the live entry of ``key``, marking it recently used, or ``None``.

        Every read on the owning loop is this one; it counts a hit or a miss. A value
        that has expired is a miss, and is dropped here (an eviction) unless it is within
        its grace (:meth:`stale`).
        """
        entry = self._od.get(key)
        if entry is None:
            self.misses += 1
            return None
        if entry.__class__ is not bytes:
            now = self._clock()
            if entry.expired(now):  # type: ignore[union-attr]
                until = entry.stale_until()  # type: ignore[union-attr]
                if until is None or until < now:
                    self.remove(key)
                    self.evictions += 1
                self.misses += 1
                return None
        self._od.move_to_end(key)
        self.hits += 1
        return entry

    def get(self, key: str) -> Value | None:
        """Return the live value of ``key`` as a :class:`Value` (:meth:`lookup`), or ``None``."""
        entry = self.lookup(key)
        return Value(entry) if isinstance(entry, bytes) else entry

    def stale(self, key: str, now: float) -> Value | None:
        """Return ``key``'s value if it has expired at ``now`` but is within its grace
        (stale-while-revalidate), counting nothing and leaving its recency; else ``None``."""
        entry = self._od.get(key)
        if entry is None or entry.__class__ is bytes or not entry.expired(now):  # type: ignore[union-attr]
            return None
        until = entry.stale_until()  # type: ignore[union-attr]
        return entry if until is not None and now <= until else None  # type: ignore[return-value]

    def get_threadsafe(self, key: str) -> bytes | None:
        """Return the live bytes of ``key`` from any thread, marking it recently used.

        Each step is one atomic OrderedDict operation under the GIL, and it changes no
        counter or size, so it cannot corrupt what the owning loop maintains. An expired
        value is left for the loop to drop. The caller counts the lookup.
        """
        entry = self._od.get(key)
        if entry.__class__ is not bytes:
            if entry is None or entry.expired(self._clock()):  # type: ignore[union-attr]
                return None
            entry = entry.data  # type: ignore[union-attr]
        try:  # noqa: SIM105 - contextlib.suppress costs ~10x more on this hot path
            self._od.move_to_end(key)
        except KeyError:  # removed by the loop meanwhile: still a valid read
            pass
        return entry

    def add(self, key: str, value: Entry) -> Entry | None:
        """Insert or replace ``key`` as most recently used, keeping the byte count exact
        (mailgun PR#52); return the entry it replaced."""
        if isinstance(value, Value) and value.expire_at is None:
            value = value.data  # stored compactly
        od = self._od
        old = od.get(key)
        od[key] = value
        size = entry_size(value)
        if old is None:
            self.nbytes += key_size(key) + size
        else:
            od.move_to_end(key)
            self.nbytes += size - entry_size(old)
        return old

    def remove(self, key: str) -> Entry | None:
        """Remove ``key``; return its entry, or ``None`` when absent."""
        entry = self._od.pop(key, None)
        if entry is not None:
            self.nbytes -= key_size(key) + entry_size(entry)
        return entry

    def remove_oldest(self) -> tuple[str, Entry] | None:
        """Evict the least recently used entry (no-op when empty)."""
        if not self._od:
            return None
        key, entry = self._od.popitem(last=False)
        self.nbytes -= key_size(key) + entry_size(entry)
        self.evictions += 1
        if isinstance(entry, bytes) or not entry.expired(self._clock()):
            self.evictions_nonexpired += 1
        return key, entry

    def recount(self) -> int:
        """Reset the byte count to the entries' true size; return how far it was off."""
        actual = sum(key_size(k) + entry_size(e) for k, e in self._od.items())
        drift, self.nbytes = self.nbytes - actual, actual
        return drift

    def clear(self) -> None:
        """Drop every entry without counting evictions."""
        self._od.clear()
        self.nbytes = 0

    def __len__(self) -> int:
        """Return the number of entries, expired ones not yet seen included."""
        return len(self._od)

    def __contains__(self, key: object) -> bool:
        return key in self._od

    def stats(self) -> CacheStats:
        """Return a snapshot of the counters."""
        return CacheStats(
            bytes=self.nbytes,
            items=len(self._od),
            gets=self.hits + self.misses,
            hits=self.hits,
            evictions=self.evictions,
            evictions_nonexpired=self.evictions_nonexpired,
        )

    def __repr__(self) -> str:
        return f"<Cache bytes={self.nbytes} items={len(self._od)}>"


def populate(main: Cache, hot: Cache, limit: int, key: str, value: Value, into: Cache) -> None:
    """Add ``key`` to ``into`` (``main`` or ``hot``), then evict to keep both within
    ``limit`` bytes: the hot tail while hot holds over an eighth of main, else the main
    tail (``populateCache`` of groupcache.go). A value over the whole budget is not
    cached."""
    if limit <= 0 or key_size(key) + len(value.data) > limit:
        return
    into.add(key, value)
    while main.nbytes + hot.nbytes > limit:
        victim = hot if hot.nbytes > main.nbytes // 8 else main
        if victim.remove_oldest() is None:  # empty, yet counted: a bug, never a hang
            logger.warning("groupcache: byte count off by %d; recounted", victim.recount())

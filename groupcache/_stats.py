"""A group's counters (the ``Stats`` struct of groupcache.go) and their frozen snapshot."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class GroupStats:
    """A snapshot of a group's counters, named as Go's in snake_case.

    Attributes:
        gets: every get, including those serving peers.
        cache_hits: hits in the main or hot cache, including the re-check in a flight.
        peer_loads: successful fetches from the owning peer.
        peer_errors: failed peer fetches (each followed by a local load).
        loads: gets that missed the cache (``gets - cache_hits``, roughly).
        loads_deduped: loads that actually ran after singleflight deduplication.
        local_loads: successful getter calls.
        local_load_errs: failed getter calls.
        server_requests: requests from peers handled for this group.
    """

    gets: int = 0
    cache_hits: int = 0
    peer_loads: int = 0
    peer_errors: int = 0
    loads: int = 0
    loads_deduped: int = 0
    local_loads: int = 0
    local_load_errs: int = 0
    server_requests: int = 0


class Stats:
    """Mutable counters, plain ints bumped on the event loop (no locks, no metrics calls)."""

    __slots__ = tuple(f.name for f in fields(GroupStats))

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    gets: int
    cache_hits: int
    peer_loads: int
    peer_errors: int
    loads: int
    loads_deduped: int
    local_loads: int
    local_load_errs: int
    server_requests: int

    def snapshot(self) -> GroupStats:
        """Return the current values as a frozen :class:`GroupStats`."""
        return GroupStats(*(getattr(self, name) for name in self.__slots__))

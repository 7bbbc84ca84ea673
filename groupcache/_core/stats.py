"""A group's counters (the ``Stats`` struct of groupcache.go), their frozen snapshot, and
the reporter of peer errors, which counts them there and logs them.

A peer error is answered with a local load. Misconfigurations (a peer without the group,
a refused token, a 404 from outside the protocol) fail every key sent to that peer, so
they are logged once per peer, group and kind every ``interval`` seconds, saying what is
wrong and how many were not logged; other failures are logged as they happen.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Literal

from .._errors import ForeignReplyError, GroupNotFoundError, PeerAuthError
from .cache import CacheStats

if TYPE_CHECKING:
    from .cache import Cache

logger = logging.getLogger("groupcache")


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
        peer_latency_max_ms: the slowest peer fetch so far (failed ones too), in milliseconds
            (mailgun's oddly named ``GetFromPeersLatencyLower``).
        peer_auth_errors: peer fetches refused for the token (HTTP 401/403; the nodes'
            ``token=`` differ), counted in ``peer_errors`` too.
        handoff_loads: values this node came to own that it took from their previous
            owner's cache after a membership change, instead of calling the getter.
        handoff_misses: such requests that brought nothing back (then the getter ran).
        stale_hits: gets served a value past its expiry, within its grace.
        stale_refreshes: background refreshes of such values that loaded a new one.
        stale_refresh_errors: background refreshes that failed (the stale value is kept,
            unless the failure was :class:`NotFoundError`).
        negative_hits: gets answered with a remembered :class:`NotFoundError`
            (``negative_ttl``), the getter and the owner not asked.
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
    peer_latency_max_ms: float = 0.0
    peer_auth_errors: int = 0
    handoff_loads: int = 0
    handoff_misses: int = 0
    stale_hits: int = 0
    stale_refreshes: int = 0
    stale_refresh_errors: int = 0
    negative_hits: int = 0


class Stats:
    """Mutable counters, plain ints bumped on the event loop (no locks, no metrics calls).

    ``cache_hits`` is not among them: every hit is a hit of the main or the hot cache,
    which count their own, and :meth:`snapshot` is given their sum.
    """

    __slots__ = tuple(f.name for f in fields(GroupStats) if f.name != "cache_hits")

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    gets: int
    peer_loads: int
    peer_errors: int
    loads: int
    loads_deduped: int
    local_loads: int
    local_load_errs: int
    server_requests: int
    peer_latency_max_ms: float
    peer_auth_errors: int
    handoff_loads: int
    handoff_misses: int
    stale_hits: int
    stale_refreshes: int
    stale_refresh_errors: int
    negative_hits: int

    def record_peer_latency(self, started: float) -> None:
        """Keep the slowest peer fetch that began at ``started`` (``time.perf_counter``)."""
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        if elapsed_ms > self.peer_latency_max_ms:
            self.peer_latency_max_ms = elapsed_ms

    def snapshot(self, *, cache_hits: int) -> GroupStats:
        """Return the current values, with ``cache_hits``, as a frozen :class:`GroupStats`."""
        return GroupStats(cache_hits=cache_hits, **{n: getattr(self, n) for n in self.__slots__})


class _ThreadHits:
    __slots__ = ("hot", "main")

    def __init__(self) -> None:
        self.main = 0
        self.hot = 0


class SyncHitCounters:
    """Counts cache hits served off the home loop (``get_sync``; ``get`` on other loops).

    Each thread bumps counters of its own, so threads never race with each other or with
    the loop's plain-int counters (and take no lock on the hot path); a snapshot sums them.
    """

    __slots__ = ("_all", "_local", "_lock")

    def __init__(self) -> None:
        self._local = threading.local()
        self._all: list[_ThreadHits] = []
        self._lock = threading.Lock()  # protects _all

    def mine(self) -> _ThreadHits:
        """Return the calling thread's counters."""
        try:
            return self._local.hits  # type: ignore[no-any-return]
        except AttributeError:
            hits = self._local.hits = _ThreadHits()
            with self._lock:
                self._all.append(hits)
            return hits

    @property
    def main_hits(self) -> int:
        """Return the hits in the main cache, over all threads."""
        with self._lock:
            return sum(h.main for h in self._all)

    @property
    def hot_hits(self) -> int:
        """Return the hits in the hot cache, over all threads."""
        with self._lock:
            return sum(h.hot for h in self._all)

    def add_to(self, snap: GroupStats) -> GroupStats:
        """Return ``snap`` with these hits added to its gets and cache hits."""
        extra = self.main_hits + self.hot_hits
        if not extra:
            return snap
        return dataclasses.replace(snap, gets=snap.gets + extra, cache_hits=snap.cache_hits + extra)

    def add_to_cache(self, which: Literal["main", "hot"], snap: CacheStats) -> CacheStats:
        """Return a cache's ``snap`` with these hits added (main is looked up first)."""
        main, hot = self.main_hits, self.hot_hits
        gets, hits = (main + hot, main) if which == "main" else (hot, hot)
        return dataclasses.replace(snap, gets=snap.gets + gets, hits=snap.hits + hits)


DEFAULT_INTERVAL = 60.0
"""Seconds between two log lines of one misconfiguration."""
_MAX_TRACKED = 1024  # (peer, group, kind) entries kept before stale ones are dropped


def _misconfiguration(exc: Exception) -> tuple[int, str] | None:
    """The log level and the sentence for an error that says the cluster is misconfigured."""
    if isinstance(exc, GroupNotFoundError):
        return logging.WARNING, (
            "does not serve group %r (a node of a version without it?); loading its keys "
            "locally until it does"
        )
    if isinstance(exc, PeerAuthError):
        return logging.ERROR, (
            "refused our token for group %r (every node needs the same token=); loading "
            "its keys locally"
        )
    if isinstance(exc, ForeignReplyError):
        return logging.WARNING, (
            "answered a 404 from outside the groupcache protocol for group %r; loading its "
            "keys locally"
        )
    return None


class PeerErrorReporter:
    """Counts a group's peer errors in its :class:`Stats` and logs them.

    Args:
        stats: The group's counters (``peer_errors``, ``peer_auth_errors``).
        clock: Monotonic seconds, for the log interval.
        interval: Seconds between two log lines of one misconfiguration.
    """

    __slots__ = ("_clock", "_interval", "_seen", "_stats")

    def __init__(
        self,
        stats: Stats,
        *,
        clock: Callable[[], float] = time.monotonic,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self._stats = stats
        self._clock = clock
        self._interval = interval
        self._seen: dict[tuple[str, str, str], tuple[float, int]] = {}  # → (logged, quiet)

    def record(self, peer: str, group: str, key: str, exc: Exception) -> None:
        """Count and log the failure of a fetch of ``key`` from ``peer`` (loaded locally)."""
        self._stats.peer_errors += 1
        if isinstance(exc, PeerAuthError):
            self._stats.peer_auth_errors += 1
        found = _misconfiguration(exc)
        if found is None:
            logger.warning(
                "groupcache: peer %s failed for %s/%r, loading locally: %s",
                peer,
                group,
                key[:64],
                exc,
            )
            return
        level, sentence = found
        now = self._clock()
        slot = (peer, group, type(exc).__name__)
        logged, quiet = self._seen.get(slot, (None, 0))
        if logged is not None and now - logged < self._interval:
            self._seen[slot] = (logged, quiet + 1)
            return
        if len(self._seen) >= _MAX_TRACKED:
            self._forget_stale(now)
        self._seen[slot] = (now, 0)
        detail = str(exc).removeprefix(f"{peer}: ")
        more = f" ({quiet} more since the last report)" if quiet else ""
        logger.log(level, "groupcache: peer %s " + sentence + ": %s%s", peer, group, detail, more)

    def _forget_stale(self, now: float) -> None:
        for slot, (logged, _) in list(self._seen.items()):
            if now - logged >= self._interval:
                del self._seen[slot]

    def __repr__(self) -> str:
        return f"<PeerErrorReporter tracked={len(self._seen)}>"


class StatsMethods:
    """The statistics part of :class:`~groupcache.Group`: snapshots of its counters."""

    if TYPE_CHECKING:
        _main: Cache
        _hot: Cache
        _stats: Stats
        _sync_hits: SyncHitCounters

    def stats(self) -> GroupStats:
        """Return a snapshot of the group's counters."""
        hits = self._main.hits + self._hot.hits  # every hit is one cache's
        return self._sync_hits.add_to(self._stats.snapshot(cache_hits=hits))

    def cache_stats(self, which: Literal["main", "hot"]) -> CacheStats:
        """Return a snapshot of the ``"main"`` or ``"hot"`` cache's counters."""
        if which not in ("main", "hot"):
            raise ValueError(f"cache must be 'main' or 'hot', not {which!r}")
        cache = self._main if which == "main" else self._hot
        return self._sync_hits.add_to_cache(which, cache.stats())

"""The Group: a named, byte-budgeted, peer-aware read-through cache (port of groupcache.go).

``get`` looks in the main cache, then the hot cache; on a miss one flight per key either
fetches from the owning peer or calls the getter. Remove and Set detach flights that were
running when they happened, so a load that started earlier can never put an old value back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import random
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Literal, TypeAlias

from .._errors import GroupcacheError, InvalidKeyError, PeerError
from .blocking import foreign_get, on_home_loop, on_home_thread, read_hit
from .cache import Cache, CacheStats, populate
from .getter import Getter, GetterCaller
from .peers import PeerGetter, broadcast, broadcast_keys, check_set_everywhere, is_final
from .singleflight import Flight, SingleFlight
from .stats import GroupStats, PeerErrorReporter, Stats, SyncHitCounters
from .value import DEFAULT_MAX_KEY_BYTES, Value, check_key, check_set_key
from .workspace import Workspace, default_workspace

_running_loop = asyncio.get_running_loop

HotCachePolicy: TypeAlias = Literal["always", "golang", "never"]


class Group:
    """A cache namespace with a getter that loads values on a miss.

    Args:
        name: Unique within the workspace; it appears in peer URLs.
        getter: ``async def getter(key) -> bytes | Value``, or a plain function, which runs
            in a thread (``executor``) so it never blocks the event loop. Raise
            :class:`NotFoundError` to say a value does not exist. Errors are never cached.
        size: Byte budget of the main and hot caches together, counted as
            ``len(key) + len(value)``. ``size <= 0`` disables caching.
        workspace: Registry to join (default: :func:`default_workspace`).
        hot_cache: Admission of values fetched from peers into the hot cache: ``"always"``
            (default, as mailgun and groupcache-go v3), ``"golang"`` (1 in 10, as
            golang/groupcache) or ``"never"``.
        rng: Random source of the ``"golang"`` policy.
        clock: Wall clock in Unix seconds, for expiry (of values from peers too).
        max_key_bytes: Longest accepted key, in UTF-8 bytes.
        executor: Where plain-function getters run (default: the loop's executor).

    Raises:
        DuplicateGroupError: ``name`` exists in the workspace already.
    """

    def __init__(
        self,
        name: str,
        getter: Getter,
        size: int,
        *,
        workspace: Workspace | None = None,
        hot_cache: HotCachePolicy = "always",
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        max_key_bytes: int = DEFAULT_MAX_KEY_BYTES,
        executor: concurrent.futures.Executor | None = None,
    ) -> None:
        if not isinstance(name, str) or not name or "/" in name:
            raise GroupcacheError(f"group name must be a non-empty str without '/': {name!r}")
        if not callable(getter):
            raise GroupcacheError("getter must be callable")
        if hot_cache not in ("always", "golang", "never"):
            raise GroupcacheError(f"hot_cache must be 'always', 'golang' or 'never': {hot_cache!r}")
        self.name = name
        self.size = size
        self.max_key_bytes = max_key_bytes
        self.workspace = workspace if workspace is not None else default_workspace()
        self._call = GetterCaller(getter, executor)
        self._hot_policy = hot_cache
        self._rng = rng or random.Random()
        self._clock = clock
        self._main = Cache(clock)
        self._hot = Cache(clock)
        self._main_od = self._main._od  # read directly on the hit path of get()
        self._stats = Stats()
        self._peer_errors = PeerErrorReporter(self._stats)
        self._sync_hits = SyncHitCounters()
        self._fast_key_len = max_key_bytes // 4  # shorter keys cannot exceed the limit
        self._local_flights: SingleFlight[Value] = SingleFlight()
        self._peer_flights: SingleFlight[Value] = SingleFlight()
        self.workspace._add_group(self)

    # -- reading ------------------------------------------------------------------

    async def get(self, key: str) -> bytes:
        """Return the value of ``key``, loading it once cluster-wide on a miss.

        Raises:
            InvalidKeyError: ``key`` is not a str or is too long.
            InvalidValueError: the getter returned something that is not bytes-like.
            NotFoundError: the value does not exist (said by the getter or the owner).
            RemoteCallError: the owning peer's getter failed.
            Exception: the getter's own exception, unchanged.
        """
        if _running_loop() is not self.workspace._loop:
            return await foreign_get(self, key)  # off the home loop: only reads here
        stats = self._stats
        stats.gets += 1
        if type(key) is not str or len(key) > self._fast_key_len:
            self._check_key(key)
        # Hot path, inlined: a never-expiring entry of the main cache (empty if size <= 0).
        entry = self._main_od.get(key)
        if entry.__class__ is bytes:
            self._main_od.move_to_end(key)
            self._main.inline_hits += 1
            stats.cache_hits += 1
            return entry
        if self.size > 0:
            data = self._main.get_data(key)
            if data is None:
                data = self._hot.get_data(key)
            if data is not None:
                stats.cache_hits += 1
                return data
        return (await self._load(key, False)).data

    @on_home_loop
    async def get_value(self, key: str, *, from_peer: bool = False) -> Value:
        """Return ``key`` as a :class:`Value`, with its expiry.

        Args:
            key: The key.
            from_peer: The request came from a peer: serve it from this node (cache or
                getter) and never forward it, so peers whose rings disagree cannot loop.
        """
        self._stats.gets += 1
        self._check_key(key)
        value = self._recheck(key)
        if value is not None:
            return value
        return await self._load(key, from_peer)

    @on_home_loop
    async def get_values(
        self, keys: Sequence[str], *, from_peer: bool = False
    ) -> list[Value | BaseException]:
        """Return each key's :class:`Value`, or the error :meth:`get_value` would raise.

        Hits are served at once; only the misses load, concurrently (a batch from a peer).
        """
        results: list[Value | BaseException | None] = []
        misses: list[int] = []
        for key in keys:
            self._stats.gets += 1
            try:
                self._check_key(key)
            except InvalidKeyError as exc:
                results.append(exc)
                continue
            value = self._recheck(key)
            if value is None:
                misses.append(len(results))
            results.append(value)
        if misses:
            loaded = await asyncio.gather(
                *(self._load(keys[i], from_peer) for i in misses), return_exceptions=True
            )
            for i, outcome in zip(misses, loaded, strict=True):
                results[i] = outcome
        return [r for r in results if r is not None]

    def get_sync(self, key: str, *, timeout: float | None = None) -> bytes:
        """Blocking :meth:`get` for threads outside the event loop (Flask, Django).

        Raises:
            GroupcacheError: called from a thread that runs an event loop.
            TimeoutError: no answer within ``timeout`` seconds (the wait is cancelled).
        """
        data = read_hit(self, key)  # a hit needs no trip to the loop
        if data is not None:
            return data
        return self.workspace.run_sync(self.get(key), timeout)

    # -- writing ------------------------------------------------------------------

    @on_home_loop
    async def set(self, key: str, value: bytes, *, expire: float | None = None) -> None:
        """Store ``value`` under ``key``: on the owner first, then here and on every peer.

        Args:
            key: The key.
            value: The bytes to store.
            expire: Absolute expiry in Unix seconds, or ``None`` for never.

        Raises:
            InvalidValueError: a peer could not accept the value (over its request size
                limit); nothing was changed anywhere.
            PeerError: the owner failed (named); this node and the other peers have it.
            MultiError: other peers failed too, or alone; each error names its peer.
        """
        check_set_key(key, self.max_key_bytes)
        stored = Value(value, expire)
        check_set_everywhere(self.workspace.peer_picker, self.name, key, stored)
        await broadcast(
            self.workspace.peer_picker,
            key,
            lambda p: p.set(self.name, key, stored),
            lambda: self.local_set(key, stored),
        )

    @on_home_loop
    async def remove(self, key: str) -> None:
        """Remove ``key`` from the owner first, then from this node and every peer.

        Raises:
            PeerError: the owner failed (named); removed here and on the other peers.
            MultiError: other peers failed too, or alone; each error names its peer.
        """
        self._check_key(key)
        await broadcast(
            self.workspace.peer_picker,
            key,
            lambda p: p.remove(self.name, key),
            lambda: self.local_remove(key),
        )

    @on_home_loop
    async def remove_keys(self, keys: Iterable[str]) -> None:
        """Remove many keys: from their owners first, then here and from every peer, one
        request per peer (groupcache-go v3's ``RemoveKeys``; peers without the batch
        endpoint get one Remove per key).

        Raises:
            MultiError: some peers failed, owners or not, each error naming its peer;
                this node and every other peer removed the keys.
        """
        keys = list(keys)
        for key in keys:
            self._check_key(key)
        await broadcast_keys(self.workspace.peer_picker, self.name, keys, self.local_remove)

    def set_sync(self, key: str, value: bytes, *, expire: float | None = None) -> None:
        """Blocking :meth:`set` for threads outside the event loop."""
        self.workspace.run_sync(self.set(key, value, expire=expire), None)

    def remove_sync(self, key: str) -> None:
        """Blocking :meth:`remove` for threads outside the event loop."""
        self.workspace.run_sync(self.remove(key), None)

    @on_home_thread
    def local_set(self, key: str, value: Value) -> None:
        """Store ``value`` in this node's main cache only (what a peer's Set does here)."""
        self._local_flights.forget(key)
        self._peer_flights.forget(key)
        self._hot.remove(key)
        self._main.remove(key)  # also when the new value is too large to be cached
        self._populate(key, value, self._main)

    @on_home_thread
    def local_remove(self, key: str) -> None:
        """Remove ``key`` from this node's caches only (what a peer's Remove does here)."""
        self._local_flights.forget(key)
        self._peer_flights.forget(key)
        self._main.remove(key)
        self._hot.remove(key)

    @on_home_thread
    def clear(self) -> None:
        """Drop every cached value of this node and detach the flights in progress."""
        self._reset_flights()
        self._main.clear()
        self._hot.clear()

    # -- introspection ------------------------------------------------------------

    def stats(self) -> GroupStats:
        """Return a snapshot of the group's counters."""
        return self._sync_hits.add_to(self._stats.snapshot())

    def cache_stats(self, which: Literal["main", "hot"]) -> CacheStats:
        """Return a snapshot of the ``"main"`` or ``"hot"`` cache's counters."""
        if which not in ("main", "hot"):
            raise ValueError(f"cache must be 'main' or 'hot', not {which!r}")
        cache = self._main if which == "main" else self._hot
        return self._sync_hits.add_to_cache(which, cache.stats())

    @on_home_thread
    def count_server_request(self) -> None:
        """Count one request from a peer for this group (called by transports)."""
        self._stats.server_requests += 1

    def __repr__(self) -> str:
        flights = len(self._local_flights) + len(self._peer_flights)
        return (
            f"<Group {self.name!r} size={self.size} main={self._main.nbytes}B "
            f"hot={self._hot.nbytes}B in_flight={flights}>"
        )

    # -- internals ------------------------------------------------------------------

    def _check_key(self, key: object) -> None:
        check_key(key, self.max_key_bytes)

    def _reset_flights(self) -> None:
        self._local_flights.forget_all()
        self._peer_flights.forget_all()

    async def _load(self, key: str, from_peer: bool) -> Value:  # on the home loop
        if not key.isascii():
            self._check_key(key)  # only the long ones were checked on the hit path
        self._stats.loads += 1
        peer = None if from_peer else self.workspace.peer_picker.pick_peer(key)
        if peer is None:
            return await self._local_flights.do(key, self._load_local)
        return await self._peer_flights.do(key, functools.partial(self._load_remote, peer))

    def _recheck(self, key: str) -> Value | None:
        if self.size <= 0:
            return None
        value = self._main.get(key)
        if value is None:
            value = self._hot.get(key)
        if value is not None:
            self._stats.cache_hits += 1
        return value

    async def _load_local(self, flight: Flight[Value]) -> Value:
        key = flight.key
        value = self._recheck(key)
        if value is not None:
            return value
        self._stats.loads_deduped += 1
        return await self._call_getter(flight)

    async def _load_remote(self, peer: PeerGetter, flight: Flight[Value]) -> Value:
        key = flight.key
        value = self._recheck(key)
        if value is not None:
            return value
        self._stats.loads_deduped += 1
        started = time.perf_counter()
        try:
            value = await peer.get(self.name, key)
            if value.expired(self._clock()):  # as mailgun: expired on the way, by our clock
                raise PeerError(f"{peer.url}: peer returned expired value")
        except Exception as exc:
            self._stats.record_peer_latency(started)
            if is_final(exc):
                raise
            self._peer_errors.record(peer.url, self.name, key, exc)
            return await self._call_getter(flight)
        self._stats.peer_loads += 1
        self._stats.record_peer_latency(started)
        if not flight.forgotten and self._admit_hot():
            self._populate(key, value, self._hot)
        return value

    async def _call_getter(self, flight: Flight[Value]) -> Value:
        key = flight.key
        try:
            value = await self._call(key)
        except Exception:
            self._stats.local_load_errs += 1
            raise
        self._stats.local_loads += 1
        if not flight.forgotten:
            self._populate(key, value, self._main)
        return value

    def _admit_hot(self) -> bool:
        policy = self._hot_policy
        return policy == "always" or (policy == "golang" and self._rng.randrange(10) == 0)

    def _populate(self, key: str, value: Value, cache: Cache) -> None:
        populate(self._main, self._hot, self.size, key, value, cache)

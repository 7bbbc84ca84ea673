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
from collections.abc import Callable, Sequence
from typing import overload

from .._errors import GroupcacheError, InvalidKeyError
from .blocking import BlockingMethods, on_home_loop, on_home_thread
from .cache import Cache, populate
from .codec import BYTES, Codec, GroupCodec, T
from .freshness import FreshnessMethods
from .getter import BytesGetter, Getter, GetterCaller
from .handoff import take_copy
from .hot import DEFAULT_HOT_QPS, HotAdmission, HotCachePolicy
from .negative import NegativeCache
from .peers import PeerGetter
from .rates import RateTable
from .singleflight import Flight, SingleFlight
from .stale import Refresher
from .stats import PeerErrorReporter, Stats, StatsMethods, SyncHitCounters
from .value import DEFAULT_MAX_KEY_BYTES, Value, check_key
from .workspace import Workspace, default_workspace
from .writes import WriteMethods

_running_loop = asyncio.get_running_loop


class Group(BlockingMethods[T], WriteMethods[T], StatsMethods, FreshnessMethods):
    """A cache namespace with a getter that loads values on a miss.

    Args:
        name: Unique within the workspace; it appears in peer URLs.
        getter: ``async def getter(key) -> bytes | Value``, or a plain function, which runs
            in a thread (``executor``) so it never blocks the event loop. With a
            ``codec``, it returns the codec's type (or a :class:`Value` of encoded bytes,
            to give an expiry). Raise
            :class:`NotFoundError` to say a value does not exist; other errors are never
            cached. A :class:`Value` with a ``grace`` is served stale after its expiry
            while one background refresh runs (stale-while-revalidate).
        size: Byte budget of the main and hot caches together, counted as
            ``len(key) + len(value)``. ``size <= 0`` disables caching.
        workspace: Registry to join (default: :func:`default_workspace`).
        codec: What ``get`` returns and the getter and ``set`` take: :data:`BYTES`
            (default), :data:`STR`, :data:`JSON`, a :class:`ProtobufCodec`, or your own
            :class:`Codec`. The caches and the wire keep its bytes; a peer's reply that
            does not decode is a peer error, and the key is loaded here.
        hot_cache: Admission of values fetched from peers into the hot cache: ``"always"``
            (default, as mailgun and groupcache-go v3), ``"golang"`` (1 in 10, as
            golang/groupcache), ``"never"``, or ``"qps"``: when the owner reports at least
            ``hot_qps`` requests per second for the key (1 in 10 when it reports none).
        hot_qps: The threshold of ``"qps"``, in requests per second: the owner's count of
            the requests that asked for its rate (``"qps"`` nodes of ours).
        rng: Random source of the ``"golang"`` policy (and of ``"qps"`` without a rate).
        clock: Wall clock in Unix seconds, for expiry (of values from peers too).
        max_key_bytes: Longest accepted key, in UTF-8 bytes.
        executor: Where plain-function getters run (default: the loop's executor).
        negative_ttl: Seconds a getter's :class:`NotFoundError` is remembered (and told
            to peers), in at most an eighth of ``size``; 0 (default): never.

    Raises:
        DuplicateGroupError: ``name`` exists in the workspace already.
    """

    @overload
    def __init__(
        self: Group[bytes],
        name: str,
        getter: BytesGetter,
        size: int,
        *,
        workspace: Workspace | None = ...,
        hot_cache: HotCachePolicy = ...,
        hot_qps: float = ...,
        rng: random.Random | None = ...,
        clock: Callable[[], float] = ...,
        max_key_bytes: int = ...,
        executor: concurrent.futures.Executor | None = ...,
        negative_ttl: float = ...,
    ) -> None: ...

    @overload
    def __init__(
        self,
        name: str,
        getter: Getter[T],
        size: int,
        *,
        workspace: Workspace | None = ...,
        codec: Codec[T],
        hot_cache: HotCachePolicy = ...,
        hot_qps: float = ...,
        rng: random.Random | None = ...,
        clock: Callable[[], float] = ...,
        max_key_bytes: int = ...,
        executor: concurrent.futures.Executor | None = ...,
        negative_ttl: float = ...,
    ) -> None: ...

    def __init__(
        self,
        name: str,
        getter: Getter[T] | BytesGetter,
        size: int,
        *,
        workspace: Workspace | None = None,
        codec: Codec[T] = BYTES,  # type: ignore[assignment]  # T is bytes then (overloads)
        hot_cache: HotCachePolicy = "always",
        hot_qps: float = DEFAULT_HOT_QPS,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        max_key_bytes: int = DEFAULT_MAX_KEY_BYTES,
        executor: concurrent.futures.Executor | None = None,
        negative_ttl: float = 0.0,
    ) -> None:
        if not isinstance(name, str) or not name or "/" in name:
            raise GroupcacheError(f"group name must be a non-empty str without '/': {name!r}")
        if not callable(getter):
            raise GroupcacheError("getter must be callable")
        self.name = name
        self.size = size
        self._caching = size > 0
        self.max_key_bytes = max_key_bytes
        self.workspace = workspace if workspace is not None else default_workspace()
        self._codec = GroupCodec(codec, name)
        self._decode = self._codec.decode  # None for bytes: their hits pay nothing
        encode = None if self._decode is None else self._codec.encode_value
        self._call = GetterCaller(getter, executor, encode)
        self._admit_hot = HotAdmission(hot_cache, rng or random.Random(), hot_qps)
        self._rates = RateTable(clock)  # of the keys peers ask this node for, as owner
        self._clock = clock
        self._main = Cache(clock)
        self._hot = Cache(clock)
        self._stats = Stats()
        self._peer_errors = PeerErrorReporter(self._stats)
        self._sync_hits = SyncHitCounters()
        self._fast_key_len = max_key_bytes // 4  # shorter keys cannot exceed the limit
        self._local_flights: SingleFlight[Value] = SingleFlight()
        self._peer_flights: SingleFlight[Value] = SingleFlight()
        self._negative = NegativeCache(clock, size // 8, self._stats, negative_ttl)
        self._refresher = Refresher(name, (self._main, self._hot), clock, self._stats, self._load)
        self.workspace._add_group(self)
        self._home = self.workspace.loop  # kept current by the workspace (_rehome)

    # -- reading ------------------------------------------------------------------

    async def get(self, key: str) -> T:
        """Return the value of ``key`` (of the codec's type), loading it once cluster-wide
        on a miss.

        Raises:
            InvalidKeyError: ``key`` is not a str or is too long.
            InvalidValueError: the getter returned something the codec cannot encode (not
                bytes-like, for bytes), or cached bytes do not decode.
            NotFoundError: the value does not exist (said by the getter or the owner).
            RemoteCallError: the owning peer's getter failed.
            Exception: the getter's own exception, unchanged.
        """
        if _running_loop() is not self._home:
            return await self._get_elsewhere(key)
        self._stats.gets += 1
        if type(key) is not str or len(key) > self._fast_key_len:
            check_key(key, self.max_key_bytes)
        main = self._main
        entry = main.peek(key)
        if entry.__class__ is bytes:  # never expires: the common hit, inlined (Cache.peek)
            main.touch(key)
            main.hits += 1
            decode = self._decode
            if decode is None:
                return entry  # type: ignore[return-value]
            try:
                return decode(entry)
            except Exception as exc:
                raise self._codec.decode_error(exc) from exc
        data: bytes | None = None
        if self._caching:
            entry = main.lookup(key)
            if entry is None:
                entry = self._hot.lookup(key)
            if entry is not None:
                data = entry if entry.__class__ is bytes else entry.data  # type: ignore[union-attr]
            else:
                data = self._refresher.serve(key)  # within its grace: now, and refreshed
        if data is None:
            data = (await self._load(key, False)).data
        return self._decoded(data)

    def _decoded(self, data: bytes) -> T:
        """``data`` as the codec's type (as it is, for bytes)."""
        decode = self._decode
        if decode is None:
            return data  # type: ignore[return-value]
        try:
            return decode(data)
        except Exception as exc:
            raise self._codec.decode_error(exc) from exc

    @on_home_loop
    async def get_value(self, key: str, *, from_peer: bool = False) -> Value:
        """Return ``key`` as a :class:`Value`, with its expiry.

        Args:
            key: The key.
            from_peer: The request came from a peer: serve it from this node (cache or
                getter) and never forward it, so peers whose rings disagree cannot loop.
        """
        self._stats.gets += 1
        check_key(key, self.max_key_bytes)
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
        for key in keys:
            self._stats.gets += 1
            try:
                check_key(key, self.max_key_bytes)
            except InvalidKeyError as exc:
                results.append(exc)
            else:
                results.append(self._recheck(key))
        misses = [i for i, result in enumerate(results) if result is None]
        if misses:
            loaded = await asyncio.gather(
                *(self._load(keys[i], from_peer) for i in misses), return_exceptions=True
            )
            for i, outcome in zip(misses, loaded, strict=True):
                results[i] = outcome
        return [r for r in results if r is not None]

    def cached_value(self, key: str) -> Value | None:
        """Return the live cached :class:`Value` of ``key``, counted as a get and a hit,
        or ``None`` having counted nothing (then :meth:`get_value` serves it, counting it
        as usual): how a server answers a peer's hit without a task. On the home loop."""
        if not self._caching or type(key) is not str or len(key) > self._fast_key_len:
            return None
        cache = self._main
        entry = cache.peek(key)
        if entry is None:
            cache = self._hot
            entry = cache.peek(key)
            if entry is None:
                return None
        if entry.__class__ is bytes:
            value = Value(entry)
        elif entry.grace or entry.expired(self._clock()):  # type: ignore[union-attr]
            return None  # left for get_value: to drop and count, or to say its grace
        else:
            value = entry  # type: ignore[assignment]
        self._stats.gets += 1
        if cache is self._hot:
            self._main.misses += 1  # looked up there first, as get_value would
        cache.touch(key)
        cache.hits += 1
        return value

    @on_home_thread
    def peek(self, key: str) -> Value | None:
        """Return the live cached :class:`Value` of ``key``, or ``None``, never loading
        it and counting nothing: what a warm handoff asks a key's previous owner.

        Raises:
            InvalidKeyError: ``key`` is not a str or is too long.
        """
        check_key(key, self.max_key_bytes)
        if not self._caching:
            return None
        for cache in (self._main, self._hot):
            entry = cache.peek(key)
            if entry.__class__ is bytes:
                return Value(entry)
            if entry is not None and not entry.expired(self._clock()):  # type: ignore[union-attr]
                return entry  # type: ignore[return-value]
        return None

    @on_home_thread
    def count_server_request(self) -> None:
        """Count one request from a peer for this group (called by transports)."""
        self._stats.server_requests += 1

    def owner_rate(self, key: str) -> float:
        """Count a peer's request for ``key`` that asked for the rate, and return how
        often such requests come, in requests per second over about a minute (what
        ``"qps"`` groups admit by; Go peers and other policies do not ask, so they are not
        counted). On the home loop (as servers call it)."""
        return self._rates.hit(key)

    def __repr__(self) -> str:
        flights = len(self._local_flights) + len(self._peer_flights)
        return (
            f"<Group {self.name!r} size={self.size} main={self._main.nbytes}B "
            f"hot={self._hot.nbytes}B in_flight={flights}>"
        )

    # -- internals ------------------------------------------------------------------

    def _reset_flights(self) -> None:
        self._local_flights.forget_all()
        self._peer_flights.forget_all()

    async def _load(self, key: str, from_peer: bool = False) -> Value:  # on the home loop
        if not key.isascii():
            check_key(key, self.max_key_bytes)  # only the long ones were checked on the hit path
        self._negative.check(key)  # raises a remembered NotFoundError
        self._stats.loads += 1
        peer = None if from_peer else self.workspace.peer_picker.pick_peer(key)
        flights = self._local_flights if peer is None else self._peer_flights
        return await flights.do(key, functools.partial(self._load_once, peer))

    def _recheck(self, key: str) -> Value | None:
        if not self._caching:
            return None
        value = self._main.get(key)
        return self._hot.get(key) if value is None else value

    async def _load_once(self, peer: PeerGetter | None, flight: Flight[Value]) -> Value:
        """The one load of a flight: from the key's owner ``peer``, or here."""
        key = flight.key
        value = self._recheck(key)  # a flight that has just ended may have cached it
        if value is not None:
            return value
        self._stats.loads_deduped += 1
        if peer is not None:
            admission = self._admit_hot
            value = await self._fetch(admission.peer(peer), flight)
            if value is not None:  # None: the owner failed (counted, logged): load it here
                value, admit = admission.judge(value)
                if not flight.forgotten and admit:
                    populate(self._main, self._hot, self.size, key, value, self._hot)
                return value
        picker = self.workspace.peer_picker
        value = await take_copy(
            picker, peer, self.name, key, self._clock, self._stats, self._codec.check
        )
        if value is not None:  # the previous owner's copy (warm handoff)
            if not flight.forgotten:
                populate(self._main, self._hot, self.size, key, value, self._main)
            return value
        return await self._call_getter(flight)

    async def _call_getter(self, flight: Flight[Value]) -> Value:
        key = flight.key
        try:
            value = await self._call(key)
        except Exception as exc:
            self._stats.local_load_errs += 1
            self._negative.note(flight, exc)
            raise
        self._stats.local_loads += 1
        if not flight.forgotten:
            populate(self._main, self._hot, self.size, key, value, self._main)
        return value

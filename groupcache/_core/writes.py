"""The writes of :class:`~groupcache.Group`: Set, Remove, batch Remove and the
cluster-wide clear (broadcast to the owner first, then here and every peer), and their
local halves, which detach the flights in progress so no older load puts a value back."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Generic

from .._errors import InvalidValueError
from .blocking import on_home_loop, on_home_thread
from .broadcast import broadcast, broadcast_clear, broadcast_keys, broadcast_set
from .cache import populate
from .codec import GroupCodec, T
from .peers import Handoff
from .value import Value, check_key, check_set_key

if TYPE_CHECKING:
    from .cache import Cache
    from .negative import NegativeCache
    from .singleflight import SingleFlight
    from .workspace import Workspace


class WriteMethods(Generic[T]):
    """Set, Remove and clear, as methods of a group."""

    if TYPE_CHECKING:
        name: str
        size: int
        max_key_bytes: int
        workspace: Workspace
        _codec: GroupCodec[T]
        _main: Cache
        _hot: Cache
        _negative: NegativeCache
        _local_flights: SingleFlight[Value]
        _peer_flights: SingleFlight[Value]

        def _reset_flights(self) -> None: ...

    @on_home_loop
    async def set(self, key: str, value: T, *, expire: float | None = None) -> None:
        """Store ``value`` under ``key``: on the owner first, then here and on every peer.

        Args:
            key: The key.
            value: The value to store, of the group's codec's type (bytes by default).
            expire: Absolute expiry in Unix seconds, or ``None`` for never.

        Raises:
            InvalidValueError: the codec cannot encode ``value``, or a peer would refuse
                it; nothing changed anywhere.
            UnsupportedWriteError: the owner cannot take writes; nothing changed anywhere.
            PeerError: the owner failed (named); this node and the other peers have it.
            MultiError: other peers failed too, or alone; each error names its peer.
        """
        check_set_key(key, self.max_key_bytes)
        data = self._codec.encode_value(value)
        await broadcast_set(
            self.workspace.peer_picker, self.name, key, Value(data, expire), self.local_set
        )

    @on_home_loop
    async def remove(self, key: str) -> None:
        """Remove ``key`` from the owner first, then from this node and every peer.

        Raises:
            UnsupportedWriteError: the owner cannot take writes; nothing was removed.
            PeerError: the owner failed (named); removed here and on the other peers.
            MultiError: other peers failed too, or alone; each error names its peer.
        """
        check_key(key, self.max_key_bytes)
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
                here and every other peer removed them, unless an owner cannot take writes.
        """
        keys = list(keys)
        for key in keys:
            check_key(key, self.max_key_bytes)
        await broadcast_keys(self.workspace.peer_picker, self.name, keys, self.local_remove)

    @on_home_loop
    async def clear_all(self) -> None:
        """Drop the group's entries on every node: here and on every peer, flights in
        progress detached everywhere, so no load that began before can put an old value
        back.

        Raises:
            MultiError: some peers failed (each error names its peer; a Go peer, which
                cannot clear, with :class:`UnsupportedWriteError`); every other node and
                this one are cleared.
        """
        await broadcast_clear(self.workspace.peer_picker, self.name, self.clear)

    @on_home_thread
    def local_set(self, key: str, value: Value) -> None:
        """Store ``value`` in this node's main cache only (what a peer's Set does here).

        Raises:
            InvalidValueError: the group's codec cannot decode its bytes (a Go peer's Set
                of something else): nothing is changed.
        """
        check = self._codec.check
        if check is not None:
            try:
                check(value.data)
            except Exception as exc:
                raise InvalidValueError(
                    f"group {self.name!r}: a Set of bytes {self._codec.codec!r} cannot "
                    f"decode: {exc}"
                ) from exc
        self._local_flights.forget(key)
        self._peer_flights.forget(key)
        self._negative.remove(key)
        self._hot.remove(key)
        self._main.remove(key)  # also when the new value is too large to be cached
        populate(self._main, self._hot, self.size, key, value, self._main)
        self._written(key)

    @on_home_thread
    def local_remove(self, key: str) -> None:
        """Remove ``key`` from this node's caches only (what a peer's Remove does here)."""
        self._local_flights.forget(key)
        self._peer_flights.forget(key)
        self._negative.remove(key)
        self._main.remove(key)
        self._hot.remove(key)
        self._written(key)

    @on_home_thread
    def clear(self) -> None:
        """Drop every cached value of this node and detach the flights in progress."""
        self._reset_flights()
        self._negative.clear()
        self._main.clear()
        self._hot.clear()
        self._written(None)

    def _written(self, key: str | None) -> None:
        """A write here: a warm handoff takes no older copy of ``key`` (None: any)."""
        picker = self.workspace.peer_picker
        if isinstance(picker, Handoff):
            picker.written(self.name, key)

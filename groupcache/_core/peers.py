"""The seams between a group and the peers that own keys (port of peers.go).

A :class:`PeerPicker` maps a key to the peer that owns it; a :class:`PeerGetter` talks to
one peer. Groups depend on these protocols only, never on a transport.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from .._errors import (
    GroupNotFoundError,
    NotFoundError,
    PeerError,
    RemoteCallError,
)
from .stats import PeerErrorReporter, Stats
from .value import Value


class PeerGetter(Protocol):
    """A client for one remote peer."""

    @property
    def url(self) -> str:
        """Return the peer's base URL, as given to ``set_peers``."""
        ...

    async def get(self, group: str, key: str) -> Value:
        """Fetch ``key`` of ``group`` from the peer, which loads it if needed.

        Raises:
            NotFoundError: the peer's getter said the value does not exist (HTTP 404).
            RemoteCallError: the peer's getter failed (HTTP 503).
            GroupNotFoundError: the peer has no such group; unlike the two above, the
                group loads the key locally (a peer error).
            PeerError: the peer could not be reached or answered garbage.
        """
        ...

    async def set(self, group: str, key: str, value: Value) -> None:
        """Store ``value`` under ``key`` in the peer's main cache."""
        ...

    async def remove(self, group: str, key: str) -> None:
        """Remove ``key`` from the peer's caches."""
        ...


@runtime_checkable
class CachedCopies(PeerGetter, Protocol):
    """Optional for a :class:`PeerGetter`: reads a peer's cache only (warm handoff)."""

    async def get_cached(self, group: str, key: str) -> Value | None:
        """Return the peer's cached value of ``key``, or ``None`` when it has none; never
        runs the peer's getter. Raise on a transport failure."""
        ...

    @property
    def failing(self) -> bool:
        """Return whether the last request to the peer failed to reach it."""
        ...


@runtime_checkable
class Handoff(Protocol):
    """Optional for a :class:`PeerPicker`: the previous owners of keys (warm handoff)."""

    def previous_owner(self, key: str) -> CachedCopies | None:
        """Return the peer that owned ``key`` before the last membership change, if it
        was another node and the window is open; else ``None``."""
        ...

    def departed(self) -> Sequence[CachedCopies]:
        """Return the previous owners no longer among the peers, within the window: the
        ones writes must reach too."""
        ...

    def drop_donor(self, peer: CachedCopies) -> None:
        """Stop asking ``peer`` for copies (a write did not reach it)."""
        ...

    def written(self, group: str, key: str | None) -> None:
        """Note that ``key`` of ``group`` (every key of it when ``None``) was written or
        removed here: a copy elsewhere may predate that, so take none in this window."""
        ...

    def copy_allowed(self, group: str, key: str) -> bool:
        """Return whether a previous owner's copy of ``key`` may still be taken."""
        ...


def is_final(exc: BaseException) -> bool:
    """Whether a peer's error goes to the caller as it is (no local load): the value does
    not exist, or the owner's getter failed (as mailgun)."""
    return isinstance(exc, (NotFoundError, RemoteCallError)) and not isinstance(
        exc, GroupNotFoundError
    )


async def fetch(
    peer: PeerGetter,
    group: str,
    key: str,
    clock: Callable[[], float],
    stats: Stats,
    errors: PeerErrorReporter,
    check: Callable[[bytes], object] | None = None,
) -> Value | None:
    """Fetch ``key`` from its owner ``peer``: its value, or ``None`` if it failed (counted and
    logged by ``errors``; the group then loads the key itself, as Go does). Its final
    answers (:func:`is_final`: the value does not exist, its getter failed) are raised.
    ``check`` (the group's codec) raises on a value that does not decode: a failure too."""
    started = time.perf_counter()
    try:
        value = await peer.get(group, key)
        if value.expired(clock()):  # as mailgun: expired on the way, by our clock
            raise PeerError(f"{peer.url}: peer returned expired value")
        if check is not None:
            check(value.data)
    except Exception as exc:
        if is_final(exc):
            raise
        errors.record(peer.url, group, key, exc)
        return None
    finally:
        stats.record_peer_latency(started)
    stats.peer_loads += 1
    return value


@runtime_checkable
class SetChecker(Protocol):
    """Optional for a :class:`PeerGetter` (or a :class:`PeerPicker`, for all its peers):
    says before any write whether a Set can pass."""

    def check_set(self, group: str, key: str, value: Value) -> None:
        """Raise :class:`~groupcache.InvalidValueError` if :meth:`PeerGetter.set` would."""
        ...


@runtime_checkable
class KeysRemover(Protocol):
    """Optional for a :class:`PeerGetter`: removes many keys in one request (v3)."""

    async def remove_keys(self, group: str, keys: Sequence[str]) -> None:
        """Remove ``keys`` from the peer's caches."""
        ...


@runtime_checkable
class Clearer(Protocol):
    """Optional for a :class:`PeerGetter`: drops every cached value of a group."""

    async def clear(self, group: str) -> None:
        """Clear ``group`` on the peer."""
        ...


class PeerPicker(Protocol):
    """Chooses the owner of a key among the current peers."""

    def pick_peer(self, key: str) -> PeerGetter | None:
        """Return the remote owner of ``key``, or ``None`` when this node owns it."""
        ...

    def remote_peers(self) -> Sequence[PeerGetter]:
        """Return every current peer except this node."""
        ...


class NoPeers:
    """The picker of a node with no peers: every key is local."""

    def pick_peer(self, key: str) -> PeerGetter | None:
        """Return ``None``: this node owns everything."""
        return None

    def remote_peers(self) -> Sequence[PeerGetter]:
        """Return no peers."""
        return ()

    def __repr__(self) -> str:
        return "<NoPeers>"


DEFAULT_WRITE_GRACE = 1.0
"""Seconds a write waits for the owner of a key before it updates everyone else anyway,
for pickers that do not say (:class:`WriteGrace`)."""


@runtime_checkable
class WriteGrace(Protocol):
    """Optional for a :class:`PeerPicker`: how long a write waits for the owner."""

    @property
    def write_grace(self) -> float:
        """Return the seconds a Set or Remove waits for the key's owner before it
        updates this node and the other peers."""
        ...

"""The seams between a group and the peers that own keys (port of peers.go).

A :class:`PeerPicker` maps a key to the peer that owns it; a :class:`PeerGetter` talks to
one peer. Groups depend on these protocols only, never on a transport.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

from .._errors import (
    GroupNotFoundError,
    MultiError,
    NotFoundError,
    PeerError,
    RemoteCallError,
    UnsupportedWriteError,
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
) -> Value | None:
    """Fetch ``key`` from its owner ``peer``: its value, or ``None`` if it failed (counted and
    logged by ``errors``; the group then loads the key itself, as Go does). Its final
    answers (:func:`is_final`: the value does not exist, its getter failed) are raised."""
    started = time.perf_counter()
    try:
        value = await peer.get(group, key)
        if value.expired(clock()):  # as mailgun: expired on the way, by our clock
            raise PeerError(f"{peer.url}: peer returned expired value")
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


def check_set_everywhere(picker: PeerPicker, group: str, key: str, value: Value) -> None:
    """Check a Set against every peer that can tell, before anything is written.

    Raises:
        InvalidValueError: some peer would refuse the value.
    """
    if isinstance(picker, SetChecker):  # e.g. HTTPPool: one check for all its peers
        picker.check_set(group, key, value)
        return
    for peer in picker.remote_peers():
        if isinstance(peer, SetChecker):
            peer.check_set(group, key, value)


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


async def _clear(peer: PeerGetter, group: str) -> None:
    if not isinstance(peer, Clearer):
        raise UnsupportedWriteError(f"{peer.url}: this peer client cannot clear a group")
    await peer.clear(group)


async def broadcast_clear(picker: PeerPicker, group: str, local: Callable[[], None]) -> None:
    """Clear ``group`` here (``local``) and on every peer; no peer owns a clear, so none is
    waited for first. Flights in progress are detached everywhere (as by a Remove).

    Raises:
        MultiError: some peers failed, each error naming its peer; the others, and this
            node, are cleared.
    """
    _, errors = await _write([], picker, lambda p: _clear(p, group), local)
    if errors:
        raise MultiError(errors)


async def _remove_keys(peer: PeerGetter, group: str, keys: Sequence[str]) -> None:
    if isinstance(peer, KeysRemover):
        await peer.remove_keys(group, keys)
    else:
        for key in keys:
            await peer.remove(group, key)


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


async def broadcast(
    picker: PeerPicker,
    key: str,
    call: Callable[[PeerGetter], Awaitable[None]],
    local: Callable[[], None],
) -> None:
    """Apply a write (Set or Remove) to ``key``'s owner, then here and every other peer.

    Raises:
        UnsupportedWriteError: the owner refused within the grace: it cannot take writes
            (golang/groupcache). Nothing was changed anywhere, so every node still agrees.
        PeerError: only the owner failed (naming it), a refusal after the grace included;
            here and every other peer have the write.
        MultiError: other peers failed (and maybe the owner), each error naming its peer.
    """
    owner = picker.pick_peer(key)
    owners = [] if owner is None else [owner]
    owner_errors, errors = await _write(owners, picker, call, local, final=UnsupportedWriteError)
    if owner_errors and not errors:
        raise owner_errors[0]
    if errors:
        raise MultiError(owner_errors + errors)


async def broadcast_set(
    picker: PeerPicker, group: str, key: str, value: Value, local: Callable[[str, Value], None]
) -> None:
    """Set ``key`` to ``value`` on its owner, then here (``local``) and on every other peer,
    once every peer that can tell has said it would take the value (:func:`broadcast`).

    Raises:
        InvalidValueError: some peer would refuse the value; nothing was written.
    """
    check_set_everywhere(picker, group, key, value)
    await broadcast(picker, key, lambda p: p.set(group, key, value), lambda: local(key, value))


async def broadcast_keys(
    picker: PeerPicker, group: str, keys: Sequence[str], local: Callable[[str], None]
) -> None:
    """Remove ``keys`` from their owners, then here and from every other peer.

    Raises:
        MultiError: some peers failed, owners or not (each error names its peer); every
            other peer and this node have removed the keys, unless an owner refused
            within the grace (:class:`UnsupportedWriteError`): then nothing else was.
    """
    if not keys:
        return
    owners = list({id(p): p for p in map(picker.pick_peer, keys) if p is not None}.values())

    def remove_here() -> None:
        for key in keys:
            local(key)

    owner_errors, errors = await _write(
        owners,
        picker,
        lambda p: _remove_keys(p, group, keys),
        remove_here,
        final=UnsupportedWriteError,  # nothing removed here, nor from the other peers
    )
    if owner_errors or errors:
        raise MultiError(owner_errors + errors)


async def _write(
    owners: Sequence[PeerGetter],
    picker: PeerPicker,
    call: Callable[[PeerGetter], Awaitable[None]],
    local: Callable[[], None],
    *,
    final: type[BaseException] | None = None,
) -> tuple[list[BaseException], list[BaseException]]:
    """Write to the owners, then, once they answered or the grace is over, here and to
    the other peers. An owner that took the write after the others got it may have
    served them the old value meanwhile: everyone that has the write gets it again.
    An owner error of type ``final`` within the grace ends the write there, with
    nothing written here or to the other peers (the other owners are still waited for);
    one that comes after the grace becomes a :class:`PeerError` that says the others
    have the write. Return the owners' errors and the other peers' errors."""
    tasks = [asyncio.ensure_future(_attempt(p, call)) for p in owners]
    grace = picker.write_grace if isinstance(picker, WriteGrace) else DEFAULT_WRITE_GRACE
    try:
        late = False
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=grace)
            late = bool(pending)
            if final and any(isinstance(t.result(), final) for t in done):
                answers = await asyncio.gather(*tasks)  # every owner's outcome, reported
                return [e for e in answers if e is not None], []
        local()
        others = [p for p in picker.remote_peers() if all(p is not o for o in owners)]
        other_errors, _ = await asyncio.gather(
            asyncio.gather(*(_attempt(p, call) for p in others)),
            _write_departed(picker, [*owners, *others], call),
        )
        owner_errors = await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
    if final and late:
        owner_errors = [_too_late(e, grace) if isinstance(e, final) else e for e in owner_errors]
    written = [
        p
        for p, e in zip([*owners, *others], [*owner_errors, *other_errors], strict=True)
        if e is None
    ]
    errors = [e for e in other_errors if e is not None]
    if late and any(e is None for e in owner_errors):
        local()
        again = await asyncio.gather(*(_attempt(p, call) for p in written))
        errors += [e for e in again if e is not None]
    return [e for e in owner_errors if e is not None], errors


async def _write_departed(
    picker: PeerPicker,
    written: Sequence[PeerGetter],
    call: Callable[[PeerGetter], Awaitable[None]],
) -> None:
    """Give the write, best-effort, to the previous owners that left the ring within the
    handoff window (they may still hand copies over); one that fails is asked no more."""
    if not isinstance(picker, Handoff):
        return
    donors = [p for p in picker.departed() if all(p is not w for w in written)]
    errors = await asyncio.gather(*(_attempt(p, call) for p in donors))
    for donor, error in zip(donors, errors, strict=True):
        if error is not None:
            picker.drop_donor(donor)


def _too_late(err: BaseException, grace: float) -> PeerError:
    """An owner's refusal that came after the others were written: say that they were."""
    late = PeerError(
        f"{err} (it answered after the {grace:g} s write grace: this node and the other "
        "peers have the write, the owner keeps its old value; retry or remove the key)"
    )
    late.__cause__ = err
    return late


async def _attempt(
    peer: PeerGetter, call: Callable[[PeerGetter], Awaitable[None]]
) -> BaseException | None:
    """Return ``call(peer)``'s error, or ``None``. An error that does not name the peer
    becomes a :class:`PeerError` that does, caused by it."""
    try:
        await call(peer)
    except Exception as exc:
        if peer.url in str(exc):
            return exc
        named = PeerError(f"{peer.url}: {exc}")
        named.__cause__ = exc
        return named
    return None

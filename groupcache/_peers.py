"""The seams between a group and the peers that own keys (port of peers.go).

A :class:`PeerPicker` maps a key to the peer that owns it; a :class:`PeerGetter` talks to
one peer. Groups depend on these protocols only, never on a transport.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

from ._errors import MultiError
from ._value import Value


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


async def _remove_keys(peer: PeerGetter, group: str, keys: Sequence[str]) -> None:
    if isinstance(peer, KeysRemover):
        await peer.remove_keys(group, keys)
    else:
        for key in keys:
            await peer.remove(group, key)


async def broadcast_keys(
    picker: PeerPicker, group: str, keys: Sequence[str], local: Callable[[str], None]
) -> None:
    """Remove ``keys`` from their owners, then here and from every other peer.

    Raises:
        MultiError: owners failed (nothing else was changed), or other peers failed.
    """
    if not keys:
        return
    owners = {id(p): p for p in map(picker.pick_peer, keys) if p is not None}
    await _gather_errors(_remove_keys(p, group, keys) for p in owners.values())
    for key in keys:
        local(key)
    others = [p for p in picker.remote_peers() if id(p) not in owners]
    await _gather_errors(_remove_keys(p, group, keys) for p in others)


async def _gather_errors(calls: Iterable[Awaitable[None]]) -> None:
    results = await asyncio.gather(*calls, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise MultiError(errors)


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


async def broadcast(
    picker: PeerPicker,
    key: str,
    call: Callable[[PeerGetter], Awaitable[None]],
    local: Callable[[], None],
) -> None:
    """Apply a write (Set or Remove) to ``key``'s owner, then here, then every other peer.

    Raises:
        Exception: the owner's error; nothing else was changed.
        MultiError: the owner and this node have the write, but other peers failed.
    """
    owner = picker.pick_peer(key)
    if owner is not None:
        await call(owner)
    local()
    await _gather_errors(call(p) for p in picker.remote_peers() if p is not owner)

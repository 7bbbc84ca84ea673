"""The seams between a group and the peers that own keys (port of peers.go).

A :class:`PeerPicker` maps a key to the peer that owns it; a :class:`PeerGetter` talks to
one peer. Groups depend on these protocols only, never on a transport.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
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
    """Optional for a :class:`PeerGetter`: says before any write whether a Set can pass."""

    def check_set(self, group: str, key: str, value: Value) -> None:
        """Raise :class:`~groupcache.InvalidValueError` if :meth:`PeerGetter.set` would."""
        ...


def check_set_everywhere(picker: PeerPicker, group: str, key: str, value: Value) -> None:
    """Check a Set against every peer that can tell, before anything is written.

    Raises:
        InvalidValueError: some peer would refuse the value.
    """
    for peer in picker.remote_peers():
        if isinstance(peer, SetChecker):
            peer.check_set(group, key, value)


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
    others = [p for p in picker.remote_peers() if p is not owner]
    if not others:
        return
    results = await asyncio.gather(*(call(p) for p in others), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise MultiError(errors)

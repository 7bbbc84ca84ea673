"""Warm handoff: after a membership change, a key's new owner takes the cached copy of
its previous owner instead of calling the origin again.

When ``set_peers`` moves a key to this node, its first miss here asks the node that
owned the key under the previous ring for a *cached copy only*: a request that never
runs that node's getter and is never forwarded. A copy is taken; anything else (not
cached, expired, an error, a node gone) is a plain local load. The previous ring is kept
for a window of seconds after the change. A node that left the ring is still asked (it
may be draining, still answering) and, so that a copy can never be older than a write,
each Set, Remove and clear made during the window is sent to it too, best-effort: one
that fails drops that node from the window. A donor that failed its last request is not
asked, so a dead one costs nothing.

A write may also reach this node and no other: groupcache-go v3's RemoveKeys tells an
owner only its own keys, and a Go Set or Remove tells only the owner. So a key written,
removed or cleared here during the window is never taken from a previous owner again in
that window: its copy there may predate the write.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, TypeVar

from .peers import CachedCopies, Handoff
from .ring import HashRing
from .stats import Stats
from .value import Value


async def take_copy(
    picker: object,
    owner: object,
    group: str,
    key: str,
    clock: Callable[[], float],
    stats: Stats,
    check: Callable[[bytes], object] | None = None,
) -> Value | None:
    """Return the previous owner's live cached copy of ``key``, or ``None`` (counted);
    not when that is the current ``owner`` (asked already) or failed its last request.
    ``check`` (the group's codec) raises on a copy that does not decode: none taken."""
    if not isinstance(picker, Handoff):
        return None
    donor = picker.previous_owner(key)
    if donor is None or donor is owner or donor.failing or not picker.copy_allowed(group, key):
        return None
    try:
        value = await donor.get_cached(group, key)
        if value is not None and check is not None:
            check(value.data)
    except Exception:  # unreachable, garbage, not of the group's type: the origin it is
        value = None
    if value is None or value.expired(clock()):
        stats.handoff_misses += 1
        return None
    stats.handoff_loads += 1
    return value


P = TypeVar("P", bound=CachedCopies)

MAX_WRITTEN = 10_000
"""Keys written here during one window whose copies are refused; past that many, the
window closes early (no handoff at all, never a stale one) rather than grow."""


class PreviousOwners(Generic[P]):
    """The ring before the last membership change, and its members' clients, for
    ``window`` seconds.

    Args:
        window: Seconds after a change during which previous owners are asked; 0 never.
        ring: Builds an empty ring like the current one.
        close: Called with each departed member's client once it is no longer needed.
        clock: Monotonic seconds.
    """

    def __init__(
        self,
        window: float,
        ring: Callable[[], HashRing],
        close: Callable[[P], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self._new_ring = ring
        self._close = close
        self._clock = clock
        self._ring: HashRing | None = None
        self._clients: dict[str, P] = {}  # previous ring member → client (not this node)
        self._departed: dict[str, P] = {}  # of those, the ones no longer peers
        self._until = 0.0
        self._written: set[tuple[str, str | None]] = set()  # (group, key or None: all)
        self._seen_others = False  # whether a ring of this node's had other members yet

    def changed(
        self,
        before: Sequence[str],
        before_self: set[str],
        before_peers: Mapping[str, P],
        after: Sequence[str],
        after_self: set[str],
        after_peers: Mapping[str, P],
    ) -> None:
        """Record a membership change from ``before`` to ``after`` (ring members, the
        ones that are this node, the clients of the others). The clients of ``before``
        that ``after`` does not reuse are this object's to close from now on."""
        departed = {m: c for m, c in before_peers.items() if after_peers.get(m) is not c}
        written = self._written  # writes of a window still open go on counting
        self._release()
        self._departed = departed  # released below, unless the window keeps them
        first_others = not self._seen_others and len(after) > len(after_self)
        self._seen_others = self._seen_others or first_others
        if self.window <= 0 or list(before) == list(after):
            self._release()
            return
        if first_others and set(before) <= before_self and after_self:
            # A node that has just joined, or had rung only itself until now (groupcache
            # serve does until discovery lists the pods): before it, the ring was the
            # others'. Not so for one that served alone since: what it holds is newer.
            before = [m for m in after if m not in after_self]
            before_peers = {m: after_peers[m] for m in before}
            before_self = set()
        clients = {m: c for m, c in before_peers.items() if m not in before_self}
        if not clients:
            self._release()
            return
        ring = self._new_ring()
        ring.set(list(before))
        self._ring, self._clients, self._written = ring, clients, written
        self._until = self._clock() + self.window

    def written(self, group: str, key: str | None) -> None:
        """Refuse copies of ``key`` of ``group`` (all its keys when ``None``) in this
        window: it was written here, so a copy elsewhere may be older than the write."""
        if self._ring is None:
            return
        if len(self._written) >= MAX_WRITTEN:
            self._release()
            return
        self._written.add((group, key))

    def copy_allowed(self, group: str, key: str) -> bool:
        """Whether a copy of ``key`` may be taken: nothing was written to it here."""
        written = self._written
        return not written or ((group, key) not in written and (group, None) not in written)

    def owner(self, key: str) -> P | None:
        """The previous owner of ``key`` if it was another node (within the window)."""
        ring = self._ring
        if ring is None:
            return None
        if self._clock() > self._until:
            self._release()
            return None
        member = ring.get(key)
        return None if member is None else self._clients.get(member)

    def departed(self) -> list[P]:
        """The previous owners that are no longer peers (within the window)."""
        if self._ring is not None and self._clock() > self._until:
            self._release()
        return list(self._departed.values())

    def drop(self, peer: P) -> None:
        """Never ask ``peer`` again in this window (closing it if it left the ring)."""
        self._clients = {m: c for m, c in self._clients.items() if c is not peer}
        gone = [m for m, c in self._departed.items() if c is peer]
        for member in gone:
            del self._departed[member]
        if gone:
            self._close(peer)

    def _release(self) -> None:
        """Forget the previous ring and close the clients only it used."""
        departed, self._departed = self._departed, {}
        self._ring, self._clients, self._written = None, {}, set()
        for client in departed.values():
            self._close(client)

    def close(self) -> None:
        """Forget everything and close the departed members' clients."""
        self._release()

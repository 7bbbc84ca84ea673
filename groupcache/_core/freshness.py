"""The part of :class:`~groupcache.Group` that deals with stale values and remembered
not-founds: closing the background refreshes, the TTL told to peers, and the fetch from
an owner that remembers the owner's not-found (the logic is in :mod:`.stale` and
:mod:`.negative`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._errors import NotFoundError
from .peers import PeerGetter, fetch

if TYPE_CHECKING:
    from .codec import GroupCodec
    from .hot import HotAdmission
    from .negative import NegativeCache
    from .singleflight import Flight
    from .stale import Refresher
    from .stats import PeerErrorReporter, Stats
    from .value import Value


class FreshnessMethods:
    """Stale-while-revalidate and negative caching, as methods of a group."""

    if TYPE_CHECKING:
        name: str
        _clock: Callable[[], float]
        _stats: Stats
        _peer_errors: PeerErrorReporter
        _negative: NegativeCache
        _refresher: Refresher
        _admit_hot: HotAdmission
        _codec: GroupCodec[Any]

    def negative_ttl_left(self, key: str) -> float | None:
        """Return the seconds ``key`` is still remembered not to exist here, or ``None``."""
        return self._negative.ttl_left(key)

    async def aclose(self) -> None:
        """Cancel and await the background refreshes of stale values (idempotent; an
        ``HTTPPool``'s ``aclose`` calls it for its workspace's groups)."""
        await self._refresher.aclose()

    async def _fetch(self, peer: PeerGetter, flight: Flight[Value]) -> Value | None:
        """Fetch the flight's key from its owner ``peer`` (``None``: the owner failed, load
        it here); the owner's not-found is remembered for the TTL the owner gave it, if the
        hot cache would take a value from there."""
        key = flight.key
        try:
            return await fetch(
                peer, self.name, key, self._clock, self._stats, self._peer_errors, self._codec.check
            )
        except NotFoundError as exc:
            if exc.negative_ttl and self._admit_hot():
                self._negative.note(flight, exc, exc.negative_ttl)
            raise

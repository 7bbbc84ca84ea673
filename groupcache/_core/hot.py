"""Which values fetched from peers enter the hot cache (``Group(hot_cache=...)``).

``"always"`` as mailgun and groupcache-go v3, ``"golang"`` 1 in 10 at random as
golang/groupcache, ``"never"``, and ``"qps"``: by the rate the key's owner reports for it
(golang's ``GetResponse.minute_qps``, meant for this and never implemented there). A
``"qps"`` group asks owners of ours for their rate and admits a value when it is at least
``hot_qps`` requests per second; a value that came without one (a Go owner, or one of ours
not yet known as such) is admitted 1 in 10 as golang does.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Literal, Protocol, TypeAlias, cast, runtime_checkable

from .._errors import GroupcacheError
from .peers import PeerGetter
from .value import RatedValue, Value

HotCachePolicy: TypeAlias = Literal["always", "golang", "never", "qps"]

DEFAULT_HOT_QPS = 0.1
"""``Group(hot_qps=...)``: the owner's rate, in requests per second from its peers, from
which a ``hot_cache="qps"`` group admits a value to its hot cache: 6 a minute. On
Zipf(1.1) over 10,000 keys it takes as few peer requests as ``"golang"`` with a third of
its hot bytes (``benchmarks/bench_hotkeys.py``)."""


@runtime_checkable
class RatedPeer(PeerGetter, Protocol):
    """Optional for a :class:`~groupcache.PeerGetter`: reports the owner's rate of a key.
    A ``"qps"`` group fetches with ``get_rated`` from a peer that has it, with ``get``
    from any other."""

    async def get_rated(self, group: str, key: str) -> Value:
        """As :meth:`PeerGetter.get`, but ask the owner how often its peers ask it for
        ``key``: a :class:`~groupcache._core.value.RatedValue` when it said."""
        ...


class _AskingRate:
    """A :class:`RatedPeer` seen as a :class:`PeerGetter` whose ``get`` asks for the rate."""

    __slots__ = ("_peer", "get", "url")

    def __init__(self, peer: RatedPeer) -> None:
        self._peer = peer
        self.url = peer.url
        self.get = peer.get_rated

    async def set(self, group: str, key: str, value: Value) -> None:
        await self._peer.set(group, key, value)  # never called: fetch only gets

    async def remove(self, group: str, key: str) -> None:
        await self._peer.remove(group, key)  # never called: fetch only gets


class HotAdmission:
    """Decides, value by value, whether a value fetched from a peer enters the hot cache.

    Raises:
        GroupcacheError: an unknown policy, or a threshold that is not a finite number
            >= 0.
    """

    __slots__ = ("_decide", "_threshold", "rated")

    def __init__(self, policy: str, rng: random.Random, hot_qps: float = DEFAULT_HOT_QPS) -> None:
        if isinstance(hot_qps, bool) or not isinstance(hot_qps, int | float):
            raise GroupcacheError(f"hot_qps must be a number, not {type(hot_qps).__name__}")
        if not (math.isfinite(hot_qps) and hot_qps >= 0):
            raise GroupcacheError(f"hot_qps must be a finite number >= 0: {hot_qps!r}")
        self._threshold = float(hot_qps)
        self.rated = policy == "qps"
        """Whether to ask owners for their rate of each key."""
        decide: Callable[[], bool]
        if policy == "always":
            decide = _yes
        elif policy in ("golang", "qps"):  # "qps" falls back to it without a rate
            decide = lambda: rng.randrange(10) == 0  # noqa: E731
        elif policy == "never":
            decide = _no
        else:
            raise GroupcacheError(
                f"hot_cache must be 'always', 'golang', 'never' or 'qps': {policy!r}"
            )
        self._decide = decide

    def peer(self, peer: PeerGetter) -> PeerGetter:
        """``peer`` as a fetch from it should see it: for ``"qps"``, asking for the rate
        (when it can)."""
        if self.rated and callable(getattr(peer, "get_rated", None)):
            return _AskingRate(cast(RatedPeer, peer))
        return peer

    def __call__(self) -> bool:
        """Whether to admit what comes with no rate (a remembered not-found, say)."""
        return self._decide()

    def judge(self, value: Value) -> tuple[Value, bool]:
        """Return ``value`` without its owner's rate, and whether to admit it."""
        if value.__class__ is not RatedValue:
            return value, self._decide()
        plain = Value(value.data, value.expire_at, value.grace)
        if self.rated:
            rate: float = value.rate
            return plain, rate >= self._threshold
        return plain, self._decide()


def _yes() -> bool:
    return True


def _no() -> bool:
    return False

"""A group's peer errors: which are final, and how the others are counted and logged.

A peer error is answered with a local load. Misconfigurations (a peer without the group,
a refused token, a 404 from outside the protocol) fail every key sent to that peer, so
they are logged once per peer, group and kind every ``interval`` seconds, saying what is
wrong and how many were not logged; other failures are logged as they happen.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from .._errors import (
    ForeignReplyError,
    GroupNotFoundError,
    NotFoundError,
    PeerAuthError,
    RemoteCallError,
)
from .stats import Stats

logger = logging.getLogger("groupcache")

DEFAULT_INTERVAL = 60.0
"""Seconds between two log lines of one misconfiguration."""
_MAX_TRACKED = 1024  # (peer, group, kind) entries kept before stale ones are dropped


def is_final(exc: BaseException) -> bool:
    """Whether a peer's error goes to the caller as it is (no local load): the value does
    not exist, or the owner's getter failed (as mailgun)."""
    return isinstance(exc, (NotFoundError, RemoteCallError)) and not isinstance(
        exc, GroupNotFoundError
    )


def _misconfiguration(exc: Exception) -> tuple[int, str] | None:
    """The log level and the sentence for an error that says the cluster is misconfigured."""
    if isinstance(exc, GroupNotFoundError):
        return logging.WARNING, (
            "does not serve group %r (a node of a version without it?); loading its keys "
            "locally until it does"
        )
    if isinstance(exc, PeerAuthError):
        return logging.ERROR, (
            "refused our token for group %r (every node needs the same token=); loading "
            "its keys locally"
        )
    if isinstance(exc, ForeignReplyError):
        return logging.WARNING, (
            "answered a 404 from outside the groupcache protocol for group %r; loading its "
            "keys locally"
        )
    return None


class PeerErrorReporter:
    """Counts a group's peer errors in its :class:`Stats` and logs them.

    Args:
        stats: The group's counters (``peer_errors``, ``peer_auth_errors``).
        clock: Monotonic seconds, for the log interval.
        interval: Seconds between two log lines of one misconfiguration.
    """

    __slots__ = ("_clock", "_interval", "_seen", "_stats")

    def __init__(
        self,
        stats: Stats,
        *,
        clock: Callable[[], float] = time.monotonic,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self._stats = stats
        self._clock = clock
        self._interval = interval
        self._seen: dict[tuple[str, str, str], tuple[float, int]] = {}  # → (logged, quiet)

    def record(self, peer: str, group: str, key: str, exc: Exception) -> None:
        """Count and log the failure of a fetch of ``key`` from ``peer`` (loaded locally)."""
        self._stats.peer_errors += 1
        if isinstance(exc, PeerAuthError):
            self._stats.peer_auth_errors += 1
        found = _misconfiguration(exc)
        if found is None:
            logger.warning(
                "groupcache: peer %s failed for %s/%r, loading locally: %s",
                peer,
                group,
                key[:64],
                exc,
            )
            return
        level, sentence = found
        now = self._clock()
        slot = (peer, group, type(exc).__name__)
        logged, quiet = self._seen.get(slot, (None, 0))
        if logged is not None and now - logged < self._interval:
            self._seen[slot] = (logged, quiet + 1)
            return
        if len(self._seen) >= _MAX_TRACKED:
            self._forget_stale(now)
        self._seen[slot] = (now, 0)
        detail = str(exc).removeprefix(f"{peer}: ")
        more = f" ({quiet} more since the last report)" if quiet else ""
        logger.log(level, "groupcache: peer %s " + sentence + ": %s%s", peer, group, detail, more)

    def _forget_stale(self, now: float) -> None:
        for slot, (logged, _) in list(self._seen.items()):
            if now - logged >= self._interval:
                del self._seen[slot]

    def __repr__(self) -> str:
        return f"<PeerErrorReporter tracked={len(self._seen)}>"

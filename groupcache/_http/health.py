"""Peer health: a peer whose requests failed to reach it several times in a row is down
for a backoff, so that gets for its keys stop waiting out its timeout.

Only transport failures count (refused, reset, timed out, garbage framing): an HTTP error
status is an answer, and a full queue is overload, not death. While a peer is down its
requests fail at once and :class:`~groupcache.HTTPPool` sends its keys to the next member
clockwise on the ring that is up (every node with the same view picks the same one, so a
key is still loaded once), or loads them locally. When the backoff ends, requests flow
again, one at first (the probe; the other keys keep going to the stand-in): its success
brings the peer back, its failure sends it down for twice as long (at most
:data:`MAX_BACKOFF`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

DEFAULT_DOWN_AFTER = 3
"""Consecutive failed requests after which a peer is down."""
DEFAULT_DOWN_BACKOFF = 1.0
"""Seconds a peer is first down for; doubled at each failure after it, up to the max."""
MAX_BACKOFF = 30.0

_monotonic = time.monotonic


@dataclass(frozen=True, slots=True)
class PeerHealthInfo:
    """A snapshot of one peer's health (``HTTPPool.peer_health()``, ``/stats``).

    Attributes:
        url: The peer.
        up: Whether requests are sent to it.
        failures: Its consecutive failed requests.
        down_seconds_left: Seconds until requests flow to it again (0 when up).
        times_down: How often it was marked down.
    """

    url: str
    up: bool
    failures: int
    down_seconds_left: float
    times_down: int


class PeerHealth:
    """The health of one peer, updated by every request to it.

    Args:
        down_after: Consecutive failures that mark it down; 0 never does.
        backoff: Seconds it is first down for.
    """

    __slots__ = (
        "_backoff",
        "_base",
        "_down_after",
        "down_until",
        "failures",
        "probing",
        "times_down",
    )

    def __init__(
        self, down_after: int = DEFAULT_DOWN_AFTER, backoff: float = DEFAULT_DOWN_BACKOFF
    ) -> None:
        self._down_after = down_after
        self._base = backoff
        self._backoff = backoff
        self.failures = 0
        self.down_until = 0.0
        """Monotonic time until which the peer is down (0.0: up)."""
        self.times_down = 0
        self.probing = False
        """The backoff is over and one request (the probe) is out: the others wait."""

    def is_down(self) -> bool:
        """Whether requests to the peer are held back now."""
        return self.down_until != 0.0 and (self.probing or _monotonic() < self.down_until)

    def admit(self) -> bool:
        """Whether a request may go to the peer now: always while it is up; once its
        backoff is over, only one, the probe, until that one is answered."""
        if self.down_until == 0.0:
            return True
        if self.is_down():
            return False
        self.probing = True
        return True

    def succeeded(self) -> None:
        """A request reached the peer and was answered."""
        self.failures = 0
        self.down_until = 0.0
        self.probing = False
        self._backoff = self._base

    def failed(self) -> None:
        """A request failed to reach the peer."""
        self.failures += 1
        if self._down_after and self.failures >= self._down_after:
            now = _monotonic()
            if now < self.down_until and not self.probing:
                return  # failures of requests sent before it went down: one step each
            self.probing = False
            self.down_until = now + self._backoff
            self._backoff = min(2 * self._backoff, MAX_BACKOFF)
            self.times_down += 1

    def info(self, url: str) -> PeerHealthInfo:
        """Return a snapshot."""
        left = max(0.0, self.down_until - _monotonic()) if self.down_until else 0.0
        return PeerHealthInfo(url, left == 0.0, self.failures, left, self.times_down)

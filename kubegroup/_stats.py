"""A frozen snapshot of a KubeGroup's counters, read by ``kubegroup.metrics`` at scrape time."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KubeGroupStats"]


@dataclass(frozen=True, slots=True)
class KubeGroupStats:
    """Counters and gauges of one :class:`~kubegroup.KubeGroup`.

    Attributes:
        pods: Pods matching the selector, ready or not (Go's ``kubegroup_peers``).
        peers: URLs in the last peer list given to the pool, self included.
        updates: Debounced snapshots evaluated (Go's ``kubegroup_events``).
        events: Watch events received (bookmarks included).
        errors: Failed list/watch requests and failed ``set_peers`` calls.
        lists: Successful list requests (the first one and every relist).
        relists: Relists forced by an expired (410) watch.
        watches: Watch requests the server accepted.
        healthy: Whether the last API request succeeded.
        unhealthy_seconds: How long API requests have been failing in a row (0.0 while
            healthy).
        dead_links: Watches given up after ``read_timeout`` without a byte (a dead
            connection presumed) and resumed on a new one: reconnects, not errors.
    """

    pods: int = 0
    peers: int = 0
    updates: int = 0
    events: int = 0
    errors: int = 0
    lists: int = 0
    relists: int = 0
    watches: int = 0
    healthy: bool = False
    unhealthy_seconds: float = 0.0
    dead_links: int = 0

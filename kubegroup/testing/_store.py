"""The fake API server's state: pods, the global resourceVersion, event history, watches.

It models etcd revisions: one counter bumped by every write, each write recorded in a
bounded history so a watch can resume from any retained revision. Watches are filtered
per event against old and new object, so relabelling turns into ADDED/DELETED exactly as
the real apiserver does. One lock (``_lock``) protects everything here.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from ._pods import Pod
from ._selector import FieldQuery, LabelQuery

__all__ = ["Change", "Expired", "PodStore", "WatchFilter", "WatchItem", "Watcher"]

EventType = Literal["ADDED", "MODIFIED", "DELETED"]


class Expired(Exception):
    """A watch or exact list asked for a revision older than the retained history."""

    def __init__(self, requested: int, oldest: int) -> None:
        self.requested = requested
        self.oldest = oldest  # the oldest version one can still watch from
        super().__init__(f"too old resource version: {requested} ({oldest})")


@dataclass(frozen=True, slots=True)
class Change:
    """One write: ``new`` is the stored state (for DELETED, the last state)."""

    rv: int
    type: EventType
    old: Pod | None
    new: Pod
    at: float = 0.0  # the store's clock when written (for the watch cache's time window)


@dataclass(frozen=True, slots=True)
class WatchFilter:
    """What a list or watch selects: a namespace (None = all), labels and fields."""

    namespace: str | None
    labels: LabelQuery
    fields: FieldQuery

    def matches(self, pod: Pod) -> bool:
        """Return whether ``pod`` is selected."""
        meta = pod["metadata"]
        if self.namespace is not None and meta["namespace"] != self.namespace:
            return False
        return self.labels.matches(meta.get("labels")) and self.fields.matches(pod)

    def translate(self, change: Change) -> tuple[EventType, Pod] | None:
        """Return the event this watch sees for ``change``, if any (selector transitions)."""
        was = change.old is not None and self.matches(change.old)
        now = self.matches(change.new)
        if change.type == "MODIFIED":
            if was and now:
                return "MODIFIED", change.new
            if now:
                return "ADDED", change.new
            # leaving the selector: the previous object, at this change's version (observed
            # on kube-apiserver v1.37.2: DELETED still carries the old labels)
            return ("DELETED", _with_rv(change.old, change.rv)) if was and change.old else None
        return (change.type, change.new) if (now or was) else None


# ("event", type, obj) | ("bookmark", rv, initial_end, final) | ("close",) | ("cut",) | ("stall",)
# | ("raw", bytes) | ("error", code, message): an ERROR event, then the stream ends
WatchItem = tuple[Any, ...]


@dataclass(eq=False)
class Watcher:
    """An open watch: the store pushes items into ``queue``; one HTTP thread drains it."""

    filter: WatchFilter
    bookmarks: bool
    after: int = 0  # only changes newer than this (a watch from a future version)
    queue: queue.SimpleQueue[WatchItem] = field(default_factory=queue.SimpleQueue)


class PodStore:
    """Thread-safe pod storage with revisions, bounded history and watch fan-out."""

    def __init__(
        self,
        *,
        history_limit: int = 1000,
        first_revision: int = 1000,
        watch_cache_window: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)  # notified when watches open or close
        self._pods: dict[tuple[str, str], Pod] = {}  # (namespace, name) -> pod
        self._rv = first_revision
        self._compacted = first_revision  # revisions <= this are no longer in _history
        self._cache_start = first_revision  # watches need since >= this (a fresh cache)
        self._window = watch_cache_window
        self._clock = clock
        self._history: deque[Change] = deque()
        self._history_limit = history_limit
        self._watchers: set[Watcher] = set()

    @property
    def revision(self) -> int:
        """The current (latest) revision."""
        with self._lock:
            return self._rv

    def get(self, namespace: str, name: str) -> Pod | None:
        """Return the stored pod or None (shared dict: do not mutate)."""
        with self._lock:
            return self._pods.get((namespace, name))

    def list_pods(self, flt: WatchFilter, *, exact: int | None = None) -> tuple[int, list[Pod]]:
        """Return ``(revision, pods)`` now, or at revision ``exact`` (rebuilt from history)."""
        with self._lock:
            if exact is None or exact >= self._rv:  # (a future exact version is waited for)
                state = dict(self._pods)
                rv = self._rv
            else:
                if exact < self._compacted:
                    raise Expired(exact, self._compacted)
                state = dict(self._pods)
                for change in reversed(self._history):
                    if change.rv <= exact:
                        break
                    key = (change.new["metadata"]["namespace"], change.new["metadata"]["name"])
                    if change.old is None:
                        del state[key]
                    else:
                        state[key] = change.old
                rv = exact
            pods = [p for _, p in sorted(state.items()) if flt.matches(p)]
            return rv, pods

    def pods(self) -> list[Pod]:
        """Return every stored pod, sorted by namespace and name."""
        with self._lock:
            return [p for _, p in sorted(self._pods.items())]

    def write(self, namespace: str, name: str, fn: Callable[[Pod | None], Pod | None]) -> Pod:
        """Apply ``fn(old) -> new`` atomically; ``new is None`` deletes the pod.

        Returns the stored object (for a delete, its last state at the deletion revision).
        Raises:
            KeyError: ``fn`` returned None for a pod that does not exist.
        """
        with self._lock:
            key = (namespace, name)
            old = self._pods.get(key)
            new = fn(old)
            if new is None and old is None:
                raise KeyError(f"pod {namespace}/{name} not found")
            self._rv += 1
            kind: EventType
            if new is None:
                assert old is not None
                kind, stored = "DELETED", _with_rv(old, self._rv)
                del self._pods[key]
            else:
                kind, stored = ("MODIFIED" if old else "ADDED"), _with_rv(new, self._rv)
                self._pods[key] = stored
            change = Change(self._rv, kind, old, stored, self._clock())
            self._history.append(change)
            while len(self._history) > self._history_limit:
                self._compacted = self._history.popleft().rv
            for w in self._watchers:
                event = w.filter.translate(change) if change.rv > w.after else None
                if event is not None:
                    w.queue.put(("event", *event))
            self._cond.notify_all()
            return stored

    def wait_for_revision(self, rv: int, timeout: float) -> bool:
        """Block until the store reaches ``rv``; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._rv >= rv, timeout)

    def restart_cache(self) -> int:
        """Drop the watch cache, as an apiserver restart does; return the new cache's start.

        The restart writes once (a version no pod event has, like the apiserver's own
        writes when it starts), so a watch from any version before it, the newest included,
        gets 410; exact lists still read the history."""
        with self._lock:
            self._rv += 1
            self._cache_start = self._rv
            self._cond.notify_all()
            return self._rv

    def _watchable_from(self) -> int:
        """The oldest version a watch may start from (compaction, restart, time window)."""
        oldest = max(self._compacted, self._cache_start)
        if self._window is not None:
            horizon = self._clock() - self._window
            for change in self._history:
                if change.at >= horizon:
                    break
                oldest = max(oldest, change.rv)
        return oldest

    def compact(self) -> int:
        """Forget all history, so a watch from any older revision gets 410; return it."""
        with self._lock:
            self._history.clear()
            self._compacted = self._rv
            return self._rv

    def open_watch(
        self,
        flt: WatchFilter,
        *,
        since: int | None,
        bookmarks: bool,
        initial_events_end: bool = False,
    ) -> tuple[Watcher, list[WatchItem]]:
        """Register a watch; return it with the items to send first.

        ``since=None`` sends synthetic ADDED events for the current state; otherwise the
        retained changes after ``since`` are replayed. Raises :class:`Expired`.
        """
        with self._lock:
            items: list[WatchItem] = []
            if since is None:
                for pod in self.list_pods(flt)[1]:
                    items.append(("event", "ADDED", pod))
                if initial_events_end:
                    items.append(("bookmark", self._rv, True, False))
            else:
                oldest = self._watchable_from()
                if since < oldest:
                    raise Expired(since, oldest)
                for change in self._history:
                    event = flt.translate(change) if change.rv > since else None
                    if event is not None:
                        items.append(("event", *event))
            watcher = Watcher(flt, bookmarks, after=max(since or 0, 0))
            self._watchers.add(watcher)
            self._cond.notify_all()
            return watcher, items

    def close_watch(self, watcher: Watcher) -> None:
        """Unregister ``watcher`` (idempotent)."""
        with self._lock:
            self._watchers.discard(watcher)
            self._cond.notify_all()

    def broadcast(self, item: WatchItem) -> int:
        """Push a control item to every open watch; return how many got it."""
        with self._lock:
            for w in self._watchers:
                w.queue.put(item)
            return len(self._watchers)

    def bookmark(self, watcher: Watcher | None = None, *, final: bool = False) -> int:
        """Queue a BOOKMARK at the current revision for ``watcher`` (None = every watch
        that allows bookmarks), in order with its events; return how many got one."""
        with self._lock:
            targets = [watcher] if watcher else [w for w in self._watchers if w.bookmarks]
            for w in targets:
                w.queue.put(("bookmark", self._rv, False, final))
            return len(targets)

    @property
    def watch_count(self) -> int:
        """How many watches are open."""
        with self._lock:
            return len(self._watchers)

    def wait_for_watches(self, count: int, timeout: float) -> bool:
        """Block until at least ``count`` watches are open; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._watchers) >= count, timeout)

    def wait_idle(self, timeout: float) -> bool:
        """Block until no watch is open; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._watchers, timeout)

    def history(self) -> Iterator[Change]:
        """Iterate over a snapshot of the retained history."""
        with self._lock:
            return iter(list(self._history))


def _with_rv(pod: Pod, rv: int) -> Pod:
    new = dict(pod)
    new["metadata"] = {**pod["metadata"], "resourceVersion": str(rv)}
    return new

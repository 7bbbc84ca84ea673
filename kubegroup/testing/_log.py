"""The fake API server's request log: what was asked, with which headers, and the answer."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["GO_TRUE", "RecordedRequest", "RequestLog"]

GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
"""The spellings Go's ``strconv.ParseBool`` reads as true."""


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the fake received, for assertions."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    status: int
    time: float  # time.monotonic() when it was answered

    @property
    def is_watch(self) -> bool:
        """Whether this was a watch (``watch`` parsed as a Go boolean)."""
        return self.query.get("watch") in GO_TRUE


class RequestLog:
    """A thread-safe, append-only list of :class:`RecordedRequest`."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._items: list[RecordedRequest] = []

    def append(self, item: RecordedRequest) -> None:
        """Record ``item`` and wake waiters."""
        with self._cond:
            self._items.append(item)
            self._cond.notify_all()

    def snapshot(self) -> list[RecordedRequest]:
        """Return a copy of every request so far."""
        with self._cond:
            return list(self._items)

    def wait_for(
        self, predicate: Callable[[list[RecordedRequest]], bool], timeout: float
    ) -> list[RecordedRequest]:
        """Block until ``predicate(requests)`` holds; raise TimeoutError otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self._items), timeout):
                raise TimeoutError(f"condition on the request log not met in {timeout} s")
            return list(self._items)

"""The fake API server's request log: what was asked, with which headers, and the answer."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["RecordedRequest", "RequestLog", "query_bool"]


def query_bool(query: Mapping[str, str], name: str) -> bool:
    """A boolean query parameter as the apiserver reads it: absent is false; present, it is
    true unless it is ``0`` or ``false`` in any case (``watch=``, ``watch=yes`` are true).

    Observed on kube-apiserver v1.37.2 (apimachinery's string-slice-to-bool conversion).
    """
    value = query.get(name)
    return value is not None and value != "0" and value.lower() != "false"


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
        """Whether this was a watch (``watch`` parsed as the apiserver does)."""
        return query_bool(self.query, "watch")


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

"""Fault injection for the fake API server: scripted errors, expiries, stalls and denials.

Faults are one-shot unless stated otherwise: each one is consumed by the request it
affects. ``_lock`` protects every field.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["VERBS", "ErrorReply", "Faults", "status_reason"]

VERBS = ("get", "list", "watch")
"""The verbs on pods the fake serves (and RBAC can forbid)."""

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def status_reason(code: int) -> str:
    """Return the Kubernetes ``Status.reason`` conventionally used with HTTP ``code``."""
    return _REASONS.get(code, "Unknown")


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """An error the server answers with instead of serving the request."""

    status: int
    message: str
    retry_after: int | None = None

    @property
    def reason(self) -> str:
        """The ``Status.reason`` for this code."""
        return status_reason(self.status)


class Faults:
    """The scripted faults waiting to be applied."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._errors: deque[ErrorReply] = deque()  # for the next API requests, in order
        self._expire_watches = 0  # next N watches answer with a 410 ERROR event
        self._stall_watches = 0  # next N watches send headers, then nothing
        self._denied: dict[str, frozenset[str]] = {}  # namespace -> forbidden verbs
        self._hang_requests = 0  # next N API requests are never answered

    def fail_requests(self, reply: ErrorReply, count: int) -> None:
        """Answer the next ``count`` API requests with ``reply``."""
        with self._lock:
            self._errors.extend([reply] * count)

    def take_error(self) -> ErrorReply | None:
        """Consume and return the next scripted error, if any."""
        with self._lock:
            return self._errors.popleft() if self._errors else None

    def expire_watches(self, count: int) -> None:
        """Make the next ``count`` watches fail with a 410 ``ERROR`` event."""
        with self._lock:
            self._expire_watches += count

    def take_expiry(self) -> bool:
        """Consume one scripted watch expiry; return whether there was one."""
        with self._lock:
            if self._expire_watches:
                self._expire_watches -= 1
                return True
            return False

    def stall_watches(self, count: int) -> None:
        """Make the next ``count`` watches stall right after their headers."""
        with self._lock:
            self._stall_watches += count

    def take_stall(self) -> bool:
        """Consume one scripted stall; return whether there was one."""
        with self._lock:
            if self._stall_watches:
                self._stall_watches -= 1
                return True
            return False

    def hang_requests(self, count: int) -> None:
        """Never answer the next ``count`` API requests."""
        with self._lock:
            self._hang_requests += count

    def take_hang(self) -> bool:
        """Consume one scripted hang; return whether there was one."""
        with self._lock:
            if self._hang_requests:
                self._hang_requests -= 1
                return True
            return False

    def deny(self, namespace: str, denied: bool, verbs: Iterable[str] = VERBS) -> None:
        """Forbid (or allow again) ``verbs`` on pods in ``namespace``."""
        with self._lock:
            if denied:
                self._denied[namespace] = frozenset(verbs)
            else:
                self._denied.pop(namespace, None)

    def is_denied(self, namespace: str | None, verb: str = "list") -> bool:
        """Return whether ``verb`` on pods in ``namespace`` (None = all) is forbidden."""
        with self._lock:
            if namespace is None:
                return any(verb in verbs for verbs in self._denied.values())
            return verb in self._denied.get(namespace, frozenset())

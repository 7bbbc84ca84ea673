"""Fault injection for the fake API server: scripted errors, expiries, stalls and denials.

Faults are one-shot unless stated otherwise: each one is consumed by the request it
affects. ``_lock`` protects every field.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

__all__ = ["ErrorReply", "Faults", "status_reason"]

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
        self._denied: set[str] = set()  # namespaces where listing pods is forbidden

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

    def deny(self, namespace: str, denied: bool) -> None:
        """Forbid (or allow again) listing and watching pods in ``namespace``."""
        with self._lock:
            if denied:
                self._denied.add(namespace)
            else:
                self._denied.discard(namespace)

    def is_denied(self, namespace: str | None) -> bool:
        """Return whether pods in ``namespace`` (None = all namespaces) are forbidden."""
        with self._lock:
            return bool(self._denied) if namespace is None else namespace in self._denied

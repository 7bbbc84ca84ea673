"""The kubegroup error hierarchy.

Errors from the ``kubernetes`` client and urllib3 never leak out as themselves: they are
wrapped at the boundary (``raise ... from exc``) into one of these, so callers catch
:class:`KubeGroupError` and still see the original cause.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from typing import Any

__all__ = [
    "KubeAPIError",
    "KubeConfigError",
    "KubeConnectionError",
    "KubeGroupError",
    "api_error_from_status",
    "parse_retry_after",
]


class KubeGroupError(Exception):
    """Base class of every error kubegroup raises itself."""


class KubeConfigError(KubeGroupError, ValueError):
    """The configuration is unusable: selector, namespace, port, address or API credentials."""


class KubeConnectionError(KubeGroupError):
    """The API server could not be reached, or the connection broke or timed out."""


class KubeAPIError(KubeGroupError):
    """The API server answered with an error ``Status``.

    Attributes:
        status: The HTTP status code, or the ``code`` of a watch ``ERROR`` event.
        reason: The machine-readable ``Status.reason`` (``"Forbidden"``, ``"Expired"``...).
        message: The human-readable ``Status.message``.
        retry_after: Seconds the server asked us to wait (``Retry-After``), if any.
    """

    def __init__(
        self,
        status: int,
        reason: str = "",
        message: str = "",
        *,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.reason = reason
        self.message = message
        self.retry_after = retry_after
        super().__init__(f"{status} {reason}: {message}" if message else f"{status} {reason}")

    @property
    def is_auth_error(self) -> bool:
        """Whether this is a 401 or 403: credentials or RBAC, worth a clear log line."""
        return self.status in (401, 403)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Return the delay in seconds from a ``Retry-After`` header (seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def status_code(value: Any, default: int) -> int:
    """Return ``value`` when it is an HTTP status code (an int in 100..599), else ``default``."""
    if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
        return value
    return default


def api_error_from_status(
    status: int,
    body: str | bytes | None,
    *,
    http_reason: str = "",
    headers: Mapping[str, str] | None = None,
) -> KubeAPIError:
    """Build a :class:`KubeAPIError` from an HTTP status and a (possibly) ``Status`` body."""
    reason, message = http_reason, ""
    doc: Any = None
    if body:
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError):
            message = body.decode(errors="replace") if isinstance(body, bytes) else body
    if isinstance(doc, dict) and doc.get("kind") == "Status":
        reason = str(doc.get("reason") or reason)
        message = str(doc.get("message") or "")
        status = status_code(doc.get("code"), status)
    retry = None
    if headers is not None:
        retry = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
    return KubeAPIError(status, reason, message.strip(), retry_after=retry)

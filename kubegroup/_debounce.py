"""Leading-edge debounce on the event loop (udhos/debounce v0.0.3, with a re-armed window).

The first call runs at once and opens a window of ``delay`` seconds. Calls during the
window are coalesced into one trailing run at its end, which opens a new window; a
window with no calls closes quietly. So changes are applied at once when rare, and at
most about once per ``delay`` under a steady stream. ``delay == 0`` runs every call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["Debouncer"]


class Debouncer:
    """Rate-limit calls of ``fn``; use only on ``loop``'s thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, delay: float, fn: Callable[[], None]):
        if delay < 0:
            raise ValueError(f"debounce delay must be >= 0, got {delay}")
        self._loop = loop
        self._delay = delay
        self._fn = fn
        self._timer: asyncio.TimerHandle | None = None  # set while a window is open
        self._pending = False  # a call arrived during the open window
        self._closed = False

    def trigger(self) -> None:
        """Run ``fn`` now if no window is open, else once at the end of the window."""
        if self._closed:
            return
        if self._timer is not None:
            self._pending = True
            return
        if self._delay > 0:
            self._timer = self._loop.call_later(self._delay, self._fire)
        self._fn()

    def _fire(self) -> None:
        self._timer = None
        if self._pending and not self._closed:
            self._pending = False
            self._timer = self._loop.call_later(self._delay, self._fire)
            self._fn()

    @property
    def pending(self) -> bool:
        """Whether a trailing run is scheduled."""
        return self._pending

    def cancel(self) -> None:
        """Drop any pending run; later triggers do nothing (idempotent)."""
        self._closed = True
        self._pending = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

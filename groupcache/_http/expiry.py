"""The timeouts of a connection pool's requests on the wire, with one timer for them all.

``asyncio.timeout`` around each request made, rescheduled and cancelled a timer handle per
request (and left the cancelled ones in the loop's heap): about a tenth of a peer GET's
CPU. Here each request notes its deadline, and one timer per pool fails the due ones.
"""

from __future__ import annotations

import asyncio

from .._errors import TransportError
from .http1 import Connection, Response


class Expiry:
    """The timeouts of the requests on the wire, with one timer for them all rather than
    one per request (``asyncio.timeout`` made and cancelled a timer handle per request,
    a tenth of a peer GET's CPU): the timer is set for the earliest deadline and, when it
    fires, fails the requests that are due (their connections close), forgets those
    done and is set again for the next deadline, if any. It holds one entry per
    connection (a connection carries one request at a time)."""

    __slots__ = ("_busy", "_message", "_timer")

    def __init__(self, message: str) -> None:
        self._busy: dict[Connection, tuple[asyncio.Future[tuple[Response, bool]], float]] = {}
        self._message = message
        self._timer: asyncio.TimerHandle | None = None

    def watch(
        self, conn: Connection, waiter: asyncio.Future[tuple[Response, bool]], deadline: float
    ) -> None:
        """Fail ``conn``'s request, whose response ``waiter`` awaits, at ``deadline``.
        Nothing needs undoing when it ends in time: the timer drops the requests done."""
        self._busy[conn] = (waiter, deadline)
        timer = self._timer
        if timer is None:
            self._timer = asyncio.get_running_loop().call_at(deadline, self._fire)
        elif deadline < timer.when():  # sooner than the one set (a request that queued)
            timer.cancel()
            self._timer = asyncio.get_running_loop().call_at(deadline, self._fire)

    def _fire(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        busy = self._busy
        later = []
        for conn, (waiter, deadline) in list(busy.items()):
            if waiter.done():
                del busy[conn]
            elif deadline <= now:
                del busy[conn]
                conn.fail(TransportError(self._message))
            else:
                later.append(deadline)
        if later:
            self._timer = loop.call_at(min(later), self._fire)

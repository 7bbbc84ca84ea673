"""The registry of groups and their peer picker (modernprogram's Workspace, v3's Instance).

Nothing is global but :func:`default_workspace`, kept for convenience; every API takes an
explicit workspace, and tests use their own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import DuplicateGroupError, GroupcacheError
from .blocking import _POLL, LoopThread
from .peers import NoPeers, PeerPicker

if TYPE_CHECKING:
    from .group import Group

T = TypeVar("T")


class Workspace:
    """Holds groups by name, the peer picker they share, and the event loop they live on.

    A workspace's groups run on one event loop: the loop of the first ``await group.get``
    or of the pool that serves them. Every method of a group called on another loop or
    thread runs on that loop (cache hits are read where the caller is, thread-safely);
    when there is none, ``get_sync`` starts a background loop thread, owned by the
    workspace until :meth:`close`.
    """

    def __init__(self) -> None:
        self._groups: dict[str, Group[Any]] = {}
        self.peer_picker: PeerPicker = NoPeers()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: LoopThread | None = None
        self._lock = threading.Lock()  # protects _loop and _loop_thread

    # -- groups ---------------------------------------------------------------

    def _add_group(self, group: Group[Any]) -> None:
        if group.name in self._groups:
            raise DuplicateGroupError(f"duplicate registration of group {group.name!r}")
        self._groups[group.name] = group

    def get_group(self, name: str) -> Group[Any] | None:
        """Return the group called ``name``, or ``None``."""
        return self._groups.get(name)

    def groups(self) -> list[Group[Any]]:
        """Return every group, in creation order."""
        return list(self._groups.values())

    def remove_group(self, name: str) -> bool:
        """Forget the group called ``name`` (mailgun's DeregisterGroup); return if it existed."""
        return self._groups.pop(name, None) is not None

    def set_peer_picker(self, picker: PeerPicker) -> None:
        """Make ``picker`` choose owners for every group of this workspace."""
        self.peer_picker = picker

    # -- event loop -------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """Return the loop the groups live on, if one is bound."""
        return self._loop

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Make ``loop`` the home of this workspace's groups.

        Raises:
            GroupcacheError: another loop that is still running is bound already.
        """
        with self._lock:
            if loop is self._loop:
                return
            old = self._loop
            if old is not None and old.is_running() and not old.is_closed():
                raise GroupcacheError(
                    "workspace is bound to an event loop that is still running; "
                    "use one loop per workspace"
                )
            self._loop = loop
        for group in self._groups.values():
            group._rehome(loop)

    def live_loop(self) -> asyncio.AbstractEventLoop | None:
        """Return the bound loop if it is running, else ``None``."""
        loop = self._loop
        if loop is not None and loop.is_running() and not loop.is_closed():
            return loop
        return None

    def _sync_loop(self) -> asyncio.AbstractEventLoop:
        """Return a running loop for synchronous callers, starting a thread if needed."""
        loop = self.live_loop()
        if loop is not None:
            return loop
        with self._lock:
            if self._loop_thread is None or not self._loop_thread.alive:
                self._loop_thread = LoopThread()
            thread_loop = self._loop_thread.loop
        self.bind_loop(thread_loop)
        return thread_loop

    def run_sync(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the groups' loop from a thread outside it, and wait for it.

        Raises:
            GroupcacheError: called from a thread that runs an event loop.
            TimeoutError: no result within ``timeout`` seconds (``coro`` is cancelled).
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coro.close()
            raise GroupcacheError(
                "synchronous call from inside an event loop; use the async method"
            )
        loop = self._sync_loop()
        fut = asyncio.run_coroutine_threadsafe(coro, loop)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = _POLL if deadline is None else min(_POLL, deadline - time.monotonic())
            try:
                return fut.result(max(wait, 0.0))
            except concurrent.futures.TimeoutError:
                if deadline is not None and time.monotonic() >= deadline:
                    fut.cancel()
                    raise TimeoutError(f"groupcache: no answer within {timeout} s") from None
                if not loop.is_running():
                    fut.cancel()
                    raise GroupcacheError(
                        "groupcache: the groups' home loop stopped before it answered"
                    ) from None

    def close(self) -> None:
        """Stop the background loop thread, if one was started (idempotent)."""
        with self._lock:
            thread, self._loop_thread = self._loop_thread, None
        if thread is not None:
            thread.stop()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Workspace groups={sorted(self._groups)} picker={self.peer_picker!r}>"


_default = Workspace()


def default_workspace() -> Workspace:
    """Return the process-wide default workspace."""
    return _default


def get_group(name: str, workspace: Workspace | None = None) -> Group[Any] | None:
    """Return the group called ``name`` in ``workspace`` (default: the default workspace)."""
    return (workspace or _default).get_group(name)

"""Calls from other threads and event loops, handed to the loop a group lives on.

A group's caches, flights and peer connections belong to its workspace's home loop. The
async entry points called on another loop run on the home loop (the caller awaits the
result, and cancelling the caller cancels the work there); the synchronous ones block
their thread until the home loop has run them. Only cache hits are served where the
caller is, through reads that are safe from any thread. Synchronous code with no loop
of its own gets one: a :class:`LoopThread`, which the workspace starts and stops.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar

from .._errors import GroupcacheError
from .codec import T as ValueT

if TYPE_CHECKING:
    from .cache import Cache
    from .stats import SyncHitCounters
    from .workspace import Workspace


class InWorkspace(Protocol):
    """What lives on a workspace's home loop: a group, a peer pool."""

    @property
    def workspace(self) -> Workspace: ...


P = ParamSpec("P")
T = TypeVar("T")
G = TypeVar("G", bound=InWorkspace)

_POLL = 0.5  # seconds between checks that the home loop still runs a handed-over call


def elsewhere(workspace: Workspace) -> asyncio.AbstractEventLoop | None:
    """Return the home loop if it runs and the caller's loop is another; else make the
    caller's loop the home loop (when none runs) and return ``None``."""
    loop = asyncio.get_running_loop()
    if workspace.loop is loop:
        return None
    live = workspace.live_loop()
    if live is not None and live is not loop:
        return live
    workspace.bind_loop(loop)
    return None


async def run_on(home: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on ``home`` and await its result here (cancellation goes along).

    Raises:
        GroupcacheError: ``home`` stopped before it answered (its owner called
            ``loop.stop()``): nothing would ever answer.
    """
    fut = asyncio.run_coroutine_threadsafe(coro, home)
    waiter = asyncio.wrap_future(fut)
    try:
        while True:
            done, _ = await asyncio.wait((waiter,), timeout=_POLL)
            if done:
                return waiter.result()
            if not home.is_running():
                raise GroupcacheError(
                    "groupcache: the group's home loop stopped before it answered"
                )
    finally:
        fut.cancel()  # a no-op once done; else the work on the home loop is cancelled


def on_home_loop(
    method: Callable[Concatenate[G, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[G, P], Coroutine[Any, Any, T]]:
    """Make an async method of a group run on the group's home loop."""

    @functools.wraps(method)
    async def wrapper(self: G, /, *args: P.args, **kwargs: P.kwargs) -> T:
        home = elsewhere(self.workspace)
        if home is None:
            return await method(self, *args, **kwargs)
        return await run_on(home, method(self, *args, **kwargs))

    return wrapper


def on_home_thread(method: Callable[Concatenate[G, P], T]) -> Callable[Concatenate[G, P], T]:
    """Make a synchronous method of a group (or anything of a workspace) run on the thread
    of its running home loop, blocking the calling thread meanwhile."""

    @functools.wraps(method)
    def wrapper(self: G, /, *args: P.args, **kwargs: P.kwargs) -> T:
        home = self.workspace.live_loop()
        if home is None or asyncio._get_running_loop() is home:
            return method(self, *args, **kwargs)
        return call_on(home, functools.partial(method, self, *args, **kwargs))

    return wrapper


def call_on(home: asyncio.AbstractEventLoop, fn: Callable[[], T]) -> T:
    """Run ``fn`` on ``home``'s thread and wait for it; run it here if ``home`` has
    stopped before running it (nothing then runs on that loop to race with)."""
    fut: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        if fut.set_running_or_notify_cancel():
            try:
                fut.set_result(fn())
            except BaseException as exc:
                fut.set_exception(exc)

    try:
        home.call_soon_threadsafe(run)
    except RuntimeError:  # closed meanwhile
        return fn()
    while True:
        try:
            return fut.result(_POLL)
        except concurrent.futures.TimeoutError:
            if not home.is_running() and fut.cancel():
                return fn()


def read_hit(
    main: Cache, hot: Cache, hits: SyncHitCounters, key: str, fast_key_len: int
) -> bytes | None:
    """Return the cached bytes of ``key`` from any thread, or ``None`` (a miss, or a key
    that needs the full check): the fast path of ``get_sync``, and of a ``get`` on another
    loop. Counted in the calling thread's own ``hits``."""
    if type(key) is not str or len(key) > fast_key_len:
        return None
    data = main.peek(key)
    if data.__class__ is bytes:  # never expires: the common hit, inlined (Cache.peek)
        try:  # noqa: SIM105 - contextlib.suppress costs ~10x more here
            main.touch(key)
        except KeyError:  # removed by the loop meanwhile: still a valid read
            pass
        hits.mine().main += 1
        return data
    data = main.get_threadsafe(key)
    if data is not None:
        hits.mine().main += 1
        return data
    data = hot.get_threadsafe(key)
    if data is not None:
        hits.mine().hot += 1
    return data


class BlockingMethods(Generic[ValueT]):
    """The part of :class:`~groupcache.Group` that crosses threads and loops: the blocking
    methods, and ``get`` called on a loop that is not the home loop."""

    if TYPE_CHECKING:
        workspace: Workspace
        _main: Cache
        _hot: Cache
        _sync_hits: SyncHitCounters
        _fast_key_len: int
        _home: asyncio.AbstractEventLoop | None

        _decode: Callable[[bytes], ValueT] | None

        def _decoded(self, data: bytes) -> ValueT: ...

        async def get(self, key: str) -> ValueT: ...
        async def set(self, key: str, value: ValueT, *, expire: float | None = None) -> None: ...
        async def remove(self, key: str) -> None: ...
        def _reset_flights(self) -> None: ...

    def get_sync(self, key: str, *, timeout: float | None = None) -> ValueT:
        """Blocking :meth:`get` for threads outside the event loop (Flask, Django).

        Raises:
            GroupcacheError: called from a thread that runs an event loop.
            TimeoutError: no answer within ``timeout`` seconds (the wait is cancelled).
        """
        data = read_hit(self._main, self._hot, self._sync_hits, key, self._fast_key_len)
        if data is not None:  # a hit needs no trip to the loop
            if self._decode is None:  # bytes: nothing to decode, no call
                return data  # type: ignore[return-value]
            return self._decoded(data)
        return self.workspace.run_sync(self.get(key), timeout)

    def set_sync(self, key: str, value: ValueT, *, expire: float | None = None) -> None:
        """Blocking :meth:`set` for threads outside the event loop."""
        self.workspace.run_sync(self.set(key, value, expire=expire), None)

    def remove_sync(self, key: str) -> None:
        """Blocking :meth:`remove` for threads outside the event loop."""
        self.workspace.run_sync(self.remove(key), None)

    def _rehome(self, loop: asyncio.AbstractEventLoop) -> None:
        """Move to ``loop`` (the workspace's new home loop): the flights of the old one
        cannot be awaited here."""
        self._home = loop
        self._reset_flights()

    async def _get_elsewhere(self, key: str) -> ValueT:
        """Serve :meth:`get` on a loop that is not the home loop: a hit here, else on it."""
        home = elsewhere(self.workspace)
        if home is None:  # the caller's loop is (now) the workspace's loop: move here,
            self._rehome(asyncio.get_running_loop())  # even if the workspace forgot us
            return await self.get(key)
        data = read_hit(self._main, self._hot, self._sync_hits, key, self._fast_key_len)
        if data is not None:
            return self._decoded(data)
        return await run_on(home, self.get(key))


class LoopThread:
    """An event loop running forever in a daemon thread until :meth:`stop`."""

    def __init__(self, name: str = "groupcache-loop") -> None:
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name=name, daemon=True)
        self._thread.start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        try:
            self.loop.run_forever()
        finally:
            try:
                tasks = asyncio.all_tasks(self.loop)
                for task in tasks:
                    task.cancel()
                if tasks:
                    self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
                self.loop.run_until_complete(self.loop.shutdown_default_executor())
            finally:
                self.loop.close()

    @property
    def alive(self) -> bool:
        """Return whether the thread's loop is still running."""
        return self._thread.is_alive() and not self.loop.is_closed()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop the loop, cancel what still runs on it, and join the thread (idempotent)."""
        if self._thread.is_alive():
            if threading.current_thread() is self._thread:
                raise RuntimeError("LoopThread.stop() called from its own loop")
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)

    def __repr__(self) -> str:
        return f"<LoopThread alive={self.alive}>"

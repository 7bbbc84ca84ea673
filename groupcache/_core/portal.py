"""A background event-loop thread, so synchronous code can use asyncio groups."""

from __future__ import annotations

import asyncio
import threading


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

"""KubeGroup: feeds the ready pods of a label selector into a pool's ring, continuously.

Port of kubegroup ``onUpdate`` (``UpdatePeers`` is :mod:`kubegroup._update`). The watch
runs in one thread (:mod:`kubegroup._watch`); every change is handed to the event loop,
debounced there, and turned into a sorted peer list for ``pool.set_peers``. The pool is
only ever called on the loop's thread, never after ``close()`` has returned, and never
with a list emptied by an API error. A ``set_peers`` that raises is retried after a
backoff delay, also when no further pod change arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Protocol

from kubernetes import client as k8s

from ._address import check_scheme, peer_url
from ._backoff import Backoff
from ._debounce import Debouncer
from ._errors import KubeGroupError
from ._pods import PodInfo, find_self, peer_urls
from ._stats import KubeGroupStats
from ._watch import PodWatcher, WatchSettings
from .metrics import KubeGroupCollector, Registry

__all__ = ["KubeGroup", "PeerSetter"]

log = logging.getLogger("kubegroup")


class PeerSetter(Protocol):
    """Anything with ``set_peers(*urls)``, like ``groupcache.HTTPPool``."""

    def set_peers(self, *urls: str) -> object:
        """Replace the peer list."""


class KubeGroup:
    """A running pod watch feeding ``pool``; create it with :func:`update_peers`.

    Use ``async with`` or call :meth:`aclose` / :meth:`close` to stop it.
    """

    def __init__(
        self,
        pool: PeerSetter,
        api_client: k8s.ApiClient,
        settings: WatchSettings,
        *,
        port: int,
        my_url: str,
        debounce: float,
        scheme: str = "http",
        pod_name: str | None = None,
        close_timeout: float = 5.0,
    ) -> None:
        self._pool = pool
        self._api_client = api_client  # ours: closed by close()
        self._port = port
        self._scheme = check_scheme(scheme)
        self.my_url = my_url
        self.pod_name = pod_name or None
        self._close_timeout = close_timeout
        self._warned_self: str | None = None
        self.namespace = settings.namespace
        self.label_selector = settings.label_selector
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._lock = threading.RLock()  # protects _closed; held while calling the pool
        self._closed = False
        self._peers: tuple[str, ...] = ()
        self._delivered = False
        self._counts = {"pods": 0, "updates": 0, "errors": 0}
        self._settled = asyncio.Event()  # synced or closed
        self._synced = False
        self._exited = self._loop.create_future()  # the watch thread has ended
        self._debouncer = Debouncer(self._loop, debounce, self._deliver)
        self._retry: asyncio.TimerHandle | None = None  # set while a failed delivery waits
        self._retry_backoff = Backoff(
            initial=settings.backoff_initial, maximum=settings.backoff_max
        )
        self._collector: tuple[Registry, KubeGroupCollector] | None = None
        self._watcher = PodWatcher(
            api_client, settings, on_change=self._changed, on_exit=self._thread_exited
        )

    def _start(self, registry: Registry | None, metrics_namespace: str) -> None:
        if registry is not None:
            collector = KubeGroupCollector(self.stats, namespace=metrics_namespace)
            registry.register(collector)
            self._collector = (registry, collector)
        self._watcher.start()

    # --- watch thread → loop --------------------------------------------------------

    def _post(self, fn: Callable[[], None]) -> None:
        if self._closed:
            return
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is left to deliver to
            self._loop.call_soon_threadsafe(fn)

    def _changed(self) -> None:
        self._post(self._debouncer.trigger)

    def _thread_exited(self) -> None:
        def done() -> None:
            if not self._exited.done():
                self._exited.set_result(None)

        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(done)

    def _deliver(self) -> None:
        """Turn the current pod snapshot into peers for the pool (on the loop thread)."""
        with self._lock:
            if self._closed:
                return
            synced, pods = self._watcher.snapshot()
            if not synced:
                return
            if self._retry is not None:  # this call is the retry, or makes it moot
                self._retry.cancel()
                self._retry = None
            urls = peer_urls(
                pods,
                port=self._port,
                my_url=self.my_url,
                scheme=self._scheme,
                my_name=self.pod_name,
            )
            self._check_self(pods)
            self._counts["pods"] = len(pods)
            self._counts["updates"] += 1
            if urls != self._peers or not self._delivered:
                try:
                    self._pool.set_peers(*urls)
                except Exception:
                    self._counts["errors"] += 1
                    self._delivered = False  # the pool may hold anything now: send again
                    delay = self._retry_backoff.next_delay()
                    self._retry = self._loop.call_later(delay, self._deliver)
                    log.exception(
                        "kubegroup: set_peers(%d peers) failed; retrying in %.1f s",
                        len(urls),
                        delay,
                    )
                    return
                log.debug("kubegroup: peers: %s", ", ".join(urls))
                self._peers, self._delivered = urls, True
                self._retry_backoff.reset()
            if not self._synced:
                self._synced = True
                self._settled.set()

    def _check_self(self, pods: tuple[PodInfo, ...]) -> None:
        """Warn once when this pod's listed IP is not the one in ``my_url``."""
        me = find_self(pods, self.pod_name)
        if me is None or me.ip == self._warned_self:
            return
        url = peer_url(me.ip, self._port, scheme=self._scheme)
        if url != self.my_url:
            self._warned_self = me.ip
            log.warning(
                "kubegroup: this pod (%s) has status.podIP %s, but my_url is %s (set POD_IP "
                "from status.podIP with the downward API); the ring lists it once, as %s, "
                "which a pool created with my_url does not recognise as itself",
                self.pod_name,
                me.ip,
                self.my_url,
                url,
            )

    # --- public API -----------------------------------------------------------------

    @property
    def peers(self) -> tuple[str, ...]:
        """The peer URLs last given to the pool (sorted, self included); () before sync."""
        return self._peers

    @property
    def synced(self) -> bool:
        """Whether the first full pod list has reached the pool."""
        return self._synced

    @property
    def healthy(self) -> bool:
        """Whether the last Kubernetes API request succeeded."""
        return self._watcher.healthy and not self._closed

    @property
    def unhealthy_seconds(self) -> float:
        """Seconds the API requests have been failing in a row; 0.0 while healthy.

        A readiness check can allow a grace period with it, so that a short API outage
        (an API server restart during a control-plane upgrade) does not take every pod
        out of its Service while the last-known ring keeps serving.
        """
        return 0.0 if self._closed else self._watcher.unhealthy_seconds

    @property
    def last_error(self) -> KubeGroupError | None:
        """The most recent API error, kept after recovery; None if there was none."""
        return self._watcher.last_error

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` or :meth:`aclose` was called."""
        return self._closed

    def stats(self) -> KubeGroupStats:
        """Return a snapshot of the counters (what ``kubegroup.metrics`` exports)."""
        w = dict(self._watcher.counts)
        return KubeGroupStats(
            pods=self._counts["pods"],
            peers=len(self._peers),
            updates=self._counts["updates"],
            events=w["events"],
            errors=w["errors"] + self._counts["errors"],
            lists=w["lists"],
            relists=w["relists"],
            watches=w["watches"],
            dead_links=w["dead_links"],
            healthy=self.healthy,
            unhealthy_seconds=self.unhealthy_seconds,
        )

    async def wait_synced(self) -> None:
        """Wait until the first full pod list has been given to the pool.

        Never returns while the API keeps failing; bound it with ``asyncio.timeout``.

        Raises:
            KubeGroupError: the group was closed before it synced.
        """
        await self._settled.wait()
        if not self._synced:
            raise KubeGroupError("kubegroup closed before its first sync")

    def close(self) -> None:
        """Stop watching and join the watch thread (idempotent), for ``close_timeout`` at most.

        Once it returns, the pool is not called again. The pool keeps its last peers.
        """
        if not self._begin_close():
            return
        if not self._watcher.join(timeout=self._close_timeout):
            self._not_stopped()
        self._finish_close()

    async def aclose(self) -> None:
        """Like :meth:`close`, without blocking the loop; returns within ``close_timeout``."""
        if not self._begin_close():
            return
        if self._watcher.thread.ident is not None:
            try:
                async with asyncio.timeout(self._close_timeout):
                    await asyncio.shield(self._exited)
            except TimeoutError:
                self._not_stopped()
            else:
                self._watcher.join(timeout=1.0)  # it has ended: this is immediate
        self._finish_close()

    def _not_stopped(self) -> None:
        log.warning(
            "kubegroup: the watch thread did not stop within %.1f s: a request the API "
            "server does not answer cannot be interrupted; the daemon thread ends when "
            "it times out, and never calls the pool again",
            self._close_timeout,
        )

    def _begin_close(self) -> bool:
        with self._lock:  # waits for a set_peers call in progress
            if self._closed:
                return False
            self._closed = True
        self._watcher.stop()
        if threading.get_ident() == self._loop_thread:
            self._cancel_on_loop()
        else:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._cancel_on_loop)
        return True

    def _cancel_on_loop(self) -> None:
        self._debouncer.cancel()
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        self._settled.set()

    def _finish_close(self) -> None:
        if self._collector is not None:
            registry, collector = self._collector
            self._collector = None
            registry.unregister(collector)
        self._api_client.close()  # type: ignore[no-untyped-call]
        log.debug("kubegroup: closed (namespace %s)", self.namespace)

    async def __aenter__(self) -> KubeGroup:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "healthy" if self.healthy else "unhealthy"
        return (
            f"<KubeGroup {self.namespace}/{self.label_selector!r} {state} peers={len(self._peers)}>"
        )

"""The pod list/watch loop, in one background thread.

List (from the watch cache, paged: :mod:`kubegroup._listing`), then watch from the
list's resourceVersion with bookmarks; resume from the last revision after a clean
close or when nothing arrived for ``read_timeout`` (90 s by default, while the server
sends a bookmark about every 60 s: the connection is presumed dead); relist on 410 (an
``ERROR`` event or an HTTP status), backing off from the second expiry in a row without
events; back off with jitter on errors, honouring ``Retry-After`` up to ``backoff_max``
and retrying configuration errors (401/403/400/422, :mod:`kubegroup._failures`) slowly.
The backoff starts over after a watch event, or once no delay was needed for
``backoff_reset`` seconds. The pod map survives every error: only the API can
remove a pod from it. The watch is parsed from the raw response
(``_preload_content=False``), so no client model code is involved and both the 36.x and
37.x clients work.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import urllib3
from kubernetes import client as k8s

from ._backoff import Backoff
from ._errors import KubeAPIError, KubeGroupError, api_error_from_status, status_code
from ._failures import describe_failure
from ._listing import list_all
from ._pods import PodInfo, pod_info
from ._stream import MAX_LINE, lines, shutdown
from ._stream import wrap_error as wrap_error

__all__ = ["PodWatcher", "WatchSettings"]

log = logging.getLogger("kubegroup")

_SHORT_WATCH = 1.0  # a watch that ends this fast without events is treated like a failure
DEAD_LINK_TIMEOUT = 90.0
"""Default watch inactivity bound: 1.5 bookmark periods of the apiserver's watch cache."""
LIST_PAGE_SIZE = 500
"""Default ``limit`` of a paged list (client-go's)."""


class _Expired(Exception):
    """The watch's resourceVersion is gone (a 410 ``ERROR`` event): relist."""


@dataclass(frozen=True, slots=True)
class WatchSettings:
    """What to watch and how patiently."""

    namespace: str
    label_selector: str
    watch_timeout: int = 300  # server-side timeoutSeconds; each watch picks [T, 2T]
    request_timeout: float = 30.0  # connect timeout, and read timeout of the list
    read_timeout: float | None = None  # watch inactivity bound; None: DEAD_LINK_TIMEOUT
    backoff_initial: float = 0.8
    backoff_max: float = 30.0  # also the cap of a server's Retry-After
    max_line: int = MAX_LINE  # longest watch line (bytes); longer is an error
    backoff_reset: float = 120.0  # the backoff starts over after this long without a delay
    list_page_size: int = LIST_PAGE_SIZE  # limit of a paged list; 0: never paged


class PodWatcher:
    """Keeps a map of the selected pods up to date from a background thread.

    ``on_change()`` is called from that thread after the map changed; ``on_exit()`` once
    the thread has ended. ``wait(delay)`` is how the thread pauses between attempts
    (default: on the stop event, so ``stop()`` interrupts it; tests may record the
    delays instead). Everything in the map, the revision and the counters is protected
    by ``_lock``.
    """

    def __init__(
        self,
        api_client: k8s.ApiClient,
        settings: WatchSettings,
        *,
        on_change: Callable[[], None],
        on_exit: Callable[[], None],
        rng: random.Random | None = None,
        wait: Callable[[float], object] | None = None,
    ) -> None:
        self.settings = settings
        self._core = k8s.CoreV1Api(api_client)
        self._on_change = on_change
        self._on_exit = on_exit
        self._rng = rng or random.Random()
        self._backoff = Backoff(
            initial=settings.backoff_initial,
            maximum=settings.backoff_max,
            rng=self._rng,
            reset_after=settings.backoff_reset,
        )
        self._stopping = threading.Event()
        self._wait = wait or self._stopping.wait
        self._expired_quietly = False  # the last step was a relist after 410, no event since
        self._lock = threading.Lock()
        self._pods: dict[str, PodInfo] = {}
        self._rv: str | None = None  # None: the next step is a (re)list
        self._last_rv: str | None = None  # the last revision seen, kept across a relist
        self._rv_unavailable = False  # a list at _last_rv got 410: the next one is quorum
        self._phase = "list"  # the request in progress or last made: "list" or "watch"
        self._bookmarks_seen = False  # the server sends bookmarks (silence is abnormal)
        self._synced = False  # a list has been applied at least once
        self._healthy = False
        self._failing_since: float | None = None  # monotonic: first failure of this streak
        self._last_error: KubeGroupError | None = None
        self._resp: urllib3.BaseHTTPResponse | None = None  # the response being read
        self.counts = dict.fromkeys(
            ("lists", "watches", "events", "errors", "relists", "dead_links"), 0
        )
        self._thread = threading.Thread(
            target=self._run, name=f"kubegroup-watch:{settings.namespace}", daemon=True
        )

    # --- control, from any thread ---------------------------------------------------

    def start(self) -> None:
        """Start the background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop, interrupting a blocked read (idempotent)."""
        self._stopping.set()
        with self._lock:
            resp = self._resp
        if resp is not None:
            shutdown(resp)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; return whether it did."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def thread(self) -> threading.Thread:
        """The background thread."""
        return self._thread

    # --- state, from any thread -----------------------------------------------------

    def snapshot(self) -> tuple[bool, tuple[PodInfo, ...]]:
        """Return ``(synced, pods sorted by name)``."""
        with self._lock:
            return self._synced, tuple(p for _, p in sorted(self._pods.items()))

    @property
    def healthy(self) -> bool:
        """Whether the last list or watch request succeeded."""
        return self._healthy

    @property
    def unhealthy_seconds(self) -> float:
        """Seconds since the first of the requests that have failed in a row (0 if none)."""
        since = self._failing_since
        return 0.0 if since is None else time.monotonic() - since

    @property
    def last_error(self) -> KubeGroupError | None:
        """The most recent error (kept after recovery), or None."""
        return self._last_error

    def _succeeded(self) -> None:
        self._healthy = True
        self._failing_since = None

    @property
    def resource_version(self) -> str | None:
        """The last revision seen, or None when the next step is a list."""
        with self._lock:
            return self._rv

    # --- the loop -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    if self._rv is None:
                        self._list()
                    self._watch()
                except Exception as exc:  # every failure is retried; stop() ends the loop
                    if self._stopping.is_set():
                        break
                    err = None if isinstance(exc, _Expired) else wrap_error(exc)
                    if err is None or (isinstance(err, KubeAPIError) and err.status == 410):
                        self._expired(str(exc))  # an ERROR event or an HTTP 410: relist
                    else:
                        self._failed(err)
        finally:
            self._on_exit()

    def _expired(self, why: str) -> None:
        """Forget the revision so the next step relists; rate-limit repeated expiries.

        Like client-go: after a watch expired, relist "not older than" the last revision
        seen (from the watch cache); after a list expired, relist with a quorum read.
        """
        with self._lock:
            self._last_rv = self._rv or self._last_rv
            self._rv = None
            if self._phase == "list":
                self._rv_unavailable = True
            self.counts["relists"] += 1
        if not self._expired_quietly:
            log.info("kubegroup: watch expired (%s), relisting pods", why)
        else:  # a relist and a watch gave no event, then 410 again: don't spin on LISTs
            delay = self._backoff.next_delay()
            log.warning(
                "kubegroup: watch expired again without events (%s); relisting in %.1f s",
                why,
                delay,
            )
            self._wait(delay)
        self._expired_quietly = True

    def _failed(self, err: KubeGroupError) -> None:
        self._healthy = False
        if self._failing_since is None:
            self._failing_since = time.monotonic()
        self._last_error = err
        with self._lock:
            self.counts["errors"] += 1
            if self._phase == "list" and _too_large(err):
                self._rv_unavailable = True  # as client-go: the next list is a quorum read
        where = f"namespace {self.settings.namespace!r}"
        failure = describe_failure(err, where=where, phase=self._phase, listed=self._synced)
        if failure.config_error:
            delay = self._backoff.slow_delay()
        else:
            retry_after = err.retry_after if isinstance(err, KubeAPIError) else None
            at_least = min(retry_after or 0.0, self.settings.backoff_max)  # never a day
            delay = self._backoff.next_delay(at_least=at_least)
        log.log(failure.level, failure.message, delay)
        self._wait(delay)

    @contextlib.contextmanager
    def _reading(self, resp: urllib3.BaseHTTPResponse) -> Iterator[urllib3.BaseHTTPResponse]:
        """Expose ``resp`` to stop() while it is read; close it afterwards."""
        with self._lock:
            self._resp = resp
        try:
            if self._stopping.is_set():
                shutdown(resp)
            yield resp
        finally:
            with self._lock:
                self._resp = None
            resp.close()
            resp.release_conn()

    def _fetch_page(self, resource_version: str, limit: int, token: str) -> Any:
        s = self.settings
        options: dict[str, Any] = {}
        if resource_version:
            options["resource_version"] = resource_version
        if limit:
            options["limit"] = limit
        if token:
            options["_continue"] = token
        resp = self._core.list_namespaced_pod(
            s.namespace,
            label_selector=s.label_selector,
            _preload_content=False,
            _request_timeout=(s.request_timeout, s.request_timeout),
            **options,
        )
        with self._reading(cast("urllib3.BaseHTTPResponse", resp)) as r:
            return _loads(r.data)

    def _list(self) -> None:
        self._phase = "list"
        with self._lock:
            since = "" if self._rv_unavailable else (self._last_rv or "0")
        rv, items = list_all(
            self._fetch_page, resource_version=since, page_size=self.settings.list_page_size
        )
        pods = {p.name: p for p in map(pod_info, items)}
        with self._lock:
            gone = self._pods.keys() - pods.keys()
            new = pods.keys() - self._pods.keys()
            relist = self._synced
            self._pods, self._rv, self._synced = pods, rv, True
            self._last_rv, self._rv_unavailable = rv, False
            self.counts["lists"] += 1
        self._succeeded()  # the backoff is not reset: a watch event or time does that
        if relist and (gone or new):
            log.info("kubegroup: relisted pods: %d new, %d gone", len(new), len(gone))
        self._on_change()

    def _watch(self) -> None:
        s = self.settings
        self._phase = "watch"
        duration = self._rng.randint(s.watch_timeout, 2 * s.watch_timeout)
        read = s.read_timeout if s.read_timeout is not None else DEAD_LINK_TIMEOUT
        started, events = time.monotonic(), 0
        resp = self._core.list_namespaced_pod(
            s.namespace,
            label_selector=s.label_selector,
            watch=True,
            resource_version=self._rv,
            allow_watch_bookmarks=True,
            timeout_seconds=duration,
            _preload_content=False,
            _request_timeout=(s.request_timeout, read),
        )
        self._succeeded()
        with self._lock:
            self.counts["watches"] += 1
        with self._reading(cast("urllib3.BaseHTTPResponse", resp)) as r:
            try:
                for line in lines(r, s.max_line):
                    self._apply(_loads(line))
                    events += 1
            except urllib3.exceptions.ReadTimeoutError:
                if self._stopping.is_set():
                    return
                with self._lock:
                    self.counts["dead_links"] += 1
                # Bookmarks were asked for: silence this long means a dead link (or a
                # server that sends none). Not an error: resume from the last revision.
                log.log(
                    logging.WARNING if self._bookmarks_seen else logging.INFO,
                    "kubegroup: nothing received on the pod watch for %.1f s (bookmarks "
                    "come about every 60 s): connection presumed dead, reconnecting from "
                    "revision %s",
                    read,
                    self.resource_version,
                )
        if not events and time.monotonic() - started < _SHORT_WATCH:
            # Like client-go: a watch closed at once is not progress; don't spin on it.
            self._wait(self._backoff.next_delay())

    def _apply(self, event: Any) -> None:
        kind = event.get("type") if isinstance(event, dict) else None
        obj = event.get("object") if isinstance(event, dict) else None
        if not isinstance(obj, dict):
            raise ValueError(f"watch event without an object: {str(event)[:200]}")
        if kind == "ERROR":
            err = api_error_from_status(status_code(obj.get("code"), 500), json.dumps(obj))
            if err.status == 410:
                raise _Expired(str(err))
            raise err  # other codes: back off, then watch again from the same revision
        meta = obj.get("metadata")
        rv = meta.get("resourceVersion") if isinstance(meta, dict) else None
        if not isinstance(rv, str | int) or isinstance(rv, bool):
            rv = None
        changed = False
        with self._lock:
            self.counts["events"] += 1
            if rv:
                self._rv = str(rv)
            if kind in ("ADDED", "MODIFIED", "DELETED"):
                pod = pod_info(obj)
                old = self._pods.get(pod.name)
                if kind == "DELETED":
                    changed = self._pods.pop(pod.name, None) is not None
                else:
                    self._pods[pod.name] = pod
                    changed = old != pod
            elif kind == "BOOKMARK":
                self._bookmarks_seen = True
            else:
                log.debug("kubegroup: ignoring watch event of type %r", kind)
        self._backoff.reset()
        self._expired_quietly = False
        if changed:
            self._on_change()


def _loads(data: bytes) -> Any:
    """``json.loads`` that fails only with ``ValueError``, also on too deeply nested input."""
    try:
        return json.loads(data)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


def _too_large(err: KubeGroupError) -> bool:
    """Whether a list was refused for asking a revision the server has not reached (its
    504 "Too large resource version": etcd restored from a backup, a lagging API server)."""
    return (
        isinstance(err, KubeAPIError)
        and err.status == 504
        and "too large resource version" in str(err).lower()
    )

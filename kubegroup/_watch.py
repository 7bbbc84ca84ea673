"""The pod list/watch loop, in one background thread.

List, then watch from the list's resourceVersion with bookmarks; resume from the last
revision after a clean close or a quiet read timeout; relist on 410 (an ``ERROR`` event
or an HTTP status), backing off from the second expiry in a row without events; back
off with jitter on errors, honouring ``Retry-After`` up to ``backoff_max`` and retrying
401/403 slowly. The backoff starts over after a watch event, or once no delay was
needed for ``backoff_reset`` seconds. The pod map survives every error: only the API can
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
from ._pods import PodInfo, pod_info
from ._stream import MAX_LINE, lines, shutdown
from ._stream import wrap_error as wrap_error

__all__ = ["PodWatcher", "WatchSettings"]

log = logging.getLogger("kubegroup")

_SHORT_WATCH = 1.0  # a watch that ends this fast without events is treated like a failure


class _Expired(Exception):
    """The watch's resourceVersion is gone (a 410 ``ERROR`` event): relist."""


@dataclass(frozen=True, slots=True)
class WatchSettings:
    """What to watch and how patiently."""

    namespace: str
    label_selector: str
    watch_timeout: int = 300  # server-side timeoutSeconds; each watch picks [T, 2T]
    request_timeout: float = 30.0  # connect timeout, and read timeout of the list
    read_timeout: float | None = None  # watch inactivity limit; None: its duration + 30 s
    backoff_initial: float = 0.8
    backoff_max: float = 30.0  # also the cap of a server's Retry-After
    max_line: int = MAX_LINE  # longest watch line (bytes); longer is an error
    backoff_reset: float = 120.0  # the backoff starts over after this long without a delay


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
        self._synced = False  # a list has been applied at least once
        self._healthy = False
        self._last_error: KubeGroupError | None = None
        self._resp: urllib3.BaseHTTPResponse | None = None  # the response being read
        self.counts = {"lists": 0, "watches": 0, "events": 0, "errors": 0, "relists": 0}
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
    def last_error(self) -> KubeGroupError | None:
        """The most recent error (kept after recovery), or None."""
        return self._last_error

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
        """Forget the revision so the next step relists; rate-limit repeated expiries."""
        with self._lock:
            self._rv = None
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
        self._last_error = err
        with self._lock:
            self.counts["errors"] += 1
        where = f"namespace {self.settings.namespace!r}"
        status = err.status if isinstance(err, KubeAPIError) else 0
        if status == 401:
            delay = self._backoff.slow_delay()
            log.error(
                "kubegroup: the API server rejected our credentials for pods in %s (%s); "
                "check the service-account token (mounted, not expired, of this cluster) "
                "or the kubeconfig user. Retrying in %.1f s.",
                where,
                err,
                delay,
            )
        elif status == 403:
            delay = self._backoff.slow_delay()
            log.error(
                "kubegroup: not allowed to list/watch pods in %s (%s); grant 'list' and "
                "'watch' on pods to this pod's service account (Role + RoleBinding). "
                "Retrying in %.1f s.",
                where,
                err,
                delay,
            )
        else:
            retry_after = err.retry_after if isinstance(err, KubeAPIError) else None
            at_least = min(retry_after or 0.0, self.settings.backoff_max)  # never a day
            delay = self._backoff.next_delay(at_least=at_least)
            log.warning(
                "kubegroup: pod list/watch in %s failed: %s; retrying in %.1f s", where, err, delay
            )
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

    def _list(self) -> None:
        s = self.settings
        resp = self._core.list_namespaced_pod(
            s.namespace,
            label_selector=s.label_selector,
            _preload_content=False,
            _request_timeout=(s.request_timeout, s.request_timeout),
        )
        with self._reading(cast("urllib3.BaseHTTPResponse", resp)) as r:
            doc = _loads(r.data)
        meta = doc.get("metadata") if isinstance(doc, dict) else None
        rv = meta.get("resourceVersion") if isinstance(meta, dict) else None
        if not rv:
            raise ValueError("a pod list without metadata.resourceVersion")
        rv = str(rv)
        items = doc.get("items") or []
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ValueError("a pod list whose items are not pod objects")
        pods = {p.name: p for p in map(pod_info, items)}
        with self._lock:
            gone = self._pods.keys() - pods.keys()
            new = pods.keys() - self._pods.keys()
            relist = self._synced
            self._pods, self._rv, self._synced = pods, rv, True
            self.counts["lists"] += 1
        self._healthy = True  # the backoff is not reset: a watch event or time does that
        if relist and (gone or new):
            log.info("kubegroup: relisted pods: %d new, %d gone", len(new), len(gone))
        self._on_change()

    def _watch(self) -> None:
        s = self.settings
        duration = self._rng.randint(s.watch_timeout, 2 * s.watch_timeout)
        read = s.read_timeout if s.read_timeout is not None else duration + 30.0
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
        self._healthy = True
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
                # A quiet stream, or a dead one: not an error, resume from the last revision.
                log.debug("kubegroup: watch read timed out after %d events, resuming", events)
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
            elif kind != "BOOKMARK":
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

"""FakeKubeAPI, the facade of the fake API server: lifecycle, pod scripts, faults, observation.

:class:`FakeKubeAPI` serves pod list/get/watch on loopback the way kube-apiserver does
(revisions, history, 410, bookmarks, selector transitions, ``timeoutSeconds``), with a
thread-safe Python API to script pod lifecycles and faults. Use it to test any code that
watches pods with the official client, not only kubegroup::

    with FakeKubeAPI() as api, api.api_client() as client:
        api.start_pod("web-0", labels={"app": "web"})
        ...
"""

from __future__ import annotations

import copy
import itertools
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from os import PathLike
from types import TracebackType

from kubernetes import client as k8s

from . import _pods as pods
from ._faults import VERBS, ErrorReply, Faults, status_reason
from ._http import FakeServer, ServerSettings
from ._log import RecordedRequest, RequestLog
from ._pods import Pod
from ._store import PodStore

__all__ = ["FakeKubeAPI"]


class FakeKubeAPI:
    """A fake Kubernetes API server for pods, on ``host:port`` (default 127.0.0.1, any port).

    Args:
        host: Address to listen on.
        port: Port to listen on; 0 picks a free one (see :attr:`port`).
        namespace: Default namespace of the pod helpers.
        token: If set, every request needs ``Authorization: Bearer <token>`` (else 401).
        tls_cert: PEM certificate chain; with ``tls_key``, serve HTTPS.
        tls_key: PEM private key for ``tls_cert``.
        history_limit: How many writes are kept for watch resumption; older → 410.
        watch_timeout: Watch duration when the client sends no ``timeoutSeconds``.
        bookmark_interval: If set, send a BOOKMARK this often (seconds) to watches that
            allow them. A watch that allows them always gets one before a timeout close.
        future_version_wait: How long a list at a resourceVersion not reached yet waits
            for it before the 504 "Too large resource version" (the apiserver's 3 s).
        watch_cache_window: If set, events older than this (seconds) leave the watch
            cache: a watch from before them gets 410 (exact lists still see them).
        clock: The store's clock for ``watch_cache_window`` (default ``time.monotonic``).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        namespace: str = "default",
        token: str | None = None,
        tls_cert: str | PathLike[str] | None = None,
        tls_key: str | PathLike[str] | None = None,
        history_limit: int = 1000,
        watch_timeout: float = 300.0,
        bookmark_interval: float | None = None,
        future_version_wait: float = 3.0,
        watch_cache_window: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.namespace = namespace
        self.tls_cert = tls_cert
        self._address = (host, port)
        self._store = PodStore(
            history_limit=history_limit, watch_cache_window=watch_cache_window, clock=clock
        )
        self._faults = Faults()
        self._log = RequestLog()
        context = None
        if tls_cert is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls_cert, tls_key)
        self._settings = ServerSettings(
            self._store,
            self._faults,
            self._log,
            token,
            watch_timeout,
            bookmark_interval,
            context,
            future_wait=future_version_wait,
        )
        self._lock = threading.Lock()  # protects _server, _thread, _closed
        self._server: FakeServer | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._ips = itertools.count(1)

    # --- lifecycle of the server ----------------------------------------------------

    def start(self) -> FakeKubeAPI:
        """Start listening (idempotent); returns self."""
        with self._lock:
            if self._server is None and not self._closed:
                self._server = FakeServer(self._address, self._settings)
                host, port = self._server.server_address[:2]
                self._address = (str(host), int(port))  # pinned, for accept_connections()
                self._thread = threading.Thread(
                    target=self._server.serve_forever,
                    kwargs={"poll_interval": 0.05},
                    name=f"fake-kube-api:{self._address[1]}",
                )
                self._thread.start()
        return self

    def _stop(self, item: tuple[str]) -> None:
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        self._store.broadcast(item)
        if server is None or thread is None:
            return
        self._store.wait_idle(2.0)
        server.cut_connections()
        server.shutdown()
        server.server_close()  # joins the handler threads
        thread.join()

    def close(self) -> None:
        """End open watches cleanly, stop listening and join every thread (idempotent)."""
        with self._lock:
            self._closed = True
        self._stop(("close",))

    def refuse_connections(self) -> None:
        """Simulate an outage: cut open watches and stop listening (connections refused)."""
        self._stop(("cut",))

    def accept_connections(self) -> None:
        """End an outage: listen again on the same port."""
        self.start()

    def restart(self) -> str:
        """Restart the API server on the same port and store; return its new first version.

        As observed on kube-apiserver v1.37.2 restarted on the same etcd: open watches end
        cleanly, connections close, and the new watch cache starts at the current version,
        so every watch resumed from an older one (the newest before the restart included)
        gets 410 "too old resource version: N (start)". Exact lists still read the history.
        """
        start = self._store.restart_cache()  # first: a watch resumed meanwhile gets 410 too
        self._stop(("close",))
        self.start()
        return str(start)

    def __enter__(self) -> FakeKubeAPI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def host(self) -> str:
        """The listening address."""
        return str(self._address[0])

    @property
    def port(self) -> int:
        """The listening port (known once started)."""
        return int(self._address[1])

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:41234``."""
        scheme = "https" if self.tls_cert is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def configuration(self) -> k8s.Configuration:
        """Return a client ``Configuration`` for this server (CA and token included)."""
        config = k8s.Configuration(host=self.url)
        if self.tls_cert is not None:
            config.ssl_ca_cert = str(self.tls_cert)
        if self._settings.token is not None:
            config.api_key["BearerToken"] = "Bearer " + self._settings.token
        return config

    def api_client(self) -> k8s.ApiClient:
        """Return a new ``ApiClient`` for this server; the caller closes it."""
        return k8s.ApiClient(self.configuration())

    # --- pods -----------------------------------------------------------------------

    @property
    def resource_version(self) -> str:
        """The current global resourceVersion."""
        return str(self._store.revision)

    def get_pod(self, name: str, *, namespace: str | None = None) -> Pod | None:
        """Return a copy of the pod, or None."""
        pod = self._store.get(namespace or self.namespace, name)
        return copy.deepcopy(pod) if pod is not None else None

    def pods(self, *, namespace: str | None = None) -> list[Pod]:
        """Return copies of the stored pods (all namespaces if ``namespace`` is None)."""
        return [
            copy.deepcopy(p)
            for p in self._store.pods()
            if namespace is None or p["metadata"]["namespace"] == namespace
        ]

    def _update(self, name: str, namespace: str | None, fn: Callable[[Pod], Pod | None]) -> Pod:
        def apply(old: Pod | None) -> Pod | None:
            if old is None:
                raise KeyError(f"pod {namespace or self.namespace}/{name} not found")
            return fn(old)

        return copy.deepcopy(self._store.write(namespace or self.namespace, name, apply))

    def create_pod(
        self,
        name: str,
        *,
        labels: Mapping[str, str] | None = None,
        namespace: str | None = None,
        node_name: str = "node-1",
    ) -> Pod:
        """Create a Pending pod without IP (ADDED). Raises KeyError if it exists."""

        def apply(old: Pod | None) -> Pod:
            if old is not None:
                raise KeyError(f"pod {name} already exists")
            return pods.make_pod(name, namespace or self.namespace, labels, node_name=node_name)

        return copy.deepcopy(self._store.write(namespace or self.namespace, name, apply))

    def assign_ip(self, name: str, ip: str | None = None, *, namespace: str | None = None) -> str:
        """Schedule the pod and give it ``ip`` (or a fresh 10.244.x.y): Running, not Ready."""
        if ip is None:
            n = next(self._ips)
            ip = f"10.244.{n // 250}.{n % 250 + 1}"
        chosen = ip
        self._update(name, namespace, lambda p: pods.schedule(p, chosen, "10.0.0.1"))
        return chosen

    def set_ready(self, name: str, ready: bool = True, *, namespace: str | None = None) -> Pod:
        """Set the pod's Ready condition (MODIFIED)."""
        return self._update(name, namespace, lambda p: pods.set_ready(p, ready))

    def set_unready(self, name: str, *, namespace: str | None = None) -> Pod:
        """Set the pod's Ready condition to False (MODIFIED)."""
        return self.set_ready(name, False, namespace=namespace)

    def start_pod(
        self,
        name: str,
        *,
        labels: Mapping[str, str] | None = None,
        ip: str | None = None,
        ready: bool = True,
        namespace: str | None = None,
    ) -> Pod:
        """Create a pod, assign its IP and (by default) make it Ready: three writes."""
        self.create_pod(name, labels=labels, namespace=namespace)
        self.assign_ip(name, ip, namespace=namespace)
        return self.set_ready(name, ready, namespace=namespace)

    def delete_pod(
        self, name: str, *, namespace: str | None = None, grace_period_seconds: int = 30
    ) -> Pod:
        """Start a graceful delete: deletionTimestamp set, still Ready (MODIFIED).

        Call :meth:`finish_termination` to let the kubelet finish it. A grace period of 0
        deletes at once, like :meth:`force_delete_pod`.
        """
        if grace_period_seconds <= 0:
            return self.force_delete_pod(name, namespace=namespace)
        return self._update(
            name, namespace, lambda p: pods.begin_termination(p, grace_period_seconds)
        )

    def finish_termination(self, name: str, *, namespace: str | None = None) -> Pod:
        """Containers exit (MODIFIED: not Ready, Succeeded), then the object goes (DELETED)."""
        self._update(name, namespace, pods.terminated)
        return self.force_delete_pod(name, namespace=namespace)

    def force_delete_pod(self, name: str, *, namespace: str | None = None) -> Pod:
        """Delete the pod at once (DELETED); returns its last state."""
        return self._update(name, namespace, lambda p: None)

    def relabel_pod(
        self, name: str, labels: Mapping[str, str], *, namespace: str | None = None
    ) -> Pod:
        """Replace the pod's labels (MODIFIED, or ADDED/DELETED for filtered watches)."""
        return self._update(name, namespace, lambda p: pods.relabel(p, labels))

    def compact(self) -> str:
        """Drop the event history: watches from any older resourceVersion get 410."""
        return str(self._store.compact())

    # --- faults ---------------------------------------------------------------------

    def fail_next_requests(
        self,
        status: int,
        *,
        count: int = 1,
        message: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next ``count`` requests with a ``Status`` error (403, 429, 500...)."""
        text = message or f"injected {status} {status_reason(status)}"
        self._faults.fail_requests(ErrorReply(status, text, retry_after), count)

    def expire_next_watch(self, count: int = 1) -> None:
        """Make the next ``count`` watches answer with a 410 ``ERROR`` event."""
        self._faults.expire_watches(count)

    def stall_next_watch(self, count: int = 1) -> None:
        """Make the next ``count`` watches send their headers, then nothing at all."""
        self._faults.stall_watches(count)

    def close_watches(self) -> int:
        """End every open watch cleanly (terminating chunk); return how many."""
        return self._store.broadcast(("close",))

    def cut_watches(self) -> int:
        """Drop every open watch's connection mid-stream; return how many."""
        return self._store.broadcast(("cut",))

    def stall_watches(self) -> int:
        """Make every open watch go silent (no bytes, events dropped); return how many."""
        return self._store.broadcast(("stall",))

    def send_raw(self, data: bytes) -> int:
        """Write ``data`` verbatim as one chunk to every open watch; return how many.

        No JSON and no newline are added: ``b"garbage\\n"`` is a malformed line, and
        bytes without a newline start a line that does not end.
        """
        return self._store.broadcast(("raw", bytes(data)))

    def send_error_event(self, code: int, message: str | None = None) -> int:
        """Send every open watch an ``ERROR`` event whose ``Status`` has ``code``, then end
        the stream cleanly, as the apiserver does; return how many got it."""
        text = message or f"injected {code} {status_reason(code)}"
        return self._store.broadcast(("error", code, text))

    def send_bookmark(self) -> int:
        """Send a BOOKMARK now to every watch that allows them; return how many."""
        return self._store.bookmark()

    def deny_namespace(
        self, namespace: str, denied: bool = True, *, verbs: Iterable[str] = VERBS
    ) -> None:
        """Answer pod requests in ``namespace`` with 403 Forbidden (RBAC) until allowed.

        ``verbs`` limits the denial, e.g. ``("watch",)`` for a Role with ``list`` only.
        """
        self._faults.deny(namespace, denied, verbs)

    def hang_next_requests(self, count: int = 1) -> None:
        """Never answer the next ``count`` requests (a server queueing them, or stuck).

        Each is logged at once with status 0; it ends when the client gives up or the
        server closes.
        """
        self._faults.hang_requests(count)

    # --- observation ----------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far."""
        return self._log.snapshot()

    def wait_for_requests(
        self, predicate: Callable[[list[RecordedRequest]], bool], timeout: float = 10.0
    ) -> list[RecordedRequest]:
        """Block until ``predicate(requests)`` holds; raise TimeoutError after ``timeout``."""
        return self._log.wait_for(predicate, timeout)

    @property
    def watch_count(self) -> int:
        """How many watches are open right now."""
        return self._store.watch_count

    def wait_for_watches(self, count: int = 1, timeout: float = 10.0) -> None:
        """Block until at least ``count`` watches are open; raise TimeoutError otherwise."""
        if not self._store.wait_for_watches(count, timeout):
            raise TimeoutError(f"{count} open watch(es) not reached in {timeout} s")

"""The fake API server's HTTP front end: pod list/get/watch over stdlib ``http.server``.

Each connection gets its own thread and is kept alive between requests (HTTP/1.1), a
watch that ended cleanly included, as kube-apiserver does; a watch owns its connection's
thread until the stream ends. Watches are chunked newline-delimited JSON, never with blank
lines, buffered like Go's server: the events ready at once go out together in chunks of at
most 2048 bytes, so one chunk can end one line and start the next. Errors are ``Status``
objects, as the real apiserver sends them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import re
import select
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ._faults import ErrorReply, Faults
from ._listing import BadRequest, list_pods, revision, status_object
from ._log import RecordedRequest, RequestLog, query_bool
from ._selector import FieldQuery, LabelQuery, QueryError
from ._store import Expired, PodStore, Watcher, WatchFilter, WatchItem

__all__ = ["FakeServer", "ServerSettings"]

log = logging.getLogger("kubegroup.testing")

_POLL = 0.1  # how often an idle watch checks whether its client went away (seconds)
_CHUNK = 2048  # Go net/http buffers this much before it writes a chunk
_SENT = frozenset({"event", "bookmark", "error"})  # items written as JSON lines


@dataclass(slots=True)
class ServerSettings:
    """What the HTTP front end needs from the facade."""

    store: PodStore
    faults: Faults
    log: RequestLog
    token: str | None
    default_watch_timeout: float
    bookmark_interval: float | None
    ssl_context: ssl.SSLContext | None = None
    future_wait: float = 3.0  # how long a list waits for a version not reached yet
    connections: set[socket.socket] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)  # protects connections


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fake kube api: " + format, *args)

    # --- plumbing -------------------------------------------------------------------

    def _record(self, status: int) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = _query(url.query)
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.settings.log.append(
            RecordedRequest(self.command, url.path, query, headers, status, time.monotonic())
        )

    def _send_json(self, code: int, doc: Any, *, extra: Mapping[str, str] | None = None) -> None:
        body = json.dumps(doc).encode()
        self._record(code)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_error(self, reply: ErrorReply) -> None:
        extra = {"Retry-After": str(reply.retry_after)} if reply.retry_after is not None else {}
        doc = status_object(reply.status, reply.message, details={"kind": "pods"})
        self._send_json(reply.status, doc, extra=extra)

    def _start_stream(self) -> None:
        self._record(200)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, doc: Any) -> None:
        self._write_chunk(json.dumps(doc).encode() + b"\n")

    def _write_chunk(self, data: bytes) -> None:
        for at in range(0, len(data), _CHUNK):  # no data, no chunk: an empty one would end it
            part = data[at : at + _CHUNK]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def _cut(self) -> None:
        """Drop the connection without the terminating chunk (a network failure)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _client_gone(self, wait: float = 0.0) -> bool:
        """The client never sends more on a watch, so readable means EOF or reset."""
        try:
            readable, _, _ = select.select([self.connection], [], [], wait)
        except (OSError, ValueError):
            return True
        return bool(readable)

    # --- routing --------------------------------------------------------------------

    def do_GET(self) -> None:
        settings = self.server.settings
        try:
            if settings.token is not None and not self._authorized(settings.token):
                self._send_json(401, status_object(401, "Unauthorized"))
                return
            if settings.faults.take_hang():
                self._hang()
                return
            reply = settings.faults.take_error()
            if reply is not None:
                self._send_error(reply)
                return
            self._route()
        except BadRequest as exc:
            extra = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
            doc = status_object(exc.status, exc.message, details=exc.details)
            self._send_json(exc.status, doc, extra=extra)
        except OSError as exc:  # the client went away mid-response
            log.debug("fake kube api: connection error: %s", exc)
            self.close_connection = True

    def _hang(self) -> None:
        """Never answer (a server queueing the request); stop once the client has gone.

        Logged at once with status 0: no answer was sent.
        """
        self._record(0)
        while not self._client_gone(_POLL):
            pass
        self.close_connection = True

    def _not_allowed(self) -> None:
        self.close_connection = True  # its body, if any, is never read
        self._send_json(405, status_object(405, f"method {self.command} is not supported"))

    do_POST = do_PUT = do_PATCH = do_DELETE = _not_allowed

    def _authorized(self, token: str) -> bool:
        scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and value.strip() == token

    def _route(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = _query(url.query)
        if url.path == "/version":
            self._send_json(200, {"major": "1", "minor": "33", "gitVersion": "v1.33.0-fake"})
            return
        m = re.fullmatch(r"/api/v1(?:/namespaces/([^/]+))?/pods(?:/([^/]+))?", url.path)
        if m is None:
            missing = "the server could not find the requested resource"
            self._send_json(404, status_object(404, missing))
            return
        namespace, name = m.groups()
        verb = "get" if name is not None else "watch" if query_bool(query, "watch") else "list"
        if self.server.settings.faults.is_denied(namespace, verb):
            self._forbidden(namespace, name, verb)
            return
        if name is not None:
            self._get(namespace or "", name)
            return
        labels, fields = query.get("labelSelector", ""), query.get("fieldSelector", "")
        try:
            flt = WatchFilter(namespace, LabelQuery.parse(labels), FieldQuery.parse(fields))
        except QueryError as exc:
            raise BadRequest(400, str(exc)) from exc
        if verb == "watch":
            self._watch(flt, query)
        else:
            self._list(flt, query)

    def _get(self, namespace: str, name: str) -> None:
        pod = self.server.settings.store.get(namespace, name)
        if pod is None:
            missing = f'pods "{name}" not found'
            details = {"name": name, "kind": "pods"}
            self._send_json(404, status_object(404, missing, reason="NotFound", details=details))
        else:
            self._send_json(200, pod)

    def _list(self, flt: WatchFilter, query: Mapping[str, str]) -> None:
        settings = self.server.settings
        doc = list_pods(settings.store, flt, query, future_wait=settings.future_wait)
        self._send_json(200, doc)

    def _forbidden(self, namespace: str | None, name: str | None, verb: str) -> None:
        """RBAC's 403, worded as observed on kube-apiserver v1.37.2 (a get names the pod)."""
        user = "system:serviceaccount:" + (namespace or "default") + ":default"
        where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
        what = f'pods "{name}"' if name is not None else "pods"
        msg = f'{what} is forbidden: User "{user}" cannot {verb} resource "pods" in API group ""'
        details = {"name": name, "kind": "pods"} if name is not None else {"kind": "pods"}
        self._send_json(403, status_object(403, msg + where, details=details))

    def _watch(self, flt: WatchFilter, query: Mapping[str, str]) -> None:
        settings = self.server.settings
        initial = query_bool(query, "sendInitialEvents")
        match = query.get("resourceVersionMatch")
        if match and not initial:
            raise BadRequest(422, "resourceVersionMatch is forbidden for watch")
        if initial and match != "NotOlderThan":
            raise BadRequest(
                422, "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
            )
        since = None if initial else revision(query.get("resourceVersion"))
        raw_timeout = query.get("timeoutSeconds") or "0"
        if not raw_timeout.isdigit():
            raise BadRequest(400, f"timeoutSeconds: invalid value {raw_timeout!r}")
        timeout = int(raw_timeout) or settings.default_watch_timeout
        bookmarks = query_bool(query, "allowWatchBookmarks")
        store = settings.store
        try:
            if settings.faults.take_expiry():
                raise Expired(since or 0, store.revision)
            watcher, items = store.open_watch(
                flt, since=since, bookmarks=bookmarks, initial_events_end=initial and bookmarks
            )
        except Expired as exc:
            self._start_stream()
            self._chunk({"type": "ERROR", "object": status_object(410, str(exc))})
            self._end_stream()
            return
        try:
            stalled = settings.faults.take_stall()
            self._start_stream()
            if not stalled:
                self._send_items(items)
            self._stream(watcher, timeout, stalled=stalled)
        finally:
            store.close_watch(watcher)

    @staticmethod
    def _line(item: WatchItem) -> bytes:
        """One event, error or bookmark item as its newline-terminated JSON line."""
        kind = item[0]
        if kind == "event":
            doc: dict[str, Any] = {"type": item[1], "object": item[2]}
        elif kind == "error":
            doc = {"type": "ERROR", "object": status_object(item[1], item[2])}
        else:
            meta: dict[str, Any] = {"resourceVersion": str(item[1])}
            if item[2]:
                meta["annotations"] = {"k8s.io/initial-events-end": "true"}
            doc = {
                "type": "BOOKMARK",
                "object": {"kind": "Pod", "apiVersion": "v1", "metadata": meta},
            }
        return json.dumps(doc).encode() + b"\n"

    def _send_items(self, items: list[WatchItem]) -> bool:
        """Write ``items`` as one buffered burst; return True if one of them ended the stream
        (an ERROR, or the final bookmark). ``raw`` bytes keep a chunk of their own."""
        buffer = bytearray()
        for item in items:
            if item[0] == "raw":
                self._write_chunk(bytes(buffer))
                buffer.clear()
                self._write_chunk(item[1])
                continue
            buffer += self._line(item)
            if item[0] == "error" or (item[0] == "bookmark" and item[3]):
                self._write_chunk(bytes(buffer))
                self._end_stream()
                return True
        self._write_chunk(bytes(buffer))
        return False

    def _stream(self, watcher: Watcher, timeout: float, *, stalled: bool) -> None:
        store, interval = self.server.settings.store, self.server.settings.bookmark_interval
        now = time.monotonic()
        deadline = now + timeout
        next_bookmark = now + interval if interval and watcher.bookmarks else float("inf")
        ending = False  # the final bookmark is queued; stop once it is sent
        while True:
            now = time.monotonic()
            if not stalled and not ending and now >= deadline:
                if not watcher.bookmarks:
                    self._end_stream()
                    return
                store.bookmark(watcher, final=True)
                ending = True
            if not stalled and now >= next_bookmark:
                store.bookmark(watcher)
                next_bookmark = now + (interval or 0.0)
            due = min(deadline, next_bookmark) - now
            wait = _POLL if stalled or ending else min(_POLL, max(0.0, due))
            try:
                batch = [watcher.queue.get(timeout=wait)]
            except queue.Empty:
                if self._client_gone():
                    self.close_connection = True
                    return
                continue
            while batch[-1][0] in _SENT or batch[-1][0] == "raw":  # all that is ready now
                try:
                    batch.append(watcher.queue.get_nowait())
                except queue.Empty:
                    break
            control = batch.pop() if batch[-1][0] not in _SENT | {"raw"} else None
            if not stalled and self._send_items(batch):
                return
            if control is None:
                continue
            if control[0] == "close":
                self._end_stream()
                return
            if control[0] == "cut":
                self._cut()
                return
            stalled = True  # "stall"


def _query(text: str) -> dict[str, str]:
    """Query parameters, each by its first value, as the apiserver reads them."""
    query: dict[str, str] = {}
    for name, value in urllib.parse.parse_qsl(text, keep_blank_values=True):
        query.setdefault(name, value)
    return query


class FakeServer(ThreadingHTTPServer):
    """A threading HTTP(S) server whose handler threads are joined on close."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], settings: ServerSettings) -> None:
        self.settings = settings
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Serve one connection: TLS handshake (if any), then the handler, then close."""
        sock: socket.socket = request
        settings = self.settings
        try:
            if settings.ssl_context is not None:
                sock = settings.ssl_context.wrap_socket(sock, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            log.debug("fake kube api: TLS handshake failed: %s", exc)
            sock.close()
            return
        with settings.lock:
            settings.connections.add(sock)
        try:
            _Handler(sock, client_address, self)
        except OSError as exc:
            log.debug("fake kube api: connection error: %s", exc)
        finally:
            with settings.lock:
                settings.connections.discard(sock)
            if sock is not request:
                sock.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log unexpected handler errors quietly instead of printing to stderr."""
        log.debug("fake kube api: error serving %s", client_address, exc_info=True)

    def cut_connections(self) -> None:
        """Shut down every open connection (the handler threads then finish)."""
        with self.settings.lock:
            conns = list(self.settings.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

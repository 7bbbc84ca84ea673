"""The fake API server's HTTP front end: pod list/get/watch over stdlib ``http.server``.

Each connection gets its own thread and serves one request (``Connection: close``), so a
watch owns its thread until the stream ends. Watches are chunked newline-delimited JSON,
never with blank lines; errors are ``Status`` objects, as the real apiserver sends them.
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

from ._fake_faults import ErrorReply, Faults, status_reason
from ._fake_log import GO_TRUE, RecordedRequest, RequestLog
from ._fake_pods import Pod
from ._fake_store import Expired, PodStore, Watcher, WatchFilter, WatchItem
from ._selector import FieldSelector, LabelSelector, SelectorError

__all__ = ["FakeServer", "ServerSettings"]

log = logging.getLogger("kubegroup.testing")

_TRUE = GO_TRUE
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}
_POLL = 0.1  # how often an idle watch checks whether its client went away (seconds)


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


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
    connections: set[socket.socket] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)  # protects connections


def _status(code: int, message: str, *, reason: str | None = None) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or status_reason(code),
        "details": {"kind": "pods"},
        "code": code,
    }


def _bool(query: Mapping[str, str], name: str) -> bool:
    value = query.get(name)
    if value is None or value == "":
        return False
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _BadRequest(400, f"{name}: invalid boolean {value!r}")


def _revision(value: str | None) -> int | None:
    """None for unset or "0" ("any"), else the integer revision."""
    if value is None or value in ("", "0"):
        return None
    if not value.isdigit():
        raise _BadRequest(400, f"resourceVersion: invalid value {value!r}")
    return int(value)


def _list_item(pod: Pod) -> Pod:
    return {k: v for k, v in pod.items() if k not in ("kind", "apiVersion")}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fake kube api: " + format, *args)

    # --- plumbing -------------------------------------------------------------------

    def _record(self, status: int) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, True).items()}
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
        self.send_header("Connection", "close")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def _send_error(self, reply: ErrorReply) -> None:
        extra = {"Retry-After": str(reply.retry_after)} if reply.retry_after is not None else {}
        self._send_json(reply.status, _status(reply.status, reply.message), extra=extra)

    def _start_stream(self) -> None:
        self._record(200)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def _chunk(self, doc: Any) -> None:
        self._write_chunk(json.dumps(doc).encode() + b"\n")

    def _write_chunk(self, data: bytes) -> None:
        if data:  # an empty chunk would end the stream
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def _cut(self) -> None:
        """Drop the connection without the terminating chunk (a network failure)."""
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _client_gone(self) -> bool:
        """The client never sends more on a watch, so readable means EOF or reset."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    # --- routing --------------------------------------------------------------------

    def do_GET(self) -> None:
        settings = self.server.settings
        try:
            if settings.token is not None and not self._authorized(settings.token):
                self._send_json(401, _status(401, "Unauthorized"))
                return
            reply = settings.faults.take_error()
            if reply is not None:
                self._send_error(reply)
                return
            self._route()
        except _BadRequest as exc:
            self._send_json(exc.status, _status(exc.status, exc.message))
        except OSError as exc:  # the client went away mid-response
            log.debug("fake kube api: connection error: %s", exc)
            self.close_connection = True

    def _not_allowed(self) -> None:
        self._send_json(405, _status(405, f"method {self.command} is not supported"))

    do_POST = do_PUT = do_PATCH = do_DELETE = _not_allowed

    def _authorized(self, token: str) -> bool:
        scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and value.strip() == token

    def _route(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, True).items()}
        if url.path == "/version":
            self._send_json(200, {"major": "1", "minor": "33", "gitVersion": "v1.33.0-fake"})
            return
        m = re.fullmatch(r"/api/v1(?:/namespaces/([^/]+))?/pods(?:/([^/]+))?", url.path)
        if m is None:
            self._send_json(404, _status(404, "the server could not find the requested resource"))
            return
        namespace, name = m.groups()
        if self.server.settings.faults.is_denied(namespace):
            user = "system:serviceaccount:" + (namespace or "default") + ":default"
            where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
            msg = f'pods is forbidden: User "{user}" cannot list resource "pods" in API group ""'
            self._send_json(403, _status(403, msg + where))
            return
        if name is not None:
            self._get(namespace or "", name)
            return
        labels, fields = query.get("labelSelector", ""), query.get("fieldSelector", "")
        try:
            flt = WatchFilter(namespace, LabelSelector.parse(labels), FieldSelector.parse(fields))
        except SelectorError as exc:
            raise _BadRequest(400, f"unable to parse requirement: {exc}") from exc
        if _bool(query, "watch"):
            self._watch(flt, query)
        else:
            self._list(flt, query)

    def _get(self, namespace: str, name: str) -> None:
        pod = self.server.settings.store.get(namespace, name)
        if pod is None:
            self._send_json(404, _status(404, f'pods "{name}" not found', reason="NotFound"))
        else:
            self._send_json(200, pod)

    def _list(self, flt: WatchFilter, query: Mapping[str, str]) -> None:
        if _bool(query, "sendInitialEvents"):
            raise _BadRequest(422, "sendInitialEvents is forbidden for list")
        match = query.get("resourceVersionMatch")
        rv = _revision(query.get("resourceVersion"))
        if match not in (None, "", "NotOlderThan", "Exact"):
            raise _BadRequest(422, f"resourceVersionMatch: unsupported value {match!r}")
        if match and query.get("resourceVersion") in (None, ""):
            raise _BadRequest(
                422, "resourceVersionMatch is forbidden unless resourceVersion is set"
            )
        if match == "Exact" and rv is None:
            raise _BadRequest(422, 'resourceVersionMatch "Exact" is forbidden for "0"')
        try:
            revision, pods = self.server.settings.store.list_pods(
                flt, exact=rv if match == "Exact" else None
            )
        except Expired as exc:
            self._send_json(410, _status(410, str(exc)))
            return
        doc = {
            "kind": "PodList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": str(revision)},
            "items": [_list_item(p) for p in pods],
        }
        self._send_json(200, doc)

    def _watch(self, flt: WatchFilter, query: Mapping[str, str]) -> None:
        settings = self.server.settings
        initial = _bool(query, "sendInitialEvents")
        match = query.get("resourceVersionMatch")
        if match and not initial:
            raise _BadRequest(422, "resourceVersionMatch is forbidden for watch")
        if initial and match != "NotOlderThan":
            raise _BadRequest(
                422, "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
            )
        since = None if initial else _revision(query.get("resourceVersion"))
        raw_timeout = query.get("timeoutSeconds") or "0"
        if not raw_timeout.isdigit():
            raise _BadRequest(400, f"timeoutSeconds: invalid value {raw_timeout!r}")
        timeout = int(raw_timeout) or settings.default_watch_timeout
        bookmarks = _bool(query, "allowWatchBookmarks")
        store = settings.store
        try:
            if settings.faults.take_expiry():
                raise Expired(since or 0, store.revision)
            watcher, items = store.open_watch(
                flt, since=since, bookmarks=bookmarks, initial_events_end=initial and bookmarks
            )
        except Expired as exc:
            self._start_stream()
            self._chunk({"type": "ERROR", "object": _status(410, str(exc))})
            self._end_stream()
            return
        try:
            stalled = settings.faults.take_stall()
            self._start_stream()
            if not stalled:
                for item in items:
                    self._send_item(item)
            self._stream(watcher, timeout, stalled=stalled)
        finally:
            store.close_watch(watcher)

    def _send_item(self, item: WatchItem) -> None:
        kind = item[0]
        if kind == "event":
            self._chunk({"type": item[1], "object": item[2]})
        elif kind == "error":
            self._chunk({"type": "ERROR", "object": _status(item[1], item[2])})
        elif kind == "raw":
            self._write_chunk(item[1])
        else:
            meta: dict[str, Any] = {"resourceVersion": str(item[1])}
            if item[2]:
                meta["annotations"] = {"k8s.io/initial-events-end": "true"}
            obj = {"kind": "Pod", "apiVersion": "v1", "metadata": meta}
            self._chunk({"type": "BOOKMARK", "object": obj})

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
                item = watcher.queue.get(timeout=wait)
            except queue.Empty:
                if self._client_gone():
                    return
                continue
            kind = item[0]
            if kind == "close":
                self._end_stream()
                return
            if kind == "cut":
                self._cut()
                return
            if kind == "stall":
                stalled = True
            elif not stalled:
                self._send_item(item)
                if kind == "error" or (kind == "bookmark" and item[3]):
                    self._end_stream()
                    return


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

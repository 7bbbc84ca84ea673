"""A thin client of a groupcache node, for processes that share one cache.

Gunicorn or uvicorn workers of one pod run one ``groupcache serve`` node beside them and
read through it with :class:`Client`: each key is still loaded once, and the workers
share one copy of the cache instead of one each.
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl as ssl_module
import threading
import time
from contextvars import ContextVar
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from .._core.value import Value
from .._errors import PeerError, WireError
from .._http.defaults import DEFAULT_BASE_PATH, DEFAULT_TIMEOUT
from .._http.urls import normalize_url
from .._protocol.bodies import decode_get_response
from .._protocol.headers import CLIENT_HEADER
from .._protocol.paths import base_of, request_path
from .._protocol.status import Headers, reply_error

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


class Client:
    """Reads keys through a groupcache node (``groupcache serve``) over HTTP.

    The node routes each get to the key's owner, so a client sees the whole cluster.

    Args:
        url: The node's URL, e.g. ``http://127.0.0.1:8080``.
        base_path: The node's base path.
        token: The node's token, if it has one.
        timeout: Seconds one request may take in all: connecting, sending and reading
            the whole reply (a node that trickles its reply is cut off all the same).
        ssl: TLS context for an ``https://`` node.

    Raises:
        GroupcacheError: ``url`` is not an http(s) URL.
    """

    def __init__(
        self,
        url: str,
        *,
        base_path: str = DEFAULT_BASE_PATH,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        ssl: ssl_module.SSLContext | None = None,
    ) -> None:
        normalize_url(url)
        self.url = url.rstrip("/")
        parts = urlsplit(self.url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._base = base_of(self.url, base_path)  # the path part, as peers have it
        self._headers = {CLIENT_HEADER: "1"}
        if token is not None:
            self._headers["Authorization"] = f"Bearer {token}"
        self._timeout = timeout
        self._ssl = ssl
        self._session: aiohttp.ClientSession | None = None
        self._local = threading.local()  # one keep-alive connection per thread
        self._conns: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()  # protects _conns

    def _url(self, group: str, key: str) -> str:
        return self._origin + request_path(self._base, group, key)

    async def get(self, group: str, key: str) -> bytes:
        """Return the value of ``key`` in ``group``.

        Raises:
            GroupNotFoundError: the node has no such group (a :class:`NotFoundError`).
            NotFoundError: the value does not exist.
            RemoteCallError: the getter failed.
            PeerError: the node could not be reached or answered garbage, or a 404 from
                outside the protocol (no node at this URL and ``base_path``).
        """
        return (await self.get_value(group, key)).data

    async def get_value(self, group: str, key: str) -> Value:
        """Return ``key`` in ``group`` as a :class:`Value`, with its expiry."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                connector=aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else True),
            )
        try:
            async with self._session.get(
                URL(self._url(group, key), encoded=True), headers=self._headers
            ) as resp:
                body = await resp.read()
                return self._decode(resp.status, resp.headers, body, group)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise PeerError(f"{self.url}: {type(exc).__name__}: {exc}") from exc

    def get_sync(self, group: str, key: str) -> bytes:
        """Blocking :meth:`get`, for threads; each thread keeps its own connection."""
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
        path = request_path(self._base, group, key)
        deadline = _DEADLINE.set(time.monotonic() + self._timeout)
        try:
            if conn.sock is not None:
                conn.sock.settimeout(_remaining())
            conn.request("GET", path, headers=self._headers)
            resp = conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            self._local.conn = None
            if isinstance(exc, TimeoutError):
                raise PeerError(f"{self.url}: no whole reply within {self._timeout} s") from exc
            raise PeerError(f"{self.url}: {type(exc).__name__}: {exc}") from exc
        finally:
            _DEADLINE.reset(deadline)
        return self._decode(resp.status, resp.headers, body, group).data

    def _decode(self, status: int, headers: Headers, body: bytes, group: str) -> Value:
        url = self.url
        if status == 200:
            try:
                return decode_get_response(body)
            except WireError as exc:
                raise PeerError(f"{url}: {exc}") from exc
        raise reply_error(
            status, headers, body, url=url, method="GET", group=group, path=self._base
        )

    def _connect(self) -> _Connection:
        parts = urlsplit(self.url)
        tls: ssl_module.SSLContext | None = None
        if parts.scheme == "https":
            tls = self._ssl if self._ssl is not None else ssl_module.create_default_context()
        port = parts.port or (443 if tls is not None else 80)
        conn = _Connection(parts.hostname or "", port, tls)
        self._local.conn = conn
        with self._lock:
            self._conns.append(conn)
        return conn

    async def aclose(self) -> None:
        """Close the async session and every thread's connection (idempotent)."""
        self.close()
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def close(self) -> None:
        """Close every thread's connection (the async session needs :meth:`aclose`)."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Client {self.url}>"


_DEADLINE: ContextVar[float] = ContextVar("groupcache_client_deadline")
"""The ``time.monotonic()`` by which this thread's :meth:`Client.get_sync` must be done.

A socket timeout bounds each read, not the call: a node that sends a byte now and then
would keep it going forever. Every connect, send and read of the call is therefore given
only the time left (http.client reads the reply through a :class:`_DeadlineReader`).
"""


def _remaining() -> float:
    """Seconds left before the deadline of the call in progress.

    Raises:
        TimeoutError: none are left.
    """
    left = _DEADLINE.get() - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    return left


class _DeadlineReader(io.RawIOBase):
    """A reply stream whose every read gets only the time left to the call.

    It reads through the socket file ``raw`` that http.client made, which holds the
    socket open until the reply is read, even once the connection closed it
    (``Connection: close``).
    """

    def __init__(self, sock: socket.socket, raw: io.RawIOBase) -> None:
        self._sock = sock
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int | None:
        self._sock.settimeout(_remaining())
        return self._raw.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _Response(http.client.HTTPResponse):
    """An :class:`http.client.HTTPResponse` read through a :class:`_DeadlineReader`."""

    def __init__(
        self,
        sock: socket.socket,
        debuglevel: int = 0,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(sock, debuglevel, method, url)
        self.fp = io.BufferedReader(_DeadlineReader(sock, self.fp.detach()))


class _Connection(http.client.HTTPConnection):
    """A keep-alive HTTP(S) connection that connects, sends and reads within the deadline
    of the :meth:`Client.get_sync` call in progress (``_DEADLINE``)."""

    response_class = _Response

    def __init__(self, host: str, port: int, tls: ssl_module.SSLContext | None) -> None:
        super().__init__(host, port)
        self._tls = tls

    def connect(self) -> None:
        self.timeout = _remaining()
        super().connect()
        if self._tls is not None:
            self.sock.settimeout(_remaining())  # the whole handshake gets what is left
            self.sock = self._tls.wrap_socket(self.sock, server_hostname=self.host)
        self.sock.settimeout(_remaining())

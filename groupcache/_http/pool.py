"""HTTPPool: the peer picker over a consistent-hash ring, plus the HTTP server for peers.

Port of golang/groupcache's http.go ``HTTPPool``, with the v2/v3 additions (Set, Remove,
batch remove), TLS, a shared token, default timeouts and bounded bodies.
"""

from __future__ import annotations

import asyncio
import ssl as ssl_module
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import urlsplit, urlunsplit

from .._core.blocking import on_home_thread
from .._core.handoff import PreviousOwners
from .._core.latency import Kind, LatencySummary
from .._core.peers import NoPeers, PeerGetter
from .._core.ring import DEFAULT_REPLICAS, HashFn, HashRing, RingPreset, resolve_preset
from .._core.value import Value
from .._core.workspace import Workspace, default_workspace
from .._errors import GroupcacheError
from .._protocol.bodies import EXPIRY_FIELDS, ExpiryField
from .connections import ConnectionPool, PeerChannel
from .defaults import (
    DEFAULT_BASE_PATH,
    DEFAULT_BATCHES_IN_FLIGHT,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_HANDOFF_WINDOW,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONNECTIONS_PER_PEER,
    DEFAULT_MAX_QUEUED_PER_PEER,
    DEFAULT_SHUTDOWN_TIMEOUT,
    DEFAULT_TIMEOUT,
    request_line_limit,
)
from .handler import PeerHandler
from .health import DEFAULT_DOWN_AFTER, DEFAULT_DOWN_BACKOFF, PeerHealth, PeerHealthInfo
from .peer import HTTPPeer
from .serving import PeerServing, ServerKind
from .urls import normalize_url


class HTTPPool:
    """Serves a workspace's groups to peers over HTTP and picks the owner of each key: it
    is its workspace's peer picker from its construction until :meth:`aclose`.

    Args:
        self_url: This node's URL as its peers know it (``http://10.0.0.1:8080``). A port
            of 0 is replaced by the bound port in :meth:`start`.
        workspace: Whose groups to serve and route (default: the default workspace).
        ring: ``"mmh3"`` (default), ``"golang"``, ``"mailgun"``, ``"groupcache-go"``, or a
            hash function ``bytes -> int`` (points are ``hash(str(i) + url)``).
        replicas: Virtual nodes per peer (Go's default: 50).
        base_path: URL prefix of the protocol; must start and end with ``/``.
        timeout: Seconds one peer request may take, the owner's load included.
        connect_timeout: Seconds to open a connection to a peer.
        token: Shared secret: sent to peers, and required of every request served.
        allow_anonymous_get: With a token, still serve GETs that carry none (Go peers).
        ssl: Server-side TLS context; this node's and its peers' URLs are then
            ``https://``. (A context is made for one side, so the client has its own.)
        client_ssl: Client-side TLS context for ``https://`` peers (default: system CAs).
        max_body_bytes: Largest request or reply body accepted.
        max_connections_per_peer: Keep-alive connections opened to each peer at most;
            further requests queue for a free connection.
        max_queued_per_peer: Requests, or gets waiting for a batch, that may queue for
            one peer; a get beyond that is loaded locally at once (a peer error) instead
            of waiting for an overloaded owner. ``None``: no bound but ``timeout``.
        shutdown_timeout: Seconds :meth:`aclose` waits for requests in progress (a peer
            whose getter hangs) before cancelling them.
        batch: Coalesce concurrent misses for one owner into one request, with peers that
            serve batches (ours say so in a reply header; Go peers keep getting plain GETs).
        batches_in_flight: Batch requests on the wire to one peer at once.
        expiry_field: Which field of the ``GetResponse`` this node serves carries the
            expiry: 3 (mailgun v2, modernprogram <= v2.7.21, groupcache-go v3, our
            nodes), 2 (modernprogram >= v2.7.22) or ``"both"`` (every variant, e.g. a
            cluster in the middle of that upgrade). Replies are read with either.
        server: What :meth:`start` serves with: ``"lean"``, an HTTP/1.1 server on
            ``asyncio.Protocol`` parsed by httptools (about a quarter of aiohttp's CPU per
            request: benchmarks/RESULTS.md); ``"aiohttp"``, :attr:`app` on aiohttp's
            server; ``"auto"`` (default), lean unless :attr:`app` was given routes,
            middlewares, sub-apps or signals of its own, which only aiohttp can serve
            (with ``"lean"``, :meth:`start` then raises). Both answer the same bytes.
        handoff_window: Seconds after a :meth:`set_peers` change during which a key's
            new owner, on a miss, first asks the key's previous owner for its cached copy
            (never running that node's getter) before calling the origin: the warm
            handoff. Peers that left the ring are still asked, and get writes, meanwhile.
            Only our peers are asked (Go peers do not know it). 0 turns it off.
        down_after: A peer whose requests failed to reach it this many times in a row
            is down for ``down_backoff`` seconds: its requests fail at once and its keys
            go to the next member on the ring that is up, or load here. 0 never marks a
            peer down.
        down_backoff: Seconds a peer is first down for, doubled at each failure after
            that, up to 30.
    """

    def __init__(
        self,
        self_url: str,
        *,
        workspace: Workspace | None = None,
        ring: str | HashFn | RingPreset = "mmh3",
        replicas: int = DEFAULT_REPLICAS,
        base_path: str = DEFAULT_BASE_PATH,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        token: str | None = None,
        allow_anonymous_get: bool = False,
        ssl: ssl_module.SSLContext | None = None,
        client_ssl: ssl_module.SSLContext | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_connections_per_peer: int = DEFAULT_MAX_CONNECTIONS_PER_PEER,
        max_queued_per_peer: int | None = DEFAULT_MAX_QUEUED_PER_PEER,
        shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
        batch: bool = True,
        batches_in_flight: int = DEFAULT_BATCHES_IN_FLIGHT,
        expiry_field: ExpiryField = 3,
        server: ServerKind = "auto",
        handoff_window: float = DEFAULT_HANDOFF_WINDOW,
        down_after: int = DEFAULT_DOWN_AFTER,
        down_backoff: float = DEFAULT_DOWN_BACKOFF,
    ) -> None:
        if not (base_path.startswith("/") and base_path.endswith("/")):
            raise GroupcacheError(f"base_path must start and end with '/': {base_path!r}")
        if not any(type(expiry_field) is type(f) and expiry_field == f for f in EXPIRY_FIELDS):
            raise GroupcacheError(f"expiry_field must be 3, 2 or 'both', not {expiry_field!r}")
        normalized = normalize_url(self_url)  # raises on a bad URL
        if ssl is not None and normalized.startswith("http:"):
            raise GroupcacheError(
                f"with ssl= this node serves TLS: its URL must be https://, not {self_url!r}"
            )
        self._self_url = self_url.strip()
        self.workspace = workspace if workspace is not None else default_workspace()
        self.base_path = base_path
        self._preset = resolve_preset(ring)
        self._ring = HashRing(
            replicas=replicas, key_hash=self._preset.key_hash, point_hash=self._preset.point_hash
        )
        self._urls: list[str] = []
        self._members: list[str] = []
        self._peers: dict[str, HTTPPeer] = {}  # ring member → client, remote peers only
        self._previous: PreviousOwners[HTTPPeer] = PreviousOwners(
            handoff_window,
            lambda: HashRing(
                replicas=replicas,
                key_hash=self._preset.key_hash,
                point_hash=self._preset.point_hash,
            ),
            HTTPPeer.close,
        )
        self._self_members: set[str] = set()
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._client_ssl = client_ssl
        self._max_body = max_body_bytes
        self._max_conns = max_connections_per_peer
        self._max_queued = max_queued_per_peer
        self._down_after, self._down_backoff = down_after, down_backoff
        headers = ""
        if token is not None:
            if any(c in token for c in "\r\n") or not token.isprintable():
                raise GroupcacheError("token must be printable, without line breaks")
            headers = f"Authorization: Bearer {token}\r\n"
        self._headers = headers.encode()
        self._ssl = ssl
        self._batches = batches_in_flight if batch else 0
        self._closed = False
        self._started = False
        self._handler = PeerHandler(
            self.workspace,
            base_path,
            token=token,
            allow_anonymous_get=allow_anonymous_get,
            max_body_bytes=max_body_bytes,
            expiry_field=expiry_field,
        )
        self._serving = PeerServing(self._handler, server, max_body_bytes, shutdown_timeout)
        self.app = self._serving.app
        """The aiohttp application serving the protocol, to mount in an existing server."""
        # The pool is its workspace's picker from here on (pinned by the public API tests);
        # until set_peers gives it peers, every key is local, as with NoPeers.
        self.workspace.set_peer_picker(self)

    # -- peers ----------------------------------------------------------------

    @property
    def self_url(self) -> str:
        """Return this node's URL (with the bound port once started on port 0)."""
        return self._self_url

    @property
    def peers(self) -> list[str]:
        """Return the peer URLs given to the last :meth:`set_peers`."""
        return list(self._urls)

    @on_home_thread
    def set_peers(self, *urls: str | Iterable[str]) -> None:
        """Replace the peers and rebuild the ring.

        Accepts ``set_peers(u1, u2)`` or ``set_peers([u1, u2])``. The URL that normalises
        to :attr:`self_url` is this node, whose keys are loaded locally. Called from
        another thread while the home loop runs, it blocks until that loop has run it
        (the connections it closes belong to that loop): never call it holding a lock
        that code on the home loop waits for.

        Raises:
            GroupcacheError: a URL is not ``http(s)://host[:port]``.
        """
        flat: list[str] = []
        for item in urls:
            flat.extend([item] if isinstance(item, str) else item)
        unique = list(dict.fromkeys(u.strip() for u in flat))
        me = normalize_url(self._self_url)
        members = [self._preset.member(u) for u in unique]
        self_members = {m for u, m in zip(unique, members, strict=True) if normalize_url(u) == me}
        peers: dict[str, HTTPPeer] = {}
        for url, member in zip(unique, members, strict=True):
            if member in self_members:
                continue
            old = self._peers.get(member)
            peers[member] = old if old is not None and old.url == url else self._client(url)
        self._ring.set(members)
        # The clients of peers that left are the handoff's, to close (at once, or once
        # its window ends): a peer that left may still hand copies over meanwhile.
        self._previous.changed(
            self._members, self._self_members, self._peers, members, self_members, peers
        )
        self._urls, self._members = unique, members
        self._peers, self._self_members = peers, self_members

    def previous_owner(self, key: str) -> HTTPPeer | None:
        """Return the peer that owned ``key`` before the last :meth:`set_peers` change, if
        that was another node and the handoff window is open (warm handoff)."""
        return self._previous.owner(key)

    def departed(self) -> list[HTTPPeer]:
        """Return the previous owners that left the ring, within the handoff window."""
        return self._previous.departed()

    def drop_donor(self, peer: HTTPPeer) -> None:
        """Stop asking ``peer`` for copies in this window (a write did not reach it)."""
        self._previous.drop(peer)

    def written(self, group: str, key: str | None) -> None:
        """Take no copy of ``key`` of ``group`` (all its keys when ``None``) in this
        window: it was written or removed here, perhaps nowhere else."""
        self._previous.written(group, key)

    def copy_allowed(self, group: str, key: str) -> bool:
        """Return whether a previous owner's copy of ``key`` may still be taken."""
        return self._previous.copy_allowed(group, key)

    def _client(self, url: str) -> HTTPPeer:
        connections = ConnectionPool(
            url,
            max_connections=self._max_conns,
            max_queued=self._max_queued,
            timeout=self._timeout,
            connect_timeout=self._connect_timeout,
            ssl=self._client_ssl,
            max_body_bytes=self._max_body,
        )
        if self._closed:
            connections.close()  # a pool closed meanwhile: requests fail, loads go local
        channel = PeerChannel(
            url,
            connections=connections,
            base_path=self.base_path,
            headers=self._headers,
            batches=self._batches > 0,
            health=PeerHealth(self._down_after, self._down_backoff),
        )
        return HTTPPeer(channel, batches=self._batches, max_queued=self._max_queued)

    def pick_peer(self, key: str) -> PeerGetter | None:
        """Return the remote owner of ``key``, or ``None`` when it is this node's. While
        the owner is down (:meth:`peer_health`), the next member clockwise that is up
        stands in for it (``None`` if that is this node)."""
        owner = self._ring.get(key)
        if owner is None or owner in self._self_members:
            return None
        peer = self._peers[owner]
        if peer.health.down_until and peer.health.is_down():
            return self._stand_in(key)
        return peer

    def _stand_in(self, key: str) -> HTTPPeer | None:
        for member in self._ring.successors(key):
            if member in self._self_members:
                return None
            peer = self._peers[member]
            if not peer.health.is_down():
                return peer
        return None

    def peer_health(self) -> list[PeerHealthInfo]:
        """Return the health of every peer: up, or down (and for how long) after
        ``down_after`` failed requests in a row."""
        return [peer.health.info(peer.url) for peer in self._peers.values()]

    def served_latency(self) -> dict[Kind, LatencySummary]:
        """Return the latency of the thin Clients' gets this node served, by kind: a local
        ``"hit"``, a fetch from the key's owner (``"peer"``), a load here (``"origin"``,
        waiting for one already under way included), measured where they were served."""
        return self._handler.served.summary()

    def owner(self, key: str) -> str | None:
        """Return the URL of the peer that owns ``key`` (this node's included)."""
        member = self._ring.get(key)
        if member is None:
            return None
        if member in self._self_members:
            return self._self_url
        return self._peers[member].url

    def remote_peers(self) -> Sequence[PeerGetter]:
        """Return a client for every peer but this node."""
        return list(self._peers.values())

    @property
    def write_grace(self) -> float:
        """Return the seconds a Set or Remove waits for the key's owner before it updates
        this node and the other peers anyway: a quarter of ``timeout``."""
        return self._timeout / 4

    def check_set(self, group: str, key: str, value: Value) -> None:
        """Raise :class:`~groupcache.InvalidValueError` if the peers would refuse a Set of
        ``value`` (they share ``max_body_bytes``, so one check stands for all)."""
        peer = next(iter(self._peers.values()), None)
        if peer is not None:
            peer.check_set(group, key, value)

    # -- lifecycle ------------------------------------------------------------------

    def add_endpoint(self, path: str, render: Callable[[], tuple[str, bytes]]) -> None:
        """Serve ``GET path`` (outside the protocol, e.g. ``/stats``) with ``render``,
        which returns the content type and the body; behind the token like the protocol,
        on either server (it is added to :attr:`app` too). Call it before :meth:`start`.

        Raises:
            GroupcacheError: started already, or ``path`` is under the base path.
        """
        self._serving.add_endpoint(path, render)

    @property
    def server(self) -> str:
        """Return what serves peers: ``"lean"``, ``"aiohttp"``, or ``"none"`` (not started)."""
        return self._serving.running

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve peers on ``host:port``; return :attr:`self_url` (port 0 → the bound one).

        Request lines are sized for the longest ``max_key_bytes`` of the groups that exist
        now (at least 64 KiB): create a group with longer keys before starting.

        Raises:
            GroupcacheError: already started, or closed; ``server="lean"`` with a changed
                :attr:`app`.
        """
        if self._closed or self._started:
            raise GroupcacheError("HTTPPool.start() may be called once, before aclose()")
        self.workspace.bind_loop(asyncio.get_running_loop())
        # A request line must fit the longest key, every byte %-escaped (aiohttp's
        # default, 8190, would turn keys over ~2.7 KB into peer errors).
        max_line = request_line_limit(self.workspace, self.base_path)
        self._started = True
        try:
            bound_port = await self._serving.start(host, port, self._ssl, max_line)
        except BaseException:
            self._started = False
            raise
        parts = urlsplit(self._self_url)
        if parts.port == 0:
            netloc = parts.netloc.rsplit(":", 1)[0] + f":{bound_port}"
            self._self_url = urlunsplit(parts._replace(netloc=netloc))
        return self._self_url

    async def aclose(self) -> None:
        """Stop serving, cancel the groups' background refreshes of stale values, and close
        the client connections (idempotent)."""
        self._closed = True
        if self.workspace.peer_picker is self:
            self.workspace.set_peer_picker(NoPeers())
        await self._serving.aclose()
        for group in self.workspace.groups():
            await group.aclose()
        self._previous.close()
        for peer in self._peers.values():
            await peer.aclose()

    async def __aenter__(self) -> HTTPPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"<HTTPPool {self._self_url} ring={self._preset.name} peers={len(self._urls)} "
            f"started={self.server != 'none'} server={self.server}>"
        )

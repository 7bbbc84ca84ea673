"""The lean server's HTTP/1.1: pipelining, keep-alive rules, chunked bodies, limits, the
idle timeout, shutdown, and the choice between it and aiohttp's (``HTTPPool(server=)``).

What both servers must answer alike is in test_http.py and the chaos suite, run on both;
here is what only a hand-assembled HTTP/1.1 server can get wrong, shown on raw sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httptools
import pytest
from aiohttp import web

from groupcache import Group, GroupcacheError, HTTPPool, ServerKind, Value, Workspace
from groupcache._http.handler import PeerHandler, Reply
from groupcache._http.lean import LeanServer
from groupcache._protocol.bodies import encode_set_request
from tests.groupcache.helpers import method_counter
from tests.support.getters import CountingGetter
from tests.support.waiting import until

_STATUS = re.compile(rb"HTTP/1\.1 (\d{3}) ")


@dataclass
class Answer:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class _Replies:
    """httptools callbacks: the replies read so far."""

    def __init__(self) -> None:
        self.done: list[Answer] = []
        self.parser = httptools.HttpResponseParser(self)
        self._current = Answer()

    def on_message_begin(self) -> None:
        self._current = Answer()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._current.headers[name.decode().lower()] = value.decode()

    def on_headers_complete(self) -> None:
        self._current.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self._current.body += body

    def on_message_complete(self) -> None:
        self.done.append(self._current)


async def exchange(port: int, data: bytes, replies: int = 1) -> tuple[bytes, list[Answer]]:
    """Send ``data`` on one connection; return the bytes and the replies that came back
    once ``replies`` replies have arrived, or the connection closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    parsed = _Replies()
    got = b""
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(10):
            while len(parsed.done) < replies:
                chunk = await reader.read(1 << 16)
                if not chunk:
                    break
                got += chunk
                with contextlib.suppress(httptools.HttpParserError):  # HEAD: no body comes
                    parsed.parser.feed_data(chunk)
        return got, parsed.done
    finally:
        writer.close()


def statuses(data: bytes) -> list[int]:
    return [int(m.group(1)) for m in _STATUS.finditer(data)]


@pytest.fixture
async def lean_pool(workspace: Workspace) -> AsyncIterator[tuple[HTTPPool, int, CountingGetter]]:
    getter = CountingGetter()
    Group("g", getter, 1 << 20, workspace=workspace)
    async with HTTPPool(
        "http://127.0.0.1:0", workspace=workspace, server="lean", max_body_bytes=1 << 10
    ) as pool:
        url = await pool.start()
        yield pool, int(url.rsplit(":", 1)[1]), getter


def get(key: str, extra: bytes = b"") -> bytes:
    return b"GET /_groupcache/g/%s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (key.encode(), extra)


async def test_pipelined_requests_are_answered_in_order_hits_and_misses_alike(
    lean_pool: tuple[HTTPPool, int, CountingGetter],
) -> None:
    pool, port, getter = lean_pool
    await pool.workspace.get_group("g").get("hit")  # type: ignore[union-attr]
    keys = ["miss-1", "hit", "miss-2", "hit", "miss-3"]
    data = b"".join(get(k) for k in keys[:-1]) + get(keys[-1], b"Connection: close\r\n")
    raw, replies = await exchange(port, data, replies=len(keys))
    assert statuses(raw) == [200] * len(keys)
    for key, reply in zip(keys, replies, strict=True):
        assert reply.body.endswith(b":" + key.encode() + b"\x18\x00"), (key, reply)
    assert getter.total == 4  # "hit" once beforehand, each miss once


async def test_http10_without_keep_alive_is_answered_and_closed(
    lean_pool: tuple[HTTPPool, int, CountingGetter],
) -> None:
    _, port, _ = lean_pool
    raw, replies = await exchange(
        port, b"GET /_groupcache/g/k HTTP/1.0\r\n\r\n" + get("never"), replies=2
    )
    assert statuses(raw) == [200]  # the request after it is never read
    assert replies[0].headers["connection"] == "close"


async def test_a_chunked_put_is_applied(
    lean_pool: tuple[HTTPPool, int, CountingGetter],
) -> None:
    pool, port, _ = lean_pool
    body = encode_set_request("g", "chunked", Value(b"C"))
    chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (3, body[:3], len(body) - 3, body[3:])
    head = b"PUT /_groupcache/g/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    raw, _ = await exchange(port, head + b"Connection: close\r\n\r\n" + chunks)
    assert statuses(raw) == [200]
    assert await pool.workspace.get_group("g").get("chunked") == b"C"  # type: ignore[union-attr]


async def test_a_chunked_body_over_the_limit_is_413_and_closes(
    lean_pool: tuple[HTTPPool, int, CountingGetter],
) -> None:
    _, port, _ = lean_pool
    head = b"PUT /_groupcache/g/big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"%x\r\n%s\r\n" % (800, b"x" * 800)
    raw, replies = await exchange(port, head + chunk + chunk + get("after"), replies=2)
    assert statuses(raw) == [413]  # and closed: "after" is never answered
    assert replies[0].body == b"request body over the limit of 1024 bytes\n"


async def test_headers_over_the_limit_are_400(
    lean_pool: tuple[HTTPPool, int, CountingGetter],
) -> None:
    _, port, getter = lean_pool
    raw, replies = await exchange(port, get("k", b"X-Big: " + b"y" * (20 << 10) + b"\r\n"))
    assert statuses(raw) == [400]
    assert replies[0].body == b"request headers too large\n"
    assert getter.total == 0


async def test_head_gets_the_headers_without_the_body(
    lean_pool: tuple[HTTPPool, int, CountingGetter],
) -> None:
    _, port, _ = lean_pool
    head = b"HEAD /_groupcache/g/k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    raw, _ = await exchange(port, head)
    assert statuses(raw) == [405]  # as aiohttp's server answers it
    head_part, _, body = raw.partition(b"\r\n\r\n")
    assert b"Content-Length: 42\r\n" in head_part + b"\r\n"  # the body it would have had
    assert body == b""


async def test_an_upgrade_request_is_answered_then_the_connection_closes(
    lean_pool: tuple[HTTPPool, int, CountingGetter],
) -> None:
    _, port, _ = lean_pool
    upgrade = get("k", b"Connection: Upgrade\r\nUpgrade: websocket\r\n")
    raw, _ = await exchange(port, upgrade + b"\x00\x01garbage", replies=2)
    assert statuses(raw) == [200]


async def test_an_idle_connection_is_closed_after_the_idle_timeout(workspace: Workspace) -> None:
    Group("g", CountingGetter(), 1 << 20, workspace=workspace)
    handler = PeerHandler(workspace, "/_groupcache/", max_body_bytes=1 << 10)
    server = LeanServer(handler, max_line_bytes=1 << 10, max_body_bytes=1 << 10, idle_timeout=0.2)
    port = await server.start("127.0.0.1", 0, None)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(get("k"))
        await reader.readuntil(b"\x18\x00")  # answered, then left idle
        async with asyncio.timeout(10):
            assert await reader.read() == b""  # closed by the server
        writer.close()
    finally:
        await server.aclose(grace=1.0)
    assert not server.connections


async def test_aclose_lets_a_request_in_progress_finish_within_the_grace(
    workspace: Workspace,
) -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(key: str) -> bytes:
        entered.set()
        await release.wait()
        return b"late"

    Group("g", slow, 1 << 20, workspace=workspace)
    pool = HTTPPool("http://127.0.0.1:0", workspace=workspace, server="lean", shutdown_timeout=5)
    url = await pool.start()
    request = asyncio.create_task(exchange(int(url.rsplit(":", 1)[1]), get("k")))
    await entered.wait()
    closing = asyncio.create_task(pool.aclose())
    await until(lambda: pool.server == "none")  # aclose has begun: no longer listening
    release.set()
    raw, replies = await request
    await closing
    assert statuses(raw) == [200]
    assert replies[0].body.endswith(b"late\x18\x00")
    assert replies[0].headers["connection"] == "close"  # no keep-alive past shutdown


async def test_add_endpoint_serves_on_either_server_behind_the_token(
    workspace: Workspace, server_kind: ServerKind
) -> None:
    Group("g", CountingGetter(), 1 << 20, workspace=workspace)
    async with HTTPPool(
        "http://127.0.0.1:0", workspace=workspace, token="t", server=server_kind
    ) as pool:
        pool.add_endpoint("/ping", lambda: ("text/plain", b"pong"))
        with pytest.raises(GroupcacheError, match="outside /_groupcache/"):
            pool.add_endpoint("/_groupcache/x", lambda: ("text/plain", b""))
        port = int((await pool.start()).rsplit(":", 1)[1])
        assert pool.server == server_kind
        with pytest.raises(GroupcacheError, match="before start"):
            pool.add_endpoint("/late", lambda: ("text/plain", b""))
        ok = b"GET /ping HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nConnection: close\r\n"
        _, replies = await exchange(port, ok + b"\r\n")
        assert [(r.status, r.body, r.headers["content-type"]) for r in replies] == [
            (200, b"pong", "text/plain")
        ]
        _, anonymous = await exchange(
            port, b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert [r.status for r in anonymous] == [401]


async def test_auto_picks_lean_unless_the_app_was_changed(workspace: Workspace) -> None:
    async with HTTPPool("http://127.0.0.1:0", workspace=workspace) as plain:
        assert plain.server == "none"
        await plain.start()
        assert plain.server == "lean"
        assert "server=lean" in repr(plain)
    assert plain.server == "none"

    seen: Counter[str] = Counter()

    with Workspace() as ws:
        Group("g", CountingGetter(), 1 << 20, workspace=ws)
        async with HTTPPool("http://127.0.0.1:0", workspace=ws) as custom:
            custom.app.middlewares.append(method_counter(seen))
            port = int((await custom.start()).rsplit(":", 1)[1])
            assert custom.server == "aiohttp"
            _, replies = await exchange(port, get("k", b"Connection: close\r\n"))
            assert replies[0].status == 200
            assert seen == {"GET": 1}  # the user's middleware ran


async def mine(request: web.Request) -> web.Response:
    return web.Response(text="x")


async def test_lean_refuses_an_app_it_cannot_serve_and_may_then_start_as_aiohttp(
    workspace: Workspace,
) -> None:
    async with HTTPPool("http://127.0.0.1:0", workspace=workspace, server="lean") as pool:
        pool.app.router.add_get("/mine", mine)
        with pytest.raises(GroupcacheError, match="server='aiohttp'"):
            await pool.start()
        assert pool.server == "none"


def test_an_unknown_server_kind_is_a_clear_error(workspace: Workspace) -> None:
    with pytest.raises(GroupcacheError, match="server must be 'auto', 'lean' or 'aiohttp'"):
        HTTPPool("http://127.0.0.1:0", workspace=workspace, server="uvicorn")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "request_bytes",
    [
        get("a%20b", b"Connection: close\r\n"),
        b"GET /_groupcache/nope/k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /_groupcache/g HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"PATCH /_groupcache/g/k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"PUT /_groupcache/g/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
        b"Connection: close\r\n\r\n\xff",
        b"DELETE /_groupcache/g/k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ],
    ids=["hit", "no group", "no key", "405", "bad body", "delete"],
)
async def test_both_servers_answer_the_same_status_type_and_body(request_bytes: bytes) -> None:
    answers = []
    for kind in ("lean", "aiohttp"):
        with Workspace() as ws:
            Group("g", CountingGetter(), 1 << 20, workspace=ws)
            async with HTTPPool("http://127.0.0.1:0", workspace=ws, server=kind) as pool:
                port = int((await pool.start()).rsplit(":", 1)[1])
                _, (reply,) = await exchange(port, request_bytes)
        kept = {k: v for k, v in reply.headers.items() if k not in {"date", "server"}}
        answers.append((reply.status, kept, reply.body))
    assert answers[0] == answers[1]


async def test_a_path_outside_the_protocol_is_404_on_both_servers(workspace: Workspace) -> None:
    """The lean server answers as Go's ServeMux does; aiohttp's keeps its own body, since
    :attr:`HTTPPool.app` may be mounted where other routes answer."""
    bodies = []
    for kind in ("lean", "aiohttp"):
        async with HTTPPool("http://127.0.0.1:0", workspace=workspace, server=kind) as pool:
            port = int((await pool.start()).rsplit(":", 1)[1])
            _, (reply,) = await exchange(
                port, b"GET /elsewhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
        assert reply.status == 404
        bodies.append(reply.body)
    assert bodies[0] == b"404 page not found\n"


def test_a_reply_is_a_frozen_value() -> None:
    reply = Reply(200, b"x", "text/plain")
    with pytest.raises(AttributeError):
        reply.status = 500  # type: ignore[misc]


async def test_an_http11_request_without_host_is_400_on_both_servers(
    workspace: Workspace, server_kind: ServerKind
) -> None:
    """RFC 9112 3.2, as Go's net/http and aiohttp answer; HTTP/1.0 needs no Host."""
    getter = CountingGetter()
    Group("g", getter, 1 << 20, workspace=workspace)
    async with HTTPPool("http://127.0.0.1:0", workspace=workspace, server=server_kind) as pool:
        port = int((await pool.start()).rsplit(":", 1)[1])
        no_host = b"GET /_groupcache/g/k HTTP/1.1\r\nConnection: close\r\n\r\n"
        _, (reply,) = await exchange(port, no_host)
        assert reply.status == 400
        assert getter.total == 0
        _, (old,) = await exchange(port, b"GET /_groupcache/g/k HTTP/1.0\r\n\r\n")
        assert old.status == 200

"""The Go side on its own: golang/groupcache peers on loopback, their ring and their wire.

These pin down what a real golang/groupcache (the newest module version, see
:data:`.variants.GOLANG`) does, so the Python port can be held to it.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import random
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import quote, quote_plus

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from tests.support.gopeer import GoPeer, GoPeerGetError, start_go_peers

pytestmark = pytest.mark.interop

VECTORS = Path(__file__).with_name("ring-vectors.json")  # copy of shared/reference/
BASE = "/_groupcache/"
GROUP = "interop"
UNREACHABLE = "http://127.0.0.1:1"  # loopback, nothing listens: connection refused


def path_escape(s: str) -> str:
    """Go's url.PathEscape."""
    return quote(s, safe="$&+:=@")


def golang_get_response(value: bytes) -> bytes:
    """GetResponse{value} as golang encodes it: field 1 only, no expire."""
    n, varint = len(value), bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        varint.append(byte | (0x80 if n else 0))
        if not n:
            return b"\x0a" + bytes(varint) + value


def crc32_ring_owner(members: list[str], key: str, replicas: int = 50) -> str:
    """golang/groupcache's consistenthash: points crc32(str(i) + member), the first point
    at or after crc32(key) owns it, wrapping around."""
    points: dict[int, str] = {}
    for member in members:
        for i in range(replicas):
            points[zlib.crc32(f"{i}{member}".encode())] = member
    hashes = sorted(points)
    i = bisect.bisect_left(hashes, zlib.crc32(key.encode()))
    return points[hashes[0 if i == len(hashes) else i]]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


@pytest.fixture
async def peer(gopeer_binary: Path) -> AsyncIterator[GoPeer]:
    async with GoPeer(gopeer_binary) as p:
        yield p


async def find_keys(peer: GoPeer, owner: str, prefix: str, n: int = 1) -> list[str]:
    """The first ``n`` keys ``prefix0``, ``prefix1``... that ``owner`` owns on ``peer``'s ring."""
    found: list[str] = []
    for i in range(1000):
        if await peer.owner(f"{prefix}{i}") == owner:
            found.append(f"{prefix}{i}")
            if len(found) == n:
                return found
    raise AssertionError(f"no key {prefix}N owned by {owner}")


def wire_url(peer: GoPeer, escaped_key: str, group: str = GROUP, base: str = BASE) -> URL:
    return URL(f"{peer.url}{base}{group}/{escaped_key}", encoded=True)


# --------------------------------------------------------------------------- process


async def test_prints_listen_line_and_exits_zero_on_sigterm(gopeer_binary: Path) -> None:
    go = GoPeer(gopeer_binary)
    await go.start()
    try:
        assert URL(go.url).host == "127.0.0.1"
        assert URL(go.url).port not in (None, 0)
        assert await go.stats() == dict.fromkeys(
            [
                "Gets",
                "CacheHits",
                "PeerLoads",
                "PeerErrors",
                "Loads",
                "LoadsDeduped",
                "LocalLoads",
                "LocalLoadErrs",
                "ServerRequests",
            ],
            0,
        )
    finally:
        code = await go.aclose()
    assert code == 0


# --------------------------------------------------------------------------- ring


@pytest.mark.parametrize(
    ("members_field", "owners_field"), [("members", "owners"), ("members_2", "owners_2")]
)
async def test_owner_matches_golang_ring_vectors(
    peer: GoPeer, members_field: str, owners_field: str
) -> None:
    vectors = json.loads(VECTORS.read_text(encoding="utf-8"))["golang"]
    members: list[str] = vectors[members_field]
    expected: dict[str, str] = vectors[owners_field]
    assert vectors["replicas"] == peer.replicas == 50

    got = await asyncio.gather(*(peer.owner(key, members) for key in expected))

    assert dict(zip(expected, got, strict=True)) == expected


async def test_owner_matches_python_crc32_reference(peer: GoPeer) -> None:
    rng = random.Random(25)
    members = [f"http://127.0.0.1:{rng.randrange(1024, 65536)}" for _ in range(5)]
    keys = [f"k{rng.getrandbits(40):x}" for _ in range(200)] + ["", "a b", "ü/+", "x" * 300]

    got = await asyncio.gather(*(peer.owner(key, members) for key in keys))

    assert got == [crc32_ring_owner(members, key) for key in keys]


async def test_owner_without_peers_uses_the_set_list(peer: GoPeer) -> None:
    assert await peer.owner("anything") == ""  # empty ring: every key is local
    members = [peer.url, UNREACHABLE]
    await peer.set_peers(members)

    for key in ["a", "b", "c", "hello", "user:42"]:
        assert await peer.owner(key) == await peer.owner(key, members)
        assert await peer.owner(key) == crc32_ring_owner(members, key)


# --------------------------------------------------------------------------- Go-only clusters


@pytest.mark.parametrize("n", [2, 3])
async def test_every_key_loads_once_on_its_owner(gopeer_binary: Path, n: int) -> None:
    keys = [f"key-{i:03d}" for i in range(40)] + ["a/b", "ünïcödé", "x+y", "user:42"]
    async with contextlib.AsyncExitStack() as stack:
        nodes = await start_go_peers(stack, gopeer_binary, n)
        urls = sorted(node.url for node in nodes)
        await asyncio.gather(*(node.set_peers(urls) for node in nodes))
        by_url = {node.url: node for node in nodes}

        owners = {key: await nodes[0].owner(key) for key in keys}
        for node in nodes[1:]:
            assert {key: await node.owner(key) for key in keys} == owners
        assert set(owners.values()) <= set(urls)

        async def through_every_node(key: str) -> list[bytes]:
            return list(await asyncio.gather(*(node.get(key) for node in nodes)))

        values = await asyncio.gather(*(through_every_node(key) for key in keys))
        loads = [await node.loads() for node in nodes]
        stats = [await node.stats() for node in nodes]

    for key, got in zip(keys, values, strict=True):
        assert got == [f"go:{key}".encode()] * n
    assert sum((Counter(load) for load in loads), Counter()) == Counter(dict.fromkeys(keys, 1))
    for key in keys:
        assert key in loads[nodes.index(by_url[owners[key]])], key
    assert sum(s["LocalLoads"] for s in stats) == len(keys)
    assert sum(s["PeerErrors"] for s in stats) == 0
    assert sum(s["ServerRequests"] for s in stats) == sum(s["PeerLoads"] for s in stats)


async def test_unreachable_owner_is_a_peer_error_then_a_local_load(peer: GoPeer) -> None:
    await peer.set_peers([peer.url, UNREACHABLE])
    (key,) = await find_keys(peer, UNREACHABLE, "far-")

    assert await peer.get(key) == f"go:{key}".encode()

    stats = await peer.stats()
    assert (stats["PeerErrors"], stats["LocalLoads"], stats["PeerLoads"]) == (1, 1, 0)
    assert await peer.loads() == {key: 1}


async def test_go_client_sends_spaces_as_plus(gopeer_binary: Path) -> None:
    """golang#25: the client QueryEscapes keys, so the owner is asked for "a+b", not "a b"."""
    async with contextlib.AsyncExitStack() as stack:
        a, b = await start_go_peers(stack, gopeer_binary, 2)
        await asyncio.gather(*(node.set_peers([a.url, b.url]) for node in (a, b)))
        for i in range(1000):
            key = f"sp ace {i}"
            if await a.owner(key) == b.url and await a.owner(key.replace(" ", "+")) == b.url:
                break
        else:
            raise AssertionError("no suitable key")
        plus_key = key.replace(" ", "+")

        assert await a.get(key) == f"go:{plus_key}".encode()
        assert await b.loads() == {plus_key: 1}
        assert await a.loads() == {}


async def test_go_getter_error_surfaces_through_admin_get(peer: GoPeer) -> None:
    with pytest.raises(GoPeerGetError, match="go getter failed: err:x") as info:
        await peer.get("err:x")
    assert info.value.status == 500
    assert (await peer.stats())["LocalLoadErrs"] == 1


# --------------------------------------------------------------------------- server wire


@pytest.mark.parametrize("key", ["foo", "user:42", "", "x" * 200, "ünïcödé"])
async def test_get_reply_is_value_only_protobuf(
    peer: GoPeer, http: aiohttp.ClientSession, key: str
) -> None:
    async with http.get(wire_url(peer, path_escape(key))) as resp:
        body = await resp.read()
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/x-protobuf"
    assert body == golang_get_response(f"go:{key}".encode())


async def test_getter_error_is_500_with_plain_text_message(
    peer: GoPeer, http: aiohttp.ClientSession
) -> None:
    async with http.get(wire_url(peer, "err:boom")) as resp:
        assert resp.status == 500
        assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert await resp.text() == "go getter failed: err:boom\n"
    assert (await peer.stats())["ServerRequests"] == 1


async def test_unknown_group_is_404(peer: GoPeer, http: aiohttp.ClientSession) -> None:
    async with http.get(wire_url(peer, "k", group="nope")) as resp:
        assert resp.status == 404
        assert await resp.text() == "no such group: nope\n"


async def test_group_without_key_slash_is_400(peer: GoPeer, http: aiohttp.ClientSession) -> None:
    async with http.get(URL(f"{peer.url}{BASE}{GROUP}", encoded=True)) as resp:
        assert resp.status == 400
        assert await resp.text() == "bad request\n"


@pytest.mark.parametrize(
    ("escaped", "key"),
    [
        ("a%20b", "a b"),  # PathEscape: survives
        ("a+b", "a+b"),  # a literal + is a +, never a space
        ("a%2Bb", "a+b"),  # QueryEscape of "+"
        ("a%2Fb", "a/b"),  # decoded before the split on the first "/"
        ("a/b", "a/b"),
        ("%C3%BC", "ü"),
        ("", ""),
    ],
)
async def test_server_percent_decodes_keys(
    peer: GoPeer, http: aiohttp.ClientSession, escaped: str, key: str
) -> None:
    async with http.get(wire_url(peer, escaped)) as resp:
        assert resp.status == 200
        assert await resp.read() == golang_get_response(f"go:{key}".encode())
    assert await peer.loads() == {key: 1}


@pytest.mark.parametrize("method", ["PUT", "DELETE", "POST", "HEAD"])
async def test_every_method_is_served_as_a_get(
    peer: GoPeer, http: aiohttp.ClientSession, method: str
) -> None:
    """Trap 1.5.1: golang has no Set/Remove; the getter runs and the value comes back."""
    async with http.request(method, wire_url(peer, "k"), data=b"\x0a\x01x") as resp:
        assert resp.status == 200
        if method != "HEAD":
            assert await resp.read() == golang_get_response(b"go:k")
    assert await peer.loads() == {"k": 1}


@pytest.mark.parametrize("escaped", ["..", ".", "a//b", "a/./b"])
async def test_dot_segments_are_redirected_by_the_servemux(
    peer: GoPeer, http: aiohttp.ClientSession, escaped: str
) -> None:
    """http.ServeMux redirects unclean paths (307 since Go 1.22); Go clients never follow."""
    async with http.get(wire_url(peer, escaped), allow_redirects=False) as resp:
        assert resp.status == 307
    assert await peer.loads() == {}


async def test_a_go_peer_on_a_custom_base_path_serves_and_is_reached_there(
    gopeer_binary: Path, http: aiohttp.ClientSession
) -> None:
    async with GoPeer(gopeer_binary, group="other", base="/gc/") as go:
        async with http.get(wire_url(go, "k", group="other", base="/gc/")) as resp:
            assert resp.status == 200
            assert await resp.read() == golang_get_response(b"go:k")
        assert await go.get("j") == b"go:j"


# --------------------------------------------------------------------------- client wire


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def fake_peer(handler: Handler) -> AsyncIterator[str]:
    """A loopback aiohttp server standing in for a peer; yields its base URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def test_a_go_client_sends_its_owner_a_query_escaped_get_without_a_body(peer: GoPeer) -> None:
    """What a golang client sends to its owner: QueryEscaped group and key, GET, no body."""
    seen: list[tuple[str, str, bytes, str]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(
            (
                request.method,
                request.raw_path,
                await request.read(),
                request.headers.get("Accept-Encoding", ""),
            )
        )
        return web.Response(body=golang_get_response(b"fake"))

    async with fake_peer(handler) as fake:
        await peer.set_peers([peer.url, fake])
        keys = [
            *await find_keys(peer, fake, "plain-"),
            *await find_keys(peer, fake, "sp ace/ü+:"),
            *await find_keys(peer, fake, "~-_."),
        ]
        for key in keys:
            assert await peer.get(key) == b"fake"

    assert seen == [
        ("GET", f"{BASE}{GROUP}/{quote_plus(key, safe='')}", b"", "gzip") for key in keys
    ]
    stats = await peer.stats()
    assert (stats["PeerLoads"], stats["PeerErrors"], stats["LocalLoads"]) == (len(keys), 0, 0)


@pytest.mark.parametrize(
    "body",
    [
        b"\x0a\x04fake",
        b"\x0a\x04fake\x18\x00",  # mailgun/v3: expire (field 3) always written
        b"\x0a\x04fake\x18\x80\x80\xe8\xef\x9e\xca\x9c\xc3\x18",  # a real expiry
        b"\x0a\x04fake\x10\x05",  # modernprogram >= 2.7.22: expire in field 2
        b"\x0a\x04fake\x18\x05\x10\x05",  # HTTPPool(expiry_field="both")
    ],
)
async def test_go_client_ignores_fields_after_value(peer: GoPeer, body: bytes) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body)

    async with fake_peer(handler) as fake:
        await peer.set_peers([peer.url, fake])
        (key,) = await find_keys(peer, fake, "k")
        assert await peer.get(key) == b"fake"
    assert (await peer.stats())["PeerLoads"] == 1


@pytest.mark.parametrize("status", [404, 500, 503])
async def test_go_client_falls_back_locally_on_any_error_status(peer: GoPeer, status: int) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, text="nope")

    async with fake_peer(handler) as fake:
        await peer.set_peers([peer.url, fake])
        (key,) = await find_keys(peer, fake, "k")
        assert await peer.get(key) == f"go:{key}".encode()
    stats = await peer.stats()
    assert (stats["PeerErrors"], stats["LocalLoads"]) == (1, 1)
    assert await peer.loads() == {key: 1}

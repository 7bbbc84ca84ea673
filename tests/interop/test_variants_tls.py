"""Every Go variant in a mixed cluster over TLS, and a bearer token both ways.

Each test runs once per variant (:data:`.variants.VARIANTS`) unless it says otherwise.
One throwaway CA (trustme) signs a ``127.0.0.1`` certificate that every node serves;
every node trusts that CA for its peer requests. The Go side is configured the way each
module allows: golang's ``HTTPPool.Transport`` and the v2 variants'
``HTTPPoolOptions.Transport`` get an ``http.Transport`` trusting the CA, groupcache-go
v3 gets ``HttpTransportOptions.TLSConfig`` (which makes its peer URLs ``https://``) and
a ``Client`` with that transport; the shared front end serves its listener with TLS
(``gopeers/front``). The README's interop matrix names these tests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.certs import Certs, make_certs
from tests.support.gopeer import GoPeer, GoPeerWriteError
from tests.support.variants import VARIANTS, Variant

from .mixed import Cluster, PyNode, ms_from_now, same_instant, start_cluster, start_py_node

pytestmark = [pytest.mark.interop, pytest.mark.mixed_cluster]

KEYS = [f"{i:02d}-tls" for i in range(24)] + ["a/b", "x/y+z", "ünïcödé", "q?uery", "ttl:tls"]
TOKEN = "s3cret-interop"
WRITERS = [v for v in VARIANTS if v.writes]


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    return make_certs(tmp_path / "tls")


@pytest.fixture
async def cluster(variant: Variant, variant_binary: Path, certs: Certs) -> AsyncIterator[Cluster]:
    async with contextlib.AsyncExitStack() as stack:
        yield await start_cluster(stack, variant, variant_binary, certs=certs)


def as_http(url: str) -> str:
    """The same host and port with ``http://``: what a downgrade would try."""
    return "http://" + url.split("://", 1)[1]


async def plain_http_answer(url: str) -> bytes:
    """What a plain-HTTP GET to ``url``'s port gets back (b"" if the TLS side hangs up)."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(b"GET /_groupcache/interop/k HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await writer.drain()
        async with asyncio.timeout(10):
            return await reader.read(4096)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def find_key(py: PyNode, owner: str) -> str:
    """The first ``kN`` the Python node's ring gives to ``owner``."""
    return next(k for k in (f"k{i}-x" for i in range(2000)) if py.pool.owner(k) == owner)


async def find_go_key(go: GoPeer, owner: str, peers: list[str]) -> str:
    """The first ``kN`` the Go node's ring of ``peers`` gives to ``owner``."""
    for i in range(2000):
        key = f"k{i}-x"
        if await go.owner(key, peers) == owner:
            return key
    raise AssertionError(f"no key owned by {owner}")


async def assert_no_peer_errors(cluster: Cluster) -> None:
    for p in cluster.py:
        assert p.group.stats().peer_errors == 0
    for g in cluster.go:
        assert (await g.stats())["PeerErrors"] == 0


# --------------------------------------------------------------------------- reads


async def test_over_tls_every_key_loads_once_on_its_owner(cluster: Cluster) -> None:
    """Gets through every node in turn, each key from a different node first: Python → Go,
    Go → Python, Go → Go and Python → Python, all over https."""
    assert all(url.startswith("https://127.0.0.1:") for url in cluster.urls)
    owners = {key: await cluster.owner(key) for key in KEYS}
    for p in cluster.py:
        assert {key: p.pool.owner(key) for key in KEYS} == owners
    assert set(owners.values()) == set(cluster.urls)
    fetchers = list(cluster.getters().items())

    async def through_every_node(i: int, key: str) -> dict[str, bytes]:
        order = fetchers[i % 4 :] + fetchers[: i % 4]
        return {url: await get(key) for url, get in order}

    results = await asyncio.gather(*(through_every_node(i, k) for i, k in enumerate(KEYS)))

    loaders = await cluster.loads()
    for key, values in zip(KEYS, results, strict=True):
        assert values == dict.fromkeys(cluster.urls, cluster.prefix(owners[key]) + key.encode())
        assert loaders[key] == [owners[key]], key
    await assert_no_peer_errors(cluster)


async def test_python_gets_from_a_go_owner_over_tls(variant: Variant, cluster: Cluster) -> None:
    py, go = cluster.py[0], cluster.go[0]
    key = await cluster.find_key(go.url, "ttl:py-go-")

    got = await py.group.get_value(key)

    value, expire_ns = await go.get_with_expiry(key)  # now from its cache
    assert got.data == value == b"go:" + key.encode()
    assert same_instant(got.expire_at, expire_ns)  # the TTL crosses TLS as it does plain HTTP
    assert (expire_ns != 0) == (variant.expiry_field is not None)
    stats = py.group.stats()
    assert (stats.peer_loads, stats.local_loads, stats.peer_errors) == (1, 0, 0)
    assert await go.loads() == {key: 1}


async def test_go_gets_from_a_python_owner_over_tls(variant: Variant, cluster: Cluster) -> None:
    py, go = cluster.py[0], cluster.go[0]
    key = await cluster.find_key(py.url, "ttl:go-py-")

    value, expire_ns = await go.get_with_expiry(key)

    assert value == b"py:" + key.encode()
    expected = None if variant.expiry_field is None else cluster.py_expire_at
    assert same_instant(expected, expire_ns)
    stats = await go.stats()
    assert (stats["PeerLoads"], stats["LocalLoads"], stats["PeerErrors"]) == (1, 0, 0)
    assert py.calls[key] == 1
    assert key not in await go.loads()


# --------------------------------------------------------------------------- writes


@pytest.mark.parametrize("variant", WRITERS, ids=str, indirect=True)
async def test_over_tls_set_and_remove_from_python_reach_a_go_owner(cluster: Cluster) -> None:
    py, owner, other = cluster.py[0], cluster.go[0], cluster.go[1]
    key = await cluster.find_key(owner.url, "w-py-go-")
    expire_at = ms_from_now(600)

    await py.group.set(key, b"new", expire=expire_at)

    for go in (owner, other):
        value, expire_ns = await go.get_with_expiry(key)
        assert value == b"new"
        assert same_instant(expire_at, expire_ns)
    assert key not in await cluster.loads()

    await py.group.remove(key)

    assert await cluster.everyone_gets(key) == [b"go:" + key.encode()] * 4
    assert (await cluster.loads())[key] == [owner.url]
    await assert_no_peer_errors(cluster)


@pytest.mark.parametrize("variant", WRITERS, ids=str, indirect=True)
async def test_over_tls_set_and_remove_from_go_reach_a_python_owner(cluster: Cluster) -> None:
    go, owner = cluster.go[0], cluster.py[0]
    key = await cluster.find_key(owner.url, "w-go-py-")
    expire_ns = round(ms_from_now(600) * 1e9)

    await go.set(key, b"new", expire_ns)

    stored = await owner.group.get_value(key)
    assert stored.data == b"new"
    assert same_instant(stored.expire_at, expire_ns)
    assert await cluster.go[1].get(key) == b"new"

    await go.remove(key)

    assert await cluster.everyone_gets(key) == [b"py:" + key.encode()] * 4
    assert (await cluster.loads())[key] == [owner.url]
    await assert_no_peer_errors(cluster)


# --------------------------------------------------------------------------- refusals


async def test_plain_http_to_a_tls_go_node_is_refused(
    variant: Variant, variant_binary: Path, certs: Certs
) -> None:
    """Go's TLS listener answers a plain request with a bare 400, never a value; a plain
    Python node given the Go node's ``http://`` URL gets a peer error and loads locally."""
    async with contextlib.AsyncExitStack() as stack:
        go = GoPeer(variant_binary, certs=certs)
        stack.push_async_callback(go.aclose)
        await go.start()
        py = await start_py_node(
            stack, ring=variant.ring, expiry_field=variant.our_expiry_field, expire_at=0.0
        )

        answer = await plain_http_answer(go.url)
        assert answer.startswith(b"HTTP/1.0 400 Bad Request\r\n"), answer[:200]
        assert b"Client sent an HTTP request to an HTTPS server" in answer

        py.pool.set_peers(py.url, as_http(go.url))
        key = find_key(py, as_http(go.url))
        assert await py.group.get(key) == b"py:" + key.encode()

        stats = py.group.stats()
        assert (stats.peer_errors, stats.local_loads, stats.peer_loads) == (1, 1, 0)
        assert await go.loads() == {}


async def test_plain_http_to_a_tls_python_node_is_refused(
    variant: Variant, variant_binary: Path, certs: Certs
) -> None:
    """Our TLS listener gives a plain request no HTTP answer at all; a plain Go node given
    the Python node's ``http://`` URL gets a peer error and loads locally."""
    async with contextlib.AsyncExitStack() as stack:
        py = await start_py_node(
            stack,
            ring=variant.ring,
            expiry_field=variant.our_expiry_field,
            expire_at=0.0,
            certs=certs,
        )
        go = GoPeer(variant_binary)  # plain HTTP
        stack.push_async_callback(go.aclose)
        await go.start()

        answer = await plain_http_answer(py.url)
        assert not answer.startswith(b"HTTP/"), answer[:200]

        peers = [go.url, as_http(py.url)]
        await go.set_peers(peers)
        key = await find_go_key(go, as_http(py.url), peers)
        assert await go.get(key) == b"go:" + key.encode()

        stats = await go.stats()
        assert (stats["PeerErrors"], stats["LocalLoads"], stats["PeerLoads"]) == (1, 1, 0)
        assert py.calls[key] == 0


async def test_a_certificate_of_another_ca_is_a_peer_error_both_ways(
    variant: Variant, variant_binary: Path, certs: Certs, tmp_path: Path
) -> None:
    """A Go node and a Python node that both serve TLS but trust another CA than the one
    that signed the other's certificate: each one's fetch fails verification, a peer
    error, and each loads locally."""
    other = make_certs(tmp_path / "other", name="other-ca")
    async with contextlib.AsyncExitStack() as stack:
        go = GoPeer(variant_binary, certs=certs, ca_file=other.ca_file)
        stack.push_async_callback(go.aclose)
        await go.start()
        py = await start_py_node(
            stack,
            ring=variant.ring,
            expiry_field=variant.our_expiry_field,
            expire_at=0.0,
            certs=certs,
            trust=other,
        )
        peers = sorted([go.url, py.url])
        py.pool.set_peers(*peers)
        await go.set_peers(peers)

        to_go = find_key(py, go.url)
        to_py = find_key(py, py.url)
        assert await py.group.get(to_go) == b"py:" + to_go.encode()
        assert await go.get(to_py) == b"go:" + to_py.encode()

        stats = py.group.stats()
        assert (stats.peer_errors, stats.local_loads, stats.peer_loads) == (1, 1, 0)
        go_stats = await go.stats()
        assert (go_stats["PeerErrors"], go_stats["LocalLoads"], go_stats["PeerLoads"]) == (1, 1, 0)
        assert await go.loads() == {to_py: 1}
        assert py.calls == {to_go: 1}


# --------------------------------------------------------------------------- token


async def test_over_tls_go_peers_sending_the_token_read_and_write_and_others_get_401(
    variant: Variant, variant_binary: Path, certs: Certs
) -> None:
    """With a bearer token required everywhere (``allow_anonymous_get=False``) and Go
    peers that send it (an ``http.RoundTripper`` adding the header: the variants have no
    token option), Go reads and writes on our nodes; a Go peer without it gets 401s."""
    async with contextlib.AsyncExitStack() as stack:
        cluster = await start_cluster(
            stack, variant, variant_binary, certs=certs, token=TOKEN, go_tokens=True
        )
        py, go = cluster.py[0], cluster.go[0]
        key = await cluster.find_key(py.url, "tok-")
        from_go = await cluster.find_key(go.url, "tok-")

        assert await go.get(key) == b"py:" + key.encode()  # Go → Python with the token
        assert await py.group.get(from_go) == b"go:" + from_go.encode()  # Python → Go
        if variant.writes:
            await go.set(key, b"new")
            assert await py.group.get(key) == b"new"
            await go.remove(key)
            assert await py.group.get(key) == b"py:" + key.encode()
        await assert_no_peer_errors(cluster)

        anonymous = GoPeer(variant_binary, certs=certs)  # TLS, but no token
        stack.push_async_callback(anonymous.aclose)
        await anonymous.start()
        await anonymous.set_peers([*cluster.urls, anonymous.url])
        unseen = await find_go_key(anonymous, py.url, [*cluster.urls, anonymous.url])
        assert await anonymous.get(unseen) == b"go:" + unseen.encode()  # 401 → local load
        assert (await anonymous.stats())["PeerErrors"] == 1
        assert py.calls[unseen] == 0
        if variant.writes:
            with pytest.raises(GoPeerWriteError, match="401"):
                await anonymous.set(unseen, b"anonymous")
            assert await py.group.get(unseen) == b"py:" + unseen.encode()  # not written

"""A mixed cluster: two Python HTTPPool nodes and two golang/groupcache peers.

Every node is given the same peer list and the Python pools use ``ring="golang"``
(crc32), so all four agree on each key's owner. The Go peers report that owner
(``/admin/owner``); the getters' prefixes (``go:``/``py:``) show who loaded a value.

Python getter errors cross the wire as 503 and golang's as 500; both are peer
errors to the other side's client, which then runs its own getter (no error
reaches the caller from the owner itself).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

import groupcache
from tests.support.gopeer import GoPeer, GoPeerGetError, start_go_peers

pytestmark = [pytest.mark.interop, pytest.mark.mixed_cluster]

GROUP = "interop"
BASE = "/_groupcache/"

# 60 keys. No spaces (golang clients send them as "+", see the test below) and no
# "."/".."/"//" path segments (the Go peer's ServeMux would redirect those).
KEYS = [f"key-{i:02d}" for i in range(40)] + [
    "a/b",
    "a/b/c",
    "trailing/",
    "x/y+z",
    "a+b",
    "c++",
    "ünïcödé",
    "日本語",
    "emoji-🙂",
    "user:42",
    "~tilde-_.",
    "pct%41",
    "semi;colon",
    "q?uery",
    "hash#frag",
    "comma,key",
    "eq=amp&",
    "dollar$",
    "at@host",
    "quote'\"",
]


@dataclass
class PyNode:
    """One Python groupcache node: its own workspace, group and pool."""

    workspace: groupcache.Workspace
    group: groupcache.Group
    pool: groupcache.HTTPPool
    calls: Counter[str] = field(default_factory=Counter)  # getter calls per key

    @property
    def url(self) -> str:
        return str(self.pool.self_url)


@dataclass
class Cluster:
    py: list[PyNode]
    go: list[GoPeer]
    urls: list[str]  # the sorted peer list every node was given

    def prefix(self, url: str) -> bytes:
        """The value prefix of the node at ``url``."""
        if url in (p.url for p in self.py):
            return b"py:"
        assert url in (g.url for g in self.go), url
        return b"go:"

    async def owner(self, key: str) -> str:
        return await self.go[0].owner(key)

    async def find_key(
        self, owner: str, prefix: str, extra: Callable[[str], str] | None = None
    ) -> str:
        """The first ``prefixN`` owned by ``owner`` (and, if given, ``extra(key)`` too)."""
        for i in range(1000):
            key = f"{prefix}{i}"
            if await self.owner(key) == owner and (
                extra is None or await self.owner(extra(key)) == owner
            ):
                return key
        raise AssertionError(f"no {prefix}N key owned by {owner}")


async def start_py_node(stack: contextlib.AsyncExitStack) -> PyNode:
    calls: Counter[str] = Counter()

    async def getter(key: str) -> bytes:
        calls[key] += 1
        if key.startswith("err:"):
            raise RuntimeError(f"py getter failed: {key}")
        return b"py:" + key.encode()

    workspace = groupcache.Workspace()
    stack.callback(workspace.close)
    group = groupcache.Group(GROUP, getter, 1 << 20, workspace=workspace)
    pool = groupcache.HTTPPool("http://127.0.0.1:0", workspace=workspace, ring="golang")
    await pool.start("127.0.0.1", 0)
    stack.push_async_callback(pool.aclose)
    return PyNode(workspace, group, pool, calls)


@pytest.fixture
async def cluster(gopeer_binary: Path) -> AsyncIterator[Cluster]:
    async with contextlib.AsyncExitStack() as stack:
        go = await start_go_peers(stack, gopeer_binary, 2)
        py = [await start_py_node(stack) for _ in range(2)]
        urls = sorted([*(p.url for p in py), *(g.url for g in go)])
        assert len(set(urls)) == 4
        assert all(URL(u).host == "127.0.0.1" for u in urls)
        for p in py:
            p.pool.set_peers(*urls)
        await asyncio.gather(*(g.set_peers(urls) for g in go))
        yield Cluster(py, go, urls)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


async def test_every_key_loads_once_on_its_golang_ring_owner(cluster: Cluster) -> None:
    assert len(KEYS) == len(set(KEYS)) == 60
    owners = {key: await cluster.owner(key) for key in KEYS}
    assert {key: await cluster.go[1].owner(key) for key in KEYS} == owners
    for p in cluster.py:  # the Python rings agree with Go's, key by key
        assert {key: p.pool.owner(key) for key in KEYS} == owners
    assert set(owners.values()) == set(cluster.urls)  # every node owns something

    fetchers: list[tuple[str, Callable[[str], Awaitable[bytes]]]] = [
        *((p.url, p.group.get) for p in cluster.py),
        *((g.url, g.get) for g in cluster.go),
    ]

    async def through_every_node(i: int, key: str) -> dict[str, bytes]:
        # Sequential per key, starting at a different node each time, so keys are
        # loaded cold both by their owner and through a forward from a non-owner.
        order = fetchers[i % 4 :] + fetchers[: i % 4]
        return {url: await get(key) for url, get in order}

    results = await asyncio.gather(*(through_every_node(i, k) for i, k in enumerate(KEYS)))

    go_loads = [await g.loads() for g in cluster.go]
    loaders: dict[str, list[str]] = {key: [] for key in KEYS}
    for p in cluster.py:
        for key, n in p.calls.items():
            loaders[key] += [p.url] * n
    for g, loads in zip(cluster.go, go_loads, strict=True):
        for key, n in loads.items():
            loaders[key] += [g.url] * n

    for key, values in zip(KEYS, results, strict=True):
        expected = cluster.prefix(owners[key]) + key.encode()
        assert values == dict.fromkeys(cluster.urls, expected), key
        assert loaders[key] == [owners[key]], key  # once, cluster-wide, on the owner

    for p in cluster.py:
        assert p.group.stats().peer_errors == 0
        assert p.group.stats().local_loads == sum(1 for k in KEYS if owners[k] == p.url)
    for g in cluster.go:
        stats = await g.stats()
        assert stats["PeerErrors"] == 0
        assert stats["LocalLoads"] == sum(1 for k in KEYS if owners[k] == g.url)


async def test_go_owned_error_key_python_client_falls_back_locally(cluster: Cluster) -> None:
    """golang answers a getter error with 500: a peer error, so Python runs its own getter."""
    py, go = cluster.py[0], cluster.go[0]
    key = await cluster.find_key(go.url, "err:")

    with pytest.raises(RuntimeError, match=f"^py getter failed: {key}$"):
        await py.group.get(key)

    assert (await go.loads())[key] == 1  # the owner tried and answered 500
    assert py.calls[key] == 1  # ...then the Python node loaded locally
    stats = py.group.stats()
    assert (stats.peer_errors, stats.local_load_errs, stats.peer_loads) == (1, 1, 0)
    go_stats = await go.stats()
    assert (go_stats["ServerRequests"], go_stats["LocalLoadErrs"]) == (1, 1)


async def test_python_owned_error_key_go_client_falls_back_locally(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    """The Python server answers a getter error with 503; golang retries locally too."""
    py, go = cluster.py[0], cluster.go[0]
    key = await cluster.find_key(py.url, "err:")

    async with http.get(URL(f"{py.url}{BASE}{GROUP}/{key}", encoded=True)) as resp:
        assert resp.status == 503
    assert py.calls[key] == 1

    with pytest.raises(GoPeerGetError, match=f"go getter failed: {key}") as info:
        await go.get(key)

    assert info.value.status == 500
    assert py.calls[key] == 2  # the Go client's request reached the Python getter
    assert (await go.loads())[key] == 1  # ...then Go loaded locally, and failed too
    go_stats = await go.stats()
    assert (go_stats["PeerErrors"], go_stats["LocalLoadErrs"], go_stats["PeerLoads"]) == (1, 1, 0)


async def test_space_key_from_go_client_arrives_as_plus(cluster: Cluster) -> None:
    """golang#25: golang clients QueryEscape keys, so "a b" reaches the owner as "a+b".

    Known and unfixable on the server side: the Go node returns the value of a
    different key. (Python clients PathEscape, so spaces survive; see below.)
    """
    py, go = cluster.py[0], cluster.go[0]
    key = await cluster.find_key(py.url, "sp ace ", extra=lambda k: k.replace(" ", "+"))
    plus_key = key.replace(" ", "+")

    assert await go.get(key) == b"py:" + plus_key.encode()

    assert py.calls == Counter({plus_key: 1})
    assert await go.loads() == {}


async def test_space_key_from_python_client_round_trips(cluster: Cluster) -> None:
    py, go = cluster.py[0], cluster.go[0]
    key = await cluster.find_key(go.url, "sp ace ")

    assert await py.group.get(key) == b"go:" + key.encode()

    assert await go.loads() == {key: 1}
    assert py.calls == Counter()


async def _write(group: groupcache.Group, write: str, key: str) -> None:
    if write == "set":
        await group.set(key, b"new")
    elif write == "remove":
        await group.remove(key)
    else:
        await group.remove_keys([key])


@pytest.mark.parametrize("write", ["set", "remove", "remove_keys"])
async def test_a_write_to_a_golang_owner_is_an_error_and_changes_nothing(
    cluster: Cluster, write: str
) -> None:
    """golang serves PUT, DELETE and the remove-keys POST as Gets: never a silent success."""
    py, go = cluster.py[0], cluster.go[0]
    key = await cluster.find_key(go.url, "w-")
    assert await py.group.get(key) == b"go:" + key.encode()

    with pytest.raises((groupcache.UnsupportedWriteError, groupcache.MultiError)) as info:
        await _write(py.group, write, key)

    error = info.value.errors[0] if isinstance(info.value, groupcache.MultiError) else info.value
    assert isinstance(error, groupcache.UnsupportedWriteError)
    assert go.url in str(error)
    assert await py.group.get(key) == b"go:" + key.encode()  # nothing changed here either
    assert await go.get(key) == b"go:" + key.encode()


@pytest.mark.parametrize("write", ["set", "remove"])
async def test_a_write_owned_by_python_names_the_golang_peers_that_missed_it(
    cluster: Cluster, write: str
) -> None:
    a, b = cluster.py
    key = await cluster.find_key(a.url, "w-")

    with pytest.raises(groupcache.MultiError) as info:
        await _write(b.group, write, key)

    assert all(isinstance(e, groupcache.UnsupportedWriteError) for e in info.value.errors)
    assert len(info.value.errors) == len(cluster.go)
    for g in cluster.go:
        assert sum(str(e).startswith(f"{g.url}: ") for e in info.value.errors) == 1
    expected = b"new" if write == "set" else b"py:" + key.encode()
    assert await a.group.get(key) == expected  # the owner and the other Python node have it
    assert await b.group.get(key) == expected

"""Every Go variant in a mixed cluster with Python nodes: reads, TTLs, writes, errors.

Each test runs once per variant (:data:`.variants.VARIANTS`): two Go peers built from
that module and two Python ``HTTPPool`` nodes with the matching ring preset and expiry
field. Where a variant lacks a feature, the test shows the error each side gives
instead (never a silent success). The README's interop matrix names these tests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import groupcache
from tests.support.gopeer import GoPeerGetError, GoPeerUnsupportedError, GoPeerWriteError
from tests.support.variants import Variant

from .mixed import GROUP, Cluster, ms_from_now, same_instant, start_cluster

pytestmark = [pytest.mark.interop, pytest.mark.mixed_cluster]

# No spaces (golang clients send them as "+") and no "."/".." path segments (the Go
# ServeMux would redirect those). Distinct first bytes, so FNV-1 rings spread them.
KEYS = [f"{i:02d}-item" for i in range(40)] + [
    "a/b",
    "a/b/c",
    "trailing/",
    "x/y+z",
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
    "ttl:expiring",
]


@pytest.fixture
async def cluster(variant: Variant, variant_binary: Path) -> AsyncIterator[Cluster]:
    async with contextlib.AsyncExitStack() as stack:
        yield await start_cluster(stack, variant, variant_binary)


async def test_binary_links_the_pinned_module_version(variant: Variant, cluster: Cluster) -> None:
    info = await cluster.go[0].variant()
    assert (info["module"], info["version"]) == (variant.module, variant.version)


async def test_rings_agree_and_every_key_loads_once_on_its_owner(cluster: Cluster) -> None:
    owners = {key: await cluster.owner(key) for key in KEYS}
    assert {key: await cluster.go[1].owner(key) for key in KEYS} == owners
    for p in cluster.py:
        assert {key: p.pool.owner(key) for key in KEYS} == owners
    assert set(owners.values()) == set(cluster.urls)  # every node owns something

    fetchers = list(cluster.getters().items())

    async def through_every_node(i: int, key: str) -> dict[str, bytes]:
        # In turn, from a different node first each time: every key is loaded cold
        # by its owner or through a forward from a non-owner.
        order = fetchers[i % 4 :] + fetchers[: i % 4]
        return {url: await get(key) for url, get in order}

    results = await asyncio.gather(*(through_every_node(i, k) for i, k in enumerate(KEYS)))

    loaders = await cluster.loads()
    for key, values in zip(KEYS, results, strict=True):
        assert values == dict.fromkeys(cluster.urls, cluster.prefix(owners[key]) + key.encode())
        assert loaders[key] == [owners[key]], key  # once, cluster-wide, on the owner
    for p in cluster.py:
        assert p.group.stats().peer_errors == 0
    for g in cluster.go:
        assert (await g.stats())["PeerErrors"] == 0


async def test_ttl_of_a_go_owner_reaches_python(variant: Variant, cluster: Cluster) -> None:
    go = cluster.go[0]
    key = await cluster.find_key(go.url, "ttl:go-")
    value, expire_ns = await go.get_with_expiry(key)
    assert (expire_ns != 0) == (variant.expiry_field is not None)

    got = await cluster.py[0].group.get_value(key)

    assert got.data == value == b"go:" + key.encode()
    assert same_instant(got.expire_at, expire_ns), (got.expire_at, expire_ns)


async def test_ttl_of_a_python_owner_reaches_go(variant: Variant, cluster: Cluster) -> None:
    key = await cluster.find_key(cluster.py[0].url, "ttl:py-")

    value, expire_ns = await cluster.go[0].get_with_expiry(key)

    assert value == b"py:" + key.encode()
    expected = None if variant.expiry_field is None else cluster.py_expire_at
    assert same_instant(expected, expire_ns), (expected, expire_ns)
    assert cluster.py[0].calls[key] == 1


@pytest.mark.parametrize("ours", [2, 3, "both"])
async def test_go_reads_the_expiry_only_in_its_own_field(
    variant: Variant, variant_binary: Path, ours: groupcache._protocol.bodies.ExpiryField
) -> None:
    """The wire break of modernprogram v2.7.22: field 2 vs 3; ``"both"`` serves either
    (golang reads none)."""
    async with contextlib.AsyncExitStack() as stack:
        cluster = await start_cluster(stack, variant, variant_binary, expiry_field=ours)
        key = await cluster.find_key(cluster.py[0].url, "ttl:py-")

        _, expire_ns = await cluster.go[0].get_with_expiry(key)

    read = variant.expiry_field is not None and ours in ("both", variant.expiry_field)
    assert same_instant(cluster.py_expire_at if read else None, expire_ns)


async def test_qps_python_nodes_read_go_owners_and_ask_only_python_ones_for_rates(
    variant: Variant, variant_binary: Path
) -> None:
    """``hot_cache="qps"``: a Go owner's value and TTL reach it as before (no rate: 1 in
    10 admitted), Go reads ours as before, and only the Python owner is asked for a rate."""
    async with contextlib.AsyncExitStack() as stack:
        cluster = await start_cluster(stack, variant, variant_binary, hot_cache="qps")
        py, owner = cluster.py
        go_key = await cluster.find_key(cluster.go[0].url, "ttl:go-")
        value, expire_ns = await cluster.go[0].get_with_expiry(go_key)
        for _ in range(3):
            got = await py.group.get_value(go_key)
            assert got.data == value == b"go:" + go_key.encode()
            assert same_instant(got.expire_at, expire_ns), (got.expire_at, expire_ns)

        py_key = await cluster.find_key(owner.url, "ttl:py-")
        go_value, go_expire_ns = await cluster.go[0].get_with_expiry(py_key)
        assert go_value == b"py:" + py_key.encode()
        expected = None if variant.expiry_field is None else cluster.py_expire_at
        assert same_instant(expected, go_expire_ns), (expected, go_expire_ns)

        warm = await cluster.find_key(owner.url, "warm-")
        await py.group.get(warm)  # a plain GET: learns that the owner is ours
        for _ in range(3):
            assert await py.group.get(py_key) == b"py:" + py_key.encode()
        # three requests that asked for the rate; the Go peer's and the warm-up did not
        assert owner.group._rates.rate(py_key) == pytest.approx(3 / 60, rel=0.05)
        assert owner.group._rates.rate(warm) == 0.0
        assert py.group.stats().peer_errors == 0


# --------------------------------------------------------------------------- writes


async def test_set_from_python_reaches_a_go_owner(variant: Variant, cluster: Cluster) -> None:
    py, owner, other = cluster.py[0], cluster.go[0], cluster.go[1]
    key = await cluster.find_key(owner.url, "set-")
    expire_at = ms_from_now(600)
    if not variant.writes:
        with pytest.raises(groupcache.UnsupportedWriteError, match=owner.url):
            await py.group.set(key, b"new", expire=expire_at)
        assert await owner.get(key) == b"go:" + key.encode()  # nothing changed there
        return

    await py.group.set(key, b"new", expire=expire_at)

    for go in (owner, other):
        value, expire_ns = await go.get_with_expiry(key)
        assert value == b"new"
        assert same_instant(expire_at, expire_ns)
    assert await cluster.py[1].group.get(key) == b"new"
    assert key not in await cluster.loads()  # no getter ran anywhere


async def test_set_from_go_reaches_a_python_owner(variant: Variant, cluster: Cluster) -> None:
    go, owner = cluster.go[0], cluster.py[0]
    key = await cluster.find_key(owner.url, "set-")
    expire_at = ms_from_now(600)
    if not variant.writes:
        with pytest.raises(GoPeerUnsupportedError, match="has no Set"):
            await go.set(key, b"new", round(expire_at * 1e9))
        return

    await go.set(key, b"new", round(expire_at * 1e9))

    stored = await owner.group.get_value(key)
    assert stored.data == b"new"
    assert same_instant(stored.expire_at, round(expire_at * 1e9))
    assert await cluster.py[1].group.get(key) == b"new"
    assert await cluster.go[1].get(key) == b"new"
    assert key not in await cluster.loads()


async def test_remove_from_python_reaches_a_go_owner(variant: Variant, cluster: Cluster) -> None:
    py, owner = cluster.py[0], cluster.go[0]
    key = await cluster.find_key(owner.url, "rm-")
    await cluster.everyone_gets(key)
    if not variant.writes:
        with pytest.raises(groupcache.UnsupportedWriteError, match=owner.url):
            await py.group.remove(key)
        assert (await cluster.loads())[key] == [owner.url]
        return

    await py.group.remove(key)

    # Every node's caches lost it: the owner loads it once more, and only once.
    assert await cluster.everyone_gets(key) == [b"go:" + key.encode()] * 4
    assert (await cluster.loads())[key] == [owner.url] * 2


async def test_remove_from_go_reaches_a_python_owner(variant: Variant, cluster: Cluster) -> None:
    go, owner = cluster.go[0], cluster.py[0]
    key = await cluster.find_key(owner.url, "rm-")
    await cluster.everyone_gets(key)
    if not variant.writes:
        with pytest.raises(GoPeerUnsupportedError, match="has no Remove"):
            await go.remove(key)
        return

    await go.remove(key)

    assert await cluster.everyone_gets(key) == [b"py:" + key.encode()] * 4
    assert (await cluster.loads())[key] == [owner.url] * 2


async def test_remove_keys_from_python_reaches_go_owners(
    variant: Variant, cluster: Cluster
) -> None:
    """v3 peers take one ``_remove-keys/`` POST each; v2 peers one DELETE per key instead."""
    keys = [
        await cluster.find_key(cluster.go[0].url, "rk-"),
        await cluster.find_key(cluster.go[1].url, "rk-"),
        await cluster.find_key(cluster.py[1].url, "rk-"),
    ]
    for key in keys:
        await cluster.everyone_gets(key)
    if not variant.writes:
        with pytest.raises(groupcache.MultiError) as info:
            await cluster.py[0].group.remove_keys(keys)
        assert all(isinstance(e, groupcache.UnsupportedWriteError) for e in info.value.errors)
        return

    await cluster.py[0].group.remove_keys(keys)

    for key in keys:
        assert len(set(await cluster.everyone_gets(key))) == 1
    loaders = await cluster.loads()
    assert [len(loaders[key]) for key in keys] == [2, 2, 2]  # each owner loaded it again


async def test_remove_keys_from_go_reaches_python_owners(
    variant: Variant, cluster: Cluster
) -> None:
    """groupcache-go v3's RemoveKeys POSTs each owner its keys, and our ``_remove-keys/``
    removes them: every owner loads its key again.

    Only owners are checked: v3 tells an owner nothing of other owners' keys and clears
    no hot copy on the caller (groupcache-go#27), so those copies stay.
    """
    go = cluster.go[0]
    owners = [cluster.py[0].url, cluster.py[1].url, cluster.go[1].url]
    keys = [await cluster.find_key(owner, "rk-") for owner in owners]
    for key in keys:
        await cluster.everyone_gets(key)
    if not variant.remove_keys:
        with pytest.raises(GoPeerUnsupportedError, match="has no RemoveKeys"):
            await go.remove_keys(keys)
        return

    await go.remove_keys(keys)

    getters = cluster.getters()
    for owner, key in zip(owners, keys, strict=True):
        assert await getters[owner](key) == cluster.prefix(owner) + key.encode()
    loaders = await cluster.loads()
    assert [loaders[key] for key in keys] == [[owner] * 2 for owner in owners]
    stats = await go.stats()
    assert (stats["RemoveKeysRequests"], stats["RemovedKeys"]) == (1, 3)


# --------------------------------------------------------------------------- errors


async def test_a_dead_go_owner_is_a_peer_error_and_a_local_load_on_both_sides(
    cluster: Cluster,
) -> None:
    dead = cluster.go[1]
    key = await cluster.find_key(dead.url, "dead-")
    await dead.aclose()

    assert await cluster.py[0].group.get(key) == b"py:" + key.encode()
    assert await cluster.go[0].get(key) == b"go:" + key.encode()

    stats = cluster.py[0].group.stats()
    assert (stats.peer_errors, stats.local_loads, stats.peer_loads) == (1, 1, 0)
    go_stats = await cluster.go[0].stats()
    assert (go_stats["PeerErrors"], go_stats["LocalLoads"], go_stats["PeerLoads"]) == (1, 1, 0)


async def test_a_dead_python_owner_is_a_peer_error_and_a_local_load_on_both_sides(
    cluster: Cluster,
) -> None:
    dead = cluster.py[1]
    key = await cluster.find_key(dead.url, "dead-")
    await dead.pool.aclose()

    assert await cluster.go[0].get(key) == b"go:" + key.encode()
    assert await cluster.py[0].group.get(key) == b"py:" + key.encode()

    go_stats = await cluster.go[0].stats()
    assert (go_stats["PeerErrors"], go_stats["LocalLoads"], go_stats["PeerLoads"]) == (1, 1, 0)
    stats = cluster.py[0].group.stats()
    assert (stats.peer_errors, stats.local_loads, stats.peer_loads) == (1, 1, 0)
    assert dead.calls[key] == 0


async def test_a_go_owners_getter_error_reaches_python(variant: Variant, cluster: Cluster) -> None:
    """golang answers 500: a peer error, so we load locally; v2/v3 answer 503, which we
    (as mailgun) return to the caller as RemoteCallError, without a local retry."""
    py, go = cluster.py[0], cluster.go[0]
    key = await cluster.find_key(go.url, "err:")

    if variant.writes:  # the v2/v3 servers
        with pytest.raises(groupcache.RemoteCallError, match=f"go getter failed: {key}"):
            await py.group.get(key)
        assert (py.calls[key], py.group.stats().peer_errors) == (0, 0)
    else:
        with pytest.raises(RuntimeError, match=f"^py getter failed: {key}$"):
            await py.group.get(key)
        assert (py.calls[key], py.group.stats().peer_errors) == (1, 1)
    assert (await go.loads())[key] == 1
    assert (await go.stats())["LocalLoadErrs"] == 1


async def test_a_python_owners_getter_error_reaches_go(variant: Variant, cluster: Cluster) -> None:
    """We answer 503: golang loads locally (a peer error); v2/v3 return ErrRemoteCall."""
    py, go = cluster.py[0], cluster.go[0]
    key = await cluster.find_key(py.url, "err:")

    with pytest.raises(GoPeerGetError) as info:
        await go.get(key)

    assert py.calls[key] == 1
    stats = await go.stats()
    if variant.writes:
        assert f"py getter failed: {key}" in info.value.message
        assert key not in await go.loads()
        assert (stats["PeerErrors"], stats["LocalLoadErrs"]) == (0, 0)
    else:
        assert info.value.message == f"go getter failed: {key}"
        assert (stats["PeerErrors"], stats["LocalLoadErrs"]) == (1, 1)


async def test_a_python_owners_grace_is_only_a_header_go_ignores(
    variant: Variant, cluster: Cluster
) -> None:
    """Stale-while-revalidate: the grace goes in ``X-Groupcache-Grace``, the body is the
    one a value without a grace has, so Go reads the value and expiry as before."""
    key = await cluster.find_key(cluster.py[0].url, "swr:py-")

    value, expire_ns = await cluster.go[0].get_with_expiry(key)

    assert value == b"py:" + key.encode()
    expected = None if variant.expiry_field is None else cluster.py_expire_at
    assert same_instant(expected, expire_ns), (expected, expire_ns)
    assert cluster.py[0].calls[key] == 1


async def test_a_python_owners_remembered_not_found_answers_go_as_a_not_found_does(
    cluster: Cluster,
) -> None:
    """Negative caching: the owner's 404 carries ``X-Groupcache-Negative-TTL``, which Go
    ignores; Go sees the same outcome twice (golang loads locally and caches it, v2/v3
    ask again and get the same 404), and the owner's getter runs once."""
    py, go = cluster.py[0], cluster.go[0]
    key = await cluster.find_key(py.url, "gone:py-")
    outcomes: list[object] = []
    for _ in range(2):
        try:
            outcomes.append(await go.get(key))
        except GoPeerGetError as exc:
            outcomes.append((exc.status, exc.message))

    assert outcomes[0] == outcomes[1]
    assert py.calls[key] == 1
    assert py.group.negative_ttl_left(key) is not None


# --------------------------------------------------------------------------- batching, token


async def test_concurrent_python_gets_reach_go_as_plain_gets(cluster: Cluster) -> None:
    """Our nodes batch misses only for peers that advertise it: Go peers get one GET a key."""
    go = cluster.go[0]
    keys = [await cluster.find_key(go.url, f"batch{i}-") for i in range(20)]
    py = cluster.py[0]

    values = await asyncio.gather(*(py.group.get(key) for key in keys))

    assert values == [b"go:" + key.encode() for key in keys]
    assert await go.loads() == dict.fromkeys(keys, 1)
    stats = await go.stats()
    if "ServerRequests" in stats:  # not counted by groupcache-go v3
        assert stats["ServerRequests"] == len(keys)
    assert py.group.stats().peer_errors == 0


async def test_with_a_token_go_peers_get_but_cannot_write(
    variant: Variant, variant_binary: Path
) -> None:
    """Go peers send no token: ``allow_anonymous_get=True`` serves their GETs, while their
    PUTs and DELETEs get 401 (an error on the Go side, never a silent success)."""
    async with contextlib.AsyncExitStack() as stack:
        cluster = await start_cluster(stack, variant, variant_binary, token="s3cret")
        py, go = cluster.py[0], cluster.go[0]
        key = await cluster.find_key(py.url, "tok-")

        assert await go.get(key) == b"py:" + key.encode()
        if variant.writes:
            with pytest.raises(GoPeerWriteError, match="401"):
                await go.set(key, b"new")
            with pytest.raises(GoPeerWriteError, match="401"):
                await go.remove(key)
        assert await py.group.get(key) == b"py:" + key.encode()
        assert py.calls[key] == 1


async def test_clear_all_from_python_clears_python_nodes_and_names_each_go_peer(
    cluster: Cluster,
) -> None:
    """No Go variant can clear a group: each answers ``DELETE {base}{group}?clear`` (no
    ``/`` after the group) with 400 before any lookup, and is named in the MultiError;
    the Python nodes are cleared all the same, and no Go getter ran for it."""
    keys = [await cluster.find_key(p.url, "clr-") for p in cluster.py]
    for key in keys:
        await cluster.everyone_gets(key)
    before = await cluster.loads()
    with pytest.raises(groupcache.MultiError) as info:
        await cluster.py[0].group.clear_all()
    errors = info.value.errors
    assert len(errors) == len(cluster.go)
    for go in cluster.go:
        assert sum(f"{go.url}:" in str(e) for e in errors) == 1, go.url
    assert all(isinstance(e, groupcache.UnsupportedWriteError) for e in info.value.errors)
    for p in cluster.py:
        assert p.group.cache_stats("main").items == 0
        assert p.group.cache_stats("hot").items == 0
    assert await cluster.loads() == before  # the clear ran no getter anywhere


async def test_a_typed_python_group_reads_a_go_owners_bytes_as_its_codecs_type(
    variant: Variant, cluster: Cluster
) -> None:
    """``Group(codec=STR)``: a Go owner's value arrives as the bytes Go sent and is given
    back as ``str``; the hot copy holds those very bytes (Go's ``StringSink`` analogue)."""
    async with contextlib.AsyncExitStack() as stack:
        workspace = groupcache.Workspace()
        stack.callback(workspace.close)
        typed = groupcache.Group(
            GROUP, lambda key: f"py:{key}", 1 << 20, workspace=workspace, codec=groupcache.STR
        )
        pool = groupcache.HTTPPool(
            "http://127.0.0.1:0", workspace=workspace, ring=variant.ring,
            expiry_field=variant.our_expiry_field,
        )  # fmt: skip
        await pool.start("127.0.0.1", 0)
        stack.push_async_callback(pool.aclose)
        pool.set_peers(*cluster.urls)  # the cluster's ring; this node only asks
        go = cluster.go[0].url
        key = await cluster.find_key(go, "typed-")
        value = await typed.get(key)
        assert value == f"go:{key}"
        assert isinstance(value, str)
        copy = typed.peek(key)
        assert copy is not None
        assert copy.data == f"go:{key}".encode()
        assert (await cluster.loads())[key] == [go]  # loaded once, by the Go owner

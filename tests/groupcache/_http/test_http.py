"""Peers over real loopback sockets (ports Go TestHTTPPool and v3 TestHttpTransport)."""

from __future__ import annotations

import asyncio
import socket
import ssl

import aiohttp
import pytest
import trustme
from aiohttp import web

from groupcache import (
    DEFAULT_MAX_KEY_BYTES,
    Group,
    GroupcacheError,
    HTTPPool,
    InvalidValueError,
    NotFoundError,
    RemoteCallError,
    ServerKind,
    Value,
    Workspace,
    normalize_url,
)
from groupcache._protocol.bodies import encode_get_response, encode_set_request
from tests.groupcache.helpers import serve_peer_handler
from tests.support.cluster import Node, cluster, node_of, total_loads
from tests.support.getters import CountingGetter
from tests.support.waiting import until

ODD_KEYS = ["a b/c,d", "with space", "sl/ash", "ünïcödé", "", "plus+sign", "100%", ".", "..", "?#"]


async def test_each_of_100_keys_loads_once_on_its_owner(server_kind: ServerKind) -> None:
    async with cluster(4, server=server_kind) as nodes:
        keys = [f"key-{i}" for i in range(100)]
        for key in keys:
            owner = node_of(nodes, nodes[0].pool.owner(key))
            assert await nodes[0].group.get(key) == f"n{nodes.index(owner)}:{key}".encode()
        assert total_loads(nodes) == 100
        for node in nodes:  # every node agrees on every owner
            assert [node.pool.owner(k) for k in keys] == [nodes[0].pool.owner(k) for k in keys]
        for key in keys:  # loaded exactly where the ring says
            assert node_of(nodes, nodes[0].pool.owner(key)).getter.calls[key] == 1
        assert {n.url for n in nodes} == {nodes[0].pool.owner(k) for k in keys}


async def test_repeated_gets_from_every_node_load_nothing_new(server_kind: ServerKind) -> None:
    async with cluster(3, server=server_kind) as nodes:
        keys = [f"k{i}" for i in range(30)]
        for node in nodes:
            await asyncio.gather(*(node.group.get(k) for k in keys))
        assert total_loads(nodes) == 30
        requests = [n.group.stats().server_requests for n in nodes]
        for node in nodes:  # now served from main or hot caches
            await asyncio.gather(*(node.group.get(k) for k in keys))
        assert total_loads(nodes) == 30
        assert [n.group.stats().server_requests for n in nodes] == requests


async def test_remove_then_get_reloads_on_the_owner(server_kind: ServerKind) -> None:
    async with cluster(3, server=server_kind) as nodes:
        key = "doomed"
        owner = node_of(nodes, nodes[0].pool.owner(key))
        other = next(n for n in nodes if n is not owner)
        for node in nodes:
            await node.group.get(key)
        await other.group.remove(key)
        for node in nodes:
            assert key not in node.group._main
            assert key not in node.group._hot
        await other.group.get(key)
        assert owner.getter.calls[key] == 2
        assert total_loads(nodes) == 2


async def test_set_then_get_on_every_node_sees_the_new_value(server_kind: ServerKind) -> None:
    """Ports v3 TestSetValueOnAllPeers: no stale hot copies anywhere (mailgun PR#69)."""
    async with cluster(3, server=server_kind) as nodes:
        key = "shared"
        for node in nodes:
            await node.group.get(key)
        await nodes[1].group.set(key, b"fresh", expire=None)
        for node in nodes:
            assert await node.group.get(key) == b"fresh"
        assert total_loads(nodes) == 1
        await nodes[2].group.set(key, b"fresher")
        for node in nodes:
            assert await node.group.get(key) == b"fresher"


@pytest.mark.parametrize("key", ODD_KEYS)
async def test_odd_keys_round_trip_through_a_peer(key: str, server_kind: ServerKind) -> None:
    async with cluster(2, server=server_kind) as nodes:
        owner = node_of(nodes, nodes[0].pool.owner(key))
        asker = nodes[1] if owner is nodes[0] else nodes[0]
        asker.pool.set_peers(owner.url)  # the asker owns nothing: the key crosses the wire
        expected = f"n{nodes.index(owner)}:{key}".encode()
        assert await asker.group.get(key) == expected
        assert owner.getter.calls[key] == 1
        assert asker.getter.total == 0


@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize("key", ["k" * DEFAULT_MAX_KEY_BYTES, "é" * (DEFAULT_MAX_KEY_BYTES // 2)])
async def test_keys_of_the_maximum_length_cross_the_wire(
    key: str, batch: bool, server_kind: ServerKind
) -> None:
    """A 64 KiB key, every byte %-escaped in the request line, is no peer error."""
    async with cluster(2, batch=batch, server=server_kind) as nodes:
        owner = node_of(nodes, nodes[0].pool.owner(key))
        asker = nodes[1] if owner is nodes[0] else nodes[0]
        asker.pool.set_peers(owner.url)
        assert await asker.group.get(key) == f"n{nodes.index(owner)}:{key}".encode()
        assert (owner.getter.calls[key], asker.getter.total) == (1, 0)
        assert asker.group.stats().peer_errors == 0


@pytest.mark.parametrize("write", ["set", "remove"])
async def test_a_write_overtaking_a_load_in_flight_on_the_owner_is_not_undone(
    write: str,
    server_kind: ServerKind,
) -> None:
    """Across two real nodes: a non-owner's get waits on the owner's gated getter, a Set
    or Remove of the key happens meanwhile; no cache on either node keeps the old value."""
    async with cluster(2, group_kwargs={"hot_cache": "always"}, server=server_kind) as (a, b):
        key = next(k for k in (f"k{i}" for i in range(100)) if a.pool.owner(k) == b.url)
        b.getter.gate = asyncio.Event()
        first = asyncio.create_task(a.group.get(key))  # a asks b, b's getter waits
        await until(lambda: b.getter.started == 1)
        if write == "set":
            await a.group.set(key, b"new")
        else:
            await a.group.remove(key)
        b.getter.gate.set()
        assert await first == b"n1:" + key.encode()  # that get began before the write
        for node in (a, b):
            assert key not in node.group._hot
        expected = b"new" if write == "set" else b"n1:" + key.encode()
        assert await a.group.get(key) == expected
        assert await b.group.get(key) == expected
        assert b.getter.calls[key] == (1 if write == "set" else 2)


async def test_remove_keys_reaches_every_node_in_one_request_each(server_kind: ServerKind) -> None:
    """v3 RemoveKeys over ``POST .../_remove-keys/``, sent by our client."""
    async with cluster(3, server=server_kind) as nodes:
        keys = [f"rk-{i}/é" for i in range(30)]
        for node in nodes:  # every node caches every key (main or hot)
            for key in keys:
                await node.group.get(key)
        assert total_loads(nodes) == 30
        requests = [n.group.stats().server_requests for n in nodes]
        await nodes[0].group.remove_keys(keys)
        for node in nodes:
            assert not any(k in node.group._main or k in node.group._hot for k in keys)
        # One request to each of the two other nodes (DELETEs would be 30 each).
        after = [n.group.stats().server_requests for n in nodes]
        assert [b - a for a, b in zip(requests, after, strict=True)] == [0, 1, 1]
        for key in keys:
            await nodes[1].group.get(key)
        assert total_loads(nodes) == 60


async def test_a_set_over_the_body_limit_changes_nothing_even_on_the_owner(
    server_kind: ServerKind,
) -> None:
    async with cluster(2, max_body_bytes=64 << 10, server=server_kind) as (a, b):
        key = next(k for k in (f"k{i}" for i in range(100)) if a.pool.owner(k) == a.url)
        await a.group.set(key, b"small")
        with pytest.raises(InvalidValueError, match="over the limit of 65536"):
            await a.group.set(key, b"x" * (64 << 10))
        assert await a.group.get(key) == b"small"
        assert await b.group.get(key) == b"small"


async def test_remove_keys_splits_requests_by_the_body_limit(server_kind: ServerKind) -> None:
    keys = [f"😀{i}" * 50 for i in range(60)]  # 12 JSON bytes per emoji: ~36 KiB of JSON
    async with cluster(2, max_body_bytes=8 << 10, server=server_kind) as (a, b):
        for key in keys:
            b.group.local_set(key, Value(b"x"))
        before = b.group.stats().server_requests
        await a.group.remove_keys(keys)
        assert not any(k in b.group._main for k in keys)
        sent = b.group.stats().server_requests - before
        assert 36 // 8 <= sent <= 8, sent  # several requests, each under 8 KiB (no 413)


async def test_remove_keys_to_a_go_v2_peer_falls_back_to_deletes(server_kind: ServerKind) -> None:
    """mailgun v2 answers any method but DELETE as a Get: a GetResponse, never a removal."""
    seen: list[str] = []

    async def go_v2(request: web.Request) -> web.Response:
        seen.append(request.method)
        if request.method == "DELETE":
            return web.Response()
        return web.Response(
            body=encode_get_response(Value(b"loaded")), content_type="application/x-protobuf"
        )

    runner, go_url = await serve_peer_handler(go_v2)
    try:
        async with cluster(1, server=server_kind) as (node,):
            node.pool.set_peers(node.url, go_url)
            await node.group.remove_keys(["a", "b", "c"])
            assert seen == ["POST", "DELETE", "DELETE", "DELETE"]
            seen.clear()
            await node.group.remove_keys(["d", "e"])  # remembered: DELETEs only
            assert seen == ["DELETE", "DELETE"]
    finally:
        await runner.cleanup()


async def test_errors_cross_the_wire_without_local_retry(server_kind: ServerKind) -> None:
    """mailgun TestHTTPPool: NotFound (404) and remote errors (503) keep their messages."""

    def make(i: int) -> CountingGetter:
        class Failing(CountingGetter):
            async def __call__(self, key: str) -> bytes:
                self.calls[key] += 1
                if key.startswith("missing"):
                    raise NotFoundError(f"{key} not in the database")
                raise RuntimeError("I am a errors.New() error")

        return Failing()

    async with cluster(2, getter=make, server=server_kind) as nodes:
        nodes[1].pool.set_peers(nodes[0].url)  # node 1 sends everything to node 0
        with pytest.raises(NotFoundError, match="missing-1 not in the database"):
            await nodes[1].group.get("missing-1")
        with pytest.raises(RemoteCallError, match=r"I am a errors\.New\(\) error"):
            await nodes[1].group.get("boom")
        assert nodes[1].getter.total == 0
        assert nodes[1].group.stats().peer_errors == 0


async def test_a_dead_peer_means_local_loads_and_counted_peer_errors(
    server_kind: ServerKind,
) -> None:
    async with cluster(2, server=server_kind) as nodes:
        nodes[1].pool.set_peers(nodes[0].url, nodes[1].url)
        keys = [k for k in (f"k{i}" for i in range(40)) if nodes[1].pool.owner(k) == nodes[0].url]
        await nodes[0].pool.aclose()
        values = await asyncio.gather(*(nodes[1].group.get(k) for k in keys))
        assert values == [f"n1:{k}".encode() for k in keys]
        assert nodes[1].group.stats().peer_errors == len(keys)
        assert nodes[1].getter.total == len(keys)


async def test_rings_that_disagree_cannot_loop(server_kind: ServerKind) -> None:
    """mailgun#72: A thinks B owns every key and B thinks A does; gets still finish."""
    async with cluster(2, join=False, server=server_kind) as (a, b):
        a.pool.set_peers(b.url)
        b.pool.set_peers(a.url)
        assert await a.group.get("k") == b"n1:k"  # B serves it itself, never forwards
        assert await b.group.get("j") == b"n0:j"
        assert (a.getter.total, b.getter.total) == (1, 1)


async def test_a_node_outside_the_ring_sends_everything_to_the_ring(
    server_kind: ServerKind,
) -> None:
    """Ports golang TestHTTPPool: the parent's getter is never called."""
    async with cluster(4, join=False, server=server_kind) as nodes:
        parent, children = nodes[0], nodes[1:]
        urls = [c.url for c in children]
        for node in nodes:
            node.pool.set_peers(*urls)
        for i in range(100):
            value = await parent.group.get(f"key-{i}")
            assert value.split(b":", 1)[1] == f"key-{i}".encode()
        assert parent.getter.total == 0
        assert sum(c.getter.total for c in children) == 100


async def test_self_is_recognised_by_normalised_url(server_kind: ServerKind) -> None:
    async with cluster(1, join=False, server=server_kind) as (node,):
        port = node.url.rsplit(":", 1)[1]
        node.pool.set_peers(f"HTTP://127.0.0.1:{port}/")
        assert node.pool.pick_peer("any") is None  # no HTTP call to itself
        assert node.pool.remote_peers() == []
        await node.group.get("any")
        assert node.group.stats().server_requests == 0
    assert normalize_url("http://[::1]") == "http://[::1]:80"
    with pytest.raises(GroupcacheError):
        normalize_url("ftp://x")
    with pytest.raises(GroupcacheError):
        normalize_url("http://x:notaport")


async def test_values_fetched_from_a_peer_keep_their_expiry(server_kind: ServerKind) -> None:
    async def expiring(key: str) -> Value:
        return Value(b"v", expire_at=4102444800.0)  # 2100-01-01

    async with cluster(2, join=False, server=server_kind) as (a, b):
        b.ws.remove_group("g")
        Group("g", expiring, 1 << 20, workspace=b.ws)
        a.pool.set_peers(b.url)
        assert (await a.group.get_value("k")).expire_at == 4102444800.0
        assert a.group.cache_stats("hot").items == 1


async def test_an_already_expired_reply_is_rejected_and_loaded_locally(
    server_kind: ServerKind,
) -> None:
    async def expired(key: str) -> Value:
        return Value(b"stale", expire_at=1.0)

    async with cluster(2, join=False, server=server_kind) as (a, b):
        b.ws.remove_group("g")
        Group("g", expired, 1 << 20, workspace=b.ws)
        a.pool.set_peers(b.url)
        assert await a.group.get("k") == b"n0:k"
        assert a.group.stats().peer_errors == 1


async def test_a_slow_owner_times_out_into_a_local_load(server_kind: ServerKind) -> None:
    release = asyncio.Event()

    async def stuck(key: str) -> bytes:
        await release.wait()
        return b"too late"

    async with cluster(2, join=False, timeout=0.2, server=server_kind) as (a, b):
        b.ws.remove_group("g")
        Group("g", stuck, 1 << 20, workspace=b.ws)
        a.pool.set_peers(b.url)
        try:
            assert await a.group.get("k") == b"n0:k"
            assert a.group.stats().peer_errors == 1
        finally:
            release.set()


async def test_replies_over_the_body_limit_are_peer_errors(server_kind: ServerKind) -> None:
    async def big(key: str) -> bytes:
        return b"x" * 5000

    async with cluster(2, join=False, max_body_bytes=4096, server=server_kind) as (a, b):
        b.ws.remove_group("g")
        Group("g", big, 1 << 20, workspace=b.ws)
        a.pool.set_peers(b.url)
        assert await a.group.get("k") == b"n0:k"
        assert a.group.stats().peer_errors == 1


async def raw(node: Node, method: str, path: str, **kwargs: object) -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, node.url + path, **kwargs) as resp,  # type: ignore[arg-type]
    ):
        return resp.status, await resp.read()


async def test_server_status_codes_follow_go(server_kind: ServerKind) -> None:
    async with cluster(1, join=False, server=server_kind) as (node,):
        assert await raw(node, "GET", "/_groupcache/nope/k") == (404, b"no such group: nope\n")
        assert await raw(node, "GET", "/_groupcache/g") == (400, b"bad request\n")
        status, body = await raw(node, "GET", "/_groupcache/g/a%20b")
        assert (status, body) == (200, b"\x0a\x06n0:a b\x18\x00")
        assert (await raw(node, "PATCH", "/_groupcache/g/k"))[0] == 405
        assert (await raw(node, "POST", "/_groupcache/g/k"))[0] == 404
        assert (await raw(node, "PUT", "/_groupcache/g/k", data=b"\xff"))[0] == 400
        put = encode_set_request("g", "stored", Value(b"S"))
        assert await raw(node, "PUT", "/_groupcache/g/ignored", data=put) == (200, b"")
        assert await node.group.get("stored") == b"S"
        assert await raw(node, "DELETE", "/_groupcache/g/stored") == (200, b"")
        assert "stored" not in node.group._main
        await node.group.get("a")
        await node.group.get("b")
        body_ok = b'{"group":"g","keys":["a","b"]}'
        assert await raw(node, "POST", "/_groupcache/g/_remove-keys/", data=body_ok) == (200, b"")
        assert node.group.cache_stats("main").items == 1  # "a b" from the GET above
        assert (await raw(node, "POST", "/_groupcache/g/_remove-keys/", data=b"{"))[0] == 400
        assert node.group.stats().server_requests == 8  # all that named group "g"


async def test_a_token_guards_every_endpoint(server_kind: ServerKind) -> None:
    async with cluster(2, token="s3cret", server=server_kind) as (a, b):
        for method in ("GET", "PUT", "DELETE", "POST"):
            assert (await raw(a, method, "/_groupcache/g/k"))[0] == 401
        bad = {"Authorization": "Bearer nope"}
        assert (await raw(a, "GET", "/_groupcache/g/k", headers=bad))[0] == 403
        assert a.getter.total == 0
        keys = [f"k{i}" for i in range(20)]
        await asyncio.gather(*(a.group.get(k) for k in keys))  # peers send the token
        assert a.group.stats().peer_errors == 0
        assert b.getter.total > 0


async def test_anonymous_gets_can_be_allowed_but_never_writes(server_kind: ServerKind) -> None:
    def stats_route(i: int, pool: HTTPPool) -> None:
        pool.add_endpoint("/stats", lambda: ("text/plain", b"hello"))

    async with cluster(
        1,
        join=False,
        token="t",
        allow_anonymous_get=True,
        before_start=stats_route,
        server=server_kind,
    ) as (node,):
        assert (await raw(node, "GET", "/_groupcache/g/k"))[0] == 200
        assert (await raw(node, "GET", "/stats"))[0] == 401  # only values are anonymous
        assert (await raw(node, "DELETE", "/_groupcache/g/k"))[0] == 401
        assert (await raw(node, "PUT", "/_groupcache/g/k", data=b""))[0] == 401


async def test_tls_cluster_works_and_plain_http_is_refused(server_kind: ServerKind) -> None:
    """Like v3 TestTLS: a 2-node HTTPS cluster with generated certificates."""
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    nodes: list[tuple[Workspace, HTTPPool, CountingGetter]] = []
    try:
        for _ in range(2):
            ws = Workspace()
            getter = CountingGetter()
            Group("g", getter, 1 << 20, workspace=ws)
            pool = HTTPPool(
                "https://127.0.0.1:0",
                workspace=ws,
                ssl=server_ctx,
                client_ssl=client_ctx,
                server=server_kind,
            )
            await pool.start()
            nodes.append((ws, pool, getter))
        urls = [p.self_url for _, p, _ in nodes]
        assert all(u.startswith("https://") for u in urls)
        for _, pool, _ in nodes:
            pool.set_peers(*urls)
        group = nodes[0][0].get_group("g")
        assert group is not None
        for i in range(20):
            await group.get(f"k{i}")
        assert group.stats().peer_loads > 0
        assert group.stats().peer_errors == 0
        assert sum(g.total for _, _, g in nodes) == 20
        plain = urls[0].replace("https://", "http://")
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientError):
                async with session.get(plain + "/_groupcache/g/k") as resp:
                    await resp.read()
    finally:
        for ws, pool, _ in nodes:
            await pool.aclose()
            ws.close()


async def test_pool_lifecycle_is_strict_and_idempotent(workspace: Workspace) -> None:
    pool = HTTPPool("http://127.0.0.1:0", workspace=workspace)
    assert workspace.peer_picker is pool
    await pool.start()
    with pytest.raises(GroupcacheError, match="once"):
        await pool.start()
    await pool.aclose()
    await pool.aclose()
    assert workspace.peer_picker is not pool
    assert "started=False" in repr(pool)
    with pytest.raises(GroupcacheError, match="base_path"):
        HTTPPool("http://x:1", workspace=workspace, base_path="nope")
    with pytest.raises(GroupcacheError):
        HTTPPool("not a url", workspace=workspace)
    async with HTTPPool("http://127.0.0.1:0", workspace=workspace, ring="golang") as p2:
        p2.set_peers(["http://a:1", "http://b:1"])
        assert p2.peers == ["http://a:1", "http://b:1"]


def test_a_tls_pool_needs_an_https_url() -> None:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with Workspace() as ws, pytest.raises(GroupcacheError, match="must be https://"):
        HTTPPool("http://127.0.0.1:0", workspace=ws, ssl=ctx)


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hi")


@pytest.mark.parametrize("base_path", ["/_groupcache/", "/"])
async def test_the_pool_app_mounted_under_a_prefix_serves_peers(
    base_path: str, server_kind: ServerKind
) -> None:
    """``pool.app`` as a sub-application of a server the user already runs."""
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    async with cluster(1, base_path=base_path, server=server_kind) as (other,):
        with Workspace() as ws:
            getter = CountingGetter(b"mounted:")
            group = Group("g", getter, 1 << 20, workspace=ws)
            pool = HTTPPool(f"http://127.0.0.1:{port}/cache", workspace=ws, base_path=base_path)
            outer = web.Application()
            outer.router.add_get("/hello", hello)
            outer.add_subapp("/cache", pool.app)
            runner = web.AppRunner(outer)
            await runner.setup()
            await web.SockSite(runner, sock).start()
            try:
                urls = (pool.self_url, other.url)
                pool.set_peers(*urls)
                other.pool.set_peers(*urls)
                keys = [f"k{i}/ é" for i in range(40)]  # keys that need escaping
                mine = [k for k in keys if pool.owner(k) == pool.self_url]
                theirs = [k for k in keys if k not in mine]
                assert mine
                assert theirs
                for key in keys:  # both ways across the wire
                    assert await other.group.get(key) == await group.get(key)
                assert getter.total == len(mine)
                assert other.getter.total == len(theirs)
                assert group.stats().peer_errors == other.group.stats().peer_errors == 0
                async with (
                    aiohttp.ClientSession() as session,
                    session.get(f"http://127.0.0.1:{port}/hello") as resp,
                ):
                    assert await resp.text() == "hi"
            finally:
                await pool.aclose()
                await runner.cleanup()


async def test_aclose_does_not_wait_long_for_a_hung_getter(server_kind: ServerKind) -> None:
    """A peer request stuck in the getter is cancelled after the shutdown grace period."""
    entered = asyncio.Event()

    async def hung(key: str) -> bytes:
        entered.set()
        await asyncio.Event().wait()
        return b"never"

    with Workspace() as ws:
        Group("g", hung, 1 << 20, workspace=ws)
        pool = HTTPPool(
            "http://127.0.0.1:0", workspace=ws, shutdown_timeout=0.1, server=server_kind
        )
        url = await pool.start()
        async with aiohttp.ClientSession() as session:
            request = asyncio.create_task(session.get(url + "/_groupcache/g/k"))
            await entered.wait()
            async with asyncio.timeout(10):  # aiohttp's own default would be 60 s
                await pool.aclose()
            with pytest.raises(aiohttp.ClientError):
                await request


@pytest.mark.parametrize("now", [500.0, 5e9])
async def test_a_peer_reply_expiry_is_judged_by_the_group_clock(
    now: float, server_kind: ServerKind
) -> None:
    """Both nodes run on a fake clock: at 500 a value expiring at 1000 is live (though
    the real time is past it), at 5e9 one expiring in 2100 is stale. Plain and batched."""
    expire_at = 1000.0 if now == 500.0 else 4102444800.0

    async def expiring(key: str) -> Value:
        return Value(b"owner's", expire_at=expire_at)

    async with cluster(2, join=False, group_kwargs={"clock": lambda: now}, server=server_kind) as (
        a,
        b,
    ):
        b.ws.remove_group("g")
        Group("g", expiring, 1 << 20, workspace=b.ws, clock=lambda: now)
        a.pool.set_peers(b.url)
        keys = ["k1", "k2", "k3", "k4"]
        first = await a.group.get(keys[0])  # a plain GET; b then says it serves batches
        rest = await asyncio.gather(*(a.group.get(k) for k in keys[1:]))
        live = now < expire_at
        assert [first, *rest] == [b"owner's" if live else b"n0:" + k.encode() for k in keys]
        assert a.group.stats().peer_errors == (0 if live else 4)

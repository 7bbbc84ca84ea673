"""Security: the token guards every endpoint; writes never run anonymously; TLS only.

Raw requests go through groupcache's own HTTP/1.1 client (ConnectionPool), so each can
carry exactly the headers under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import ssl
from collections.abc import Callable

import pytest
import trustme

from groupcache import HTTPPool, ServerKind, Value
from groupcache._http.connections import ConnectionPool
from groupcache._protocol._groupcache_pb2 import GetBatchRequest, SetRequest
from tests.support.cluster import cluster
from tests.support.figures import figure

TOKEN = "s3cret-token"
BASE = "/_groupcache/g/"
ENDPOINTS: list[tuple[str, str, bytes | None]] = [
    ("GET", BASE + "k", None),
    ("PUT", BASE + "k", SetRequest(group="g", key="k", value=b"evil").SerializeToString()),
    ("DELETE", BASE + "k", None),
    ("POST", BASE + "_remove-keys/", json.dumps({"group": "g", "keys": ["k"]}).encode()),
    ("POST", BASE + "_get-keys/", GetBatchRequest(keys=[b"k"]).SerializeToString()),
    ("POST", BASE + "other", b""),
    ("PATCH", BASE + "k", b""),
    ("GET", "/_groupcache/nosuch/k", None),
    ("GET", "/_groupcache/nogroupslash", None),
]
BAD_TOKENS = [
    "Bearer wrong",
    "Bearer s3cret-tokeN",
    "Bearer  s3cret-token",
    "bearer s3cret-token",
    "Basic czNjcmV0",
    "Bearer " + "x" * 5000,
    "Bearer s3cret-token\udcff",
]


def client(url: str) -> ConnectionPool:
    return ConnectionPool(
        url, max_connections=4, timeout=5.0, connect_timeout=2.0, max_body_bytes=1 << 20
    )


def auth(value: str | None) -> bytes:
    if value is None:
        return b""
    return b"Authorization: " + value.encode("utf-8", "surrogateescape") + b"\r\n"


@pytest.mark.parametrize("anonymous_get", [False, True], ids=["token", "token+anonymous GET"])
async def test_every_endpoint_rejects_requests_without_the_token(
    anonymous_get: bool, monkeypatch: pytest.MonkeyPatch, server_kind: ServerKind
) -> None:
    compared: list[int] = []
    real: Callable[[bytes, bytes], bool] = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append(len(a))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    async with cluster(1, token=TOKEN, allow_anonymous_get=anonymous_get, server=server_kind) as (
        node,
    ):
        node.group.local_set("k", Value(b"original"))
        conns = client(node.url)
        statuses: dict[str, list[int]] = {"none": [], "bad": [], "good": []}
        try:
            for method, path, body in ENDPOINTS:
                r = await conns.request(method, path, headers=auth(None), body=body)
                anon_ok = anonymous_get and method == "GET"
                assert (r.status == 401) != anon_ok, (method, path, r.status)
                statuses["none"].append(r.status)
                for bad in BAD_TOKENS:
                    r = await conns.request(method, path, headers=auth(bad), body=body)
                    assert r.status == 403, (method, path, bad, r.status)
                    statuses["bad"].append(r.status)
            # Nothing anonymous or badly signed changed the value.
            assert await node.group.get("k") == b"original"
            assert node.getter.total == 0
            for method, path, body in ENDPOINTS[:5]:
                r = await conns.request(method, path, headers=auth(f"Bearer {TOKEN}"), body=body)
                assert r.status == 200, (method, path, r.status)
                statuses["good"].append(r.status)
        finally:
            await conns.aclose()
    bad_requests = len(ENDPOINTS) * len(BAD_TOKENS)
    figure(
        f"token ({'anonymous GET allowed' if anonymous_get else 'strict'}): "
        f"{len(ENDPOINTS)} endpoints without a token -> {sorted(set(statuses['none']))}, "
        f"{bad_requests} with a wrong one -> 403, {len(compared)} hmac.compare_digest calls "
        f"(constant-time), writes never ran anonymously; with the token -> 200"
    )
    assert len(compared) >= bad_requests


async def test_peers_with_the_token_fetch_and_a_wrong_token_degrades_to_local_loads(
    server_kind: ServerKind,
) -> None:
    async with cluster(2, token=TOKEN, server=server_kind) as (a, b):
        keys = [k for k in (f"t-{i}" for i in range(200)) if a.pool.owner(k) == b.url][:20]
        values = await asyncio.gather(*(a.group.get(k) for k in keys))
        assert values == [b"n1:" + k.encode() for k in keys]
        assert a.group.stats().peer_loads == 20
    async with cluster(2, token=TOKEN, server=server_kind) as (a, b):
        intruder = HTTPPool("http://127.0.0.1:1", workspace=a.ws, token="wrong")
        intruder.set_peers(a.url, b.url)  # a's group now asks b with the wrong token
        keys = [k for k in (f"t-{i}" for i in range(200)) if intruder.owner(k) == b.url][:20]
        values = await asyncio.gather(*(a.group.get(k) for k in keys))
        stats = a.group.stats()
        await intruder.aclose()
    assert values == [b"n0:" + k.encode() for k in keys]  # 401/403 → local loads
    figure(
        f"token between peers: 20/20 peer loads with the right token; with a wrong one "
        f"{stats.peer_errors} peer errors, {stats.local_loads} local loads, 0 failed"
    )


async def test_with_tls_plain_http_is_refused(server_kind: ServerKind) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    async with cluster(
        2, join=False, ssl=server_ctx, client_ssl=client_ctx, token=TOKEN, server=server_kind
    ) as (a, b):
        https_b = b.url  # the listener speaks TLS only
        plain_b = "http://" + https_b.split("://", 1)[1]
        # 1. A raw plain-HTTP request to the TLS port gets no HTTP answer.
        reader, writer = await asyncio.open_connection("127.0.0.1", int(https_b.rsplit(":", 1)[1]))
        writer.write(b"GET /_groupcache/g/k HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        async with asyncio.timeout(5):
            answer = await reader.read(1024)
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
        assert not answer.startswith(b"HTTP/"), answer[:100]
        # 2. A peer configured with http:// for it fails over to local loads.
        a.pool.set_peers(a.url, plain_b)
        keys = [k for k in (f"s-{i}" for i in range(200)) if a.pool.owner(k) == plain_b][:10]
        plain = await asyncio.gather(*(a.group.get(k) for k in keys))
        plain_errors = a.group.stats().peer_errors
        # 3. Over https, with the CA trusted and the token, it is fetched from b.
        a.pool.set_peers(a.url, https_b)
        keys2 = [k for k in (f"s2-{i}" for i in range(200)) if a.pool.owner(k) == https_b][:10]
        tls = await asyncio.gather(*(a.group.get(k) for k in keys2))
        stats = a.group.stats()
    assert plain == [b"n0:" + k.encode() for k in keys]
    assert plain_errors == 10
    assert tls == [b"n1:" + k.encode() for k in keys2]
    assert stats.peer_loads == 10
    figure(
        f"TLS: plain HTTP to the TLS port answered {answer[:20]!r} (no HTTP response); "
        f"10 gets via an http:// peer URL -> {plain_errors} peer errors, local loads, 0 failed; "
        f"10 gets over https with the token -> {stats.peer_loads} peer loads"
    )

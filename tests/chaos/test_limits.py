"""Limits with clear errors: key length, value size, request body size, keys per batch."""

from __future__ import annotations

import pytest

from groupcache import GroupcacheError, InvalidKeyError, ServerKind
from groupcache._http.connections import ConnectionPool
from groupcache._protocol._groupcache_pb2 import GetBatchRequest, SetRequest
from groupcache._protocol.headers import MAX_BATCH_KEYS
from tests.support.cluster import cluster
from tests.support.figures import figure

MAX_KEY = 256
MAX_BODY = 64 << 10


def client(url: str) -> ConnectionPool:
    return ConnectionPool(
        url, max_connections=2, timeout=5.0, connect_timeout=2.0, max_body_bytes=1 << 20
    )


async def test_limits_answer_with_clear_errors(server_kind: ServerKind) -> None:
    async with cluster(
        1, group_kwargs={"max_key_bytes": MAX_KEY}, max_body_bytes=MAX_BODY, server=server_kind
    ) as (node,):
        assert await node.group.get("k" * MAX_KEY) == b"n0:" + b"k" * MAX_KEY
        with pytest.raises(InvalidKeyError, match=f"over the limit of {MAX_KEY}"):
            await node.group.get("k" * (MAX_KEY + 1))
        with pytest.raises(InvalidKeyError, match=f"over the limit of {MAX_KEY}"):
            await node.group.get("é" * (MAX_KEY // 2 + 1))  # counted in UTF-8 bytes
        conns = client(node.url)
        try:
            long_key = await conns.request("GET", "/_groupcache/g/" + "k" * (MAX_KEY + 1))
            body = SetRequest(group="g", key="k", value=b"v" * MAX_BODY).SerializeToString()
            too_big = await conns.request("PUT", "/_groupcache/g/k", body=body)
            path = "/_groupcache/g/_get-keys/"
            keys = [b"%d" % i for i in range(MAX_BATCH_KEYS + 1)]
            over = await conns.request(
                "POST", path, body=GetBatchRequest(keys=keys).SerializeToString()
            )
            at = await conns.request(
                "POST", path, body=GetBatchRequest(keys=keys[:-1]).SerializeToString()
            )
        finally:
            await conns.aclose()
    assert (long_key.status, too_big.status, over.status, at.status) == (400, 413, 400, 200)
    assert f"over the limit of {MAX_KEY}".encode() in long_key.body
    assert str(MAX_BODY).encode() in too_big.body, too_big.body
    assert f"over the limit of {MAX_BATCH_KEYS}".encode() in over.body
    figure(
        f"limits: key of {MAX_KEY + 1} B -> InvalidKeyError / HTTP 400 "
        f"{long_key.body.decode().strip()!r}; PUT body over {MAX_BODY} B -> 413 "
        f"{too_big.body.decode().strip()!r}; {MAX_BATCH_KEYS + 1} keys in a batch -> 400 "
        f"{over.body.decode().strip()!r}, {MAX_BATCH_KEYS} -> 200"
    )


async def test_a_value_over_the_body_limit_is_refused_with_a_clear_error(
    server_kind: ServerKind,
) -> None:
    async with cluster(2, max_body_bytes=MAX_BODY, server=server_kind) as (a, b):
        key = next(k for k in (f"v-{i}" for i in range(100)) if a.pool.owner(k) == b.url)
        with pytest.raises(GroupcacheError) as caught:
            await a.group.set(key, b"v" * (2 * MAX_BODY))
    figure(f"value over max_body_bytes: Group.set raised {caught.value!r}")
    assert type(caught.value).__name__ == "InvalidValueError"
    assert f"over the limit of {MAX_BODY}" in str(caught.value)

"""Which GetResponse field carries the expiry (HTTPPool(expiry_field=...)).

golang has no expiry; mailgun v2, modernprogram <= v2.7.21 and groupcache-go v3 read
field 3; modernprogram >= v2.7.22 reads field 2 (an int64 where the others declare the
never-set double ``minute_qps``). Every Go variant drops a field whose wire type does not
match its declaration, so "both" serves all of them.
"""

from __future__ import annotations

import struct

import aiohttp
import pytest

from groupcache import GroupcacheError, HTTPPool, Value, Workspace
from groupcache._protocol import _groupcache_pb2 as pb
from groupcache._protocol.bodies import decode_get_response, encode_get_response
from tests.support.cluster import cluster, node_of

JAN_2026 = 1767225600.0
VALUE_HEX = "0a 07 67 6f 74 3a 66 6f 6f"  # field 1, b"got:foo"
NS_HEX = "80 80 e8 ef 9e ca 9c c3 18"  # 1767225600000000000 as a varint


@pytest.mark.parametrize(
    ("field", "never", "expiring"),
    [
        (3, f"{VALUE_HEX} 18 00", f"{VALUE_HEX} 18 {NS_HEX}"),
        (
            2,
            f"{VALUE_HEX} 10 00",
            f"{VALUE_HEX} 10 {NS_HEX}",
        ),  # modernprogram >= v2.7.22: int64 ns in field 2
        ("both", f"{VALUE_HEX} 18 00 10 00", f"{VALUE_HEX} 18 {NS_HEX} 10 {NS_HEX}"),
    ],
)
def test_the_expiry_goes_in_the_chosen_field(field: int | str, never: str, expiring: str) -> None:
    assert encode_get_response(Value(b"got:foo"), field).hex(" ") == never  # type: ignore[arg-type]
    body = encode_get_response(Value(b"got:foo", JAN_2026), field)  # type: ignore[arg-type]
    assert body.hex(" ") == expiring
    assert decode_get_response(body) == Value(b"got:foo", JAN_2026)


def test_a_golang_minute_qps_is_never_read_as_an_expiry() -> None:
    qps = b"\x11" + struct.pack("<d", 5.0)  # field 2 as golang declares it: a double
    assert decode_get_response(bytes.fromhex(VALUE_HEX) + qps) == Value(b"got:foo")


@pytest.mark.parametrize("field", [2, "both"])
async def test_a_pool_serves_the_expiry_in_the_field_it_was_given(field: int | str) -> None:
    async with cluster(1, expiry_field=field) as (node,):
        node.group.local_set("k", Value(b"v", JAN_2026 + 1e9))  # 2057: not yet expired
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{node.url}/_groupcache/g/k") as resp,
        ):
            body = await resp.read()
        ns = pb.GetResponse(expire=2767225600 * 10**9).SerializeToString()[1:]  # the varint
        assert body.endswith(b"\x10" + ns)
        assert (b"\x18" + ns in body) is (field == "both")


@pytest.mark.parametrize("field", [2, "both"])
async def test_our_nodes_keep_the_expiry_whichever_field_they_serve(field: int | str) -> None:
    async with cluster(2, expiry_field=field) as nodes:
        key = "k"
        owner = node_of(nodes, nodes[0].pool.owner(key))
        other = nodes[1] if owner is nodes[0] else nodes[0]
        owner.group.local_set(key, Value(b"v", 4102444800.0))  # 2100
        assert await other.group.get(key) == b"v"
        assert other.group._hot.get(key) == Value(b"v", 4102444800.0)


@pytest.mark.parametrize("bad", [1, 4, 3.0, True, "2", None])
def test_an_unknown_expiry_field_is_a_clear_error(bad: object) -> None:
    with pytest.raises(GroupcacheError, match="expiry_field"):
        HTTPPool("http://127.0.0.1:0", workspace=Workspace(), expiry_field=bad)  # type: ignore[arg-type]

"""The PeerGetter contract: the same behaviour from the fake peer of groupcache.testing
and from HTTPPeer talking to a real node over loopback.

Each test gets a ``peer`` that owns group "g", whose getter returns ``b"origin:" + key``,
says ``missing*`` keys do not exist and fails for ``fail*`` keys.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from groupcache import (
    GroupNotFoundError,
    NotFoundError,
    PeerError,
    PeerGetter,
    RemoteCallError,
    Value,
)
from groupcache._core.peers import KeysRemover
from groupcache.testing import FakePeer, cluster


def origin(key: str) -> bytes:
    if key.startswith("missing"):
        raise NotFoundError(f"{key} does not exist")
    if key.startswith("fail"):
        raise RuntimeError(f"origin failed for {key}")
    return f"origin:{key}".encode()


@pytest.fixture(params=["FakePeer", "HTTPPeer"])
async def peer(request: pytest.FixtureRequest) -> AsyncIterator[PeerGetter]:
    if request.param == "FakePeer":
        yield FakePeer(load=origin, groups={"g"})
        return
    async with cluster(2, origin) as (here, owner):
        remote = here.pool.remote_peers()
        assert [p.url for p in remote] == [owner.url]
        yield remote[0]


async def test_get_returns_the_owners_value(peer: PeerGetter) -> None:
    assert await peer.get("g", "ada") == Value(b"origin:ada")


async def test_get_of_a_value_that_does_not_exist_raises_not_found(peer: PeerGetter) -> None:
    with pytest.raises(NotFoundError) as caught:
        await peer.get("g", "missing-1")
    assert not isinstance(caught.value, GroupNotFoundError)  # final: no local retry


async def test_get_whose_owner_getter_fails_raises_remote_call_error(peer: PeerGetter) -> None:
    with pytest.raises(RemoteCallError, match="origin failed for fail-1"):
        await peer.get("g", "fail-1")


async def test_get_of_a_group_the_peer_lacks_raises_group_not_found(peer: PeerGetter) -> None:
    with pytest.raises(GroupNotFoundError):
        await peer.get("other", "ada")


async def test_set_stores_the_value_with_its_expiry_on_the_peer(peer: PeerGetter) -> None:
    await peer.set("g", "k", Value(b"stored", 4102444800.0))
    assert await peer.get("g", "k") == Value(b"stored", 4102444800.0)


async def test_remove_drops_a_set_value_so_the_owner_loads_again(peer: PeerGetter) -> None:
    await peer.set("g", "k", Value(b"stored"))
    await peer.remove("g", "k")
    assert await peer.get("g", "k") == Value(b"origin:k")


async def test_remove_keys_drops_every_key_in_one_call(peer: PeerGetter) -> None:
    assert isinstance(peer, KeysRemover)
    for key in ("a", "b"):
        await peer.set("g", key, Value(b"stored"))
    await peer.remove_keys("g", ["a", "b"])
    assert [await peer.get("g", k) for k in ("a", "b")] == [Value(b"origin:a"), Value(b"origin:b")]


async def test_a_peer_that_is_down_raises_peer_error() -> None:
    fake = FakePeer(load=origin)
    fake.fail()
    with pytest.raises(PeerError, match="fake://peer"):
        await fake.get("g", "ada")
    fake.recover()
    assert await fake.get("g", "ada") == Value(b"origin:ada")
    async with cluster(2, origin) as (here, owner):
        http_peer = here.pool.remote_peers()[0]
        await owner.pool.aclose()
        with pytest.raises(PeerError, match=owner.url):
            await http_peer.get("g", "ada")


async def test_fake_peer_records_every_call_in_order() -> None:
    fake = FakePeer(load=origin)
    await fake.get("g", "a")
    await fake.set("g", "b", Value(b"x"))
    await fake.remove_keys("g", ["a", "b"])
    assert fake.calls == [
        ("get", "g", ("a",)),
        ("set", "g", ("b",)),
        ("remove_keys", "g", ("a", "b")),
    ]


async def test_cluster_nodes_load_each_key_once_on_its_owner() -> None:
    loads: list[str] = []

    async def load(key: str) -> bytes:
        loads.append(key)
        return key.encode()

    async with cluster(3, load) as nodes:
        for node in nodes:
            assert [await node.group.get(f"k{i}") for i in range(20)] == [
                f"k{i}".encode() for i in range(20)
            ]
    assert sorted(loads) == sorted(f"k{i}" for i in range(20))

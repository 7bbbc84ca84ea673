"""Stale-while-revalidate and negative caching across separate OS processes
(tests/support/clusternode.py): the owner's grace and not-found TTL reach a requester over
the wire. Each node's clock is its own (``advance``), and values tell the getter call that
loaded them (``name:key#n``)."""

from __future__ import annotations

import pytest

from tests.support.processes import Cluster, NodeProcess, owners, set_peers

TTL = ("--delay", "0", "--ttl", "10")


async def advance(nodes: list[NodeProcess], seconds: float) -> None:
    for node in nodes:
        await node.call({"cmd": "advance", "seconds": seconds})


async def key_owned_by(nodes: list[NodeProcess], owner: str, prefix: str) -> str:
    owned = await owners(nodes, [f"{prefix}{i}" for i in range(64)])
    return next(k for k, o in owned.items() if o == owner)


@pytest.mark.timeout(120)
async def test_a_requester_serves_the_owners_value_stale_and_one_refresh_reaches_the_owner(
    cluster: Cluster,
) -> None:
    nodes = await cluster.start(("n0", *TTL, "--grace", "60"), ("n1", *TTL, "--grace", "60"))
    await set_peers(nodes)
    owner, requester = nodes
    key = await key_owned_by(nodes, "n0", "hot-")
    assert await requester.get([key]) == {key: f"n0:{key}#1"}
    await advance(nodes, 11)  # expired on both, within the grace
    assert await requester.get([key] * 16) == {key: f"n0:{key}#1"}  # stale, at once
    await requester.call({"cmd": "settle"})
    assert await requester.get([key]) == {key: f"n0:{key}#2"}
    stats, calls = await requester.stats()
    assert (stats["stale_hits"], stats["stale_refreshes"]) == (16, 1)
    assert not calls  # the requester never called the origin
    _, owner_calls = await owner.stats()
    assert owner_calls[key] == 2  # the load, and the one refresh


@pytest.mark.timeout(120)
async def test_without_a_grace_the_gets_after_expiry_wait_for_the_owner(
    cluster: Cluster,
) -> None:
    nodes = await cluster.start(("n0", *TTL), ("n1", *TTL))
    await set_peers(nodes)
    _, requester = nodes
    key = await key_owned_by(nodes, "n0", "hot-")
    assert await requester.get([key]) == {key: f"n0:{key}#1"}
    await advance(nodes, 11)
    assert await requester.get([key] * 16) == {key: f"n0:{key}#2"}
    stats, _ = await requester.stats()
    assert stats["stale_hits"] == 0


@pytest.mark.timeout(120)
async def test_a_requester_remembers_the_owners_not_found_for_the_owners_ttl(
    cluster: Cluster,
) -> None:
    missing = ("--delay", "0", "--missing-prefix", "gone")
    nodes = await cluster.start(("n0", *missing, "--negative-ttl", "30"), ("n1", *missing))
    await set_peers(nodes)
    owner, requester = nodes
    key = await key_owned_by(nodes, "n0", "gone-")
    for _ in range(3):
        answer = await requester.call({"cmd": "get", "keys": [key] * 4})
        assert all("NotFoundError" in e for e in answer["errors"])
    owner_stats, owner_calls = await owner.stats()
    assert owner_calls[key] == 1
    assert owner_stats["server_requests"] == 1  # the requester asked the owner once
    stats, calls = await requester.stats()
    assert stats["negative_hits"] >= 8
    assert not calls
    await advance(nodes, 31)  # forgotten on both
    answer = await requester.call({"cmd": "get", "keys": [key]})
    assert "NotFoundError" in answer["errors"][0]
    _, owner_calls = await owner.stats()
    assert owner_calls[key] == 2

"""``hot_cache="qps"`` across separate OS processes (tests/support/clusternode.py): the
key's owner reports its rate over real TCP, and its peers keep only the hot key."""

from __future__ import annotations

from tests.support.processes import Cluster, NodeProcess, owners, pick, set_peers

QPS = ("--delay", "0", "--hot-cache", "qps", "--hot-qps", "0.045")
"""Admitted from the third request within a few seconds (3/60 per second), not before."""


async def hot_items(node: NodeProcess) -> int:
    answer = await node.call({"cmd": "stats"})
    return int(answer["hot"]["items"])


async def served(node: NodeProcess) -> int:
    stats, _ = await node.stats()
    return stats["server_requests"]


async def test_peers_keep_the_key_their_owner_reports_hot_and_not_the_cold_ones(
    cluster: Cluster,
) -> None:
    a, b, c = await cluster.start(("a", *QPS), ("b", *QPS), ("c", *QPS))
    nodes = [a, b, c]
    await set_peers(nodes)
    owned = await owners(nodes, (f"q-{i}" for i in range(400)))
    taken: set[str] = set()
    warm, hot, *cold = pick(owned, "c", 22, taken)
    for node in (a, b):
        await node.get([warm])  # a plain GET: learns that c is ours (admitted 1 in 10)
    before = [await hot_items(a), await hot_items(b)]

    for node in (a, b):  # two requests for each cold key: 2/60 per second at c
        assert await node.get(cold) == {k: f"c:{k}" for k in cold}
    assert [await hot_items(a), await hot_items(b)] == before

    start = await served(c)
    for _ in range(5):  # a, b, a (3/60: admitted at a), b (admitted at b), then hot hits
        for node in (a, b):
            assert await node.get([hot]) == {hot: f"c:{hot}"}
    assert await served(c) - start == 4
    assert [await hot_items(a), await hot_items(b)] == [n + 1 for n in before]

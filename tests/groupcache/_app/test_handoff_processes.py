"""Warm handoff across separate OS processes (tests/support/clusternode.py): a rolling
replacement of every node of a 3-node cluster loads each key from the origin once.

Each node's getter tags its values with the node's name, so a value tells which process
called the origin for it; ``calls`` counts each node's getter calls.
"""

from __future__ import annotations

import pytest

from tests.support.figures import figure
from tests.support.processes import Cluster, NodeProcess, set_peers

KEYS = [f"roll-{i}" for i in range(150)]


async def origin_calls(nodes: list[NodeProcess]) -> int:
    total = 0
    for node in nodes:
        _, calls = await node.stats()
        total += sum(calls.values())
    return total


@pytest.mark.timeout(120)
async def test_a_rolling_replacement_of_every_process_loads_each_key_once(
    cluster: Cluster,
) -> None:
    nodes = await cluster.start(*[(f"n{i}", "--delay", "0") for i in range(3)])
    await set_peers(nodes)
    for node in nodes:
        await node.get(KEYS)
    everyone = list(nodes)
    originals = 0  # the origin calls of the three nodes replaced
    first_values = await nodes[0].get(KEYS)
    for i in range(3):
        (new,) = await cluster.start((f"r{i}", "--delay", "0"))
        everyone.append(new)
        nodes.append(new)
        await set_peers(nodes)  # joins every ring
        for node in nodes:
            assert await node.get(KEYS) == first_values  # the original loads' values
        old = nodes.pop(0)
        await set_peers(nodes)  # leaves every ring, still answering
        for node in nodes:
            assert await node.get(KEYS) == first_values
        everyone.remove(old)
        originals += await origin_calls([old])
        await old.stop()
    calls = await origin_calls(everyone)
    handed = 0
    for node in nodes:
        stats, _ = await node.stats()
        handed += stats["handoff_loads"]
    figure(
        f"warm handoff across processes: 3 nodes each replaced in turn, {len(KEYS)} keys; "
        f"origin calls {originals} by the first nodes, {calls} by the replacements, "
        f"copies handed over {handed}"
    )
    assert originals == len(KEYS)  # each key loaded once, by the first three
    assert calls == 0  # every replacement took every key it came to own from a peer
    assert handed > 0

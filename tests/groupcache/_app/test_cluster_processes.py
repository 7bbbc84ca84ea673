"""A groupcache cluster of separate OS processes on 127.0.0.1.

Ports the idea of Go's ``TestHTTPPool`` (http_test.go), which runs its peers as child
processes, to Python: every node is ``tests/support/clusternode.py`` in its own
interpreter, with its own event loop and :class:`~groupcache.HTTPPool`, so the peers talk
only over real TCP (driven by tests.support.processes).
The test drives them with JSON lines over stdin/stdout and waits only on their answers.

- A stampede of 1000 concurrent gets of 20 cold keys, issued by 3 processes at once,
  runs each key's getter exactly once cluster-wide, on the key's owner.
- A peer SIGKILLed while requests to it are in flight fails no get: the survivors count
  a peer error per key and load locally, and after ``set_peers`` without the victim they
  count no more.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

from tests.support.figures import figure
from tests.support.processes import Cluster, owners, pick, set_peers, values_of


async def test_stampede_across_three_processes_runs_each_getter_once_cluster_wide(
    cluster: Cluster,
) -> None:
    nodes = await cluster.start(["a"], ["b"], ["c"])
    await set_peers(nodes)
    # 20 cold keys spread over all three owners (7/7/6), whatever ports the ring saw.
    owned = await owners(nodes, (f"stampede-{i}" for i in range(300)))
    taken: set[str] = set()
    keys = [
        k
        for n, count in zip(nodes, (7, 7, 6), strict=True)
        for k in pick(owned, n.name, count, taken)
    ]
    assert len(keys) == 20
    # 1000 gets, get j on process j % 3 for key j % 20: each process asks for every key.
    shares = [[keys[j % len(keys)] for j in range(i, 1000, len(nodes))] for i in range(3)]
    assert sum(map(len, shares)) == 1000

    began = time.perf_counter()
    for node, share in zip(nodes, shares, strict=True):  # all three start before any answer
        await node.send({"cmd": "get", "keys": share})
    answers = [await node.receive() for node in nodes]
    wall = time.perf_counter() - began

    for node, share, answer in zip(nodes, shares, answers, strict=True):
        values = values_of(node, share, answer)
        assert values == {k: f"{owned[k]}:{k}" for k in keys}, node.name
    calls: Counter[str] = Counter()
    for node, share in zip(nodes, shares, strict=True):
        stats, node_calls = await node.stats()
        mine = [k for k in keys if owned[k] == node.name]
        assert node_calls == Counter(mine), f"{node.name} loaded keys it does not own"
        calls += node_calls
        assert stats["gets"] == len(share) + stats["server_requests"]
        assert stats["local_loads"] == len(mine)
        assert stats["peer_loads"] == len(keys) - len(mine)  # one fetch per foreign key
        assert stats["peer_errors"] == 0
        assert stats["server_requests"] == 2 * len(mine)  # each other node asked once
    assert calls == Counter(keys)  # every getter ran exactly once cluster-wide
    figure(f"stampede: 1000 gets of 20 keys over 3 processes in {wall * 1000:.0f} ms")
    assert wall < 10.0


async def test_peer_sigkilled_mid_workload_fails_no_get_and_counts_peer_errors(
    cluster: Cluster,
) -> None:
    a, b, victim = await cluster.start(["a"], ["b"], ["v", "--hold-prefix", "hold-"])
    survivors = [a, b]
    await set_peers([a, b, victim])
    owned = await owners([a, b, victim], [f"k-{i}" for i in range(400)])
    held = await owners([a, b, victim], [f"hold-{i}" for i in range(400)])
    taken: set[str] = set()
    warm = pick(owned, "v", 3, taken)  # fetched through the victim while it lives
    cold = pick(owned, "v", 4, taken)  # first asked for after it died
    later = pick(owned, "v", 4, taken)  # first asked for after set_peers without it
    in_flight = {a.name: pick(held, "v", 2, taken), b.name: pick(held, "v", 2, taken)}

    # 1. The survivors reach the victim: its keys come from its getter, via the peer.
    for node in survivors:
        assert await node.get(warm * 3) == {k: f"v:{k}" for k in warm}
        stats, calls = await node.stats()
        assert (stats["peer_loads"], stats["peer_errors"], sum(calls.values())) == (3, 0, 0)

    # 2. Each survivor asks for keys whose getter on the victim never returns; once the
    #    victim has entered the getter for all of them, it is SIGKILLed by PID.
    for node in survivors:
        await node.send({"cmd": "get", "keys": in_flight[node.name] * 5})
    await victim.call({"cmd": "wait_calls", "keys": [*in_flight["a"], *in_flight["b"]]})
    os.kill(victim.pid, signal.SIGKILL)
    assert await victim.proc.wait() == -signal.SIGKILL
    for node in survivors:
        keys = in_flight[node.name] * 5
        values = values_of(node, keys, await node.receive())
        assert values == {k: f"{node.name}:{k}" for k in keys}  # loaded locally

    # 3. Keys the victim owns and nobody asked for yet: local loads, one error per key
    #    (one peer flight per key; its fallback fills the main cache for the other 4 gets);
    #    the warm keys still come from the hot cache, without asking the dead peer.
    for node in survivors:
        values = await node.get((cold + warm) * 5)
        assert values == {k: f"{node.name}:{k}" for k in cold} | {k: f"v:{k}" for k in warm}
        stats, calls = await node.stats()
        assert calls == Counter(in_flight[node.name] + cold)
        expected_errors = len(in_flight[node.name]) + len(cold)
        assert stats["peer_errors"] == expected_errors
        assert stats["peer_loads"] == len(warm)

    # 4. Without the victim in the ring, the survivors own its keys and count no errors.
    await set_peers(survivors)
    new_owner = await owners(survivors, later)
    before = {n.name: (await n.stats())[0] for n in survivors}
    for node in survivors:
        assert await node.get(later * 5) == {k: f"{new_owner[k]}:{k}" for k in later}
    total: Counter[str] = Counter()
    for node in survivors:
        stats, calls = await node.stats()
        mine = [k for k in later if new_owner[k] == node.name]
        assert stats["peer_errors"] == before[node.name]["peer_errors"]
        assert stats["peer_loads"] == before[node.name]["peer_loads"] + len(later) - len(mine)
        total += Counter({k: n for k, n in calls.items() if k in later})
    assert total == Counter(later)  # once each, on the new owner
    figure(
        "peer_errors after SIGKILL: "
        + ", ".join(f"{n}={s['peer_errors']}" for n, s in before.items())
    )


async def test_clear_all_from_one_process_makes_every_process_load_each_key_once_more(
    cluster: Cluster,
) -> None:
    """``clear_all`` across real processes: every node drops the group's entries (main
    and hot caches), so the next gets of every key, from every node, load it once more on
    its owner and nowhere else."""
    nodes = await cluster.start(["a"], ["b"], ["c"])
    await set_peers(nodes)
    keys = [f"clear-{i}" for i in range(30)]
    for node in nodes:  # owners load each key once; the others keep hot copies
        await node.get(keys)
    before, fetched = Counter[str](), 0
    for node in nodes:
        stats, calls = await node.stats()
        before.update(calls)
        fetched -= stats["peer_loads"]
    assert before == Counter(keys)
    assert await nodes[1].call({"cmd": "clear_all"}) == {"ok": True}
    for node in nodes:
        await node.get(keys)
    after = Counter[str]()
    for node in nodes:
        stats, calls = await node.stats()
        after.update(calls)
        fetched += stats["peer_loads"]
    assert after == Counter({k: 2 for k in keys})  # each key once more, cluster-wide
    assert fetched == 2 * len(keys)  # no hot copy left: both non-owners fetch each again

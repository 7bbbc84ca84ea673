"""A peer SIGKILLed in the middle of 10k gets across 3 processes fails no get.

Nodes a, b and v run as separate processes (tests/groupcache/clusternode.py). a and b
issue 10,000 gets in 10 rounds over 2,000 keys; during round 4 v is SIGKILLed by PID
while requests to it are in flight (keys whose getter on v never returns). Until
``set_peers`` drops v, the survivors count a peer error per flight for v's keys and load
locally; from the moment both acknowledged the new ring, they count no more.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import AsyncIterator

import pytest

from tests.groupcache.test_cluster_processes import Cluster, NodeProcess, owners, set_peers

from .helpers import figure

ROUNDS = 10
PER_ROUND = 500  # per survivor: 2 x 10 x 500 = 10,000 gets
KEYS = 2000


@pytest.fixture
async def procs() -> AsyncIterator[Cluster]:
    c = Cluster()
    try:
        yield c
    finally:
        await c.aclose()  # quit, else SIGKILL by PID; always reaped


async def peer_errors(node: NodeProcess) -> int:
    stats, _ = await node.stats()
    return stats["peer_errors"]


@pytest.mark.timeout(90)
async def test_sigkill_mid_workload_fails_no_get(procs: Cluster) -> None:
    a, b, victim = await procs.start(
        ["a", "--delay", "0"],
        ["b", "--delay", "0"],
        ["v", "--delay", "0", "--hold-prefix", "hold-"],
    )
    survivors = [a, b]
    await set_peers([a, b, victim])
    held = await owners([a, b, victim], [f"hold-{i}" for i in range(60)])
    hold_keys = {
        n.name: [k for k, o in held.items() if o == "v"][i::2][:3] for i, n in enumerate(survivors)
    }
    keys = [f"w-{i}" for i in range(KEYS)]
    failed = gets = 0
    errors_at_kill = errors_at_set = 0
    set_peers_ms = 0.0
    began = time.perf_counter()
    for r in range(ROUNDS):
        shares = {
            n.name: [keys[(r * 7919 + j * 13 + i) % KEYS] for j in range(PER_ROUND)]
            for i, n in enumerate(survivors)
        }
        if r == 4:  # requests to v in flight when it dies
            errors_at_kill = sum([await peer_errors(n) for n in survivors])
            for n in survivors:
                shares[n.name][: len(hold_keys[n.name])] = hold_keys[n.name]
        for n in survivors:
            await n.send({"cmd": "get", "keys": shares[n.name]})
        if r == 4:
            await victim.call(
                {"cmd": "wait_calls", "keys": [k for ks in hold_keys.values() for k in ks]}
            )
            os.kill(victim.pid, signal.SIGKILL)
            assert await victim.proc.wait() == -signal.SIGKILL
        for n in survivors:
            answer = await n.receive()
            gets += len(answer["errors"])
            failed += sum(e is not None for e in answer["errors"])
        if r == 7:  # the operator (or kubegroup) removes the dead peer
            t0 = time.perf_counter()
            await set_peers(survivors)
            set_peers_ms = (time.perf_counter() - t0) * 1000
            errors_at_set = sum([await peer_errors(n) for n in survivors])
    wall = time.perf_counter() - began
    errors_end = sum([await peer_errors(n) for n in survivors])
    figure(
        f"peer SIGKILL: {gets} gets across 3 processes, {failed} failed, "
        f"{errors_at_set - errors_at_kill} peer errors between the kill and set_peers "
        f"(3 rounds), {errors_end - errors_at_set} after it; set_peers acknowledged by both "
        f"survivors in {set_peers_ms:.0f} ms, after which the dead peer is never tried; "
        f"wall {wall:.1f} s"
    )
    assert gets == ROUNDS * PER_ROUND * 2
    assert failed == 0
    assert errors_at_set > errors_at_kill  # the dead peer was tried, and counted
    assert errors_end == errors_at_set

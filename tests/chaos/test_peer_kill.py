"""A peer SIGKILLed in the middle of 10k gets across 3 processes fails no get.

Nodes a, b and v run as separate processes (tests/support/clusternode.py). a and b
issue 10,000 gets in 10 rounds over 2,000 keys (and 200 more, below); during round 4 v
is SIGKILLed by PID while requests to it are in flight (keys whose getter on v never
returns). Until ``set_peers`` drops v, the survivors count a peer error per flight for
v's keys and load locally; from the moment both acknowledged the new ring, they count no
more.

The cyclic workload repeats its keys from round 5 on, and the survivors cache what they
loaded, so it alone would not show whether v is still tried. From round 5 each survivor
therefore also gets FRESH keys per round that v owned in the 3-node ring and that it has
never seen: before ``set_peers`` each must try v (a peer error each); after it, none
may. Once v is reaped, a :class:`~tests.chaos.helpers.Tombstone` listens on its port and
times every connection attempt to it (resetting each, as a dead peer would fail it).

The survivors run with failover off (``down_after=0``), so that every fresh key of v must
try it until ``set_peers``: what is measured here is how promptly ``set_peers`` stops
that. With failover on, v is down after a few failures and is tried no more even before
``set_peers`` (tests/groupcache/_http/test_failover.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from tests.support.figures import figure
from tests.support.processes import Cluster, NodeProcess, owners, set_peers

from .helpers import Tombstone

ROUNDS = 10
PER_ROUND = 500  # per survivor: 2 x 10 x 500 = 10,000 gets
KEYS = 2000
KILL_ROUND = 4
SET_PEERS_ROUND = 7  # set_peers without v after this round's gets
FRESH = 20  # per survivor and round after the kill: never-seen keys v owned


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


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


@pytest.mark.timeout(90)
async def test_sigkill_mid_workload_fails_no_get(procs: Cluster) -> None:
    a, b, victim = await procs.start(
        ["a", "--delay", "0", "--down-after", "0"],
        ["b", "--delay", "0", "--down-after", "0"],
        ["v", "--delay", "0", "--hold-prefix", "hold-"],
    )
    survivors = [a, b]
    await set_peers([a, b, victim])
    held = await owners([a, b, victim], [f"hold-{i}" for i in range(60)])
    hold_keys = {
        n.name: [k for k, o in held.items() if o == "v"][i::2][:3] for i, n in enumerate(survivors)
    }
    fresh_rounds = range(KILL_ROUND + 1, ROUNDS)
    fresh_owned = await owners([a, b, victim], [f"fresh-{i}" for i in range(1500)])
    v_fresh = [k for k, o in fresh_owned.items() if o == "v"]
    slots = [(r, n.name) for r in fresh_rounds for n in survivors]
    assert len(v_fresh) >= len(slots) * FRESH, "too few candidate keys owned by v"
    fresh = {slot: v_fresh[i * FRESH : (i + 1) * FRESH] for i, slot in enumerate(slots)}
    keys = [f"w-{i}" for i in range(KEYS)]
    failed = gets = 0
    errors_at_kill = errors_at_set = 0
    tombstone = Tombstone()
    t_kill = t_set = t_set_done = 0.0
    began = time.perf_counter()
    async with contextlib.AsyncExitStack() as stack:
        for r in range(ROUNDS):
            shares = {
                n.name: [keys[(r * 7919 + j * 13 + i) % KEYS] for j in range(PER_ROUND)]
                + fresh.get((r, n.name), [])
                for i, n in enumerate(survivors)
            }
            if r == KILL_ROUND:  # requests to v in flight when it dies
                errors_at_kill = sum([await peer_errors(n) for n in survivors])
                for n in survivors:
                    shares[n.name][: len(hold_keys[n.name])] = hold_keys[n.name]
            for n in survivors:
                await n.send({"cmd": "get", "keys": shares[n.name]})
            if r == KILL_ROUND:
                await victim.call(
                    {"cmd": "wait_calls", "keys": [k for ks in hold_keys.values() for k in ks]}
                )
                t_kill = time.perf_counter()
                os.kill(victim.pid, signal.SIGKILL)
                assert await victim.proc.wait() == -signal.SIGKILL
                port = urlsplit(victim.url).port
                assert port is not None
                await stack.enter_async_context(tombstone.listen(port))
            for n in survivors:
                answer = await n.receive()
                gets += len(answer["errors"])
                failed += sum(e is not None for e in answer["errors"])
            if r == SET_PEERS_ROUND:  # the operator (or kubegroup) removes the dead peer
                t_set = time.perf_counter()
                await set_peers(survivors)
                t_set_done = time.perf_counter()
                errors_at_set = sum([await peer_errors(n) for n in survivors])
        wall = time.perf_counter() - began
        errors_end = sum([await peer_errors(n) for n in survivors])
    attempts = tombstone.attempts
    fresh_before = len(survivors) * FRESH * (SET_PEERS_ROUND - KILL_ROUND)
    fresh_after = len(survivors) * FRESH * (ROUNDS - 1 - SET_PEERS_ROUND)
    during_set = sum(t_set < t <= t_set_done for t in attempts)
    after_set = sum(t > t_set_done for t in attempts)
    last = max(attempts, default=t_kill)
    figure(
        f"peer SIGKILL: {gets} gets across 3 processes, {failed} failed, "
        f"{errors_at_set - errors_at_kill} peer errors between the kill and set_peers "
        f"({SET_PEERS_ROUND - KILL_ROUND} rounds, with {fresh_before} gets of never-seen keys "
        f"of the dead peer), {errors_end - errors_at_set} after it (with {fresh_after}); "
        f"{len(attempts)} connection attempts to the dead peer's port, the last "
        f"{ms(last - t_kill)} after the kill; set_peers acknowledged by both survivors in "
        f"{ms(t_set_done - t_set)}; time to stop trying the dead peer once set_peers removes "
        f"it: {ms(max(0.0, last - t_set))} (last attempt {ms(abs(t_set - last))} "
        f"{'before' if last <= t_set else 'after'} the set_peers call; attempts during it "
        f"{during_set}, after it {after_set}); wall {wall:.1f} s"
    )
    assert gets == ROUNDS * PER_ROUND * 2 + fresh_before + fresh_after
    assert failed == 0
    assert errors_at_set > errors_at_kill  # the dead peer was tried, and counted
    # Each never-seen key of v's tried v before set_peers, as did each held request.
    held_total = sum(map(len, hold_keys.values()))
    assert errors_at_set - errors_at_kill >= fresh_before + held_total
    assert attempts, "no connection attempt reached the dead peer's port before set_peers"
    # After set_peers returned: no attempt, no peer error, though the survivors got
    # keys that v owned and that they had never loaded.
    assert after_set == 0, f"{after_set} attempts to the dead peer after set_peers"
    assert errors_end == errors_at_set

"""Peer health and fast failover: a peer whose requests failed ``down_after`` times in a
row is down for a backoff; its keys go to the next member clockwise on the ring that is
up (every node picks the same one, so each key is still loaded once), and no get waits
for it. No Go test exists: no variant has it (golang #77, mailgun #34).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from groupcache._http.health import MAX_BACKOFF, PeerHealth
from tests.chaos.helpers import Tombstone
from tests.support.cluster import cluster, total_loads

KEYS = [f"key-{i}" for i in range(300)]
COLD = {"hot_cache": "never"}


async def test_a_dead_peer_is_down_after_three_failures_then_its_keys_go_to_its_successor() -> None:
    async with cluster(3, group_kwargs=COLD, batch=False, handoff_window=0) as nodes:
        a, b, dead = nodes
        theirs = [k for k in KEYS if a.pool.owner(k) == dead.url]
        port = urlsplit(dead.url).port
        assert port is not None
        await dead.pool.aclose()
        tombstone = Tombstone()
        async with tombstone.listen(port):
            for key in theirs[:3]:  # one at a time: three failures in a row
                await a.group.get(key)
            assert a.group.stats().peer_errors == 3
            (health,) = [h for h in a.pool.peer_health() if h.url == dead.url]
            assert not health.up
            attempts = len(tombstone.attempts)
            loads = total_loads([a, b])
            # a and b both get the rest: each key goes to the same stand-in, once
            for key in theirs[3:]:
                await b.group.get(key)  # b learns too (three failures), then fails over
            await asyncio.gather(*(a.group.get(k) for k in theirs[3:]))
            assert a.group.stats().peer_errors == 3  # no get of a waited on the dead peer
            assert len(tombstone.attempts) <= attempts + 3  # b's three, a's none
            # b's three failing keys were loaded by b itself (as any failed fetch is), so
            # a may load them again on their stand-in; every other key: once, cluster-wide.
            assert total_loads([a, b]) <= loads + len(theirs) - 3 + 3
            for key in theirs[6:]:
                assert a.getter.calls[key] + b.getter.calls[key] == 1, key


def test_the_backoff_doubles_once_per_step_up_to_its_maximum() -> None:
    health = PeerHealth(down_after=2, backoff=1.0)
    health.failed()
    assert not health.is_down()
    health.failed()
    assert health.is_down()
    first = health.down_until
    for _ in range(10):  # requests sent before it went down, failing now
        health.failed()
    assert health.down_until == first
    assert health.times_down == 1
    health.down_until = 1e-9  # the backoff is over: half-open
    health.failed()
    assert health.times_down == 2
    assert health.info("u").down_seconds_left <= 2.0
    health.succeeded()
    assert not health.is_down()
    assert health.failures == 0
    assert MAX_BACKOFF == 30.0


async def test_down_after_0_never_marks_a_peer_down() -> None:
    async with cluster(2, group_kwargs=COLD, batch=False, down_after=0) as (a, dead):
        theirs = [k for k in KEYS if a.pool.owner(k) == dead.url][:5]
        await dead.pool.aclose()
        for key in theirs:
            await a.group.get(key)
        assert a.group.stats().peer_errors == 5
        assert all(h.up for h in a.pool.peer_health())


def test_a_peer_down_admits_nothing_then_one_probe_once_its_backoff_is_over() -> None:
    health = PeerHealth(down_after=1, backoff=1.0)
    assert health.admit()  # up: everything goes
    health.failed()
    assert not health.admit()  # down: nothing
    health.down_until = 1e-9  # the backoff is over
    assert health.admit()  # the probe
    assert not health.admit()  # the others wait for its answer
    health.succeeded()
    assert health.admit()

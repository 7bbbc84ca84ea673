"""Fast failover: gets during the outage of a peer that never answers, failover on vs off.

Usage: .venv/bin/python benchmarks/bench_failover.py [--seconds 8] [--timeout 1.0]
       [--quick] [--no-record]

Three nodes (HTTPPool on 127.0.0.1, one event loop, ``timeout=--timeout``) serve 300
keys; then one of them is replaced by a blackhole on its port: it accepts connections
and reads requests but never answers, as a hung or partitioned peer does (its packets
are not refused, so every request waits out the timeout). The other two keep getting
random keys, 16 in flight each, for ``--seconds``. Reported, with failover on
(``down_after=3``, the default) and off (``down_after=0``, Go's behaviour) in the same
run: when the last get that waited on the dead peer began (seconds after the outage),
how many gets waited on it, and the get p50 / p99 during the outage.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from urllib.parse import urlsplit

from _common import Report, add_common_args, percentile, run

import groupcache

KEYS = [f"key-{i}" for i in range(300)]
IN_FLIGHT = 16


async def _getter(key: str) -> bytes:
    return key.encode().ljust(100, b".")


class _Blackhole(asyncio.Protocol):
    def __init__(self, transports: list[asyncio.BaseTransport]) -> None:
        self._transports = transports

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transports.append(transport)  # held open, never answered

    def data_received(self, data: bytes) -> None:
        pass


async def outage(
    down_after: int, seconds: float, peer_timeout: float
) -> tuple[float, int, list[float]]:
    """Return (last waiting get's start, gets that waited, latencies) for one run."""
    spaces: list[groupcache.Workspace] = []
    pools: list[groupcache.HTTPPool] = []
    groups: list[groupcache.Group] = []
    for _ in range(3):
        ws = groupcache.Workspace()
        group = groupcache.Group("g", _getter, 64 << 20, workspace=ws, hot_cache="never")
        pool = groupcache.HTTPPool(
            "http://127.0.0.1:0",
            workspace=ws,
            timeout=peer_timeout,
            down_after=down_after,
            handoff_window=0,
        )
        await pool.start()
        spaces.append(ws)
        pools.append(pool)
        groups.append(group)
    for pool in pools:
        pool.set_peers(*(p.self_url for p in pools))
    dead = pools[2]
    port = urlsplit(dead.self_url).port
    await dead.aclose()
    held: list[asyncio.BaseTransport] = []
    loop = asyncio.get_running_loop()
    hole = await loop.create_server(lambda: _Blackhole(held), "127.0.0.1", port)
    latencies: list[float] = []
    waited: list[float] = []  # start times (since the outage) of gets that waited on it
    start = time.perf_counter()
    deadline = start + seconds
    rng = random.Random(7)

    async def worker(group: groupcache.Group) -> None:
        while (t0 := time.perf_counter()) < deadline:
            key = rng.choice(KEYS)
            group.local_remove(key)  # every get goes to its owner (or its stand-in)
            await group.get(key)
            took = time.perf_counter() - t0
            latencies.append(took)
            if took >= peer_timeout * 0.9:
                waited.append(t0 - start)

    await asyncio.gather(*(worker(g) for g in groups[:2] for _ in range(IN_FLIGHT)))
    hole.close()
    for transport in held:
        transport.close()
    await hole.wait_closed()
    for pool, ws in zip(pools[:2], spaces[:2], strict=True):
        await pool.aclose()
        ws.close()
    spaces[2].close()
    latencies.sort()
    return (max(waited) if waited else 0.0), len(waited), latencies


async def main_async(report: Report, seconds: float, peer_timeout: float) -> None:
    report.print(
        f"{'failover':<14}{'last waiting get at':>22}{'gets that waited':>18}"
        f"{'p50 ms':>10}{'p99 ms':>10}{'gets':>9}"
    )
    for name, down_after in (("on (3)", 3), ("off (0, as Go)", 0)):
        last, count, lat = await outage(down_after, seconds, peer_timeout)
        report.print(
            f"{name:<14}{last:>20.2f} s{count:>18}{percentile(lat, 50) * 1e3:>10.1f}"
            f"{percentile(lat, 99) * 1e3:>10.1f}{len(lat):>9}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--timeout", type=float, default=1.0)
    add_common_args(parser)
    args = parser.parse_args()
    seconds = min(args.seconds, 3.0) if args.quick else args.seconds
    report = Report("bench_failover")
    report.print(
        f"3 nodes, one blackholed (accepts, never answers); 2 x {IN_FLIGHT} gets in flight "
        f"of {len(KEYS)} keys for {seconds:g} s; timeout={args.timeout:g} s"
    )
    run(main_async(report, seconds, args.timeout))
    report.record(not args.no_record)


if __name__ == "__main__":
    main()

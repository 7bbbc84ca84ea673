"""Stale-while-revalidate and negative caching under load, each on vs off in one run.

Usage: .venv/bin/python benchmarks/bench_swr.py [--seconds 6] [--ttl 1.0] [--origin-ms 50]
       [--quick] [--no-record]

Three nodes (HTTPPool on 127.0.0.1, one event loop, default settings) share an origin that
answers after ``--origin-ms``; 32 gets are kept in flight, spread over the three nodes,
for ``--seconds`` per scenario:

- a hot key whose value expires ``--ttl`` seconds after each load: with a grace of 10 s
  (``Value(grace=10)``: served stale while one refresh runs) and without (as today).
  Reported: origin calls; the gets that waited for the origin (at least half its
  latency) after the first load; and the get p50 / p99 / max of the gets that began while
  the origin reloaded an expired value (within its latency after an expiry: the owner's
  expiry, which the hot copies on the other nodes carry).
- a key that does not exist (the getter raises ``NotFoundError``): with
  ``negative_ttl=--ttl`` on every node and without (0, the default). Reported: origin
  calls, and the get p50 / p99 of all gets.

The collector is off while the gets run (as in ``timeit``): a pass over the million
timings recorded would stall the loop for tens of milliseconds, at random.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import time

from _common import Report, add_common_args, percentile, run

import groupcache

IN_FLIGHT = 32
GRACE = 10.0
HOT = "hot-key"
GONE = "gone-key"


class Origin:
    """The cluster's origin: every node's getter; counts calls and notes expiries."""

    def __init__(self, ttl: float, grace: float, latency: float) -> None:
        self.ttl = ttl
        self.grace = grace
        self.latency = latency
        self.calls = 0
        self.expiries: list[float] = []  # perf_counter instants

    async def __call__(self, key: str) -> groupcache.Value:
        self.calls += 1
        await asyncio.sleep(self.latency)  # the origin's latency
        if key == GONE:
            raise groupcache.NotFoundError(f"{key} does not exist")
        self.expiries.append(time.perf_counter() + self.ttl)
        return groupcache.Value(b"v" * 100, time.time() + self.ttl, grace=self.grace)


async def scenario(
    key: str, seconds: float, origin: Origin, negative_ttl: float
) -> list[tuple[float, float]]:
    """Keep ``IN_FLIGHT`` gets of ``key`` going for ``seconds``; return (start, latency)
    of each get, the start in ``perf_counter`` seconds."""
    spaces: list[groupcache.Workspace] = []
    pools: list[groupcache.HTTPPool] = []
    groups: list[groupcache.Group] = []
    for _ in range(3):
        ws = groupcache.Workspace()
        groups.append(
            groupcache.Group("g", origin, 64 << 20, workspace=ws, negative_ttl=negative_ttl)
        )
        pool = groupcache.HTTPPool("http://127.0.0.1:0", workspace=ws)
        await pool.start()
        spaces.append(ws)
        pools.append(pool)
    for pool in pools:
        pool.set_peers(*(p.self_url for p in pools))
    gets: list[tuple[float, float]] = []
    deadline = time.perf_counter() + seconds

    async def worker(group: groupcache.Group) -> None:
        while (t0 := time.perf_counter()) < deadline:
            with contextlib.suppress(groupcache.NotFoundError):
                await group.get(key)
            gets.append((t0, time.perf_counter() - t0))
            await asyncio.sleep(0)  # a hit never yields: let the other gets run

    gc.disable()
    try:
        await asyncio.gather(*(worker(groups[i % 3]) for i in range(IN_FLIGHT)))
    finally:
        gc.enable()
    for pool, ws in zip(pools, spaces, strict=True):
        await pool.aclose()
        ws.close()
    return gets


def around(gets: list[tuple[float, float]], expiries: list[float], window: float) -> list[float]:
    """The sorted latencies of the gets that began within ``window`` after an expiry."""
    return sorted(took for t0, took in gets if any(e <= t0 < e + window for e in expiries))


def waited(gets: list[tuple[float, float]], latency: float) -> int:
    """How many gets after the first load took at least half the origin's latency."""
    first = min(t0 for t0, _ in gets) + 2 * latency
    return sum(1 for t0, took in gets if t0 > first and took >= latency / 2)


async def main_async(report: Report, seconds: float, ttl: float, latency: float) -> None:
    report.print(
        f"{'hot key':<24}{'origin calls':>13}{'gets waited':>13}{'near expiry':>13}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'gets':>9}"
    )
    for name, grace in (("stale-while-revalidate", GRACE), ("off (as Go)", 0.0)):
        origin = Origin(ttl, grace, latency)
        gets = await scenario(HOT, seconds, origin, 0.0)
        near = around(gets, origin.expiries, latency)
        report.print(
            f"{name:<24}{origin.calls:>13}{waited(gets, latency):>13}{len(near):>13}"
            f"{percentile(near, 50) * 1e3:>9.2f}{percentile(near, 99) * 1e3:>9.2f}"
            f"{(near[-1] if near else 0) * 1e3:>9.2f}{len(gets):>9}"
        )
    report.print(f"{'missing key':<24}{'origin calls':>13}{'p50 ms':>9}{'p99 ms':>9}{'gets':>9}")
    for name, negative_ttl in ((f"negative_ttl={ttl:g}", ttl), ("off (0, as Go)", 0.0)):
        origin = Origin(ttl, 0.0, latency)
        gets = await scenario(GONE, seconds, origin, negative_ttl)
        every = sorted(took for _, took in gets)
        report.print(
            f"{name:<24}{origin.calls:>13}{percentile(every, 50) * 1e3:>9.2f}"
            f"{percentile(every, 99) * 1e3:>9.2f}{len(gets):>9}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--ttl", type=float, default=1.0)
    parser.add_argument("--origin-ms", type=float, default=50.0)
    add_common_args(parser)
    args = parser.parse_args()
    seconds = min(args.seconds, 1.5) if args.quick else args.seconds
    ttl = min(args.ttl, 0.5) if args.quick else args.ttl
    report = Report("bench_swr")
    report.print(
        f"3 nodes, {IN_FLIGHT} gets in flight over them, for {seconds:g} s per row; one "
        f"origin answering in {args.origin_ms:g} ms; values live {ttl:g} s "
        f"(grace {GRACE:g} s with stale-while-revalidate); near expiry: gets begun within "
        f"the origin's latency after an expiry"
    )
    run(main_async(report, seconds, ttl, args.origin_ms / 1e3))
    report.record(not args.no_record)


if __name__ == "__main__":
    main()

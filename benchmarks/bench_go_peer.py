"""Our peer client against a golang/groupcache peer, vs aiohttp's client on the same peer.

Usage: .venv/bin/python benchmarks/bench_go_peer.py [--seconds S] [--concurrency 1,32]
       [--quick] [--no-record]

A Go peer (tests/interop/gopeers/golang: the golang/groupcache module, built with the
Go toolchain through the module proxy) owns every key, so the server is
fast and the client is what is measured. Series, each the best of 3 runs per point:

* groupcache: ``await group.get(key)`` of a node with ``HTTPPool(ring="golang",
  batch=False)`` and ``hot_cache="never"``: one GET per key, as Go peers are served,
  through the whole Get path (singleflight, ring, lean client, protobuf decode).
* aiohttp: ``aiohttp.ClientSession.get`` of the same URLs and ``await resp.read()``,
  one session with a connection pool as large as the concurrency (the baseline: the
  client the issue found to be the bottleneck).

Prints req/s, p50, p99 and client CPU per request, and groupcache's ratio to aiohttp.
Without Go, says so and records nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
from _common import ROOT, Report, add_common_args, percentile

import groupcache

sys.path.insert(0, str(ROOT))
from tests.support.gobuild import (  # the repository root is on the path now
    GoToolchainUnavailableError,
    build_gopeer,
)

GROUP = "bench"
KEYS = [f"key-{i:04d}" for i in range(1000)]
REPEATS = 3


async def drive(
    get: Callable[[str], Awaitable[object]], concurrency: int, seconds: float
) -> tuple[float, float, float, float]:
    """Run ``concurrency`` workers for ``seconds``: req/s, p50 us, p99 us, CPU us/request."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        i = offset
        while (t0 := time.perf_counter()) < deadline:
            await get(KEYS[i % len(KEYS)])
            latencies.append(time.perf_counter() - t0)
            i += concurrency

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    latencies.sort()
    n = len(latencies)
    return (
        n / elapsed,
        percentile(latencies, 50) * 1e6,
        percentile(latencies, 99) * 1e6,
        cpu / n * 1e6,
    )


async def best(
    get: Callable[[str], Awaitable[object]], concurrency: int, seconds: float
) -> tuple[float, float, float, float]:
    await drive(get, concurrency, min(0.3, seconds / 4))  # connections and caches warm
    runs = [await drive(get, concurrency, seconds) for _ in range(REPEATS)]
    return max(runs, key=lambda r: r[0])


async def measure(
    url: str, levels: list[int], seconds: float
) -> dict[str, dict[int, tuple[float, float, float, float]]]:
    async def never(key: str) -> bytes:
        raise AssertionError("the Go peer owns every key")

    results: dict[str, dict[int, tuple[float, float, float, float]]] = {
        "groupcache": {},
        "aiohttp": {},
    }
    with groupcache.Workspace() as ws:
        group = groupcache.Group(GROUP, never, 1 << 20, workspace=ws, hot_cache="never")
        async with groupcache.HTTPPool(
            "http://127.0.0.1:1", workspace=ws, ring="golang", batch=False
        ) as pool:
            pool.set_peers(url)
            for level in levels:
                results["groupcache"][level] = await best(group.get, level, seconds)
            stats = group.stats()
            if stats.peer_errors or stats.local_loads:
                raise RuntimeError(f"not every get was a peer fetch: {stats}")
    base = f"{url}/_groupcache/{GROUP}/"
    for level in levels:
        connector = aiohttp.TCPConnector(limit=level)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def get(key: str) -> bytes:
                async with session.get(base + key) as resp:
                    if resp.status != 200:
                        raise RuntimeError(f"Go peer answered {resp.status}")
                    return await resp.read()

            results["aiohttp"][level] = await best(get, level, seconds)
    return results


async def run_against_go_peer(
    levels: list[int], seconds: float
) -> dict[str, dict[int, tuple[float, float, float, float]]]:
    proc = await asyncio.create_subprocess_exec(
        str(build_gopeer()), "-group", GROUP, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip()
        if not line.startswith("LISTEN "):
            raise RuntimeError(f"the Go peer printed {line!r}")
        return await measure(line.removeprefix("LISTEN "), levels, seconds)
    finally:
        proc.terminate()
        await proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="per run; best of 3 runs")
    parser.add_argument("--concurrency", default="1,32")
    add_common_args(parser)
    args = parser.parse_args()
    if args.quick:
        args.seconds = 0.1
    levels = [int(x) for x in args.concurrency.split(",")]
    report = Report("go peer")
    try:
        results = asyncio.run(run_against_go_peer(levels, args.seconds))
    except GoToolchainUnavailableError as exc:
        print(f"no Go peer, nothing measured: {exc}")
        return
    report.print(
        f"small values ('go:' + key) from a golang/groupcache peer, one GET per key, "
        f"best of {REPEATS} x {args.seconds:g} s per point; CPU = client process CPU per request"
    )
    report.print(
        f"{'client':<12}{'c':>5}{'req/s':>9}{'p50 us':>9}{'p99 us':>9}{'CPU':>10}  vs aiohttp"
    )
    for level in levels:
        base_rate = results["aiohttp"][level][0]
        for name in ("groupcache", "aiohttp"):
            rate, p50, p99, cpu = results[name][level]
            report.print(
                f"{name:<12}{level:>5}{rate:>9.0f}{p50:>9.0f}{p99:>9.0f}{cpu:>8.1f}us  "
                f"{rate / base_rate:.2f}x"
            )
    report.record(not args.no_record)


if __name__ == "__main__":
    main()

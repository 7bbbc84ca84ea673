"""Local hit cost: ``await group.get`` and ``group.get_sync`` vs functools.lru_cache.

Usage: .venv/bin/python benchmarks/bench_local_hit.py [--keys N] [--rounds N]
Prints ns per hit and the ratio to an lru_cache hit measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import time
from collections.abc import Callable

import groupcache


def best_of(rounds: int, fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(rounds))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--passes", type=int, default=200)
    args = parser.parse_args()
    keys = [f"key-{i:028d}" for i in range(args.keys)]  # 32-character keys
    passes: int = args.passes
    n = len(keys) * passes

    @functools.lru_cache(maxsize=None)  # noqa: UP033 - the named baseline, its fastest form
    def cached(key: str) -> bytes:
        return key.encode()

    for k in keys:
        cached(k)

    def lru_run() -> float:
        t0 = time.perf_counter_ns()
        for _ in range(passes):
            for k in keys:
                cached(k)
        return float(time.perf_counter_ns() - t0) / n

    async def getter(key: str) -> bytes:
        return key.encode()

    with groupcache.Workspace() as ws:
        group = groupcache.Group("bench", getter, 64 << 20, workspace=ws)

        async def async_run() -> float:
            get = group.get
            t0 = time.perf_counter_ns()
            for _ in range(passes):
                for k in keys:
                    await get(k)
            return float(time.perf_counter_ns() - t0) / n

        async def warm_and_measure() -> list[float]:
            for k in keys:
                await group.get(k)
            return [await async_run() for _ in range(args.rounds)]

        async_ns = min(asyncio.run(warm_and_measure()))

        def sync_run() -> float:
            get_sync = group.get_sync
            t0 = time.perf_counter_ns()
            for _ in range(passes):
                for k in keys:
                    get_sync(k)
            return float(time.perf_counter_ns() - t0) / n

        sync_ns = best_of(args.rounds, sync_run)
    lru_ns = best_of(args.rounds, lru_run)
    print(f"functools.lru_cache hit : {lru_ns:8.0f} ns")
    print(f"await group.get hit     : {async_ns:8.0f} ns  ({async_ns / lru_ns:.1f}x lru_cache)")
    print(f"group.get_sync hit      : {sync_ns:8.0f} ns  ({sync_ns / lru_ns:.1f}x lru_cache)")


if __name__ == "__main__":
    main()

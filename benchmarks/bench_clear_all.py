"""Cluster-wide clear: emptying a group on every node with clear_all, against removing keys.

Usage: .venv/bin/python benchmarks/bench_clear_all.py [--nodes 3] [--keys 5000]
       [--quick] [--no-record]

N nodes (HTTPPool on 127.0.0.1, default settings, one event loop) each read ``--keys``
keys of 100-byte values, so every key is in its owner's main cache and in every other
node's hot cache. Then the group is emptied from one node three ways, each on a fresh
cluster in the same run: ``clear_all()`` (issue 16), ``remove_keys(all keys)`` (what
groupcache-go v3 offers, and only for keys the caller knows), and one ``remove(key)`` per
key (what golang/mailgun v2 offer), 32 at a time. Reported: wall time and values left
cached anywhere. No Go variant can clear a group at all.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

from _common import Report, add_common_args, run

import groupcache

Way = Callable[[groupcache.Group, list[str]], Awaitable[None]]


async def by_clear_all(group: groupcache.Group, keys: list[str]) -> None:
    await group.clear_all()


async def by_remove_keys(group: groupcache.Group, keys: list[str]) -> None:
    await group.remove_keys(keys)


async def bounded(keys: list[str], fn: Callable[[str], Awaitable[object]]) -> None:
    """``fn(key)`` for every key, 32 at a time (as a client with 32 connections would)."""
    gate = asyncio.Semaphore(32)

    async def one(key: str) -> None:
        async with gate:
            await fn(key)

    await asyncio.gather(*(one(k) for k in keys))


async def by_remove(group: groupcache.Group, keys: list[str]) -> None:
    await bounded(keys, group.remove)


WAYS: list[tuple[str, Way]] = [
    ("clear_all()", by_clear_all),
    ("remove_keys(all)", by_remove_keys),
    ("remove() per key", by_remove),
]


async def empty_once(n: int, keys: list[str], way: Way) -> tuple[float, int]:
    """Return the wall seconds of emptying the group, and the values left cached."""
    workspaces = [groupcache.Workspace() for _ in range(n)]
    groups = [
        groupcache.Group("g", lambda k: k.encode().ljust(100, b"."), 64 << 20, workspace=ws)
        for ws in workspaces
    ]
    pools = [groupcache.HTTPPool("http://127.0.0.1:0", workspace=ws) for ws in workspaces]
    try:
        urls = [await pool.start() for pool in pools]
        for pool in pools:
            pool.set_peers(*urls)
        for group in groups:
            await bounded(keys, group.get)
        started = time.perf_counter()
        await way(groups[0], keys)
        wall = time.perf_counter() - started
        left = sum(g.cache_stats(c).items for g in groups for c in ("main", "hot"))
        return wall, left
    finally:
        for pool, ws in zip(pools, workspaces, strict=True):
            await pool.aclose()
            ws.close()


async def main_async(report: Report, n: int, keys: list[str]) -> None:
    report.print(f"{'how':<18}{'wall ms':>10}{'values left':>13}")
    walls: dict[str, float] = {}
    for name, way in WAYS:
        wall, left = await empty_once(n, keys, way)
        walls[name] = wall
        report.print(f"{name:<18}{wall * 1000:>10.1f}{left:>13}")
    fastest_other = min(walls["remove_keys(all)"], walls["remove() per key"])
    report.print(
        f"clear_all is {fastest_other / walls['clear_all()']:.1f}x faster than the fastest "
        "way to remove every key, and needs no list of keys"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--keys", type=int, default=5000)
    add_common_args(parser)
    args = parser.parse_args()
    keys_n = min(args.keys, 500) if args.quick else args.keys
    report = Report("bench_clear_all")
    report.print(
        f"{args.nodes} nodes, {keys_n} keys of 100-byte values cached on every node (main "
        "on the owner, hot elsewhere); the group emptied from one node"
    )
    run(main_async(report, args.nodes, [f"key-{i}" for i in range(keys_n)]))
    report.record(not args.no_record)


if __name__ == "__main__":
    main()

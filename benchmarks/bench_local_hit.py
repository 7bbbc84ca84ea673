"""Local hit cost: ``await group.get`` and ``group.get_sync`` vs functools.lru_cache.

Usage: .venv/bin/python benchmarks/bench_local_hit.py [--keys N] [--rounds N] [--passes N]
       [--loop asyncio,uvloop] [--quick] [--no-record]

Prints ns per hit and the ratio to a ``functools.lru_cache(maxsize=None)`` hit measured in
the same run (the main baseline; targets: ``await group.get`` at most 4x on the slowest
loop, issue 15; ``group.get_sync`` at most 6x, issue 6), and to a ``cachetools.LRUCache``
``c[k]`` hit when cachetools is installed. Every figure is the best of ``--rounds`` and
includes the same ``for`` loop overhead. ``await group.get`` is measured on each loop of
``--loop``; a hit never suspends, so the loop should not matter.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable
from typing import Any

from _common import Report, add_common_args, available_loops, best_of, optional_module, run

import groupcache

ASYNC_TARGET = 4.0  # issue 15
SYNC_TARGET = 6.0  # issue 6


def timed_passes(passes: int, keys: list[str], lookup: Callable[[str], object]) -> float:
    n = passes * len(keys)
    t0 = time.perf_counter_ns()
    for _ in range(passes):
        for k in keys:
            lookup(k)
    return float(time.perf_counter_ns() - t0) / n


CODECS: list[tuple[str, Any, Callable[[str], Any]]] = [
    ("codec=STR", groupcache.STR, lambda k: k),
    (
        f"codec=JSON ({getattr(groupcache.JSON, 'backend', '?')})",
        groupcache.JSON,
        lambda k: {"k": k, "n": 1},
    ),
]
"""The codecs' cost on a hit (issue 17): decoding the cached bytes on every get."""


async def codec_hit_ns(
    ws: groupcache.Workspace,
    label: str,
    codec: Any,
    value: Callable[[str], Any],
    keys: list[str],
    passes: int,
    rounds: int,
) -> float:
    """ns per ``await group.get`` hit of a group with ``codec`` (asyncio)."""
    group = groupcache.Group(f"bench {label}", value, 64 << 20, workspace=ws, codec=codec)
    get = group.get
    for k in keys:
        await get(k)
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for _ in range(passes):
            for k in keys:
                await get(k)
        best = min(best, float(time.perf_counter_ns() - t0) / (passes * len(keys)))
    assert group.stats().loads == len(keys), "every timed get must be a hit"
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--passes", type=int, default=300)
    parser.add_argument("--loop", default="asyncio,uvloop")
    add_common_args(parser)
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.passes = 2, 10
    report = Report("local hit")
    keys = [f"key-{i:028d}" for i in range(args.keys)]  # 32-character keys
    passes: int = args.passes
    n = len(keys) * passes

    @functools.lru_cache(maxsize=None)  # noqa: UP033 - the named baseline, its fastest form
    def cached(key: str) -> bytes:
        return key.encode()

    for k in keys:
        cached(k)
    lru_ns = best_of(args.rounds, lambda: timed_passes(passes, keys, cached))

    lru_c_ns: float | None = None
    cachetools = optional_module("cachetools")
    if cachetools is None:
        report.print("cachetools is not installed (pip install -e '.[bench]'): no LRUCache row")
    else:
        lru_c = cachetools.LRUCache(maxsize=len(keys) * 2)
        for k in keys:
            lru_c[k] = k.encode()
        lru_c_ns = best_of(args.rounds, lambda: timed_passes(passes, keys, lru_c.__getitem__))

    async def getter(key: str) -> bytes:
        return key.encode()

    async_ns: dict[str, float] = {}
    with groupcache.Workspace() as ws:
        group = groupcache.Group("bench", getter, 64 << 20, workspace=ws)

        async def async_run() -> float:
            get = group.get
            t0 = time.perf_counter_ns()
            for _ in range(passes):
                for k in keys:
                    await get(k)
            return float(time.perf_counter_ns() - t0) / n

        async def warm_and_measure() -> float:
            for k in keys:
                await group.get(k)
            return min([await async_run() for _ in range(args.rounds)])

        for loop in available_loops(args.loop):
            async_ns[loop] = run(warm_and_measure(), loop)
        sync_ns = best_of(args.rounds, lambda: timed_passes(passes, keys, group.get_sync))
        assert group.stats().loads == len(keys), "every timed get must be a hit"
        codec_ns = {
            label: run(codec_hit_ns(ws, label, codec, value, keys, passes, args.rounds))
            for label, codec, value in CODECS
        }

    def row(label: str, ns: float) -> None:
        ratio = ns / lru_ns
        lru_c = f", {ns / lru_c_ns:4.2f}x LRUCache" if lru_c_ns else ""
        report.print(
            f"{label:<34} {ns:7.0f} ns  {1e3 / ns:6.2f} M/s  {ratio:5.2f}x lru_cache{lru_c}"
        )

    report.print(f"{len(keys)} keys of 32 characters, all hits, best of {args.rounds} x {n} gets")
    row("functools.lru_cache(None) hit", lru_ns)
    if lru_c_ns is not None:
        row("cachetools.LRUCache c[k] hit", lru_c_ns)
    for loop, ns in async_ns.items():
        row(f"await group.get hit ({loop})", ns)
    row("group.get_sync hit", sync_ns)
    for label, ns in codec_ns.items():
        row(f"await group.get hit, {label}", ns)
    worst_async = max(async_ns.values())
    report.target(
        f"await group.get <= {ASYNC_TARGET:g}x lru_cache",
        worst_async / lru_ns <= ASYNC_TARGET,
        f"{worst_async / lru_ns:.2f}x (slowest loop)",
    )
    report.target(
        f"group.get_sync <= {SYNC_TARGET:g}x lru_cache",
        sync_ns / lru_ns <= SYNC_TARGET,
        f"{sync_ns / lru_ns:.2f}x",
    )
    report.record(not args.no_record)


if __name__ == "__main__":
    main()

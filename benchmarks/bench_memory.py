"""Memory: RSS growth per cached entry vs the bytes the cache accounts for.

Usage: .venv/bin/python benchmarks/bench_memory.py [--entries 100000] [--sizes 100,10240]
       [--quick] [--no-record]

For each value size, a fresh subprocess fills a Group's main cache with ``--entries``
distinct values through ``await group.get`` (random bytes, so no page is left untouched)
and reports the growth of its resident set size (/proc/self/statm, after gc.collect)
against ``cache_stats("main").bytes``, which counts ``len(key) + len(value)``. Target:
at most 2.5x at 100-byte values. For reference, the same keys and values in a bare dict
and a bare OrderedDict (each in its own process): the floor of any CPython holder.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import subprocess
import sys
from collections import OrderedDict

from _common import Report, add_common_args, rss_bytes, run

import groupcache

TARGET = 2.5


async def fill(entries: int, size: int) -> dict[str, float]:
    rng = random.Random(size)

    async def getter(key: str) -> bytes:
        return rng.randbytes(size)

    with groupcache.Workspace() as ws:
        warm = groupcache.Group("warm", getter, 1 << 30, workspace=ws)
        for i in range(1000):  # run every code path once before the baseline
            await warm.get(f"warm-{i:08d}")
        warm.clear()
        group = groupcache.Group("main", getter, 1 << 40, workspace=ws)
        gc.collect()
        await asyncio.sleep(0)
        before = rss_bytes()
        for i in range(entries):  # the key strings are the cache's too: made after the baseline
            await group.get(f"key-{i:08d}")
        gc.collect()
        after = rss_bytes()
        stats = group.cache_stats("main")
        assert stats.items == entries, stats
        key = "key-00000000"
        entry: object = group._main.peek(key)  # what the cache keeps per key: Value or bytes
        data = getattr(entry, "data", entry)
        assert isinstance(data, bytes)
        return {
            "rss": after - before,
            "accounted": stats.bytes,
            "sizeof_key": sys.getsizeof(key),
            "sizeof_value_bytes": sys.getsizeof(data),
            "sizeof_value_obj": sys.getsizeof(entry) if entry is not data else 0,
        }


def fill_plain(entries: int, size: int, ordered: bool) -> dict[str, float]:
    """The floor: the same keys and values in a bare dict or OrderedDict, nothing else."""
    rng = random.Random(size)
    gc.collect()
    before = rss_bytes()
    d: dict[str, bytes] = OrderedDict() if ordered else {}
    for i in range(entries):
        d[f"key-{i:08d}"] = rng.randbytes(size)
    gc.collect()
    return {"rss": rss_bytes() - before, "accounted": entries * (12 + size)}


def child(entries: int, size: int, kind: str) -> None:
    if kind == "group":
        result = run(fill(entries, size))
    else:
        result = fill_plain(entries, size, kind == "OrderedDict")
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--sizes", default="100,10240")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    add_common_args(parser)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), int(args.child[1]), args.child[2])
        return
    if args.quick and args.entries == parser.get_default("entries"):
        args.entries = 5000
    report = Report("memory")
    report.print(
        f"{args.entries} entries of 12-character keys, each size in a fresh process; "
        "accounted = len(key) + len(value)"
    )
    report.print(
        f"{'value':>7} {'holder':<12} {'RSS growth':>12} {'accounted':>12} {'RSS/entry':>10} "
        f"{'acct/entry':>10} {'ratio':>6}"
    )
    results: dict[int, dict[str, float]] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        for kind in ("group", "dict", "OrderedDict"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(args.entries), str(size), kind],
                capture_output=True,
                text=True,
                timeout=600,
                check=True,
            ).stdout
            r = json.loads(out.strip().splitlines()[-1])
            if kind == "group":
                results[size] = r
            n = args.entries
            report.print(
                f"{size:>6}B {kind:<12} {r['rss'] / 2**20:9.1f} MiB "
                f"{r['accounted'] / 2**20:9.1f} MiB {r['rss'] / n:8.0f} B "
                f"{r['accounted'] / n:8.0f} B {r['rss'] / r['accounted']:5.2f}x"
            )
    for size, r in results.items():
        overhead = r["rss"] / args.entries - r["accounted"] / args.entries
        report.print(
            f"  {size} B Group entry: key str {r['sizeof_key']:.0f} B, "
            f"value bytes object {r['sizeof_value_bytes']:.0f} B, Value "
            f"{r['sizeof_value_obj']:.0f} B (0: plain bytes kept); RSS beyond the accounted bytes "
            f"{overhead:.0f} B per entry"
        )
    if 100 in results:
        r = results[100]
        report.target(
            "RSS growth <= 2.5x accounted bytes at 100 B values",
            r["rss"] / r["accounted"] <= TARGET,
            f"{r['rss'] / r['accounted']:.2f}x",
        )
    report.record(not args.no_record)


if __name__ == "__main__":
    main()

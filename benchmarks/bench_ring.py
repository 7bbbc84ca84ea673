"""Ring lookup cost at 8/32/128/512 peers, and ``set_peers`` rebuild time at 1000 peers.

Usage: .venv/bin/python benchmarks/bench_ring.py [--rounds N] [--keys N]
       [--quick] [--no-record]

For the presets mmh3, golang (crc32) and mailgun (FNV-1 64 in pure Python, so its key hash
alone costs about 2 us), measures ``HashRing.get`` and ``HTTPPool.pick_peer`` per lookup
of 32-character keys, best of ``--rounds``; target: the 512-peer cost at most 2x the
8-peer cost. Then times ``HTTPPool.set_peers`` (ring rebuild plus peer clients) and a bare
``HashRing.set`` with 1000 peers, 50 replicas each.
"""

from __future__ import annotations

import argparse
import time

from _common import Report, add_common_args, best_of

import groupcache
from groupcache._core.ring import PRESETS

SIZES = (8, 32, 128, 512)
TARGET = 2.0
REBUILD_PEERS = 1000


def urls(n: int) -> list[str]:
    return [f"http://10.{i // 65536}.{i // 256 % 256}.{i % 256}:8080" for i in range(n)]


def per_lookup_ns(lookup: object, keys: list[str], passes: int, rounds: int) -> float:
    assert callable(lookup)
    n = len(keys) * passes

    def once() -> float:
        t0 = time.perf_counter_ns()
        for _ in range(passes):
            for k in keys:
                lookup(k)
        return float(time.perf_counter_ns() - t0) / n

    return best_of(rounds, once)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keys", type=int, default=2000)
    add_common_args(parser)
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.keys = 1, 200
    report = Report("ring")
    keys = [f"user:{i:027d}" for i in range(args.keys)]  # 32 characters
    report.print(
        f"ns per lookup of {len(keys)} 32-character keys, {groupcache.DEFAULT_REPLICAS} "
        f"replicas per peer, best of {args.rounds}"
    )
    report.print(
        f"{'preset':<8} {'call':<20}" + "".join(f"{n:>8}" for n in SIZES) + f"{'512/8':>8}"
    )
    for preset in ("mmh3", "golang", "mailgun"):
        passes = 2 if preset == "mailgun" else 10
        if args.quick:
            passes = 1
        ring_ns: list[float] = []
        pick_ns: list[float] = []
        for n in SIZES:
            ring = groupcache.HashRing(
                key_hash=PRESETS[preset].key_hash, point_hash=PRESETS[preset].point_hash
            )
            ring.set(urls(n))
            ring_ns.append(per_lookup_ns(ring.get, keys, passes, args.rounds))
            with groupcache.Workspace() as ws:
                pool = groupcache.HTTPPool("http://127.0.0.1:1", workspace=ws, ring=preset)
                pool.set_peers(urls(n))
                pick_ns.append(per_lookup_ns(pool.pick_peer, keys, passes, args.rounds))
        for call, row in (("HashRing.get", ring_ns), ("HTTPPool.pick_peer", pick_ns)):
            report.print(
                f"{preset:<8} {call:<20}"
                + "".join(f"{ns:8.0f}" for ns in row)
                + f"{row[-1] / row[0]:7.2f}x"
            )
            report.target(
                f"{preset} {call} 512 peers <= 2x 8 peers",
                row[-1] / row[0] <= TARGET,
                f"{row[-1] / row[0]:.2f}x",
            )
    members = urls(REBUILD_PEERS)
    report.print(
        f"rebuild with {REBUILD_PEERS} peers x {groupcache.DEFAULT_REPLICAS} replicas "
        f"(best of {args.rounds}):"
    )
    for preset in ("mmh3", "golang", "mailgun"):
        ring = groupcache.HashRing(
            key_hash=PRESETS[preset].key_hash, point_hash=PRESETS[preset].point_hash
        )

        def ring_set(ring: groupcache.HashRing = ring) -> float:
            t0 = time.perf_counter()
            ring.set(members)
            return time.perf_counter() - t0

        with groupcache.Workspace() as ws:
            pool = groupcache.HTTPPool("http://127.0.0.1:1", workspace=ws, ring=preset)

            def pool_set(pool: groupcache.HTTPPool = pool) -> float:
                pool.set_peers("http://127.0.0.1:1")  # drop the clients, so each run builds all
                t0 = time.perf_counter()
                pool.set_peers(members)
                return time.perf_counter() - t0

            pool_ms = best_of(args.rounds, pool_set) * 1e3
        ring_ms = best_of(args.rounds, ring_set) * 1e3
        report.print(
            f"{preset:<8} HashRing.set {ring_ms:8.1f} ms   HTTPPool.set_peers {pool_ms:8.1f} ms"
        )
    report.record(not args.no_record)


if __name__ == "__main__":
    main()

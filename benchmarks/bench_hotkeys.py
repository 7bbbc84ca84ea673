"""Hot keys by owner-reported rate: peer requests per get and hot-cache bytes, by policy.

Usage: .venv/bin/python benchmarks/bench_hotkeys.py [--keys 10000] [--gets 20000]
       [--rate 100] [--quick] [--no-record]

Three nodes (HTTPPool on 127.0.0.1, default settings, one event loop) each read
``--gets`` keys drawn from Zipf(1.1) over ``--keys`` keys (values of 1 KiB), 32 gets at
a time, on one virtual clock that advances ``--rate`` gets per second per node (so the
owners' rates, which decay over a minute, are the same on any machine). Run once per
``hot_cache`` policy, in the same run: ``"never"`` (off: every get of a key owned
elsewhere is a peer request), ``"always"`` (mailgun, v3), ``"golang"`` (1 in 10) and
``"qps"`` (the owner's rate >= ``hot_qps``: the default 0.1 request/s, and 1/s), with two
budgets per node: ample (64 MiB: nothing is evicted) and tight (1 MiB: the hot cache
competes with the main one). Reported: peer requests per get (requests the owners served, per key of
a batch, over all gets), the hot cache's bytes per node at the end, and the owner's CPU
per cached GET of a peer with and without the rate asked (``PeerHandler.cached_get``,
timed alone: the rate's cost on the owner's fastest path). Target: at the default
``hot_qps``, with the ample budget, ``"qps"`` takes at most 1.05x the peer requests per
get of ``"golang"`` with at most half its hot bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import time
from dataclasses import dataclass

from _common import Report, add_common_args, run

import groupcache
from groupcache._core.rates import RateTable
from groupcache._http.handler import PeerHandler
from groupcache._protocol.headers import RATE_HEADER

NODES = 3
CHUNK = 32
VALUE = b"v" * 1024
POLICIES: list[tuple[str, groupcache.HotCachePolicy, float]] = [
    ("never (off)", "never", groupcache.DEFAULT_HOT_QPS),
    ("always", "always", groupcache.DEFAULT_HOT_QPS),
    ("golang", "golang", groupcache.DEFAULT_HOT_QPS),
    ("qps", "qps", groupcache.DEFAULT_HOT_QPS),
    ("qps, 1/s", "qps", 1.0),
]
BUDGETS = [("ample", 64 << 20), ("tight", 1 << 20)]


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Row:
    peer_per_get: float
    hot_bytes: float
    hot_items: float
    wall: float


def zipf_draws(keys: int, gets: int, seed: int) -> list[str]:
    weights = [1 / k**1.1 for k in range(1, keys + 1)]
    cum = list(itertools.accumulate(weights))
    rng = random.Random(seed)
    return [f"key-{i}" for i in rng.choices(range(keys), cum_weights=cum, k=gets)]


async def getter(key: str) -> bytes:
    return VALUE


async def run_policy(
    policy: groupcache.HotCachePolicy,
    budget: int,
    draws: list[list[str]],
    rate: float,
    hot_qps: float = groupcache.DEFAULT_HOT_QPS,
) -> Row:
    clock = Clock()
    nodes: list[tuple[groupcache.Workspace, groupcache.Group, groupcache.HTTPPool]] = []
    started = time.perf_counter()
    try:
        for i in range(NODES):
            ws = groupcache.Workspace()
            group = groupcache.Group(
                "g", getter, budget, workspace=ws, hot_cache=policy, hot_qps=hot_qps,
                rng=random.Random(i), clock=clock,
            )  # fmt: skip
            pool = groupcache.HTTPPool("http://127.0.0.1:0", workspace=ws)
            nodes.append((ws, group, pool))
            await pool.start("127.0.0.1", 0)
        for _, _, pool in nodes:
            pool.set_peers(*(p.self_url for _, _, p in nodes))
        gets = len(draws[0])
        for start in range(0, gets, CHUNK):
            await asyncio.gather(
                *(
                    group.get(key)
                    for (_, group, _), seq in zip(nodes, draws, strict=True)
                    for key in seq[start : start + CHUNK]
                )
            )
            clock.now += CHUNK / rate
        served = sum(group.stats().server_requests for _, group, _ in nodes)
        hot = [group.cache_stats("hot") for _, group, _ in nodes]
        return Row(
            served / (gets * NODES),
            sum(h.bytes for h in hot) / NODES,
            sum(h.items for h in hot) / NODES,
            time.perf_counter() - started,
        )
    finally:
        for ws, _, pool in nodes:
            await pool.aclose()
            ws.close()


def owner_cpu(draws: list[str], rounds: int) -> tuple[float, float, float]:
    """ns per cached GET served to a peer without and with the rate, and per RateTable.hit."""
    with groupcache.Workspace() as ws:
        group = groupcache.Group("g", getter, 64 << 20, workspace=ws)
        for key in set(draws):
            group.local_set(key, groupcache.Value(VALUE))
        handler = PeerHandler(ws, "/_groupcache/")
        paths = [f"/_groupcache/g/{key}" for key in draws]
        plain: dict[str, str] = {"host": "127.0.0.1"}
        asked = {**plain, RATE_HEADER.lower(): "1"}

        def timed(headers: dict[str, str]) -> float:
            serve = handler.cached_get
            began = time.perf_counter()
            for path in paths:
                serve(path, headers)
            return (time.perf_counter() - began) / len(paths) * 1e9

        def table() -> float:
            rates = RateTable(time.time)
            hit = rates.hit
            began = time.perf_counter()
            for key in draws:
                hit(key)
            return (time.perf_counter() - began) / len(draws) * 1e9

        without, with_rate, alone = [], [], []
        for _ in range(rounds):  # interleaved, so that other work skews all three alike
            without.append(timed(plain))
            with_rate.append(timed(asked))
            alone.append(table())
        return min(without), min(with_rate), min(alone)


async def main_async(report: Report, keys: int, gets: int, rate: float, rounds: int) -> None:
    draws = [zipf_draws(keys, gets, seed) for seed in range(NODES)]
    results: dict[tuple[str, str], Row] = {}
    for budget_name, budget in BUDGETS:
        report.print(f"budget {budget_name} ({budget >> 20} MiB per node)")
        report.print(
            f"  {'hot_cache':<12} {'peer req/get':>12} {'hot KiB/node':>13} "
            f"{'hot keys/node':>14} {'wall s':>7}"
        )
        for label, policy, hot_qps in POLICIES:
            row = await run_policy(policy, budget, draws, rate, hot_qps)
            results[budget_name, label] = row
            report.print(
                f"  {label:<12} {row.peer_per_get:>12.3f} {row.hot_bytes / 1024:>13.0f} "
                f"{row.hot_items:>14.0f} {row.wall:>7.2f}"
            )
    without, with_rate, table = owner_cpu(draws[0], rounds)
    report.print(
        f"owner CPU per cached peer GET (PeerHandler.cached_get): {without:.0f} ns plain, "
        f"{with_rate:.0f} ns with the rate asked ({with_rate / without:.2f}x); "
        f"RateTable.hit alone {table:.0f} ns"
    )
    qps, golang = results["ample", "qps"], results["ample", "golang"]
    report.target(
        "ample budget: qps peer requests/get <= 1.05x golang's, with <= 0.5x its hot bytes",
        qps.peer_per_get <= 1.05 * golang.peer_per_get and qps.hot_bytes <= 0.5 * golang.hot_bytes,
        f"{qps.peer_per_get / golang.peer_per_get:.2f}x the requests, "
        f"{qps.hot_bytes / max(golang.hot_bytes, 1):.2f}x the bytes",
    )
    for budget_name, _ in BUDGETS:
        qps, always = results[budget_name, "qps"], results[budget_name, "always"]
        off, golang = results[budget_name, "never (off)"], results[budget_name, "golang"]
        report.print(
            f"{budget_name}: qps vs always: {qps.peer_per_get / always.peer_per_get:.2f}x the "
            f"peer requests with {qps.hot_bytes / max(always.hot_bytes, 1):.2f}x the hot "
            f"bytes; vs golang: {qps.peer_per_get / golang.peer_per_get:.2f}x, "
            f"{qps.hot_bytes / max(golang.hot_bytes, 1):.2f}x; vs off: "
            f"{qps.peer_per_get / off.peer_per_get:.2f}x the peer requests"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--gets", type=int, default=20_000, help="gets per node")
    parser.add_argument("--rate", type=float, default=100.0, help="virtual gets/s per node")
    add_common_args(parser)
    args = parser.parse_args()
    gets, rounds = (2_000, 1) if args.quick else (args.gets, 15)
    report = Report("bench_hotkeys")
    report.print(
        f"{NODES} nodes, Zipf(1.1) over {args.keys} keys of 1 KiB, {gets} gets per node, "
        f"{CHUNK} at a time, {args.rate:g} gets/s per node of virtual time; hot_qps="
        f"{groupcache.DEFAULT_HOT_QPS:g} (default)"
    )
    run(main_async(report, args.keys, gets, args.rate, rounds))
    report.record(not args.no_record)


if __name__ == "__main__":
    main()

"""``groupcache demo``: a local cluster of node processes in front of a slow origin."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import sys
import time
from collections import Counter

import aiohttp

from .client import Client

ORIGIN_DELAY = 0.02


async def slow_origin(key: str) -> bytes:
    """The demo's getter: a backend that takes 20 ms per key."""
    await asyncio.sleep(ORIGIN_DELAY)
    return f"value of {key}".encode()


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def run_demo(nodes: int, keys: int, duration: float, concurrency: int = 16) -> int:
    """Start ``nodes`` node processes, drive a mixed workload, print what happened."""
    urls = [f"http://127.0.0.1:{p}" for p in _free_ports(nodes)]
    procs = []
    print(f"starting {nodes} nodes (separate processes): {', '.join(urls)}")
    try:
        for url in urls:
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "groupcache", "serve", "--self", url,
                    "--listen", url.removeprefix("http://"), "--peers", ",".join(urls),
                    "--getter", "groupcache._app.demo:slow_origin", "--group", "demo",
                    stdout=asyncio.subprocess.PIPE,
                )
            )  # fmt: skip
        for proc in procs:
            assert proc.stdout is not None
            json.loads(await proc.stdout.readline())  # the node's ready line
        clients = [Client(u) for u in urls]
        try:
            return await _drive(urls, clients, keys, duration, concurrency)
        finally:
            for c in clients:
                await c.aclose()
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in procs:
            await proc.wait()


async def _drive(
    urls: list[str], clients: list[Client], keys: int, duration: float, concurrency: int
) -> int:
    rng = random.Random(42)
    requested: Counter[str] = Counter()

    async def one(key: str) -> None:
        value = await rng.choice(clients).get("demo", key)
        assert value == f"value of {key}".encode(), (key, value)
        requested[key] += 1

    print("stampede: 1000 concurrent gets of one cold key, spread over all nodes")
    t0 = time.perf_counter()
    await asyncio.gather(*(one("stampede") for _ in range(1000)))
    print(f"  served in {(time.perf_counter() - t0) * 1000:.0f} ms")
    hot = [f"hot-{i}" for i in range(10)]
    cold = [f"cold-{i}" for i in range(keys)]
    deadline = time.perf_counter() + duration
    print(
        f"mixed workload for {duration:.0f} s, {concurrency} gets in flight: 80% of gets on "
        f"10 hot keys, 20% on {keys} cold"
    )

    async def worker() -> None:
        while time.perf_counter() < deadline:
            await one(rng.choice(hot) if rng.random() < 0.8 else rng.choice(cold))

    async def progress() -> None:  # rewritten in place: only where a terminal shows it
        start = time.perf_counter()
        while time.perf_counter() < deadline:
            await asyncio.sleep(1)
            done = sum(requested.values())
            print(f"\r  {time.perf_counter() - start:4.0f} s  {done:7d} gets", end="", flush=True)
        print()

    tasks = [worker() for _ in range(concurrency)]
    if sys.stdout.isatty():
        tasks.append(progress())
    await asyncio.gather(*tasks)
    round_trips = []
    for i in range(200):  # one at a time: a client round trip, no queueing in this process
        t0 = time.perf_counter()
        await one(hot[i % len(hot)])
        round_trips.append(time.perf_counter() - t0)
    return await _report(urls, requested, sorted(round_trips))


async def _report(urls: list[str], requested: Counter[str], round_trips: list[float]) -> int:
    async with aiohttp.ClientSession() as session:
        nodes = []
        for url in urls:
            async with session.get(url + "/stats") as resp:
                nodes.append(await resp.json())
    print()
    print(f"{'node':<24}{'gets served':>13}{'hit rate':>10}{'origin calls':>14}")
    served_total = hits_total = 0
    for url, node in zip(urls, nodes, strict=True):
        served = sum(kind["count"] for kind in node["served"].values())
        hits = node["served"]["hit"]["count"]
        loads = node["groups"]["demo"]["stats"]["local_loads"]
        served_total, hits_total = served_total + served, hits_total + hits
        print(f"{url:<24}{served:>13}{hits / max(served, 1):>10.1%}{loads:>14}")
    loads = sum(n["groups"]["demo"]["stats"]["local_loads"] for n in nodes)
    print(f"{'cluster':<24}{served_total:>13}{hits_total / max(served_total, 1):>10.1%}{loads:>14}")
    saved = (served_total - loads) * ORIGIN_DELAY
    print(
        f"origin calls saved: {served_total - loads} of {served_total} gets, "
        f"{saved:.0f} s of origin time at {ORIGIN_DELAY * 1000:.0f} ms a call"
    )
    print("\nlatency where each get was served (on its node):")
    print(f"{'kind':<14}{'gets':>9}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}")
    for kind, label in (("hit", "local hit"), ("peer", "peer fetch"), ("origin", "origin load")):
        count = sum(n["served"][kind]["count"] for n in nodes)
        worst = [max(n["served"][kind][q] for n in nodes) for q in ("p50_ms", "p90_ms", "p99_ms")]
        print(f"{label:<14}{count:>9}{worst[0]:>10.2f}{worst[1]:>10.2f}{worst[2]:>10.2f}")
    print("  (the slowest node's percentiles; origin loads include the 20 ms origin)")
    ms = [_percentile(round_trips, q) * 1000 for q in (0.5, 0.99)]
    print(f"client round trip, 1 in flight (hot keys): p50 {ms[0]:.2f} ms  p99 {ms[1]:.2f} ms")
    errors = sum(
        n["groups"]["demo"]["stats"]["peer_errors"]
        + n["groups"]["demo"]["stats"]["local_load_errs"]
        for n in nodes
    )
    print(
        f"\n{sum(requested.values())} gets of {len(requested)} distinct keys; origin loads: {loads}"
    )
    ok = loads == len(requested) and errors == 0
    print(f"every key loaded exactly once cluster-wide: {'yes' if ok else 'NO'}")
    return 0 if ok else 1

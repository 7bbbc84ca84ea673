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


async def run_demo(nodes: int, keys: int, duration: float, concurrency: int = 64) -> int:
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
    latencies: list[float] = []

    async def one(key: str) -> None:
        t0 = time.perf_counter()
        value = await rng.choice(clients).get("demo", key)
        latencies.append(time.perf_counter() - t0)
        assert value == f"value of {key}".encode(), (key, value)
        requested[key] += 1

    print("stampede: 1000 concurrent gets of one cold key, spread over all nodes")
    t0 = time.perf_counter()
    await asyncio.gather(*(one("stampede") for _ in range(1000)))
    print(f"  served in {(time.perf_counter() - t0) * 1000:.0f} ms")
    hot = [f"hot-{i}" for i in range(10)]
    cold = [f"cold-{i}" for i in range(keys)]
    deadline = time.perf_counter() + duration
    print(f"mixed workload for {duration:.0f} s: 80% of gets on 10 hot keys, 20% on {keys} cold")

    async def worker() -> None:
        while time.perf_counter() < deadline:
            await one(rng.choice(hot) if rng.random() < 0.8 else rng.choice(cold))

    async def progress() -> None:
        start = time.perf_counter()
        while time.perf_counter() < deadline:
            await asyncio.sleep(1)
            done = sum(requested.values())
            print(f"\r  {time.perf_counter() - start:4.0f} s  {done:7d} gets", end="", flush=True)
        print()

    await asyncio.gather(progress(), *(worker() for _ in range(concurrency)))
    return await _report(urls, requested, latencies)


async def _report(urls: list[str], requested: Counter[str], latencies: list[float]) -> int:
    async with aiohttp.ClientSession() as session:
        stats = []
        for url in urls:
            async with session.get(url + "/stats") as resp:
                stats.append((await resp.json())["groups"]["demo"]["stats"])
    print()
    print(f"{'node':<24}{'gets':>9}{'hits':>9}{'peer loads':>12}{'local loads':>13}{'served':>9}")
    for url, s in zip(urls, stats, strict=True):
        print(
            f"{url:<24}{s['gets']:>9}{s['cache_hits']:>9}{s['peer_loads']:>12}"
            f"{s['local_loads']:>13}{s['server_requests']:>9}"
        )
    latencies.sort()
    ms = [_percentile(latencies, q) * 1000 for q in (0.5, 0.9, 0.99)]
    print(f"\nclient latency: p50 {ms[0]:.2f} ms  p90 {ms[1]:.2f} ms  p99 {ms[2]:.2f} ms")
    loads = sum(s["local_loads"] for s in stats)
    errors = sum(s["peer_errors"] + s["local_load_errs"] for s in stats)
    print(
        f"{sum(requested.values())} gets of {len(requested)} distinct keys; origin loads: {loads}"
    )
    ok = loads == len(requested) and errors == 0
    print(f"every key loaded exactly once cluster-wide: {'yes' if ok else 'NO'}")
    return 0 if ok else 1

"""Measuring one series of bench_peer_fetch: gets in flight against a server process.

Every series (ours plain and batched, the floor, the Go owner, Redis) is measured by
:func:`measure` alike: ``concurrency`` tasks call ``get(key)`` in turn over :data:`KEYS`
for a fixed time, the best of :data:`REPEATS` runs by req/s; the requester's CPU is this
process's, the owner's is the server process's (``/proc/PID/stat``), both per request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from _common import percentile
from _procs import proc_cpu_seconds

VALUE = b"v" * 100
KEYS = [f"key-{i}" for i in range(1000)]
MAX_OPS = 10_000_000  # a bound on top of the time limit
REPEATS = 3

Get = Callable[[str], Awaitable[object]]


@dataclass
class Sample:
    """The best run of one series at one concurrency on one loop."""

    series: str
    loop: str
    concurrency: int
    rate: float
    p50_us: float
    p99_us: float
    client_cpu_us: float
    server_cpu_us: float


async def drive(
    get: Get, concurrency: int, seconds: float
) -> tuple[int, float, list[float], float]:
    """Run ``concurrency`` workers for ``seconds``; return ops, elapsed, latencies, CPU s."""
    done = 0
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        nonlocal done
        i = offset
        while done < MAX_OPS:
            t0 = time.perf_counter()
            if t0 >= deadline:
                break
            await get(KEYS[i % len(KEYS)])
            latencies.append(time.perf_counter() - t0)
            done += 1
            i += concurrency

    cpu0 = time.process_time()
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - t0
    return done, elapsed, latencies, time.process_time() - cpu0


async def measure(
    series: str, loop: str, get: Get, concurrency: int, seconds: float, server_pid: int
) -> Sample:
    """Warm up, then return the best of :data:`REPEATS` runs of ``seconds`` each."""
    await drive(get, concurrency, min(0.3, seconds / 4))  # connections, caches, JIT-free warmup
    best: Sample | None = None
    for _ in range(REPEATS):  # the best of REPEATS runs: the machine is shared
        srv0 = proc_cpu_seconds(server_pid)
        done, elapsed, lat, cpu = await drive(get, concurrency, seconds)
        srv = proc_cpu_seconds(server_pid) - srv0
        lat.sort()
        sample = Sample(
            series,
            loop,
            concurrency,
            done / elapsed,
            percentile(lat, 50) * 1e6,
            percentile(lat, 99) * 1e6,
            cpu / done * 1e6,
            srv / done * 1e6,
        )
        if best is None or sample.rate > best.rate:
            best = sample
    assert best is not None
    return best

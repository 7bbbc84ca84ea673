"""Peer fetch throughput: a client node fetching from an owner in another process.

Usage: .venv/bin/python benchmarks/bench_peer_fetch.py [--seconds S] [--concurrency 1,32]

The owner process serves group "bench" with every value already cached; the client's
group has hot_cache="never", so every get is one HTTP round trip to the owner.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import groupcache

VALUE = b"v" * 100


async def serve() -> None:
    async def getter(key: str) -> bytes:
        return VALUE

    ws = groupcache.Workspace()
    groupcache.Group("bench", getter, 256 << 20, workspace=ws)
    pool = groupcache.HTTPPool("http://127.0.0.1:0", workspace=ws)
    url = await pool.start("127.0.0.1", 0)
    print(url, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until EOF
    await pool.aclose()


async def measure(url: str, concurrency: int, seconds: float) -> tuple[float, float]:
    async def never(key: str) -> bytes:
        raise AssertionError("the owner should serve every key")

    with groupcache.Workspace() as ws:
        group = groupcache.Group("bench", never, 1 << 20, workspace=ws, hot_cache="never")
        async with groupcache.HTTPPool("http://127.0.0.1:1", workspace=ws) as pool:
            pool.set_peers(url)
            keys = [f"key-{i}" for i in range(1000)]
            for k in keys:  # warm the owner's cache and the connections
                await group.get(k)
            done = 0
            latencies: list[float] = []
            deadline = time.perf_counter() + seconds

            async def worker(offset: int) -> None:
                nonlocal done
                i = offset
                while time.perf_counter() < deadline:
                    t0 = time.perf_counter()
                    await group.get(keys[i % len(keys)])
                    latencies.append(time.perf_counter() - t0)
                    done += 1
                    i += concurrency

            t0 = time.perf_counter()
            await asyncio.gather(*(worker(i) for i in range(concurrency)))
            elapsed = time.perf_counter() - t0
            latencies.sort()
            assert group.stats().peer_errors == 0
            return done / elapsed, latencies[len(latencies) // 2] * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", default="1,32")
    args = parser.parse_args()
    if args.serve:
        await serve()
        return
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    url = (await proc.stdout.readline()).decode().strip()
    try:
        for c in (int(x) for x in args.concurrency.split(",")):
            rate, p50 = await measure(url, c, args.seconds)
            print(f"groupcache peer fetch  c={c:<3} {rate:9.0f} req/s  p50 {p50:7.0f} us")
    finally:
        proc.stdin.close()
        await proc.wait()


if __name__ == "__main__":
    asyncio.run(main())

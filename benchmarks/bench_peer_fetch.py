"""Peer fetch: ours against the transport floor, a Go owner and redis.asyncio GET.

Usage: .venv/bin/python benchmarks/bench_peer_fetch.py [--seconds S]
       [--concurrency 1,8,32,64,128] [--loop asyncio,uvloop] [--server auto|lean|aiohttp]
       [--no-go] [--no-redis] [--plot PNG] [--quick] [--no-record]

The requester (this process) and the owner are separate processes on 127.0.0.1; values
are 100 bytes. Series:

* groupcache: an owner process serves group "bench" with every value cached
  (``HTTPPool(server=...)`` of ``--server``, default ``auto``: the lean server); the
  client's group has hot_cache="never" and ``HTTPPool(..., batch=False)``, so every get
  is one HTTP GET round trip, as Go peers are always served.
* batched: the same with ``batch=True`` (the default): concurrent misses for the owner
  share ``POST .../_get-keys/`` requests.
* floor: a bare ``asyncio.Protocol`` client and server exchanging the very bytes of the
  groupcache series' GET and reply, recorded from it in this run (benchmarks/_floor.py).
* go-owner: the groupcache series' client against a golang/groupcache owner process
  (the interop tests' Go peer, built with the Go toolchain; benchmarks/_go_owner.py).
* redis: redis.asyncio GET (default parser; a pool of max(concurrency) connections) of
  100-byte values from a redis-server this script starts on a free port, stopped by PID.

Each series runs at every concurrency (tasks in flight) on each loop of ``--loop``, the
owner process (but Go's and Redis's) on the same loop as the client; each point is the
best of 3 runs, for every series alike. Prints req/s, p50, p99, the requester's and the
owner's CPU per request, the ratios to Redis and to the floor, and the targets of issue
15 (benchmarks/_fetch_report.py) with MET / NOT MET. Draws ``benchmarks/peer_fetch.png``
(not with --no-record, unless --plot is given).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Literal, get_args

from _common import BENCH_DIR, Report, add_common_args, available_loops, optional_module, run
from _fetch import KEYS, VALUE, Sample, measure
from _fetch_report import GO, REDIS, check_targets, plot, print_table
from _floor import Exchange, capture_exchange, floor_command, floor_series
from _go_owner import go_owner_binary, go_owner_series
from _procs import RedisServer, redis_server, start_server_process, stop_server_process

import groupcache

Server = Literal["auto", "lean", "aiohttp"]  # HTTPPool(server=...)


# -- the owner process ----------------------------------------------------------------


async def serve(server: Server) -> None:
    """The owner: print ``URL SERVER`` (what serves, e.g. ``lean``), serve until stdin ends."""

    async def getter(key: str) -> bytes:
        return VALUE

    ws = groupcache.Workspace()
    groupcache.Group("bench", getter, 256 << 20, workspace=ws)
    pool = groupcache.HTTPPool("http://127.0.0.1:0", workspace=ws, server=server)
    url = await pool.start("127.0.0.1", 0)
    print(url, pool.server, flush=True)
    try:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until EOF
    finally:
        await pool.aclose()
        ws.close()


# -- the series -----------------------------------------------------------------------


async def groupcache_series(
    series: str, loop: str, url: str, pid: int, levels: list[int], seconds: float, batch: bool
) -> list[Sample]:
    async def never(key: str) -> bytes:
        raise AssertionError("the owner should serve every key")

    samples = []
    with groupcache.Workspace() as ws:
        group = groupcache.Group("bench", never, 1 << 20, workspace=ws, hot_cache="never")
        pool = groupcache.HTTPPool("http://127.0.0.1:1", workspace=ws, batch=batch)
        async with pool:
            pool.set_peers(url)
            for k in KEYS:  # warm the owner's cache
                assert await group.get(k) == VALUE
            for c in levels:
                samples.append(await measure(series, loop, group.get, c, seconds, pid))
            stats = group.stats()
            if stats.peer_errors or stats.local_loads:
                raise RuntimeError(f"{series}: not every get was a peer fetch: {stats}")
    return samples


async def redis_series(
    loop: str, server: RedisServer, levels: list[int], seconds: float
) -> list[Sample]:
    aioredis = optional_module("redis.asyncio")
    assert aioredis is not None
    # redis-py's pool holds 100 connections by default and raises beyond: allow one per
    # request in flight (the most favourable setting for Redis).
    client = aioredis.Redis(host="127.0.0.1", port=server.port, max_connections=max(levels))
    try:
        for k in KEYS:
            await client.set(k, VALUE)
        assert await client.get(KEYS[0]) == VALUE
        return [await measure("redis", loop, client.get, c, seconds, server.pid) for c in levels]
    finally:
        await client.aclose()


def ours_and_floor(
    loop: str, levels: list[int], seconds: float, server: Server
) -> tuple[list[Sample], Exchange, str]:
    """Our plain and batched series against an owner process on ``loop``, then the floor
    exchanging the bytes recorded from that owner; also what served (``lean``...)."""
    cmd = [sys.executable, __file__, "--serve", "--loop", loop, "--server", server]
    proc, line = start_server_process(cmd)
    url, served = line.split()
    try:
        exchange = run(capture_exchange(url), loop)
        samples = run(
            groupcache_series("groupcache", loop, url, proc.pid, levels, seconds, False), loop
        )
        samples += run(
            groupcache_series("batched", loop, url, proc.pid, levels, seconds, True), loop
        )
    finally:
        stop_server_process(proc)
    proc, url = start_server_process(floor_command(loop, exchange))
    try:
        samples += run(floor_series(loop, url, proc.pid, exchange, levels, seconds), loop)
    finally:
        stop_server_process(proc)
    return samples, exchange, served


# -- main -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=1.0, help="per run; best of 3 runs")
    parser.add_argument("--concurrency", default="1,8,32,64,128")
    parser.add_argument("--loop", default="asyncio,uvloop")
    parser.add_argument(
        "--server", default="auto", choices=get_args(Server), help="our owner's HTTPPool(server=)"
    )
    parser.add_argument("--no-go", action="store_true", help="no Go owner series")
    parser.add_argument("--no-redis", action="store_true", help="no Redis series")
    parser.add_argument("--plot", type=Path, default=None)
    add_common_args(parser)
    args = parser.parse_args()
    if args.serve:
        run(serve(args.server), args.loop)
        return
    if args.quick:
        args.seconds = 0.1
        if args.concurrency == parser.get_default("concurrency"):
            args.concurrency = "1,32"
    report = Report("peer fetch")
    levels = [int(x) for x in args.concurrency.split(",")]
    loops = available_loops(args.loop)
    missing: dict[str, str] = {}  # a baseline series not measured: why
    go_binary, why = (None, "--no-go was given") if args.no_go else go_owner_binary()
    if go_binary is None:
        missing[GO] = why
        report.print(f"no Go owner series: {why}")
    samples: list[Sample] = []
    exchange: Exchange | None = None
    with contextlib.ExitStack() as stack:
        server, why = (None, "--no-redis was given") if args.no_redis else redis_or_none(stack)
        if server is None:
            missing[REDIS] = why
            report.print(f"no Redis series: {why}")
        for loop in loops:
            found, exchange, served = ours_and_floor(loop, levels, args.seconds, args.server)
            report.print(f"our owner ({loop}): HTTPPool(server={args.server!r}) served by {served}")
            samples += found
            if go_binary is not None:
                samples += run(go_owner_series(loop, go_binary, levels, args.seconds), loop)
            if server is not None:
                samples += run(redis_series(loop, server, levels, args.seconds), loop)
    if exchange is not None:
        report.print(
            f"the floor's exchange: a {len(exchange.request)}-byte request "
            f"{exchange.request[:60]!r}..., a {len(exchange.response)}-byte response"
        )
    print_table(report, samples, args.seconds)
    check_targets(report, samples, missing)
    path = (
        args.plot
        if args.plot is not None
        else (None if args.no_record else BENCH_DIR / "peer_fetch.png")
    )
    if path is not None:
        plot(samples, path)
    report.record(not args.no_record)


def redis_or_none(stack: contextlib.ExitStack) -> tuple[RedisServer | None, str]:
    """Start redis-server (stopped by PID when ``stack`` closes) when it and redis-py are
    installed: the server, or None and why not."""
    if optional_module("redis.asyncio") is None:
        return None, "redis-py is not installed (pip install -e '.[bench]')"
    try:
        return stack.enter_context(redis_server()), ""
    except RuntimeError as exc:
        return None, str(exc)


if __name__ == "__main__":
    main()

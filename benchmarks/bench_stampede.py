"""Stampede: concurrent gets of one cold key over 3 node processes.

Usage: .venv/bin/python benchmarks/bench_stampede.py [--gets 1000] [--rounds 3]
       [--origin-ms 50] [--quick] [--no-record]

Starts 3 ``python -m groupcache serve`` nodes (getter: ``slow_origin`` below, which sleeps
``--origin-ms`` like a database), sends ``--gets`` concurrent gets of one cold key spread
evenly over the 3 nodes, and reports the getter calls (the growth of ``local_loads`` in
each node's ``GET /stats``; must be 1) and the time to serve every get. The gets are sent
as ``groupcache.Client`` sends them, but on one aiohttp session without a connection
limit (Client's own session allows 100 connections), so that all of them are in flight
at once against either kind of node. The baseline is the same stampede against 3 naive
nodes: a dict cache per node with no singleflight and no owner, where every concurrent
miss calls the origin. Each round uses a new cold key.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from _common import BENCH_DIR, Report, add_common_args, percentile, run
from _procs import read_line, stop_process
from aiohttp import web

import groupcache
from tests.support.net import free_ports

GROUP = "stampede"
CLIENT_HEADER = "X-Groupcache-Client"  # a client's get, routed by the node to the owner
NODES = 3
ORIGIN_DELAY = float(os.environ.get("BENCH_ORIGIN_MS", "50")) / 1000.0


async def slow_origin(key: str) -> bytes:
    """The getter of every node: a slow origin (``BENCH_ORIGIN_MS``, default 50 ms)."""
    await asyncio.sleep(ORIGIN_DELAY)
    return f"value of {key}".encode().ljust(100, b".")


# -- naive node: dict cache, no singleflight ------------------------------------------


def naive_node(port: int) -> None:
    cache: dict[str, bytes] = {}
    calls = 0

    async def get(request: web.Request) -> web.Response:
        nonlocal calls
        key = request.match_info["key"]
        value = cache.get(key)
        if value is None:  # every concurrent miss goes to the origin
            calls += 1
            value = await slow_origin(key)
            cache[key] = value
        return web.Response(body=value)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"calls": calls})

    async def serve() -> None:
        app = web.Application()
        app.router.add_get("/get/{key}", get)
        app.router.add_get("/stats", stats)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", port).start()
            print(json.dumps({"url": f"http://127.0.0.1:{port}"}), flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # to EOF
        finally:
            await runner.cleanup()

    run(serve())


# -- driving a stampede ---------------------------------------------------------------


@dataclass
class Round:
    calls: int
    wall_ms: float
    p50_ms: float
    p99_ms: float


def start_nodes(naive: bool) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    ports = free_ports(NODES)
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(BENCH_DIR), os.environ.get("PYTHONPATH", "")])
    )
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for port, url in zip(ports, urls, strict=True):
            if naive:
                cmd = [sys.executable, __file__, "--naive-node", str(port)]
            else:
                cmd = [
                    sys.executable, "-m", "groupcache", "serve",
                    "--self", url,
                    "--peers", ",".join(urls),
                    "--getter", "bench_stampede:slow_origin",
                    "--group", GROUP,
                ]  # fmt: skip
            procs.append(
                subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
            )
        for proc in procs:
            read_line(proc, 30.0)
    except BaseException:
        stop_nodes(procs)
        raise
    return procs, urls


def stop_nodes(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.stdin is not None:
            proc.stdin.close()  # the naive node stops at EOF
        stop_process(proc)  # groupcache serve stops at SIGTERM
        if proc.stdout is not None:
            proc.stdout.close()


async def stampede(
    gets: int, getters: list[Callable[[str], Awaitable[bytes]]], key: str
) -> tuple[float, list[float]]:
    latencies: list[float] = []

    async def one(i: int) -> None:
        t0 = time.perf_counter()
        value = await getters[i % len(getters)](key)
        latencies.append(time.perf_counter() - t0)
        assert b"value of " in value, value

    t0 = time.perf_counter()
    async with asyncio.timeout(60):
        await asyncio.gather(*(one(i) for i in range(gets)))
    return time.perf_counter() - t0, sorted(latencies)


async def run_rounds(naive: bool, urls: list[str], gets: int, rounds: int) -> list[Round]:
    results: list[Round] = []
    # No connection limit, so that every get is in flight at once, on either kind of node.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def calls() -> int:
            total = 0
            for url in urls:
                async with session.get(url + "/stats") as resp:
                    body = await resp.json()
                total += body["calls"] if naive else body["groups"][GROUP]["stats"]["local_loads"]
            return total

        def node_get(url: str) -> Callable[[str], Awaitable[bytes]]:
            async def get(key: str) -> bytes:
                async with session.get(f"{url}{path}{key}", headers=headers) as resp:
                    body = await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"{url}: status {resp.status}: {body!r}")
                    return body

            return get

        # What groupcache.Client sends (the node routes the get to the key's owner); the
        # body is a protobuf GetResponse holding the value.
        path = "/get/" if naive else f"{groupcache.DEFAULT_BASE_PATH}{GROUP}/"
        headers = {} if naive else {CLIENT_HEADER: "1"}
        getters = [node_get(u) for u in urls]
        for _ in range(2):  # open and pool one connection per get; load the warm-up key
            await stampede(gets, getters, "warmup")
        for _ in range(rounds):
            before = await calls()
            wall, lat = await stampede(gets, getters, f"cold-{uuid.uuid4().hex}")
            results.append(
                Round(
                    await calls() - before,
                    wall * 1e3,
                    percentile(lat, 50) * 1e3,
                    percentile(lat, 99) * 1e3,
                )
            )
    return results


def measure(naive: bool, gets: int, rounds: int) -> list[Round]:
    procs, urls = start_nodes(naive)
    try:
        return run(run_rounds(naive, urls, gets, rounds))
    finally:
        stop_nodes(procs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--naive-node", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--gets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--origin-ms", type=float, default=None)
    add_common_args(parser)
    args = parser.parse_args()
    if args.naive_node is not None:
        naive_node(args.naive_node)
        return
    if args.origin_ms is not None:  # the node processes read it from the environment
        os.environ["BENCH_ORIGIN_MS"] = str(args.origin_ms)
    if args.quick:
        args.rounds = 1
        if args.gets == parser.get_default("gets"):
            args.gets = 300
    origin_ms = float(os.environ.get("BENCH_ORIGIN_MS", "50"))
    report = Report("stampede")
    report.print(
        f"{args.gets} concurrent gets of one cold key, spread over {NODES} node processes; "
        f"origin {origin_ms:g} ms; {args.rounds} rounds, each with a new key"
    )
    report.print(f"{'nodes':<28} {'getter calls':>12} {'wall ms':>8} {'p50 ms':>7} {'p99 ms':>7}")
    rows = {}
    for naive, label in ((False, "groupcache serve x3"), (True, "naive dict cache x3")):
        rows[naive] = measure(naive, args.gets, args.rounds)
        for r in rows[naive]:
            report.print(
                f"{label:<28} {r.calls:>12} {r.wall_ms:8.1f} {r.p50_ms:7.1f} {r.p99_ms:7.1f}"
            )
    gc_calls = [r.calls for r in rows[False]]
    naive_calls = sum(r.calls for r in rows[True]) / len(rows[True])
    best = min(r.wall_ms for r in rows[False])
    naive_best = min(r.wall_ms for r in rows[True])
    report.print(
        f"getter calls avoided per stampede: {naive_calls - sum(gc_calls) / len(gc_calls):.0f} "
        f"of {naive_calls:.0f}; best wall time {best:.1f} ms vs {naive_best:.1f} ms naive "
        f"({best / naive_best:.2f}x)"
    )
    report.print(
        "naive calls < gets when the driver (one process) is still sending gets after the "
        "first origin call has filled the dict"
    )
    report.target(
        "one getter call per stampede", all(c == 1 for c in gc_calls), f"calls per round {gc_calls}"
    )
    report.record(not args.no_record)


if __name__ == "__main__":
    main()

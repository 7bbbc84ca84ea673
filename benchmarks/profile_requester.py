"""The requester's Python cost per plain GET, without the kernel: a profiling aid for
issue 15, not a benchmark of record (it writes nothing to RESULTS.md).

Usage: .venv/bin/python benchmarks/profile_requester.py [--loop asyncio,uvloop]
       [--concurrency 1,32] [--gets N] [--rounds N] [--profile]

Our ``Group.get`` through ``HTTPPool(batch=False)`` and the floor's client
(benchmarks/_floor.py) both talk to a fake transport that answers every request, in the
next loop turn, with a recorded 100-byte-value reply of our owner. No socket, no
system call for the exchange: what is left is the Python and event-loop work of each
path, the part this code can change. Prints microseconds of CPU per get (the best of
``--rounds``) and their ratio; ``--profile`` adds a cProfile of our path, by own time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
from collections.abc import Callable
from typing import Any

from _common import available_loops, run
from _fetch import KEYS, VALUE, Get
from _floor import Exchange, FloorClient

import groupcache

REPLY = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nX-Groupcache-Batch: 1\r\n"
    b"Date: Tue, 08 Dec 2026 04:07:19 GMT\r\nContent-Length: 104\r\n\r\n"
    b"\n" + bytes([len(VALUE)]) + VALUE + b"\x18\x00"
)
"""Our owner's reply to a GET of a 100-byte value, as bench_peer_fetch records it."""
HOST = "127.0.0.1:9"


class FakeTransport(asyncio.Transport):
    """Answers every write with :data:`REPLY` in the next loop turn."""

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: asyncio.Protocol) -> None:
        super().__init__()
        self._loop = loop
        self._protocol = protocol
        self._closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._loop.call_soon(self._protocol.data_received, REPLY)

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            self._loop.call_soon(self._protocol.connection_lost, None)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def fake_connections(loop: asyncio.AbstractEventLoop) -> None:
    """Make ``loop.create_connection`` open a :class:`FakeTransport`."""

    async def create_connection(
        factory: Callable[[], asyncio.Protocol], *args: Any, **kwargs: Any
    ) -> tuple[asyncio.Transport, asyncio.Protocol]:
        protocol = factory()
        transport = FakeTransport(loop, protocol)
        protocol.connection_made(transport)
        return transport, protocol

    loop.create_connection = create_connection  # type: ignore[method-assign,assignment]


async def cpu_per_get(get: Get, concurrency: int, gets: int) -> float:
    """Microseconds of this process's CPU per get, ``gets`` gets in ``concurrency`` tasks."""
    per_task = max(1, gets // concurrency)

    async def worker(offset: int) -> None:
        for j in range(per_task):
            await get(KEYS[(offset + j * concurrency) % len(KEYS)])

    cpu0 = time.process_time()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return (time.process_time() - cpu0) / (per_task * concurrency) * 1e6


async def measure(
    concurrency: int, gets: int, rounds: int, profile: bool
) -> tuple[float, float, pstats.Stats | None]:
    """(ours, floor) microseconds of CPU per get, and our path's profile if asked."""
    fake_connections(asyncio.get_running_loop())

    async def never(key: str) -> bytes:
        raise AssertionError("every get goes to the fake owner")

    exchange = Exchange(
        f"GET /_groupcache/bench/{KEYS[0]} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode(),
        REPLY,
        HOST.encode(),
        KEYS[0].encode(),
    )
    floor = FloorClient(f"http://{HOST}", exchange)
    with groupcache.Workspace() as ws:
        group = groupcache.Group("bench", never, 1 << 20, workspace=ws, hot_cache="never")
        async with groupcache.HTTPPool("http://127.0.0.1:1", workspace=ws, batch=False) as pool:
            pool.set_peers(f"http://{HOST}")
            if await group.get(KEYS[1]) != VALUE:
                raise RuntimeError("the fake owner's reply did not decode to the value")
            ours, theirs = float("inf"), float("inf")
            for _ in range(max(1, rounds)):  # interleaved, the best of each
                ours = min(ours, await cpu_per_get(group.get, concurrency, gets))
                theirs = min(theirs, await cpu_per_get(floor.get, concurrency, gets))
            stats = None
            if profile:
                profiler = cProfile.Profile()
                profiler.enable()
                await cpu_per_get(group.get, concurrency, gets)
                profiler.disable()
                stats = pstats.Stats(profiler)
    floor.close()
    return ours, theirs, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loop", default="asyncio,uvloop")
    parser.add_argument("--concurrency", default="1,32")
    parser.add_argument("--gets", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print("requester CPU per plain GET against a fake transport (no system calls), best of")
    print(f"{args.rounds} x {args.gets} gets; floor = benchmarks/_floor.py's client")
    print("loop         c     ours us   floor us   ours/floor")
    for loop in available_loops(args.loop):
        for c in (int(x) for x in args.concurrency.split(",")):
            ours, floor, stats = run(measure(c, args.gets, args.rounds, args.profile), loop)
            print(f"{loop:<10} {c:>3} {ours:>10.2f} {floor:>10.2f} {ours / floor:>11.2f}x")
            if stats is not None:
                stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()

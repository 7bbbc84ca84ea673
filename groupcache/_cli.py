"""The ``groupcache`` command line: ``demo`` (the README's main job)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence

from ._group import Group
from ._workspace import Workspace


async def _demo(keys: int, gets: int, delay: float) -> int:
    loads: dict[str, int] = {}

    async def slow_origin(key: str) -> bytes:
        loads[key] = loads.get(key, 0) + 1
        await asyncio.sleep(delay)  # a simulated slow backend
        return f"value-of-{key}".encode()

    with Workspace() as ws:
        group = Group("demo", slow_origin, 1 << 20, workspace=ws)
        started = time.perf_counter()
        names = [f"key-{i % keys}" for i in range(gets)]
        values = await asyncio.gather(*(group.get(k) for k in names))
        elapsed = time.perf_counter() - started
        assert all(v == f"value-of-{k}".encode() for k, v in zip(names, values, strict=True))
        s = group.stats()
        main = group.cache_stats("main")
        print(f"{gets} concurrent gets of {keys} keys from a {delay * 1000:.0f} ms origin")
        print(f"  finished in {elapsed * 1000:.0f} ms")
        print(f"  gets={s.gets} cache_hits={s.cache_hits} loads={s.loads}")
        print(f"  loads_deduped={s.loads_deduped} local_loads={s.local_loads}")
        print(f"  main cache: {main.items} items, {main.bytes} bytes")
        once = all(n == 1 for n in loads.values()) and len(loads) == keys
        print(f"  every key loaded exactly once: {'yes' if once else 'NO'}")
        return 0 if once else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="groupcache", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="show a group filling itself from a slow origin")
    demo.add_argument("--keys", type=int, default=20)
    demo.add_argument("--gets", type=int, default=2000)
    demo.add_argument("--delay", type=float, default=0.05, help="origin latency in seconds")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return asyncio.run(_demo(args.keys, args.gets, args.delay))
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""One groupcache node in its own OS process, driven line by line over stdin/stdout.

Run as ``python tests/support/clusternode.py NAME [--delay S] [--hold-prefix P]
[--hot-cache POLICY] [--hot-qps RATE]`` or
``python -m tests.support.clusternode ...``. The node serves group ``"g"`` with an
:class:`~groupcache.HTTPPool` on ``127.0.0.1`` (a free port, default ``"mmh3"`` ring),
prints ``READY <url>`` and then answers each JSON command line with one JSON line:

- ``{"cmd": "peers", "urls": [...]}`` → ``pool.set_peers(urls)``; ``{"ok": true}``.
- ``{"cmd": "get", "keys": [...]}`` → every ``group.get(k)`` at once (keys may repeat);
  ``{"values": [str | null, ...], "errors": [repr | null, ...]}``, in the keys' order.
- ``{"cmd": "stats"}`` → ``{"stats": GroupStats as a dict, "calls": {key: getter calls},
  "hot": the hot cache's CacheStats as a dict}``.
- ``{"cmd": "owner", "key": k}`` → ``{"owner": url}``; with ``"keys"`` instead,
  ``{"owners": {key: url}}``.
- ``{"cmd": "wait_calls", "keys": [...]}`` → answers ``{"ok": true}`` once the getter has
  been entered for every one of the keys (an event wait, no polling).
- ``{"cmd": "quit"}`` → ``{"ok": true}``, closes the pool and exits 0 (as does EOF).

The getter returns ``f"{name}:{key}"`` after ``--delay`` seconds of simulated origin
latency, so the value tells which node loaded it. Keys starting with ``--hold-prefix``
never return: a request for one stays in flight until the process dies.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from collections import Counter
from typing import Any

import groupcache

GROUP = "g"


class Node:
    """The node's group, pool and getter bookkeeping."""

    def __init__(
        self,
        name: str,
        delay: float,
        hold_prefix: str | None,
        down_after: int,
        hot_cache: groupcache.HotCachePolicy = "always",
        hot_qps: float = groupcache.DEFAULT_HOT_QPS,
    ) -> None:
        self.name = name
        self.delay = delay
        self.hold_prefix = hold_prefix
        self.calls: Counter[str] = Counter()
        self._called = asyncio.Condition()
        self._never = asyncio.Event()
        self.workspace = groupcache.Workspace()
        self.group = groupcache.Group(
            GROUP,
            self.getter,
            1 << 20,
            workspace=self.workspace,
            hot_cache=hot_cache,
            hot_qps=hot_qps,
        )
        self.pool = groupcache.HTTPPool(
            "http://127.0.0.1:0", workspace=self.workspace, down_after=down_after
        )

    async def getter(self, key: str) -> bytes:
        self.calls[key] += 1
        async with self._called:
            self._called.notify_all()
        if self.hold_prefix is not None and key.startswith(self.hold_prefix):
            await self._never.wait()
        if self.delay > 0:
            await asyncio.sleep(self.delay)  # the origin's latency, not synchronisation
        return f"{self.name}:{key}".encode()

    async def get_one(self, key: str) -> tuple[str | None, str | None]:
        try:
            return (await self.group.get(key)).decode(), None
        except Exception as exc:
            return None, repr(exc)

    async def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        cmd = command.get("cmd")
        if cmd == "peers":
            self.pool.set_peers(list(command["urls"]))
            return {"ok": True}
        if cmd == "get":
            results = await asyncio.gather(*(self.get_one(k) for k in command["keys"]))
            return {"values": [v for v, _ in results], "errors": [e for _, e in results]}
        if cmd == "stats":
            return {
                "stats": dataclasses.asdict(self.group.stats()),
                "calls": dict(self.calls),
                "hot": dataclasses.asdict(self.group.cache_stats("hot")),
            }
        if cmd == "owner":
            if "keys" in command:
                return {"owners": {k: self.pool.owner(k) for k in command["keys"]}}
            return {"owner": self.pool.owner(command["key"])}
        if cmd == "wait_calls":
            keys = list(command["keys"])
            async with self._called:
                await self._called.wait_for(lambda: all(self.calls[k] > 0 for k in keys))
            return {"ok": True}
        return {"error": f"unknown command {cmd!r}"}


def write_line(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def reply(answer: dict[str, Any]) -> None:
    write_line(json.dumps(answer))


async def stdin_reader() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def serve(args: argparse.Namespace) -> None:
    node = Node(
        args.name, args.delay, args.hold_prefix, args.down_after, args.hot_cache, args.hot_qps
    )
    try:
        url = await node.pool.start("127.0.0.1", 0)
        reader = await stdin_reader()
        write_line(f"READY {url}")
        while line := await reader.readline():
            if not line.strip():
                continue
            command = json.loads(line)
            if command.get("cmd") == "quit":
                reply({"ok": True})
                break
            try:
                answer = await node.handle(command)
            except Exception as exc:
                answer = {"error": repr(exc)}
            reply(answer)
    finally:
        await node.pool.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("name", help="node name, the prefix of the values it loads")
    parser.add_argument("--delay", type=float, default=0.05, help="getter latency, seconds")
    parser.add_argument("--hold-prefix", default=None, help="keys whose getter never returns")
    parser.add_argument(
        "--down-after", type=int, default=3, help="failures that mark a peer down (0: never)"
    )
    parser.add_argument("--hot-cache", default="always", help="Group(hot_cache=...)")
    parser.add_argument(
        "--hot-qps", type=float, default=groupcache.DEFAULT_HOT_QPS, help="Group(hot_qps=...)"
    )
    args = parser.parse_args(argv)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
- ``{"cmd": "clear_all"}`` → ``await group.clear_all()``; ``{"ok": true}``.
- ``{"cmd": "advance", "seconds": s}`` → moves the node's clock (its group's) on by ``s``.
- ``{"cmd": "settle"}`` → answers once the group's background refreshes have ended.
- ``{"cmd": "quit"}`` → ``{"ok": true}``, closes the pool and exits 0 (as does EOF).

The getter returns ``f"{name}:{key}"`` after ``--delay`` seconds of simulated origin
latency, so the value tells which node loaded it. Keys starting with ``--hold-prefix``
never return: a request for one stays in flight until the process dies. With ``--ttl``,
a value expires that many seconds after its load (by the node's clock) with ``--grace``
seconds of stale-while-revalidate, and tells its getter call (``name:key#n``); keys
starting with ``--missing-prefix`` do not exist (``NotFoundError``), remembered for
``--negative-ttl`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import time
from collections import Counter
from typing import Any

import groupcache

GROUP = "g"


class Node:
    """The node's group, pool and getter bookkeeping."""

    def __init__(self, name: str, delay: float, hold_prefix: str | None, args: Any) -> None:
        self.name = name
        self.delay = delay
        self.hold_prefix = hold_prefix
        self.ttl: float | None = args.ttl
        self.grace: float = args.grace
        self.missing_prefix: str | None = args.missing_prefix
        self.offset = 0.0  # seconds the node's clock is ahead of time.time()
        self.calls: Counter[str] = Counter()
        self._called = asyncio.Condition()
        self._never = asyncio.Event()
        self.workspace = groupcache.Workspace()
        self.group = groupcache.Group(
            GROUP,
            self.getter,
            1 << 20,
            workspace=self.workspace,
            clock=self.clock,
            negative_ttl=args.negative_ttl,
            hot_cache=args.hot_cache,
            hot_qps=args.hot_qps,
        )
        down_after = args.down_after
        self.pool = groupcache.HTTPPool(
            "http://127.0.0.1:0", workspace=self.workspace, down_after=down_after
        )

    def clock(self) -> float:
        return time.time() + self.offset

    async def getter(self, key: str) -> bytes | groupcache.Value:
        self.calls[key] += 1
        async with self._called:
            self._called.notify_all()
        if self.hold_prefix is not None and key.startswith(self.hold_prefix):
            await self._never.wait()
        if self.delay > 0:
            await asyncio.sleep(self.delay)  # the origin's latency, not synchronisation
        if self.missing_prefix is not None and key.startswith(self.missing_prefix):
            raise groupcache.NotFoundError(f"{key} does not exist")
        if self.ttl is not None:
            data = f"{self.name}:{key}#{self.calls[key]}".encode()
            return groupcache.Value(data, self.clock() + self.ttl, grace=self.grace)
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
        if cmd == "clear_all":
            await self.group.clear_all()
            return {"ok": True}
        if cmd == "wait_calls":
            keys = list(command["keys"])
            async with self._called:
                await self._called.wait_for(lambda: all(self.calls[k] > 0 for k in keys))
            return {"ok": True}
        if cmd == "advance":
            self.offset += float(command["seconds"])
            return {"ok": True}
        if cmd == "settle":
            await asyncio.gather(*self.group._refresher._tasks.values(), return_exceptions=True)
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


async def serve(name: str, delay: float, hold_prefix: str | None, args: Any) -> None:
    node = Node(name, delay, hold_prefix, args)
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
    parser.add_argument("--ttl", type=float, default=None, help="values expire after, seconds")
    parser.add_argument("--grace", type=float, default=0.0, help="their grace, seconds")
    parser.add_argument("--missing-prefix", default=None, help="keys that do not exist")
    parser.add_argument("--negative-ttl", type=float, default=0.0, help="remember not-founds")
    parser.add_argument("--hot-cache", default="always", help="Group(hot_cache=...)")
    parser.add_argument(
        "--hot-qps", type=float, default=groupcache.DEFAULT_HOT_QPS, help="Group(hot_qps=...)"
    )
    args = parser.parse_args(argv)
    asyncio.run(serve(args.name, args.delay, args.hold_prefix, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

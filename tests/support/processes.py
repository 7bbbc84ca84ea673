"""Drive clusternode.py processes: start them, send JSON commands, stop them by PID.

Each node is ``tests/support/clusternode.py`` in its own interpreter (see its docstring
for the commands); :class:`Cluster` starts nodes and stops every one of them whatever
happened, and the helpers below ask several nodes at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

NODE_PROGRAM = Path(__file__).with_name("clusternode.py")
REPO_ROOT = Path(__file__).resolve().parents[2]
ANSWER_TIMEOUT = 20.0  # seconds a node may take to answer one command
QUIT_TIMEOUT = 5.0


class NodeProcess:
    """A running clusternode: its process, name, URL, and the command channel."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self.name = name
        self.proc = proc
        self.url = ""

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def _line(self) -> str:
        assert self.proc.stdout is not None
        async with asyncio.timeout(ANSWER_TIMEOUT):
            line = await self.proc.stdout.readline()
        if not line:
            await self.proc.wait()
            raise AssertionError(f"node {self.name} exited ({self.proc.returncode}) unasked")
        return line.decode().rstrip("\n")

    async def ready(self) -> str:
        line = await self._line()
        assert line.startswith("READY "), f"node {self.name} said {line!r}"
        self.url = line.removeprefix("READY ")
        return self.url

    async def send(self, command: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")
        await self.proc.stdin.drain()

    async def receive(self) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(await self._line())
        assert "error" not in answer, f"node {self.name}: {answer['error']}"
        return answer

    async def call(self, command: dict[str, Any]) -> dict[str, Any]:
        await self.send(command)
        return await self.receive()

    async def get(self, keys: Sequence[str]) -> dict[str, str]:
        """Get ``keys`` at once; assert none failed; return each key's value."""
        answer = await self.call({"cmd": "get", "keys": list(keys)})
        return values_of(self, keys, answer)

    async def stats(self) -> tuple[dict[str, int], Counter[str]]:
        answer = await self.call({"cmd": "stats"})
        return answer["stats"], Counter(answer["calls"])

    async def stop(self) -> None:
        """Quit politely, SIGKILL by PID if that fails; always reap and close the pipes."""
        proc = self.proc
        if proc.returncode is None:
            try:
                async with asyncio.timeout(QUIT_TIMEOUT):
                    await proc.communicate(b'{"cmd": "quit"}\n')
            except TimeoutError:
                pass
        if proc.returncode is None:
            os.kill(proc.pid, signal.SIGKILL)
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
        await proc.communicate()  # reads stdout to EOF and reaps the process


def values_of(node: NodeProcess, keys: Sequence[str], answer: dict[str, Any]) -> dict[str, str]:
    failed = {k: e for k, e in zip(keys, answer["errors"], strict=True) if e is not None}
    assert not failed, f"gets failed on node {node.name}: {failed}"
    values: dict[str, str] = {}
    for key, value in zip(keys, answer["values"], strict=True):
        assert values.setdefault(key, value) == value, f"{node.name}: {key} changed value"
    return values


class Cluster:
    """Starts nodes and stops every one of them, whatever happened."""

    def __init__(self) -> None:
        self.nodes: list[NodeProcess] = []

    async def start(self, *specs: Sequence[str]) -> list[NodeProcess]:
        """Start one node per ``(name, *options)`` at once; return them once all are READY."""
        path = [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
        started: list[NodeProcess] = []
        for name, *options in specs:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                str(NODE_PROGRAM),
                name,
                *options,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                cwd=REPO_ROOT,
                env=env,
            )
            node = NodeProcess(name, proc)
            self.nodes.append(node)
            started.append(node)
        await asyncio.gather(*(n.ready() for n in started))
        return started

    async def aclose(self) -> None:
        await asyncio.gather(*(n.stop() for n in self.nodes))


async def set_peers(nodes: Sequence[NodeProcess]) -> None:
    urls = [n.url for n in nodes]
    for node in nodes:
        await node.call({"cmd": "peers", "urls": urls})


async def owners(nodes: Sequence[NodeProcess], keys: Iterable[str]) -> dict[str, str]:
    """Return each key's owner's name; assert every node agrees on it."""
    keys = list(keys)
    by_url = {n.url: n.name for n in nodes}
    views = []
    for node in nodes:
        answer = await node.call({"cmd": "owner", "keys": keys})
        views.append({k: by_url[u] for k, u in answer["owners"].items()})
    for node, view in zip(nodes[1:], views[1:], strict=True):
        assert view == views[0], f"{node.name} and {nodes[0].name} disagree on owners"
    return views[0]


def pick(owned: dict[str, str], owner: str, count: int, taken: set[str]) -> list[str]:
    """Take ``count`` keys owned by ``owner`` that no other pick has taken."""
    keys = [k for k, o in owned.items() if o == owner and k not in taken][:count]
    assert len(keys) == count, f"too few candidate keys owned by {owner}"
    taken.update(keys)
    return keys

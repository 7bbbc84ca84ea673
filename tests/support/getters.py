"""Getters of the tests: ``CountingGetter`` (records its calls, optionally gated) and the
ones tests hand to ``groupcache serve --getter`` (``echo``, ``sync_echo``)."""

from __future__ import annotations

import asyncio
from collections import Counter

from groupcache import NotFoundError


class CountingGetter:
    """An async getter returning ``b"v:" + key``, counting calls, optionally gated."""

    def __init__(self, prefix: bytes = b"v:") -> None:
        self.prefix = prefix
        self.calls: Counter[str] = Counter()
        self.gate: asyncio.Event | None = None
        self.started = 0

    async def __call__(self, key: str) -> bytes:
        self.calls[key] += 1
        self.started += 1
        if self.gate is not None:
            await self.gate.wait()
        return self.prefix + key.encode("utf-8", "surrogateescape")

    @property
    def total(self) -> int:
        return sum(self.calls.values())


async def echo(key: str) -> bytes:
    if key.startswith("missing"):
        raise NotFoundError(f"{key} does not exist")
    if key.startswith("fail"):
        raise RuntimeError(f"origin failed for {key}")
    return f"echo:{key}".encode()


def sync_echo(key: str) -> bytes:
    return f"sync:{key}".encode()


NOT_CALLABLE = 42

"""Several HTTPPool nodes in one event loop on 127.0.0.1, for the HTTP tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from groupcache import Group, HTTPPool, Workspace
from tests.support.getters import CountingGetter


@dataclass
class Node:
    ws: Workspace
    group: Group
    pool: HTTPPool
    getter: CountingGetter

    @property
    def url(self) -> str:
        return self.pool.self_url


@contextlib.asynccontextmanager
async def cluster(
    n: int,
    *,
    getter: Callable[[int], CountingGetter] | None = None,
    join: bool = True,
    group_kwargs: dict[str, Any] | None = None,
    before_start: Callable[[int, HTTPPool], None] | None = None,
    **pool_kwargs: Any,
) -> AsyncIterator[list[Node]]:
    """Start ``n`` nodes, each with group "g"; with ``join`` they all know each other."""
    nodes: list[Node] = []
    try:
        for i in range(n):
            ws = Workspace()
            g = getter(i) if getter else CountingGetter(f"n{i}:".encode())
            group = Group("g", g, 1 << 20, workspace=ws, **(group_kwargs or {}))
            scheme = "https" if pool_kwargs.get("ssl") is not None else "http"
            pool = HTTPPool(f"{scheme}://127.0.0.1:0", workspace=ws, **pool_kwargs)
            nodes.append(Node(ws, group, pool, g))
            if before_start is not None:
                before_start(i, pool)
            await pool.start("127.0.0.1", 0)
        if join:
            for node in nodes:
                node.pool.set_peers(*(m.url for m in nodes))
        yield nodes
    finally:
        for node in nodes:
            await node.pool.aclose()
            node.ws.close()


def total_loads(nodes: list[Node]) -> int:
    return sum(node.getter.total for node in nodes)


def node_of(nodes: list[Node], url: str | None) -> Node:
    return next(n for n in nodes if n.url == url)

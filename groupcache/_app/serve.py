"""``groupcache serve``: a standalone node whose getter is named on the command line."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import importlib
import importlib.metadata
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from .._core.getter import Getter
from .._core.group import Group
from .._core.workspace import Workspace
from .._errors import GroupcacheError
from .._http.pool import HTTPPool
from ..metrics import registry_for, render

STATS_PATH = "/stats"
TOKEN_ENV = "GROUPCACHE_TOKEN"
"""Where ``groupcache serve`` finds the peers' token when no option gives it."""
DISCOVERY_ENTRY_POINTS = "groupcache.discovery"


class Closeable(Protocol):
    """What a discovery plugin returns: something to close at shutdown."""

    async def aclose(self) -> None:
        """Stop discovering."""
        ...


class DiscoveryPlugin(Protocol):
    """A module registered under the ``groupcache.discovery`` entry point."""

    def my_url(self, port: int) -> str:
        """Return this node's URL for peers listening on ``port``."""
        ...

    async def discover(self, pool: HTTPPool, *, selector: str, port: int) -> Closeable:
        """Start keeping ``pool``'s peers up to date."""
        ...


def load_discovery(name: str) -> DiscoveryPlugin:
    """Return the discovery plugin registered as ``name`` (``kube`` comes with kubegroup).

    Raises:
        GroupcacheError: no such plugin is installed.
    """
    for entry in importlib.metadata.entry_points(group=DISCOVERY_ENTRY_POINTS):
        if entry.name == name:
            plugin: DiscoveryPlugin = entry.load()
            return plugin
    raise GroupcacheError(f"no {name!r} discovery plugin is installed (it comes with kubegroup)")


def load_getter(spec: str) -> Getter[bytes]:
    """Import ``module:function`` and return the function.

    Raises:
        GroupcacheError: the spec is malformed, or names nothing callable.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise GroupcacheError(f"--getter must be module:function, not {spec!r}")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise GroupcacheError(f"cannot load getter {spec!r}: {exc}") from exc
    if not callable(target):
        raise GroupcacheError(f"getter {spec!r} is not callable")
    getter: Getter[bytes] = target
    return getter


def stats_json(pool: HTTPPool) -> tuple[str, bytes]:
    """Return the node's peers and every group's stats as a JSON body (``/stats``)."""
    groups = {
        g.name: {
            "stats": dataclasses.asdict(g.stats()),
            "main": dataclasses.asdict(g.cache_stats("main")),
            "hot": dataclasses.asdict(g.cache_stats("hot")),
        }
        for g in pool.workspace.groups()
    }
    health = [dataclasses.asdict(h) for h in pool.peer_health()]
    served = {kind: dataclasses.asdict(s) for kind, s in pool.served_latency().items()}
    body = {
        "self": pool.self_url,
        "peers": pool.peers,
        "health": health,
        "groups": groups,
        "served": served,
    }
    return "application/json; charset=utf-8", json.dumps(body).encode()


def split_listen(listen: str) -> tuple[str, int]:
    """Split ``host:port`` (``[v6]:port`` too).

    Raises:
        GroupcacheError: not ``host:port``.
    """
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise GroupcacheError(f"--listen must be host:port, not {listen!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


async def serve(
    *,
    self_url: str,
    peers: list[str],
    getter: str,
    group: str,
    size: int,
    listen: str,
    ring: str,
    token: str | None,
    metrics: bool = False,
    ready: Callable[[str], None] = print,
    discovery: Callable[[HTTPPool], Awaitable[Closeable]] | None = None,
    drain: float = 0.0,
) -> None:
    """Run a node until SIGINT or SIGTERM, then serve on for ``drain`` seconds (a second
    signal ends that at once): the peers that have dropped this node from their rings
    may still take its cached copies meanwhile (the warm handoff).

    ``/stats`` (and ``/metrics`` with ``metrics``) share the peer port, and its token.
    """
    host, port = split_listen(listen)
    with Workspace() as ws:
        Group(group, load_getter(getter), size, workspace=ws)
        pool = HTTPPool(self_url, workspace=ws, ring=ring, token=token)
        pool.add_endpoint(STATS_PATH, functools.partial(stats_json, pool))
        if metrics:
            registry = registry_for(ws)
            pool.add_endpoint("/metrics", functools.partial(render, registry))
        stop = asyncio.Event()
        signals = 0

        def on_signal() -> None:
            nonlocal signals
            signals += 1
            stop.set()

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        async with pool:
            url = await pool.start(host, port)
            pool.set_peers(*(peers or [url]))
            closer = await discovery(pool) if discovery is not None else None
            loop_name = type(loop).__module__.split(".")[0]  # "asyncio" or "uvloop"
            ready(json.dumps({"url": url, "group": group, "peers": pool.peers, "loop": loop_name}))
            try:
                await stop.wait()
                stop.clear()  # a signal from now on sets it again
                if drain > 0 and signals < 2:
                    print(f"groupcache: draining for {drain:.1f} s", file=sys.stderr, flush=True)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), drain)
            finally:
                if closer is not None:
                    await closer.aclose()

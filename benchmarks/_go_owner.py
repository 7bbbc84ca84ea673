"""The Go owner series of bench_peer_fetch: our per-key client against golang/groupcache.

The owner is the interop tests' golang/groupcache peer (tests/interop/gopeers/golang,
built by tests/support/gobuild.py, driven by tests/support/gopeer.py) serving group
``bench`` alone, so it owns every key; its getter's values are ``"go:" + key`` padded
with ``.`` to 100 bytes (``-value-bytes``), as long as the other series' values. The
requester is ours as in the plain series: ``Group.get`` of a node with
``HTTPPool(ring="golang", batch=False)`` and ``hot_cache="never"``. The owner's CPU is
the Go process's (all its threads).
"""

from __future__ import annotations

from pathlib import Path

from _fetch import KEYS, VALUE, Sample, measure  # imports _common, which puts the root on the path

import groupcache
from tests.support.gobuild import GoBuildError, GoToolchainUnavailableError, build_gopeer
from tests.support.gopeer import GoPeer, GoPeerStartError

GROUP = "bench"
SERIES = "go-owner"


def go_value(key: str) -> bytes:
    """The Go owner's value of ``key``."""
    return (b"go:" + key.encode()).ljust(len(VALUE), b".")


def go_owner_binary() -> tuple[Path | None, str]:
    """Build (or find built) the Go peer: its path, or None and why not."""
    try:
        return build_gopeer(), ""
    except (GoToolchainUnavailableError, GoBuildError) as exc:
        return None, str(exc)


async def go_owner_series(
    loop: str, binary: Path, levels: list[int], seconds: float
) -> list[Sample]:
    """Measure our client against a fresh Go owner at each level of ``levels``."""

    async def never(key: str) -> bytes:
        raise AssertionError("the Go owner should serve every key")

    try:
        peer = GoPeer(binary, group=GROUP, size=64 << 20, value_bytes=len(VALUE))
        await peer.start()
    except GoPeerStartError as exc:
        raise RuntimeError(f"the Go owner did not start: {exc}") from exc
    try:
        with groupcache.Workspace() as ws:
            group = groupcache.Group(GROUP, never, 1 << 20, workspace=ws, hot_cache="never")
            async with groupcache.HTTPPool(
                "http://127.0.0.1:1", workspace=ws, ring="golang", batch=False
            ) as pool:
                pool.set_peers(peer.url)
                for k in KEYS:  # the Go owner's cache warm: its getter runs once per key
                    assert await group.get(k) == go_value(k)
                samples = [
                    await measure(SERIES, loop, group.get, c, seconds, peer.pid) for c in levels
                ]
                stats = group.stats()
                if stats.peer_errors or stats.local_loads:
                    raise RuntimeError(f"{SERIES}: not every get was a peer fetch: {stats}")
    finally:
        await peer.aclose()
    return samples

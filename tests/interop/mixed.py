"""A mixed cluster for one Go variant: Python HTTPPool nodes and Go peers, one ring.

Every node gets the same sorted peer list; the Python pools use the variant's ring
preset and expiry field (:class:`.variants.Variant`), so all of them name the same owner
for each key (the Go peers report theirs through ``/admin/owner``). The getters'
prefixes (``go:``/``py:``) show who loaded a value; keys starting with ``ttl:`` get an
expiry on both sides and keys starting with ``err:`` make the getter fail. On the Python
nodes, keys starting with ``swr:`` get that expiry with a grace of 60 s, and keys starting
with ``gone:`` do not exist (remembered for 30 s: ``negative_ttl``).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import groupcache
from groupcache._protocol.bodies import ExpiryField
from tests.support.certs import Certs
from tests.support.gopeer import GoPeer, start_go_peers
from tests.support.variants import Variant

GROUP = "interop"
BASE = "/_groupcache/"


def ms_from_now(seconds: float) -> float:
    """An absolute expiry ``seconds`` from now, in whole milliseconds (as the Go getter)."""
    return math.floor((time.time() + seconds) * 1000) / 1000


def same_instant(expire_at: float | None, expire_ns: int) -> bool:
    """Whether our ``expire_at`` (float seconds) and Go's Unix nanoseconds agree (±1 µs)."""
    if expire_at is None:
        return expire_ns == 0
    return expire_ns != 0 and abs(expire_at * 1e9 - expire_ns) < 1000


@dataclass
class PyNode:
    """One Python groupcache node: its own workspace, group and pool."""

    workspace: groupcache.Workspace
    group: groupcache.Group
    pool: groupcache.HTTPPool
    calls: Counter[str] = field(default_factory=Counter)  # getter calls per key

    @property
    def url(self) -> str:
        return str(self.pool.self_url)


@dataclass
class Cluster:
    variant: Variant
    py: list[PyNode]
    go: list[GoPeer]
    urls: list[str]  # the sorted peer list every node was given
    py_expire_at: float  # what the Python getter gives ttl: keys

    def prefix(self, url: str) -> bytes:
        """The value prefix of the node at ``url``."""
        if url in (p.url for p in self.py):
            return b"py:"
        assert url in (g.url for g in self.go), url
        return b"go:"

    async def owner(self, key: str) -> str:
        return await self.go[0].owner(key)

    def getters(self) -> dict[str, Callable[[str], Awaitable[bytes]]]:
        """Each node's Get (``group.get`` or ``/admin/get``), by URL: Python nodes first."""
        return {
            **{p.url: p.group.get for p in self.py},
            **{g.url: g.get for g in self.go},
        }

    async def everyone_gets(self, key: str) -> list[bytes]:
        """Get ``key`` through every node, one after the other."""
        return [await get(key) for get in self.getters().values()]

    async def find_key(
        self, owner: str, prefix: str, extra: Callable[[str], str] | None = None
    ) -> str:
        """The first ``prefixN-k`` owned by ``owner`` (and, if given, ``extra(key)`` too).

        The constant tail keeps FNV-1 rings from putting every candidate on one node (its
        last bytes barely move the hash).
        """
        for i in range(2000):
            key = f"{prefix}{i}-k"
            if await self.owner(key) == owner and (
                extra is None or await self.owner(extra(key)) == owner
            ):
                return key
        raise AssertionError(f"no {prefix}N key owned by {owner}")

    async def loads(self) -> dict[str, list[str]]:
        """Who ran a getter for each key, once per call: ``{key: [url, ...]}``."""
        loaders: dict[str, list[str]] = {}
        for p in self.py:
            for key, n in p.calls.items():
                loaders.setdefault(key, []).extend([p.url] * n)
        for g in self.go:
            for key, n in (await g.loads()).items():
                loaders.setdefault(key, []).extend([g.url] * n)
        return loaders


async def start_py_node(
    stack: contextlib.AsyncExitStack,
    *,
    ring: str,
    expiry_field: ExpiryField,
    expire_at: float,
    token: str | None = None,
    allow_anonymous_get: bool = False,
    certs: Certs | None = None,
    trust: Certs | None = None,
    hot_cache: groupcache.HotCachePolicy = "always",
) -> PyNode:
    """A started Python node; with ``certs`` it serves TLS only with that certificate and
    its peer requests trust the CA of ``trust`` (default: of ``certs``)."""
    trust = certs if trust is None else trust
    calls: Counter[str] = Counter()

    async def getter(key: str) -> groupcache.Value:
        calls[key] += 1
        if key.startswith("err:"):
            raise RuntimeError(f"py getter failed: {key}")
        if key.startswith("gone:"):
            raise groupcache.NotFoundError(f"py: no {key}")
        if key.startswith("swr:"):
            return groupcache.Value(b"py:" + key.encode(), expire_at, grace=60)
        ttl = expire_at if key.startswith("ttl:") else None
        return groupcache.Value(b"py:" + key.encode(), ttl)

    workspace = groupcache.Workspace()
    stack.callback(workspace.close)
    group = groupcache.Group(
        GROUP, getter, 1 << 20, workspace=workspace, negative_ttl=30, hot_cache=hot_cache
    )
    pool = groupcache.HTTPPool(
        "http://127.0.0.1:0" if certs is None else "https://127.0.0.1:0",
        workspace=workspace,
        ring=ring,
        expiry_field=expiry_field,
        token=token,
        allow_anonymous_get=allow_anonymous_get,
        ssl=None if certs is None else certs.server_context(),
        client_ssl=None if trust is None else trust.client_context(),
    )
    await pool.start("127.0.0.1", 0)
    stack.push_async_callback(pool.aclose)
    return PyNode(workspace, group, pool, calls)


async def start_cluster(
    stack: contextlib.AsyncExitStack,
    variant: Variant,
    binary: Path,
    *,
    expiry_field: ExpiryField | None = None,
    token: str | None = None,
    go_tokens: bool = False,
    certs: Certs | None = None,
    hot_cache: groupcache.HotCachePolicy = "always",
) -> Cluster:
    """Two Go peers of ``variant`` and two Python nodes, told about each other.

    ``expiry_field`` overrides the one the Python nodes write (default: the variant's).
    With a ``token`` the Python nodes require it; the Go peers send none and their GETs
    are served anonymously, unless ``go_tokens``: then they send and require it too, and
    nothing is served without it. With ``certs`` every node speaks TLS only.
    ``hot_cache`` is the Python nodes' policy.
    """
    go = await start_go_peers(stack, binary, 2, certs=certs, token=token if go_tokens else None)
    expire_at = ms_from_now(7200)
    field_ = variant.our_expiry_field if expiry_field is None else expiry_field
    py = [
        await start_py_node(
            stack,
            ring=variant.ring,
            expiry_field=field_,
            expire_at=expire_at,
            token=token,
            allow_anonymous_get=token is not None and not go_tokens,
            certs=certs,
            hot_cache=hot_cache,
        )
        for _ in range(2)
    ]
    urls = sorted([*(p.url for p in py), *(g.url for g in go)])
    assert len(set(urls)) == 4
    for p in py:
        p.pool.set_peers(*urls)
    for g in go:
        await g.set_peers(urls)
    return Cluster(variant, py, go, urls, expire_at)

"""Helpers for testing code that uses groupcache: a fake peer and a local cluster.

:class:`FakePeer` is an in-memory :class:`~groupcache.PeerGetter` that answers as a real
owner would, records every call and can be made to fail; give it to a group through any
:class:`~groupcache.PeerPicker`. :func:`cluster` starts real :class:`~groupcache.HTTPPool`
nodes on 127.0.0.1, each with a workspace of its own, and stops them afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from ._core.getter import Getter, Result
from ._core.group import Group
from ._core.value import Value, to_value
from ._core.workspace import Workspace
from ._errors import GroupNotFoundError, NotFoundError, PeerError, RemoteCallError
from ._http.pool import HTTPPool

__all__ = ["FakePeer", "Node", "cluster"]

Call = tuple[str, str, tuple[str, ...]]
"""A recorded call: (method, group, keys), e.g. ``("get", "users", ("ada",))``."""


class FakePeer:
    """An in-memory peer that owns keys: a :class:`~groupcache.PeerGetter` (and a
    ``remove_keys`` batch remover) for tests.

    A get answers what a Set stored, else what ``load(key)`` returns, as the owner's
    getter would; ``load`` raising :class:`~groupcache.NotFoundError` (or no ``load``)
    means the value does not exist, and any other exception becomes a
    :class:`~groupcache.RemoteCallError`, as over HTTP. A group not in ``groups`` gets
    :class:`~groupcache.GroupNotFoundError`. Every call is recorded in :attr:`calls`;
    while :attr:`failure` is set, every call raises it instead (a peer that is down).

    Args:
        url: The peer's URL, as a picker names it.
        load: The owner's getter, called with the key.
        groups: The groups the peer serves (``None``: every group).
    """

    def __init__(
        self,
        url: str = "fake://peer",
        *,
        load: Callable[[str], Result] | None = None,
        groups: Collection[str] | None = None,
    ) -> None:
        self.url = url
        self.load = load
        self.groups = groups
        self.stored: dict[tuple[str, str], Value] = {}
        """What Sets stored, by (group, key)."""
        self.calls: list[Call] = []
        self.failure: BaseException | None = None
        """Raised by every call while set: e.g. ``PeerError("down")``."""

    def fail(self, failure: BaseException | None = None) -> None:
        """Make every call raise ``failure`` (default: a :class:`PeerError` naming the
        peer) until :meth:`recover`."""
        self.failure = failure if failure is not None else PeerError(f"{self.url}: down")

    def recover(self) -> None:
        """Answer calls again."""
        self.failure = None

    def _begin(self, method: str, group: str, keys: Sequence[str]) -> None:
        self.calls.append((method, group, tuple(keys)))
        if self.failure is not None:
            raise self.failure
        if self.groups is not None and group not in self.groups:
            raise GroupNotFoundError(f"{self.url}: no such group: {group}")

    async def get(self, group: str, key: str) -> Value:
        """Return the stored value of ``key``, else the one ``load`` gives.

        Raises:
            NotFoundError: there is none.
            RemoteCallError: ``load`` failed.
            GroupNotFoundError: the peer does not serve ``group``.
        """
        self._begin("get", group, [key])
        stored = self.stored.get((group, key))
        if stored is not None:
            return stored
        if self.load is None:
            raise NotFoundError(f"{key[:64]!r} not found")
        try:
            return to_value(self.load(key))
        except NotFoundError:
            raise
        except Exception as exc:
            raise RemoteCallError(str(exc)) from exc

    async def set(self, group: str, key: str, value: Value) -> None:
        """Store ``value`` under ``key``."""
        self._begin("set", group, [key])
        self.stored[group, key] = value

    async def remove(self, group: str, key: str) -> None:
        """Forget what a Set stored under ``key``."""
        self._begin("remove", group, [key])
        self.stored.pop((group, key), None)

    async def remove_keys(self, group: str, keys: Sequence[str]) -> None:
        """Forget what Sets stored under ``keys``, in one call."""
        self._begin("remove_keys", group, keys)
        for key in keys:
            self.stored.pop((group, key), None)

    def __repr__(self) -> str:
        return f"<FakePeer {self.url} stored={len(self.stored)} calls={len(self.calls)}>"


@dataclass(frozen=True)
class Node:
    """One node of a :func:`cluster`: its workspace, its group and its pool."""

    workspace: Workspace
    group: Group
    pool: HTTPPool

    @property
    def url(self) -> str:
        """Return the node's URL (its bound port)."""
        return self.pool.self_url


@contextlib.asynccontextmanager
async def cluster(
    n: int,
    getter: Getter[bytes] | Sequence[Getter[bytes]],
    *,
    group: str = "g",
    size: int = 1 << 20,
    **pool_options: Any,
) -> AsyncIterator[list[Node]]:
    """Start ``n`` nodes that know each other, each serving ``group`` on 127.0.0.1.

    Each node has a fresh :class:`~groupcache.Workspace`, a :class:`~groupcache.Group`
    of ``size`` bytes and an :class:`~groupcache.HTTPPool` on a free port (with
    ``pool_options``, e.g. ``ring="golang"`` or ``token=...``). On exit the pools are
    closed and the workspaces too.

    Args:
        n: How many nodes.
        getter: One getter for every node, or a sequence of ``n``, one per node.
        group: The group's name.
        size: The group's byte budget on each node.
        **pool_options: Keyword arguments of :class:`~groupcache.HTTPPool`.

    Raises:
        ValueError: ``getter`` is a sequence of another length than ``n``.
    """
    getters = list(getter) if isinstance(getter, Sequence) else [getter] * n
    if len(getters) != n:
        raise ValueError(f"{len(getters)} getters for {n} nodes")
    nodes: list[Node] = []
    try:
        for i in range(n):
            ws = Workspace()
            g = Group(group, getters[i], size, workspace=ws)
            scheme = "https" if pool_options.get("ssl") is not None else "http"
            pool = HTTPPool(f"{scheme}://127.0.0.1:0", workspace=ws, **pool_options)
            nodes.append(Node(ws, g, pool))
            await pool.start("127.0.0.1", 0)
        for node in nodes:
            node.pool.set_peers(*(m.url for m in nodes))
        yield nodes
    finally:
        for node in nodes:
            await node.pool.aclose()
            node.workspace.close()

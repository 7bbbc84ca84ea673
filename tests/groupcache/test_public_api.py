"""The public API is exactly what ``__all__`` pins, and the packages stay layered."""

from __future__ import annotations

import ast
import bisect
import dataclasses
import hashlib
import inspect
from collections.abc import Mapping
from pathlib import Path

import pytest
from aiohttp import web

import groupcache

ROOT = Path(__file__).resolve().parents[2]


def isort_order(names: list[str]) -> list[str]:
    """Ruff RUF022's order: CONSTANTS, then Classes, then functions, each alphabetical."""
    return sorted(names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n))


def test_all_is_sorted_and_every_name_imports() -> None:
    assert groupcache.__all__ == isort_order(groupcache.__all__)
    assert len(set(groupcache.__all__)) == len(groupcache.__all__)
    for name in groupcache.__all__:
        assert getattr(groupcache, name) is not None


def test_the_issue_contract_names_exist() -> None:
    for name in ("Group", "Value", "Workspace", "get_group", "GroupStats", "CacheStats"):
        assert name in groupcache.__all__


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_groupcache_never_imports_kubegroup_and_prometheus_only_in_metrics() -> None:
    for path in (ROOT / "groupcache").rglob("*.py"):
        imports = _imports(path)
        assert "kubegroup" not in imports, path
        if path.name != "metrics.py":
            assert "prometheus_client" not in imports, path


def test_kubegroup_imports_prometheus_only_in_metrics() -> None:
    for path in (ROOT / "kubegroup").rglob("*.py"):
        imports = _imports(path)
        assert "groupcache" not in imports, path
        if path.name != "metrics.py":
            assert "prometheus_client" not in imports, path


def test_no_module_is_over_400_lines() -> None:
    for package in ("groupcache", "kubegroup"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name.endswith("_pb2.py"):
                continue
            lines = len(path.read_text().splitlines())
            assert lines <= 400, f"{path} has {lines} lines"


# -- module-level get_group ----------------------------------------------------------------


def echo(key: str) -> bytes:
    return key.encode()


def test_get_group_finds_a_group_of_the_default_workspace() -> None:
    name = "test_public_api: default workspace"
    default = groupcache.default_workspace()
    assert groupcache.get_group(name) is None
    group = groupcache.Group(name, echo, 1 << 10)  # no workspace: the default one
    try:
        assert group.workspace is default
        assert groupcache.get_group(name) is group
        assert groupcache.get_group(name, None) is group
        assert groupcache.get_group(name, workspace=None) is group
        assert default.get_group(name) is group
        assert groupcache.get_group(name, groupcache.Workspace()) is None
        with pytest.raises(groupcache.DuplicateGroupError, match="duplicate"):
            groupcache.Group(name, echo, 1 << 10)
    finally:
        assert default.remove_group(name)
    assert groupcache.get_group(name) is None
    assert name not in [g.name for g in default.groups()]


def test_get_group_finds_a_group_only_in_the_workspace_it_is_given() -> None:
    with groupcache.Workspace() as ws, groupcache.Workspace() as other:
        group = groupcache.Group("pages", echo, 1 << 10, workspace=ws)
        twin = groupcache.Group("pages", echo, 1 << 10, workspace=other)  # a name per workspace
        assert groupcache.get_group("pages", ws) is group
        assert groupcache.get_group("pages", workspace=ws) is group
        assert groupcache.get_group("pages", other) is twin
        assert groupcache.get_group("pages") is None  # not in the default workspace
        assert groupcache.get_group("nope", ws) is None
        assert ws.remove_group("pages")
        assert groupcache.get_group("pages", ws) is None
        assert groupcache.get_group("pages", other) is twin


# -- HTTPPool(ring=<hash function>) end to end ---------------------------------------------


def sha_owner(urls: list[str], key: str, replicas: int) -> str:
    """The owner of ``key`` by the documented rule: points are hash(str(i) + url)."""
    points = sorted((sha64(f"{i}{url}".encode()), url) for url in urls for i in range(replicas))
    h = sha64(key.encode())
    i = bisect.bisect_left([p for p, _ in points], h)
    return points[i % len(points)][1]


def sha64(data: bytes) -> int:
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big")


async def test_a_custom_ring_hash_function_routes_keys_between_two_pools() -> None:
    hashed: list[bytes] = []

    def ring_hash(data: bytes) -> int:
        hashed.append(data)
        return sha64(data)

    loads: dict[str, list[str]] = {"a": [], "b": []}
    nodes: list[tuple[groupcache.Workspace, groupcache.Group, groupcache.HTTPPool]] = []
    try:
        for name in ("a", "b"):
            ws = groupcache.Workspace()

            async def load(key: str, name: str = name) -> bytes:
                loads[name].append(key)
                return f"{key}@{name}".encode()

            group = groupcache.Group("g", load, 1 << 20, workspace=ws)
            pool = groupcache.HTTPPool("http://127.0.0.1:0", workspace=ws, ring=ring_hash)
            nodes.append((ws, group, pool))
            await pool.start("127.0.0.1", 0)
        urls = [pool.self_url for _, _, pool in nodes]
        for _, _, pool in nodes:
            pool.set_peers(*urls)
        assert b"0" + urls[0].encode() in hashed  # the points came from our function
        (_, group_a, pool_a), (_, group_b, pool_b) = nodes

        keys = [f"key-{i}" for i in range(64)]
        owners = {key: sha_owner(urls, key, groupcache.DEFAULT_REPLICAS) for key in keys}
        assert set(owners.values()) == set(urls)  # both nodes own some keys
        for key in keys:
            assert pool_a.owner(key) == pool_b.owner(key) == owners[key], key
        assert b"key-0" in hashed  # and the keys too

        remote = next(key for key in keys if owners[key] == urls[1])  # b's, asked of a
        assert await group_a.get(remote) == f"{remote}@b".encode()
        assert loads == {"a": [], "b": [remote]}
        assert group_a.stats().peer_loads == 1
        assert group_a.stats().peer_errors == 0
        assert group_b.stats().server_requests == 1
        local = next(key for key in keys if owners[key] == urls[0])
        assert await group_a.get(local) == f"{local}@a".encode()
        assert loads == {"a": [local], "b": [remote]}
    finally:
        for ws, _, pool in nodes:
            await pool.aclose()
            ws.close()


# -- the signatures the issues give as a contract -------------------------------------------

KW = inspect.Parameter.KEYWORD_ONLY
POS = inspect.Parameter.POSITIONAL_OR_KEYWORD
REQUIRED = inspect.Parameter.empty


def params(fn: object) -> Mapping[str, inspect.Parameter]:
    return inspect.signature(fn).parameters  # type: ignore[arg-type]


def check(fn: object, **expected: tuple[object, object]) -> None:
    """Each named parameter has this kind and this default (REQUIRED: none)."""
    found = params(fn)
    for name, (kind, default) in expected.items():
        assert name in found, f"{fn} has no parameter {name!r}"
        assert found[name].kind is kind, f"{fn}: {name} is {found[name].kind}, not {kind}"
        assert found[name].default == default, f"{fn}: {name}={found[name].default!r}"


def leading(fn: object, *names: str) -> None:
    """The first parameters (after self) are exactly ``names``, positional."""
    found = [p for p in params(fn).values() if p.name != "self"]
    assert [p.name for p in found[: len(names)]] == list(names), fn
    assert all(p.kind is POS for p in found[: len(names)]), fn


def test_group_signatures_are_the_issue_contract() -> None:
    leading(groupcache.Group, "name", "getter", "size")
    check(
        groupcache.Group,
        name=(POS, REQUIRED),
        getter=(POS, REQUIRED),
        size=(POS, REQUIRED),
        workspace=(KW, None),
    )
    for method in ("get", "set", "remove"):
        assert inspect.iscoroutinefunction(getattr(groupcache.Group, method)), method
    assert not inspect.iscoroutinefunction(groupcache.Group.get_sync)
    leading(groupcache.Group.get, "key")
    leading(groupcache.Group.get_sync, "key")
    required = [n for n, p in params(groupcache.Group.get_sync).items() if p.default is REQUIRED]
    assert required == ["self", "key"]  # get_sync(key): nothing else is needed
    leading(groupcache.Group.set, "key", "value")
    check(groupcache.Group.set, expire=(KW, None))
    leading(groupcache.Group.remove, "key")
    leading(groupcache.Group.cache_stats, "which")
    assert list(params(groupcache.Group.stats)) == ["self"]
    leading(groupcache.Value, "data", "expire_at")
    check(groupcache.Value, expire_at=(POS, None))
    assert list(params(groupcache.Workspace)) == []
    leading(groupcache.get_group, "name", "workspace")
    check(groupcache.get_group, workspace=(POS, None))
    stats = {f.name for f in dataclasses.fields(groupcache.GroupStats)}
    assert stats >= {
        "gets",
        "cache_hits",
        "peer_loads",
        "peer_errors",
        "loads",
        "loads_deduped",
        "local_loads",
        "local_load_errs",
        "server_requests",
    }
    cache = {f.name for f in dataclasses.fields(groupcache.CacheStats)}
    assert cache >= {"bytes", "items", "gets", "hits", "evictions"}


async def test_httppool_signatures_are_the_issue_contract() -> None:
    pool_cls = groupcache.HTTPPool
    leading(pool_cls, "self_url")
    check(
        pool_cls,
        self_url=(POS, REQUIRED),
        workspace=(KW, None),
        ring=(KW, "mmh3"),
        replicas=(KW, 50),
        base_path=(KW, "/_groupcache/"),
        token=(KW, None),
        ssl=(KW, None),
        server=(KW, "auto"),
    )
    timeout = params(pool_cls)["timeout"]
    assert timeout.kind is KW
    assert isinstance(timeout.default, int | float)
    assert timeout.default > 0  # a default bound, never "wait forever"
    urls = params(pool_cls.set_peers)["urls"]
    assert urls.kind is inspect.Parameter.VAR_POSITIONAL
    assert inspect.iscoroutinefunction(pool_cls.start)
    leading(pool_cls.start, "host", "port")
    assert inspect.iscoroutinefunction(pool_cls.aclose)
    assert list(params(pool_cls.aclose)) == ["self"]
    with groupcache.Workspace() as ws:
        pool = pool_cls("http://127.0.0.1:0", workspace=ws)
        try:
            assert isinstance(pool.app, web.Application)
            assert ws.peer_picker is pool
        finally:
            await pool.aclose()
            await pool.aclose()  # idempotent
        assert ws.peer_picker is not pool


def test_client_signatures_are_the_issue_contract() -> None:
    leading(groupcache.Client, "url")
    assert inspect.iscoroutinefunction(groupcache.Client.get)
    leading(groupcache.Client.get, "group", "key")
    assert not inspect.iscoroutinefunction(groupcache.Client.get_sync)
    leading(groupcache.Client.get_sync, "group", "key")


def test_groupcache_testing_exports_the_fake_peer_and_the_cluster_helper() -> None:
    import groupcache.testing

    assert groupcache.testing.__all__ == ["FakePeer", "Node", "cluster"]
    fake: groupcache.PeerGetter = groupcache.testing.FakePeer()  # typed as the protocol
    assert fake.url == "fake://peer"
    assert list(inspect.signature(groupcache.testing.cluster).parameters)[:2] == ["n", "getter"]

"""The public API is exactly what ``__all__`` pins, and the packages stay layered."""

from __future__ import annotations

import ast
from pathlib import Path

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

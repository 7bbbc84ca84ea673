"""The public surface and the layout rules (sizes, docstrings, import boundaries)."""

from __future__ import annotations

import ast
from pathlib import Path

import kubegroup
import kubegroup.metrics
import kubegroup.testing

PACKAGE = Path(kubegroup.__file__).parent


def test_the_public_names_are_exactly_these() -> None:
    assert kubegroup.__all__ == [
        "DEFAULT_SERVICE_ACCOUNT_DIR",
        "KubeAPIError",
        "KubeConfigError",
        "KubeConnectionError",
        "KubeGroup",
        "KubeGroupError",
        "KubeGroupStats",
        "PeerSetter",
        "find_my_address",
        "find_my_url",
        "update_peers",
    ]
    assert kubegroup.testing.__all__ == ["FakeKubeAPI", "Pod", "RecordedRequest", "RecordingPool"]
    assert kubegroup.metrics.__all__ == ["KubeGroupCollector", "Registry"]
    for module in (kubegroup, kubegroup.testing, kubegroup.metrics):
        for name in module.__all__:
            assert getattr(module, name) is not None


def modules() -> list[Path]:
    return sorted(PACKAGE.glob("*.py"))


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_is_over_400_lines_and_each_opens_with_a_docstring() -> None:
    for path in modules():
        assert len(path.read_text().splitlines()) <= 400, path.name
        assert ast.get_docstring(ast.parse(path.read_text())), path.name


def test_kubegroup_never_imports_groupcache_and_only_metrics_imports_prometheus() -> None:
    for path in modules():
        names = imported(path)
        assert "groupcache" not in names, path.name
        assert ("prometheus_client" in names) == (path.name == "metrics.py"), path.name


def test_every_private_module_has_a_test_module() -> None:
    tests = Path(__file__).parent
    for path in modules():
        if path.name.startswith("_") and path.name != "__init__.py":
            assert (tests / f"test{path.name}").exists(), path.name

"""The public surface and the layout rules (sizes, docstrings, import boundaries)."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Mapping
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
    """Every module of kubegroup, the testing package's included."""
    return sorted(PACKAGE.rglob("*.py"))


def production_modules() -> list[Path]:
    """kubegroup without its test helpers (kubegroup/testing/)."""
    return [p for p in modules() if "testing" not in p.relative_to(PACKAGE).parts]


def dotted(path: Path) -> str:
    """``kubegroup/testing/_http.py`` -> ``kubegroup.testing._http``."""
    parts = ("kubegroup", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """The absolute dotted names ``path`` imports, relative imports resolved."""
    package = dotted(path) if path.name == "__init__.py" else dotted(path).rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{a.name}" for a in node.names)
    return names


def imported(path: Path) -> set[str]:
    """The top-level packages ``path`` imports."""
    return {name.split(".")[0] for name in imported_modules(path)}


def test_no_module_is_over_400_lines_and_each_opens_with_a_docstring() -> None:
    for path in modules():
        assert len(path.read_text().splitlines()) <= 400, path.name
        assert ast.get_docstring(ast.parse(path.read_text())), path.name


def test_kubegroup_never_imports_groupcache_and_only_metrics_imports_prometheus() -> None:
    for path in modules():
        names = imported(path)
        assert "groupcache" not in names, path.name
        assert ("prometheus_client" in names) == (path.name == "metrics.py"), path.name


def test_production_kubegroup_never_imports_its_test_helpers() -> None:
    """kubegroup.testing (the fake API server) is for tests: no production module needs it."""
    assert production_modules()
    for path in production_modules():
        found = {n for n in imported_modules(path) if n.startswith("kubegroup.testing")}
        assert not found, f"{path.name} imports {found}"


def test_the_fakes_selector_is_its_own_not_the_code_it_judges() -> None:
    """The oracle must not share kubegroup's selector parser (kubegroup/_selector.py)."""
    for path in PACKAGE.joinpath("testing").rglob("*.py"):
        assert "kubegroup._selector" not in imported_modules(path), path.name


def test_every_private_module_has_a_test_module() -> None:
    """kubegroup/_x.py -> tests/kubegroup/test_x.py; kubegroup/testing/_x.py ->
    tests/kubegroup/testing/test_x.py: the tests mirror the layers."""
    tests = Path(__file__).parent
    for path in modules():
        if path.name.startswith("_") and path.name != "__init__.py":
            where = tests.joinpath(*path.relative_to(PACKAGE).parent.parts)
            assert (where / f"test{path.name}").exists(), path


# -- the signatures issue 4 gives as a contract ---------------------------------------------

KW = inspect.Parameter.KEYWORD_ONLY
POS = inspect.Parameter.POSITIONAL_OR_KEYWORD
REQUIRED = inspect.Parameter.empty


def params(fn: object) -> Mapping[str, inspect.Parameter]:
    return inspect.signature(fn).parameters  # type: ignore[arg-type]


def test_address_helpers_take_what_the_issue_says() -> None:
    port = params(kubegroup.find_my_url)["port"]
    assert next(iter(params(kubegroup.find_my_url))) == "port"
    assert port.kind is POS
    assert port.default is REQUIRED
    assert all(p.default is not REQUIRED for p in params(kubegroup.find_my_address).values())
    assert kubegroup.find_my_url(5000, environ={"POD_IP": "10.0.0.7"}) == "http://10.0.0.7:5000"
    assert kubegroup.find_my_address(environ={"POD_IP": "10.0.0.7"}) == "10.0.0.7"


def test_update_peers_signature_is_the_issue_contract() -> None:
    assert inspect.iscoroutinefunction(kubegroup.update_peers)
    found = params(kubegroup.update_peers)
    assert next(iter(found)) == "pool"
    assert found["pool"].kind is POS
    expected: dict[str, object] = {
        "label_selector": REQUIRED,
        "port": REQUIRED,
        "namespace": None,
        "api_client": None,
        "debounce": 2.0,
        "registry": None,
    }
    for name, default in expected.items():
        assert found[name].kind is KW, name
        assert found[name].default == default, name
    assert all(p.kind is KW for name, p in found.items() if name != "pool")


def test_kubegroup_methods_and_properties_are_the_issue_contract() -> None:
    kg = kubegroup.KubeGroup
    assert inspect.iscoroutinefunction(kg.wait_synced)
    assert inspect.iscoroutinefunction(kg.aclose)
    assert not inspect.iscoroutinefunction(kg.close)
    for method in (kg.wait_synced, kg.aclose, kg.close):
        assert list(params(method)) == ["self"], method
    assert isinstance(inspect.getattr_static(kg, "peers"), property)
    assert isinstance(inspect.getattr_static(kg, "healthy"), property)
    assert inspect.iscoroutinefunction(kg.__aenter__)
    assert inspect.iscoroutinefunction(kg.__aexit__)
    assert inspect.isclass(kubegroup.testing.FakeKubeAPI)
    assert all(p.default is not REQUIRED for p in params(kubegroup.testing.FakeKubeAPI).values())
    with kubegroup.testing.FakeKubeAPI() as api:  # a loopback server, usable as is
        assert api.port > 0

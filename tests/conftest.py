"""Root conftest: the plugins every test directory may use, the shared fixtures and the
figures section of the terminal summary.

The helpers themselves live in ``tests/support`` (``until`` in ``waiting``, ``free_port``
in ``net``, ``figure`` in ``figures``) and are imported from there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from groupcache import ServerKind, Workspace
from tests.support import figures

pytest_plugins = [
    "kubegroup.testing.pytest_plugin",  # the fake_kube_api fixture
    "tests.realkube.fixtures",  # real_kube: the session's kube-apiserver + etcd
]

FIGURES_PATH = pytest.StashKey[Path]()


@pytest.fixture
def workspace() -> Iterator[Workspace]:
    """A fresh Workspace of the test's own, closed (loop thread stopped) at the end."""
    with Workspace() as ws:
        yield ws


@pytest.fixture(params=["lean", "aiohttp"])
def server_kind(request: pytest.FixtureRequest) -> ServerKind:
    """The server an HTTPPool under test serves peers with (``HTTPPool(server=...)``):
    the behaviour tests of the peer protocol run on both, asserting the same."""
    kind: ServerKind = request.param
    return kind


@pytest.fixture(scope="session", autouse=True)
def figures_path(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this run's figures are saved (tests.support.figures.figures_file)."""
    path = figures.figures_file(tmp_path_factory.getbasetemp())
    pytestconfig.stash[FIGURES_PATH] = path
    return path


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Show every figure the run recorded (tests.support.figures) and save them to a file."""
    path = config.stash.get(FIGURES_PATH, None)
    if path is None or not figures.RECORDED:  # no test ran, or none measured anything
        return
    terminalreporter.section("figures")
    for line in figures.RECORDED:
        terminalreporter.write_line(line)
    terminalreporter.write_line(figures.save(figures.RECORDED, path))

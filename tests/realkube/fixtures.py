"""The real-server fixtures: one kube-apiserver + etcd for the session, from scripts/kube-cluster.

A pytest plugin (tests/conftest.py loads it), so that tests outside tests/realkube, such
as the scenarios that run on the fake and the real server alike, share the one server.
The first test that needs the server waits for ``scripts/kube-cluster up``, which builds
kube-apiserver and etcd from Go modules on a cold machine (minutes); later tests reuse it.
Its users are skipped, with the reason printed, only when no Go toolchain exists.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Iterator

import pytest

from tests.support.realkube import BACKEND_PARAM, UP_TIMEOUT, NoToolchainError, RealKube

_names = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "realkube: runs against a real kube-apiserver + etcd")


@pytest.hookimpl(trylast=True)  # after deselection: the first *selected* user waits for up
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_real = callspec is not None and callspec.params.get(BACKEND_PARAM) == "real"
        if on_real or "real_kube" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(UP_TIMEOUT + 60))
            return


@pytest.fixture(scope="session")
def real_kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealKube]:
    """The session's kube-apiserver, stopped by PID at the end."""
    try:
        kube = RealKube.up(tmp_path_factory.mktemp("kube-cluster"))
    except NoToolchainError as exc:
        reason = f"no real kube-apiserver: {exc}"
        print(reason, file=sys.stderr)
        pytest.skip(reason)
    try:
        yield kube
    finally:
        kube.down()


@pytest.fixture
def fresh_namespace(real_kube: RealKube, request: pytest.FixtureRequest) -> str:
    """A namespace of the test's own (namespaces never finish deleting without controllers)."""
    base = re.sub("[^a-z0-9-]+", "-", request.node.name.lower().replace("_", "-"))[:40]
    base = base.strip("-")
    return real_kube.namespace(f"{base}-{next(_names)}")

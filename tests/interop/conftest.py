"""Fixtures for the Go interoperability tests: the gopeer binary and process cleanup."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .gopeer import (
    GoToolchainUnavailableError,
    binary_is_current,
    build_gopeer,
    kill_stray_peers,
    toolchain_present,
)

# apt-get update + install and the first `go build` can take minutes on a cold
# machine; only the first test that needs the binary gets this much time.
BUILD_TIMEOUT = 900


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "interop: talks to a real golang/groupcache peer (tests/interop/gopeer)"
    )
    config.addinivalue_line(
        "markers",
        "mixed_cluster: Python HTTPPool nodes and Go peers in one cluster; "
        "needs groupcache.HTTPPool",
    )


@pytest.hookimpl(trylast=True)  # after -k/-m deselection, so the first *selected* user
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if toolchain_present() and binary_is_current():
        return
    for item in items:
        if "gopeer_binary" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(BUILD_TIMEOUT))
            return


@pytest.fixture(scope="session")
def gopeer_binary() -> Path:
    """The built gopeer; installs Go with apt-get first if needed.

    Skips (with the reason) only when the toolchain is missing and apt-get is not
    available; an apt-get failure or a compile error is a test error.
    """
    try:
        return build_gopeer()
    except GoToolchainUnavailableError as exc:
        reason = f"no Go peer: {exc}"
        print(reason, file=sys.stderr)
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _no_stray_go_peers() -> Iterator[None]:
    """Whatever happened in the test, no gopeer process outlives it."""
    yield
    killed = kill_stray_peers()
    if killed:
        print(f"killed gopeer processes that were never closed: {killed}", file=sys.stderr)

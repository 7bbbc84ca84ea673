"""Fixtures for the Go interoperability tests: the Go peer binaries and process cleanup."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.gobuild import GoToolchainUnavailableError, binaries_are_current, build_variants
from tests.support.gopeer import kill_stray_peers
from tests.support.variants import GOLANG, VARIANTS, Variant

# A cold module download and the first `go build` of every variant take minutes on a
# fresh machine; only the first test that needs the binaries gets this much time.
BUILD_TIMEOUT = 900
_GO_FIXTURES = ("go_binaries", "gopeer_binary", "variant_binary")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "interop: talks to real Go groupcache peers (tests/interop/gopeers)"
    )
    config.addinivalue_line(
        "markers",
        "mixed_cluster: Python HTTPPool nodes and Go peers in one cluster; "
        "needs groupcache.HTTPPool",
    )


@pytest.hookimpl(trylast=True)  # after -k/-m deselection, so the first *selected* user
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    users = [i for i in items if set(_GO_FIXTURES) & set(getattr(i, "fixturenames", ()))]
    if users and not binaries_are_current(VARIANTS):
        users[0].add_marker(pytest.mark.timeout(BUILD_TIMEOUT))


@pytest.fixture(scope="session")
def go_binaries() -> dict[Variant, Path]:
    """Every variant's peer, built from its module if its sources changed.

    Skips (with the reason) only when there is no Go toolchain; a module that cannot be
    downloaded or a compile error is a test error.
    """
    try:
        return build_variants(VARIANTS)
    except GoToolchainUnavailableError as exc:
        reason = f"no Go peer: {exc}"
        print(reason, file=sys.stderr)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def gopeer_binary(go_binaries: dict[Variant, Path]) -> Path:
    """The golang/groupcache peer."""
    return go_binaries[GOLANG]


@pytest.fixture(params=VARIANTS, ids=str)
def variant(request: pytest.FixtureRequest) -> Variant:
    """Each Go variant in turn."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def variant_binary(go_binaries: dict[Variant, Path], variant: Variant) -> Path:
    return go_binaries[variant]


@pytest.fixture(autouse=True)
def _no_stray_go_peers() -> Iterator[None]:
    """Whatever happened in the test, no Go peer process outlives it."""
    yield
    killed = kill_stray_peers()
    if killed:
        print(f"killed Go peer processes that were never closed: {killed}", file=sys.stderr)

"""A pytest fixture for :class:`~kubegroup.testing.FakeKubeAPI`, with a thread-leak check.

Load it from your root ``conftest.py`` with ``pytest_plugins = ["kubegroup.testing.pytest_plugin"]``
(or ``-p kubegroup.testing.pytest_plugin``) and ask for ``fake_kube_api``: a started fake,
closed after the test, which fails the test if one of the fake's threads is still alive
then. Override ``fake_kube_api_options`` to pass constructor options. Or use
:func:`serving` directly around a fake of your own.

This module imports pytest; :mod:`kubegroup.testing` itself does not.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ._api import FakeKubeAPI

__all__ = ["fake_kube_api", "fake_kube_api_options", "serving"]


@contextlib.contextmanager
def serving(api: FakeKubeAPI) -> Iterator[FakeKubeAPI]:
    """Start ``api``, yield it, close it; then raise AssertionError if a thread the fake
    started (named ``fake…``) is still running."""
    before = set(threading.enumerate())
    api.start()
    try:
        yield api
    finally:
        api.close()
    leaked = [t for t in threading.enumerate() if t not in before and t.name.startswith("fake")]
    assert not leaked, f"threads left running: {leaked}"


@pytest.fixture
def fake_kube_api_options() -> dict[str, Any]:
    """Keyword options for the ``fake_kube_api`` fixture's FakeKubeAPI (override it)."""
    return {}


@pytest.fixture
def fake_kube_api(fake_kube_api_options: dict[str, Any]) -> Iterator[FakeKubeAPI]:
    """A started FakeKubeAPI on loopback; the test fails if it leaves a thread behind."""
    with serving(FakeKubeAPI(**fake_kube_api_options)) as api:
        yield api

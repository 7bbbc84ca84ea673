"""Fixtures of the tests that drive clusternode processes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.processes import Cluster


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    """A :class:`Cluster` of node processes, every one stopped by PID at the end."""
    c = Cluster()
    try:
        yield c
    finally:
        await c.aclose()

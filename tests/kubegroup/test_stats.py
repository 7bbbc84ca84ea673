"""KubeGroupStats is an immutable snapshot that starts at zero."""

from __future__ import annotations

import dataclasses

import pytest

from kubegroup import KubeGroupStats


def test_stats_start_at_zero_and_are_frozen() -> None:
    stats = KubeGroupStats()
    assert dataclasses.astuple(stats) == (0, 0, 0, 0, 0, 0, 0, 0, False, 0.0, 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.pods = 1  # type: ignore[misc]

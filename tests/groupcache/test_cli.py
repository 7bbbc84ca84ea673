"""The command line."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.timeout(60)
def test_demo_loads_every_key_once() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "groupcache", "demo", "--keys", "5", "--gets", "200"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "every key loaded exactly once: yes" in out
    assert "local_loads=5" in out

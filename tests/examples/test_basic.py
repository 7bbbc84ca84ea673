"""examples/basic/main.py runs as a script: 100 concurrent gets, one getter call."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_basic_example_calls_the_getter_once_for_100_concurrent_gets() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "basic" / "main.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "b'user record 42'"
    assert lines[1] == "100 concurrent gets, getter calls: 1"
    stats = lines[2]
    assert stats.startswith("GroupStats(gets=101,"), stats  # 100 concurrent + 1 hit
    assert "local_loads=1," in stats
    assert "loads_deduped=1," in stats
    assert result.stderr == ""

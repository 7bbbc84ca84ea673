"""The committed generated protobuf module matches proto/groupcache.proto."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.timeout(120)
def test_generated_module_is_not_stale(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run([str(ROOT / "scripts" / "gen-proto"), str(tmp_path)], check=True, env=env)
    for name in ("_groupcache_pb2.py", "_groupcache_pb2.pyi"):
        fresh = (tmp_path / name).read_text()
        committed = (ROOT / "groupcache" / "_protocol" / name).read_text()
        assert fresh == committed, f"groupcache/_protocol/{name} is stale: run scripts/gen-proto"

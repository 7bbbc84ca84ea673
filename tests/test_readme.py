"""Every code block of README.md is run or checked, so the documentation cannot rot."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from groupcache._cli import _parser

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"^```(\w+)\n(.*?)^```", (ROOT / "README.md").read_text(), re.M | re.S)


def blocks(lang: str) -> list[str]:
    return [body for kind, body in BLOCKS if kind == lang]


def test_every_block_has_a_known_language() -> None:
    assert {kind for kind, _ in BLOCKS} <= {"python", "sh", "yaml", "mermaid"}
    assert len(BLOCKS) >= 8


@pytest.mark.timeout(120)
@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_blocks_run(index: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-c", blocks("python")[index]],
        check=True,
        cwd=ROOT,
        env=env,
        timeout=100,
        capture_output=True,
    )


@pytest.mark.timeout(180)
def test_quickstart_commands() -> None:
    """The first command runs here; the second, scripts/test, is what CI itself runs."""
    quickstart = blocks("sh")[0]
    commands = [line.split("#")[0].strip() for line in quickstart.splitlines()]
    assert commands == ["scripts/demo", "scripts/test"]
    out = subprocess.run(
        [str(ROOT / "scripts" / "demo"), "--duration", "1"],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=170,
    ).stdout
    assert "every key loaded exactly once cluster-wide: yes" in out


def test_shell_examples_parse_with_the_cli() -> None:
    for block in blocks("sh")[1:]:
        line = block.replace("\\\n", " ").replace("$POD_IP", "10.0.0.1").strip().rstrip("&")
        argv = shlex.split(line)
        assert argv[0] == "groupcache"
        args = _parser().parse_args(argv[1:])
        assert args.command == "serve"


def test_yaml_blocks_are_valid_and_grant_only_pod_list_watch() -> None:
    for block in blocks("yaml"):
        doc = yaml.safe_load(block)
        assert doc["kind"] == "Role"
        assert doc["rules"] == [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]}
        ]


def test_mermaid_diagram_is_a_flowchart_of_the_get_path() -> None:
    (diagram,) = blocks("mermaid")
    assert diagram.startswith("flowchart")
    for step in ("main cache", "hot cache", "singleflight", "ring", "getter"):
        assert step in diagram

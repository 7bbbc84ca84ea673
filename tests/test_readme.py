"""Every code block of README.md is run or checked, so the documentation cannot rot.

A ``text`` block that directly follows a ``python`` block is that block's output: the
block must print exactly that (doctest rules: ``...`` matches anything). A python block
that prints nothing has no output block, and must print nothing.

The thin-client block talks to a real ``groupcache serve`` node: the README's plain
``serve`` block, started here on a free port with the README's getter module; the test
substitutes the node's URL for :data:`NODE_URL` in both.
"""

from __future__ import annotations

import asyncio
import dataclasses
import doctest
import json
import os
import pty
import re
import shlex
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import groupcache
from groupcache._app.cli import _parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
FENCE = re.compile(r"^```(\w+)\n(.*?)^```\n", re.M | re.S)
NODE_URL = "http://127.0.0.1:5000"
"""Where the README's examples expect a ``groupcache serve`` node; the test's is elsewhere."""
GETTER_MODULE = "# myapp/cache.py\n"
"""The first line of the README block that is the getter module of ``groupcache serve``."""


@dataclasses.dataclass(frozen=True)
class Block:
    """A fenced block; ``output`` is the ``text`` block right after a python block."""

    lang: str
    body: str
    output: str | None = None


def parse(text: str) -> list[Block]:
    matches = list(FENCE.finditer(text))
    found: list[Block] = []
    for i, match in enumerate(matches):
        lang, body = match.group(1), match.group(2)
        output = None
        following = matches[i + 1] if i + 1 < len(matches) else None
        if (
            lang == "python"
            and following is not None
            and following.group(1) == "text"
            and not text[match.end() : following.start()].strip()
        ):
            output = following.group(2)
        found.append(Block(lang, body, output))
    return found


BLOCKS = parse(README)


def blocks(lang: str) -> list[str]:
    return [block.body for block in BLOCKS if block.lang == lang]


PYTHON = [block for block in BLOCKS if block.lang == "python"]
SERVE = blocks("sh")[1:]  # after the quickstart
PLAIN_SERVE = [block for block in SERVE if "--kube-selector" not in block]


def test_every_block_has_a_known_language() -> None:
    assert {block.lang for block in BLOCKS} <= {"python", "sh", "yaml", "mermaid", "text"}
    assert len(BLOCKS) >= 8
    assert README.count("```") == 2 * len(BLOCKS)  # the fence pattern missed no block


def test_every_text_block_is_the_output_of_the_python_block_before_it() -> None:
    texts = blocks("text")
    assert texts
    assert sorted(texts) == sorted(block.output for block in PYTHON if block.output is not None)


def test_a_python_block_that_prints_shows_its_output() -> None:
    for block in PYTHON:
        assert ("print(" in block.body) == (block.output is not None), block.body[:200]


def serve_argv(block: str, url: str) -> list[str]:
    """The command of a ``groupcache serve`` block, with the node at ``url``."""
    line = block.replace("\\\n", " ").replace(NODE_URL, url).strip().removesuffix("&")
    return shlex.split(line)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run the README's plain ``groupcache serve`` block with its getter module."""
    (getter,) = [block.body for block in PYTHON if block.body.startswith(GETTER_MODULE)]
    app = tmp_path_factory.mktemp("app")
    (app / "myapp").mkdir()
    (app / "myapp" / "__init__.py").write_text("")
    (app / "myapp" / "cache.py").write_text(getter)
    (block,) = PLAIN_SERVE
    argv = serve_argv(block, "http://127.0.0.1:0")  # port 0: serve prints the bound one
    assert argv[:2] == ["groupcache", "serve"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(app), str(ROOT)])}
    env.pop("GROUPCACHE_TOKEN", None)
    with subprocess.Popen(
        [sys.executable, "-m", "groupcache", *argv[1:]],
        cwd=app,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            ready = proc.stdout.readline()
            assert ready, f"groupcache serve exited with {proc.wait()} before it was ready"
            url = json.loads(ready)["url"]
            assert isinstance(url, str)
            yield url
        finally:
            proc.terminate()
            assert proc.wait(timeout=20) == 0  # SIGTERM is a clean shutdown


def check_output(expected: str, got: str) -> None:
    checker = doctest.OutputChecker()
    if not checker.check_output(expected, got, doctest.ELLIPSIS):
        example = doctest.Example("", expected)
        pytest.fail(checker.output_difference(example, got, doctest.ELLIPSIS))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("index", range(len(PYTHON)))
def test_every_readme_python_block_runs(index: int, request: pytest.FixtureRequest) -> None:
    block = PYTHON[index]
    code = block.body
    if NODE_URL in code:
        code = code.replace(NODE_URL, request.getfixturevalue("node"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        timeout=100,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    check_output(block.output or "", done.stdout)


@pytest.mark.timeout(180)
def test_the_quickstart_is_scripts_demo_then_scripts_test_and_the_demo_runs() -> None:
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
    assert "origin calls saved:" in out
    assert re.search(r"\npeer fetch +\d+ +[\d.]+ +[\d.]+ +[\d.]+\n", out), out
    assert " gets\n" not in out  # piped: no progress line to rewrite


@pytest.mark.timeout(180)
def test_the_demo_rewrites_its_progress_line_on_a_terminal() -> None:
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [str(ROOT / "scripts" / "demo"), "--duration", "1.5", "--keys", "40"],
            cwd=ROOT,
            stdout=follower,
            stderr=subprocess.DEVNULL,
        )
        os.close(follower)
        out = b""
        while chunk := _read_pty(leader):
            out += chunk
        assert proc.wait(timeout=170) == 0
    finally:
        os.close(leader)
    text = out.decode()
    assert re.search(r"\r +1 s +\d+ gets", text), text  # rewritten in place, once a second
    assert "every key loaded exactly once cluster-wide: yes" in text


def _read_pty(fd: int) -> bytes:
    """What the terminal shows next; b"" once the program has closed it."""
    try:
        return os.read(fd, 4096)
    except OSError:  # EIO: every writer has closed the terminal
        return b""


def test_shell_examples_parse_with_the_cli() -> None:
    for block in SERVE:
        line = block.replace("\\\n", " ").replace("$POD_IP", "10.0.0.1").strip().rstrip("&")
        argv = shlex.split(line)
        assert argv[0] == "groupcache"
        args = _parser().parse_args(argv[1:])
        assert args.command == "serve"


def test_there_is_one_plain_serve_block_to_run_and_the_kube_one_is_parsed() -> None:
    assert len(PLAIN_SERVE) == 1
    assert NODE_URL in PLAIN_SERVE[0]
    kube = [block for block in SERVE if block not in PLAIN_SERVE]
    assert kube
    for block in kube:
        args = _parser().parse_args(serve_argv(block, NODE_URL)[1:])
        assert args.kube_selector == "app=myapp"
        assert args.port == 5000


def readme_getter() -> Callable[[str], Any]:
    (getter,) = [block.body for block in PYTHON if block.body.startswith(GETTER_MODULE)]
    namespace: dict[str, Any] = {}
    exec(getter, namespace)
    load: Callable[[str], Any] = namespace["load_page"]
    return load


def test_the_serve_block_runs_a_node_that_answers(node: str) -> None:
    with urllib.request.urlopen(f"{node}/stats", timeout=10) as resp:
        stats = json.load(resp)
    assert stats["self"] == node
    assert stats["peers"] == [node]
    assert "pages" in stats["groups"]
    expected = asyncio.run(readme_getter()("/readme/check"))
    with groupcache.Client(node) as client:
        assert client.get_sync("pages", "/readme/check") == expected
        assert client.get_sync("pages", "/readme/check") == expected
    with urllib.request.urlopen(f"{node}/stats", timeout=10) as resp:
        after = json.load(resp)["groups"]["pages"]["stats"]
    assert after["local_loads"] >= 1
    assert after["cache_hits"] >= 1
    with urllib.request.urlopen(f"{node}/metrics", timeout=10) as resp:  # --metrics
        metrics = resp.read().decode()
    assert 'groupcache_gets_total{group="pages"}' in metrics


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

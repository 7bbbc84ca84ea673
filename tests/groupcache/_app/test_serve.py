"""``groupcache serve`` security: the token from a file or the environment guards every
route of the node, ``/stats`` and ``/metrics`` included."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import types
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from groupcache import Client
from groupcache._app.cli import _run, main

TOKEN = "from-the-environment"


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
async def test_serve_runs_on_the_event_loop_asked_for(loop: str) -> None:
    async with node("--loop", loop, ready=True) as ready:
        assert isinstance(ready, dict)
        assert ready["loop"] == loop
        async with Client(str(ready["url"])) as client:
            assert await client.get("g", "k") == b"echo:k"


@contextlib.asynccontextmanager
async def node(
    *args: str, env: dict[str, str] | None = None, ready: bool = False
) -> AsyncIterator[Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "groupcache", "serve", "--self", "http://127.0.0.1:0",
        "--getter", "tests.support.getters:echo", "--group", "g", *args,
        stdout=asyncio.subprocess.PIPE, env={**os.environ, **(env or {})},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = json.loads(await proc.stdout.readline())
        yield line if ready else str(line["url"])
    finally:
        if proc.returncode is None:
            proc.terminate()
        assert await proc.wait() == 0


async def statuses(url: str, auth: str | None) -> dict[str, int]:
    headers = {"Authorization": auth} if auth else {}
    found = {}
    async with aiohttp.ClientSession(headers=headers) as session:
        for path in ("/stats", "/metrics", "/_groupcache/g/k"):
            async with session.get(url + path) as resp:
                found[path] = resp.status
    return found


async def test_the_token_from_the_environment_guards_stats_metrics_and_the_protocol() -> None:
    async with node("--metrics", env={"GROUPCACHE_TOKEN": TOKEN}) as url:
        assert set((await statuses(url, None)).values()) == {401}
        assert set((await statuses(url, "Bearer wrong")).values()) == {403}
        assert set((await statuses(url, f"Bearer {TOKEN}")).values()) == {200}
        async with Client(url, token=TOKEN) as client:
            assert await client.get("g", "k") == b"echo:k"
        async with aiohttp.ClientSession() as session:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            async with session.get(url + "/metrics", headers=headers) as resp:
                assert 'groupcache_gets_total{group="g"} 2.0' in await resp.text()


async def test_the_token_file_is_read_and_stripped(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cret\n")
    async with node("--token-file", str(secret)) as url:
        assert (await statuses(url, None))["/stats"] == 401
        assert (await statuses(url, "Bearer s3cret"))["/stats"] == 200
        assert (await statuses(url, "Bearer s3cret"))["/metrics"] == 404  # not asked for


def test_an_empty_token_variable_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["serve", "--self", "http://127.0.0.1:0", "--getter", "tests.support.getters:echo"]
    monkeypatch.setenv("GROUPCACHE_TOKEN", " ")  # e.g. a Secret that failed to mount
    assert main(argv) == 2
    assert "GROUPCACHE_TOKEN is set but empty" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--token", "a", "--token-file", "f"], "not both"),
        (["--token-file", "/nonexistent/token"], "cannot read --token-file"),
        (["--token-file", "EMPTY"], "is empty"),
    ],
)
def test_bad_token_options_are_clear_errors(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    args = [str(empty) if a == "EMPTY" else a for a in args]
    argv = ["serve", "--self", "http://127.0.0.1:0", "--getter", "tests.support.getters:echo"]
    assert main([*argv, *args]) == 2
    assert message in capsys.readouterr().err


async def test_a_token_on_the_command_line_guards_the_node_as_well() -> None:
    async with node("--token", "on-argv") as url:
        assert (await statuses(url, None))["/stats"] == 401
        assert (await statuses(url, "Bearer on-argv"))["/stats"] == 200


@pytest.mark.parametrize(
    ("module", "message"),
    [
        (None, "--loop uvloop needs uvloop: pip install 'groupcache[uvloop]'"),
        (types.ModuleType("uvloop"), "--loop uvloop needs uvloop >= 0.18"),  # no uvloop.run
    ],
    ids=["not installed", "older than 0.18"],
)
def test_loop_uvloop_without_a_usable_uvloop_is_a_clear_error_and_starts_nothing(
    module: types.ModuleType | None,
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The refused serve coroutine is closed, never run (filterwarnings=error would
    report one left unawaited), and ``--loop auto`` falls back to asyncio instead."""
    monkeypatch.setitem(sys.modules, "uvloop", module)  # None: importing it fails
    argv = ["serve", "--self", "http://127.0.0.1:0", "--getter", "tests.support.getters:echo"]
    assert main([*argv, "--loop", "uvloop"]) == 2
    assert message in capsys.readouterr().err
    ran: list[str] = []

    async def record_the_loop() -> None:
        ran.append(type(asyncio.get_running_loop()).__module__)

    _run(record_the_loop(), "auto")
    assert ran == ["asyncio.unix_events"]

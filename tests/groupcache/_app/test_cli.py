"""The command line: ``groupcache demo`` and ``groupcache serve`` with the thin Client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest

from groupcache import Client, NotFoundError, PeerError, RemoteCallError
from groupcache._app.cli import main
from tests.support.net import free_ports


@pytest.mark.timeout(90)
def test_demo_runs_a_cluster_and_loads_every_key_once() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "groupcache", "demo", "--keys", "40", "--duration", "1"],
        check=True,
        capture_output=True,
        text=True,
        timeout=80,
    ).stdout
    assert "starting 3 nodes" in out
    assert "every key loaded exactly once cluster-wide: yes" in out
    assert "p99" in out


@contextlib.asynccontextmanager
async def node(*args: str) -> AsyncIterator[dict[str, object]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "groupcache", "serve", "--self", "http://127.0.0.1:0",
        *args, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        info: dict[str, object] = json.loads(line)
        yield info
    finally:
        if proc.returncode is None:
            proc.terminate()
        assert await proc.wait() == 0  # SIGTERM is a clean shutdown


async def test_serve_and_client_round_trip_values_and_errors() -> None:
    async with node("--getter", "tests.support.getters:echo", "--group", "g") as info:
        url = str(info["url"])
        assert info["peers"] == [url]
        async with Client(url) as client:
            assert await client.get("g", "a b/c") == b"echo:a b/c"
            with pytest.raises(NotFoundError, match="missing-1 does not exist"):
                await client.get("g", "missing-1")
            with pytest.raises(RemoteCallError, match="origin failed for fail-1"):
                await client.get("g", "fail-1")
            with pytest.raises(NotFoundError, match="no such group: nope"):
                await client.get("nope", "k")
            assert await asyncio.to_thread(client.get_sync, "g", "ünï") == "echo:ünï".encode()
            assert client.get_sync("g", "a b/c") == b"echo:a b/c"
        async with aiohttp.ClientSession() as session, session.get(url + "/stats") as resp:
            stats = await resp.json()
        assert stats["peers"] == [url]
        assert stats["groups"]["g"]["stats"]["local_loads"] == 2
        assert stats["groups"]["g"]["stats"]["cache_hits"] == 1


async def test_two_serve_nodes_share_the_work_through_their_ring() -> None:
    urls = [f"http://127.0.0.1:{port}" for port in free_ports(2)]
    peers = ",".join(urls)
    getter = "tests.support.getters:sync_echo"
    async with (
        node("--self", urls[0], "--peers", peers, "--getter", getter),
        node("--self", urls[1], "--peers", peers, "--getter", getter),
    ):
        async with Client(urls[0]) as c0, Client(urls[1]) as c1:
            keys = [f"k{i}" for i in range(20)]
            for key in keys:
                assert await c0.get("default", key) == f"sync:{key}".encode()
                assert await c1.get("default", key) == f"sync:{key}".encode()
        async with aiohttp.ClientSession() as session:
            loads = 0
            for url in urls:
                async with session.get(url + "/stats") as resp:
                    loads += (await resp.json())["groups"]["default"]["stats"]["local_loads"]
        assert loads == 20  # each key once across both nodes


def test_serve_reports_bad_getters_clearly(capsys: pytest.CaptureFixture[str]) -> None:
    for spec, message in [
        ("nocolon", "must be module:function"),
        ("no.such.module:f", "cannot load getter"),
        ("tests.support.getters:NOT_CALLABLE", "is not callable"),
    ]:
        assert main(["serve", "--self", "http://127.0.0.1:0", "--getter", spec]) == 2
        assert message in capsys.readouterr().err
    assert main(["serve", "--self", "http://x:1", "--listen", "nope", "--getter", "a:b"]) == 2
    assert main(["serve", "--getter", "a:b"]) == 2
    assert "needs --self" in capsys.readouterr().err
    assert main(["serve", "--kube-selector", "app=x", "--getter", "a:b"]) == 2
    assert "needs --port" in capsys.readouterr().err


async def test_client_transport_errors_are_peer_errors() -> None:
    async with Client("http://127.0.0.1:1") as client:
        with pytest.raises(PeerError):
            await client.get("g", "k")
        with pytest.raises(PeerError):
            client.get_sync("g", "k")


@contextlib.asynccontextmanager
async def draining_node(drain: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """A ``groupcache serve --drain`` process, its stdout and stderr piped; killed by PID
    at the end if the test left it running."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "groupcache", "serve", "--self", "http://127.0.0.1:0",
        "--getter", "tests.support.getters:echo", "--group", "g", "--drain", drain,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_serve_drains_after_sigterm_answering_peers_until_the_drain_ends() -> None:
    """``--drain``: after SIGTERM the node keeps serving (its peers may still take copies
    of its keys, the warm handoff) for that long, then exits 0; a second signal ends the
    drain at once."""
    async with draining_node("60") as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        url = json.loads(await proc.stdout.readline())["url"]
        async with Client(url) as client:
            assert await client.get("g", "k") == b"echo:k"
            proc.terminate()
            line = (await proc.stderr.readline()).decode()
            assert "draining for 60.0 s" in line
            assert await client.get("g", "k") == b"echo:k"  # still serving
        proc.terminate()  # a second signal: stop now
        async with asyncio.timeout(20):
            assert await proc.wait() == 0


async def test_serve_exits_by_itself_when_the_drain_is_over() -> None:
    async with draining_node("0.2") as proc:
        assert proc.stdout is not None
        await proc.stdout.readline()
        proc.terminate()
        async with asyncio.timeout(20):
            assert await proc.wait() == 0


def test_a_negative_drain_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["serve", "--self", "http://127.0.0.1:0", "--getter", "m:f", "--drain", "-1"]
    assert main(argv) == 2
    assert "--drain must be >= 0" in capsys.readouterr().err


async def test_stats_report_the_clients_gets_by_kind_where_they_were_served() -> None:
    async with node("--getter", "tests.support.getters:echo", "--group", "g") as info:
        url = str(info["url"])
        async with Client(url) as client:
            await client.get("g", "k")  # this node alone owns it: the getter runs
            for _ in range(3):
                await client.get("g", "k")  # then hits
        async with aiohttp.ClientSession() as session, session.get(url + "/stats") as resp:
            served = (await resp.json())["served"]
    assert {k: v["count"] for k, v in served.items()} == {"hit": 3, "peer": 0, "origin": 1}
    assert served["origin"]["p50_ms"] > 0

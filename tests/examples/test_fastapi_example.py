"""examples/fastapi/service.py under uvicorn: two processes, two groupcache nodes.

Each node is a real ``uvicorn`` process serving the example app; the pool starts and stops
in the app's lifespan. No Go test exists (an example of this repository's own).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.net import free_ports

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi"
KEYS = [f"user-{i}" for i in range(12)]
STARTED = "Uvicorn running on"  # logged once the lifespan has started and the port is bound


@dataclass
class Node:
    proc: subprocess.Popen[str]
    port: int
    peer_url: str
    log: list[str]

    def get(self, path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def stats(self) -> dict[str, Any]:
        status, body = self.get("/stats")
        assert status == 200
        stats: dict[str, Any] = json.loads(body)
        return stats

    def stop(self) -> str:
        """SIGTERM by PID, as a pod's shutdown; return what uvicorn logged meanwhile."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return "".join(self.log) + (err or "")


def start(port: int, peer_url: str, peers: list[str]) -> Node:
    env = {**os.environ, "GROUPCACHE_SELF": peer_url, "GROUPCACHE_PEERS": ",".join(peers)}
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "--app-dir", str(EXAMPLE), "service:app"),
            *("--host", "127.0.0.1", "--port", str(port), "--no-access-log"),
        ],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    return Node(proc, port, peer_url, [])


def wait_started(node: Node) -> None:
    """Read uvicorn's log until it serves: the lifespan started the pool, the port is
    bound (or it exited)."""
    assert node.proc.stderr is not None
    for line in node.proc.stderr:  # bounded by the test's timeout
        node.log.append(line)
        if STARTED in line:
            return
    raise AssertionError(f"uvicorn exited ({node.proc.wait()}): {''.join(node.log)}")


@pytest.fixture
def nodes() -> Iterator[list[Node]]:
    http_ports, peer_ports = free_ports(2), free_ports(2)
    peers = [f"http://127.0.0.1:{p}" for p in peer_ports]
    started = [start(h, u, peers) for h, u in zip(http_ports, peers, strict=True)]
    try:
        for node in started:
            wait_started(node)
        yield started
    finally:
        for node in started:
            node.stop()


def test_both_uvicorn_nodes_serve_every_key_and_the_cluster_loads_each_once(
    nodes: list[Node],
) -> None:
    requests = [(node, key) for _ in range(4) for key in KEYS for node in nodes]
    with ThreadPoolExecutor(16) as threads:
        replies = list(threads.map(lambda nk: nk[0].get(f"/users/{nk[1]}"), requests))
    for (_, key), (status, body) in zip(requests, replies, strict=True):
        assert (status, body) == (200, f"user record {key}".encode())
    calls: Counter[str] = Counter()
    for node in nodes:
        calls.update(node.stats()["db_calls"])
    assert calls == Counter(KEYS)  # one load per key in the whole cluster
    assert all(node.stats()["group"]["peer_loads"] > 0 for node in nodes)  # they share


def test_sigterm_closes_the_pool_in_the_lifespan_and_exits_cleanly(nodes: list[Node]) -> None:
    a, b = nodes
    assert a.get("/users/x") == (200, b"user record x")
    log = a.stop()
    # uvicorn re-raises the signal once it has shut down gracefully
    assert a.proc.returncode == -signal.SIGTERM
    assert "Application shutdown complete" in log
    assert "Task was destroyed" not in log
    assert "Unclosed" not in log
    # The other node still answers, loading a's keys itself once a's connection is refused.
    assert b.get("/users/y") == (200, b"user record y")

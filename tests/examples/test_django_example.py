"""examples/django: gunicorn workers share one ``groupcache serve`` node through the thin
client, as the workers of one pod would.

The node and gunicorn are real processes (stopped by PID); no Go test exists (an example of
this repository's own).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from tests.support.net import free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "django"
KEYS = [f"user-{i}" for i in range(12)]
WORKERS = 3


@dataclass
class Site:
    node: subprocess.Popen[str]
    node_url: str
    gunicorn: subprocess.Popen[str]
    port: int

    def get(self, path: str, port: int | None = None) -> tuple[int, bytes, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=10)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read(), resp.getheader("X-Worker") or ""
        finally:
            conn.close()


def read_until(stream: IO[str] | None, marker: str, count: int = 1) -> list[str]:
    """Read lines until ``marker`` has been seen ``count`` times (bounded by the test's
    timeout); fail with what was read if the stream ends first."""
    assert stream is not None
    seen: list[str] = []
    for line in stream:
        seen.append(line)
        if sum(marker in s for s in seen) >= count:
            return seen
    raise AssertionError(f"ended before {marker!r}: {''.join(seen)}")


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()


@pytest.fixture
def site() -> Iterator[Site]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(EXAMPLE), os.environ.get("PYTHONPATH", "")]),
    }
    node = subprocess.Popen(
        [
            *(sys.executable, "-m", "groupcache", "serve", "--self", "http://127.0.0.1:0"),
            *("--getter", "djangoorigin:load_user", "--group", "users"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    procs = [node]
    try:
        ready = json.loads(read_until(node.stdout, '"url"')[-1])
        port = free_port()
        gunicorn = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "-w", str(WORKERS)),
                *("-b", f"127.0.0.1:{port}", "--chdir", str(EXAMPLE), "djangosite:application"),
            ],
            env={**env, "GROUPCACHE_NODE": ready["url"]},
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(gunicorn)
        read_until(gunicorn.stderr, "Booting worker", WORKERS)
        yield Site(node, ready["url"], gunicorn, port)
    finally:
        for proc in reversed(procs):
            stop(proc)


def test_gunicorn_workers_share_the_pods_node_and_each_key_loads_once(site: Site) -> None:
    requests = [key for _ in range(6) for key in KEYS]
    with ThreadPoolExecutor(12) as threads:
        replies = list(threads.map(lambda key: site.get(f"/users/{key}"), requests))
    for key, (status, body, _) in zip(requests, replies, strict=True):
        assert (status, body) == (200, f"user record {key}".encode())
    assert len({worker for _, _, worker in replies}) >= 2  # several workers served
    node_port = int(site.node_url.rsplit(":", 1)[1])
    status, body, _ = site.get("/stats", port=node_port)
    assert status == 200
    stats = json.loads(body)
    assert stats["groups"]["users"]["stats"]["local_loads"] == len(KEYS)  # once each, pod-wide

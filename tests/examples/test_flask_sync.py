"""examples/flask-sync/wsgi.py: Flask threads share one load per key through get_sync.

Each test loads a fresh copy of the example module (its workspace, group and counters are
module globals) and closes its workspace afterwards, as the app's atexit hook would.
"""

from __future__ import annotations

import atexit
import collections
import http.client
import importlib.util
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

import groupcache

APP_PATH = Path(__file__).resolve().parents[2] / "examples" / "flask-sync" / "wsgi.py"
MODULE_NAME = "examples_flask_sync_app"
THREADS = 16
KEYS = [f"user-{i}" for i in range(6)]


@dataclass
class Example:
    """The example module's globals that the tests use."""

    app: Flask
    workspace: groupcache.Workspace
    users: groupcache.Group
    db_calls: collections.Counter[str]


@pytest.fixture
def example() -> Iterator[Example]:
    spec = importlib.util.spec_from_file_location(MODULE_NAME, APP_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module  # Flask(__name__) looks its module up
    try:
        spec.loader.exec_module(module)
        yield Example(module.app, module.workspace, module.users, module.db_calls)
    finally:
        workspace: groupcache.Workspace | None = getattr(module, "workspace", None)
        if workspace is not None:
            workspace.close()
            atexit.unregister(workspace.close)
        del sys.modules[MODULE_NAME]


def run_concurrently(fn: Callable[[str], bytes], rounds: int = 1) -> list[bytes]:
    """Call ``fn(key)`` for every key from THREADS threads started together."""
    barrier = threading.Barrier(THREADS)

    def worker(offset: int) -> list[bytes]:
        barrier.wait(timeout=10)
        order = KEYS[offset % len(KEYS) :] + KEYS[: offset % len(KEYS)]  # spread the keys
        return [fn(key) for _ in range(rounds) for key in order]

    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(worker, n) for n in range(THREADS)]
        return [body for future in futures for body in future.result(timeout=30)]


def expected(key: str) -> bytes:
    return f"user record {key}".encode()


def test_threads_through_the_test_client_run_the_getter_once_per_key(example: Example) -> None:
    local = threading.local()

    def fetch(key: str) -> bytes:
        if not hasattr(local, "client"):
            local.client = example.app.test_client()  # one client per thread
        resp = local.client.get(f"/users/{key}")
        assert resp.status_code == 200
        body: bytes = resp.data
        assert body == expected(key)
        return body

    bodies = run_concurrently(fetch, rounds=2)
    assert len(bodies) == THREADS * len(KEYS) * 2
    assert example.db_calls == dict.fromkeys(KEYS, 1)
    stats = example.users.stats()
    assert stats.local_loads == len(KEYS)
    assert stats.gets == THREADS * len(KEYS) * 2

    client = example.app.test_client()
    stats_json = client.get("/stats").get_json()
    assert stats_json["db_calls"] == dict.fromkeys(KEYS, 1)


def test_real_threaded_server_answers_concurrent_http_requests(example: Example) -> None:
    server = make_server("127.0.0.1", 0, example.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="test-flask-server")
    thread.start()
    try:
        local = threading.local()
        connections: list[http.client.HTTPConnection] = []
        lock = threading.Lock()

        def fetch(key: str) -> bytes:
            if not hasattr(local, "conn"):
                local.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
                with lock:
                    connections.append(local.conn)
            conn: http.client.HTTPConnection = local.conn
            conn.request("GET", f"/users/{key}")
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200, body
            assert body == expected(key)
            return body

        try:
            bodies = run_concurrently(fetch, rounds=3)
        finally:
            for conn in connections:
                conn.close()
        assert len(bodies) == THREADS * len(KEYS) * 3
        assert example.db_calls == dict.fromkeys(KEYS, 1)
        assert example.users.stats().local_loads == len(KEYS)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
    assert not thread.is_alive()


def test_module_serves_get_sync_and_closes_its_workspace_at_exit() -> None:
    """Imported as a WSGI module would be: it answers, then atexit stops the loop thread."""
    code = (
        "import atexit, sys, threading\n"
        "def check():  # registered first, so it runs after the app's own atexit hook\n"
        "    print('loop closed at exit:', sys.modules['wsgi'].workspace.loop.is_closed())\n"
        "atexit.register(check)\n"
        "import wsgi\n"
        "print(wsgi.users.get_sync('7').decode())\n"
        "print(wsgi.users.get_sync('7').decode())\n"
        "print(dict(wsgi.db_calls))\n"
        "print([t.name for t in threading.enumerate() if t.name.startswith('groupcache')])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=APP_PATH.parent,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "user record 7",
        "user record 7",
        "{'7': 1}",
        "['groupcache-loop']",
        "loop closed at exit: True",
    ]
    assert result.stderr == ""

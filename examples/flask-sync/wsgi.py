"""A threaded Flask app that reads through a groupcache Group with the synchronous API.

Flask views run in plain threads with no event loop, so they call ``group.get_sync(key)``:
a hit is read directly from the cache in the calling thread, and a miss runs on the
workspace's background loop, where concurrent misses for one key share a single call of
the getter. The getter is a plain function (a stand-in for a slow database query); it
runs in a worker thread, never on the loop.

Run it with ``python examples/flask-sync/wsgi.py`` (or ``flask run`` in this folder, or
``gunicorn --threads 8 wsgi:app``) and try ``curl http://127.0.0.1:8000/users/42``.

The file is ``wsgi.py`` rather than ``app.py`` (which ``flask run`` finds as well) because
mypy checks all of ``examples/`` in one run and would see two top-level modules named
``app`` (this one and ``examples/kubegroup-example/app.py``).
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import os
import threading
import time

from flask import Flask, Response

import groupcache

DB_DELAY = 0.05  # seconds per "query"

workspace = groupcache.Workspace()  # owns the background loop thread of the sync API
atexit.register(workspace.close)  # stop that thread at exit

db_calls: collections.Counter[str] = collections.Counter()
_db_lock = threading.Lock()  # protects db_calls: the getter runs in worker threads


def query_db(key: str) -> bytes:
    """The getter: a slow, blocking database call (runs in a worker thread)."""
    with _db_lock:
        db_calls[key] += 1
    time.sleep(DB_DELAY)
    return f"user record {key}".encode()


users = groupcache.Group("users", query_db, 16 << 20, workspace=workspace)

app = Flask(__name__)


@app.get("/users/<key>")
def get_user(key: str) -> Response:
    return Response(users.get_sync(key, timeout=10.0), mimetype="text/plain")


@app.get("/stats")
def stats() -> dict[str, object]:
    with _db_lock:
        calls = dict(db_calls)
    return {"group": dataclasses.asdict(users.stats()), "db_calls": calls}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8000")), threaded=True)

"""A FastAPI service whose routes read through a groupcache Group: one node per process.

The pool (this node's peer server, and its connections to the other nodes) is started and
closed in the app's lifespan, on uvicorn's event loop. Routes ``await users.get(key)`` on
that same loop: a hit is served from memory, a miss for a key another node owns is one
HTTP request to that node, and concurrent misses share one load per key across the whole
cluster. The getter is a coroutine (a stand-in for a slow database query).

Configuration, from the environment:

- ``GROUPCACHE_SELF``: this node's peer URL (default ``http://127.0.0.1:9001``).
- ``GROUPCACHE_PEERS``: every node's peer URL, comma-separated, this one included
  (default: this node alone).

Two nodes on one machine::

    export GROUPCACHE_PEERS=http://127.0.0.1:9001,http://127.0.0.1:9002
    cd examples/fastapi
    GROUPCACHE_SELF=http://127.0.0.1:9001 uvicorn service:app --port 8001 &
    GROUPCACHE_SELF=http://127.0.0.1:9002 uvicorn service:app --port 8002 &
    curl http://127.0.0.1:8001/users/42

Run uvicorn with one worker per node: each worker process would be a node of its own
(for several workers sharing one node, see the Django example and the thin client).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator, Mapping
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

import groupcache

DB_DELAY = 0.05  # seconds per "query"


@dataclasses.dataclass(frozen=True)
class Config:
    """Where this node serves its peers, and who the peers are."""

    self_url: str
    peers: tuple[str, ...]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        self_url = env.get("GROUPCACHE_SELF", "http://127.0.0.1:9001")
        peers = tuple(p.strip() for p in env.get("GROUPCACHE_PEERS", "").split(",") if p.strip())
        return cls(self_url, peers or (self_url,))


workspace = groupcache.Workspace()
db_calls: collections.Counter[str] = collections.Counter()


async def query_db(key: str) -> bytes:
    """The getter: a slow database call, run once per key across the cluster."""
    db_calls[key] += 1
    await asyncio.sleep(DB_DELAY)
    return f"user record {key}".encode()


users = groupcache.Group("users", query_db, 16 << 20, workspace=workspace)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Serve the peers while the app runs; close the pool and the workspace after."""
    config = Config.from_env(os.environ)
    parts = urlsplit(config.self_url)
    pool = groupcache.HTTPPool(config.self_url, workspace=workspace)
    try:
        await pool.start(parts.hostname or "127.0.0.1", parts.port or 0)
        pool.set_peers(*config.peers)
        app.state.pool = pool
        yield
    finally:
        await pool.aclose()
        workspace.close()


app = FastAPI(lifespan=lifespan)


@app.get("/users/{key}")
async def get_user(key: str) -> PlainTextResponse:
    return PlainTextResponse(await users.get(key))


@app.get("/stats")
async def stats() -> dict[str, object]:
    pool: groupcache.HTTPPool = app.state.pool
    return {
        "node": pool.self_url,
        "peers": pool.peers,
        "group": dataclasses.asdict(users.stats()),
        "db_calls": dict(db_calls),
    }

"""The origin of the Django example: the getter its ``groupcache serve`` node runs.

``groupcache serve --getter djangoorigin:load_user`` imports it (with this folder on
``PYTHONPATH``). It runs in the node's process, once per key across the cluster, never
in the Django workers.
"""

from __future__ import annotations

import asyncio

DB_DELAY = 0.05  # seconds per "query"


async def load_user(key: str) -> bytes:
    """A slow database query, standing for yours."""
    await asyncio.sleep(DB_DELAY)
    return f"user record {key}".encode()

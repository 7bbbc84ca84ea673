"""A Group in a plain script: the getter runs once per key, then hits come from the cache."""

from __future__ import annotations

import asyncio

import groupcache

calls = 0


async def load_user(key: str) -> bytes:
    """Stand-in for a slow database query."""
    global calls
    calls += 1
    await asyncio.sleep(0.01)
    return f"user record {key}".encode()


async def main() -> None:
    with groupcache.Workspace() as ws:
        users = groupcache.Group("users", load_user, 64 << 20, workspace=ws)
        values = await asyncio.gather(*(users.get("42") for _ in range(100)))
        assert set(values) == {b"user record 42"}
        print(await users.get("42"))
        print(f"100 concurrent gets, getter calls: {calls}")
        print(users.stats())


if __name__ == "__main__":
    asyncio.run(main())

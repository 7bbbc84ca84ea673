"""Getters that tests hand to ``groupcache serve --getter``."""

from __future__ import annotations

from groupcache import NotFoundError


async def echo(key: str) -> bytes:
    if key.startswith("missing"):
        raise NotFoundError(f"{key} does not exist")
    if key.startswith("fail"):
        raise RuntimeError(f"origin failed for {key}")
    return f"echo:{key}".encode()


def sync_echo(key: str) -> bytes:
    return f"sync:{key}".encode()


NOT_CALLABLE = 42

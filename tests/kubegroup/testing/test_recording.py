"""RecordingPool (re-exported by kubegroup.testing): records set_peers calls, waits on them."""

from __future__ import annotations

import asyncio

from kubegroup.testing import RecordingPool


async def test_it_records_calls_and_wakes_a_waiter() -> None:
    pool = RecordingPool()
    assert pool.peers is None
    waiter = asyncio.ensure_future(pool.wait_for_peers(["a", "b"]))
    pool.set_peers("a")
    pool.set_peers("a", "b")
    async with asyncio.timeout(5):
        await waiter
    assert pool.calls == [("a",), ("a", "b")]
    assert pool.peers == ("a", "b")

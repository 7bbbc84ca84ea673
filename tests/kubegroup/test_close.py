"""aclose()/close() are bounded by ``close_timeout`` (5 s by default, under a pod's 30 s
termination grace period), even while a request to the API server hangs unanswered; the
pool is never called after they return."""

from __future__ import annotations

import asyncio
import time

import pytest

from kubegroup.testing import FakeKubeAPI

from .conftest import StartGroup
from .helpers import WAIT, WEB, in_thread, synced_and_watching


def hung(fake: FakeKubeAPI) -> bool:
    return any(r.status == 0 for r in fake.requests)


@pytest.mark.timeout(60)
async def test_aclose_returns_within_5_s_by_default_while_a_watch_request_hangs(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    kg, pool = await synced_and_watching(fake, start_group, "10.0.0.1")
    fake.hang_next_requests(1)
    fake.close_watches()  # the next watch request is never answered
    await in_thread(lambda: fake.wait_for_requests(lambda _: hung(fake)))
    calls = len(pool.calls)
    started = time.monotonic()
    await kg.aclose()
    took = time.monotonic() - started
    assert 4.5 <= took <= 5.5, took  # waited for the thread, but not longer than the bound
    fake.start_pod("b", labels=WEB, ip="10.0.0.2")
    fake.close()  # the hung request ends; the thread sees it is stopped and exits
    assert kg._watcher.join(WAIT)
    await asyncio.sleep(0)  # anything it might have posted to the loop would run now
    assert len(pool.calls) == calls


async def test_close_is_bounded_by_close_timeout_too(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    kg, _pool = await synced_and_watching(fake, start_group, "10.0.0.1", close_timeout=0.3)
    fake.hang_next_requests(1)
    fake.close_watches()
    await in_thread(lambda: fake.wait_for_requests(lambda _: hung(fake)))
    started = time.monotonic()
    await asyncio.to_thread(kg.close)
    assert time.monotonic() - started < 1.5
    fake.close()
    assert kg._watcher.join(WAIT)

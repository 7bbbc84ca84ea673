"""PodWatcher on FakeKubeAPI with its pauses recorded instead of waited for.

The delays the loop chooses are asserted exactly (seeded jitter, no clock): relists
after repeated 410s back off, a watch event resets that, ``Retry-After`` is capped at
``backoff_max``, and an over-long watch line is an error followed by a resumed watch.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from kubegroup import KubeAPIError
from kubegroup._config import watch_client
from kubegroup._watch import PodWatcher, WatchSettings
from kubegroup.testing import FakeKubeAPI, RecordedRequest

WEB = {"app": "web"}
WAIT = 10.0


class Loop:
    """A running PodWatcher whose ``wait(delay)`` records the delay and returns at once."""

    def __init__(self, fake: FakeKubeAPI, **settings: Any) -> None:
        options: dict[str, Any] = {"backoff_initial": 1.0, "backoff_max": 8.0}
        options.update(settings)
        with fake.api_client() as given:
            self.client = watch_client(given)  # urllib3 retries off, as update_peers does
        self.delays: list[float] = []
        self.changed = threading.Event()
        self.watcher = PodWatcher(
            self.client,
            WatchSettings("ns1", "app=web", **options),
            on_change=self.changed.set,
            on_exit=lambda: None,
            rng=random.Random(7),
            wait=self.delays.append,
        )

    def close(self) -> None:
        self.watcher.stop()
        assert self.watcher.join(WAIT)
        self.client.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def loop(fake: FakeKubeAPI) -> Iterator[Loop]:
    made = Loop(fake)
    yield made
    made.close()


def lists(reqs: list[RecordedRequest]) -> list[RecordedRequest]:
    return [r for r in reqs if not r.is_watch and r.status == 200]


def watching(reqs: list[RecordedRequest], n: int) -> bool:
    """Whether ``n`` watches were answered 200 (a 200 watch is registered before logged)."""
    return sum(r.is_watch and r.status == 200 for r in reqs) >= n


def doubling(delays: list[float], initial: float, maximum: float) -> bool:
    bases = [min(maximum, initial * 2**i) for i in range(len(delays))]
    return all(b / 2 <= d <= b for d, b in zip(delays, bases, strict=True))


@pytest.mark.parametrize("how", ["ERROR event", "HTTP status"])
def test_repeated_expiries_relist_once_each_backing_off_from_the_second(
    fake: FakeKubeAPI, loop: Loop, how: str
) -> None:
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    if how == "ERROR event":
        fake.expire_next_watch(count=5)  # list, watch → 410, five times over
    else:
        fake.fail_next_requests(410, count=5)  # the first list and four relists → 410
    loop.watcher.start()
    reqs = fake.wait_for_requests(lambda r: watching(r, 1 if how == "HTTP status" else 6))
    assert len(lists(reqs)) == (1 if how == "HTTP status" else 6)  # one LIST per expiry
    assert loop.watcher.counts["relists"] == 5
    assert len(loop.delays) == 4  # none before the first relist
    assert doubling(loop.delays, 1.0, 8.0), loop.delays
    assert loop.watcher.snapshot()[1][0].ip == "10.0.0.1"


def test_an_event_between_two_expiries_means_no_delay(fake: FakeKubeAPI, loop: Loop) -> None:
    loop.watcher.start()
    fake.wait_for_requests(lambda r: watching(r, 1))
    assert fake.send_error_event(410) == 1
    fake.wait_for_requests(lambda r: watching(r, 2))
    assert fake.send_error_event(410) == 1  # again without an event: back off
    fake.wait_for_requests(lambda r: watching(r, 3))
    assert len(loop.delays) == 1
    loop.changed.clear()
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    assert loop.changed.wait(WAIT)
    assert fake.send_error_event(410) == 1  # progress was made: relist at once
    reqs = fake.wait_for_requests(lambda r: watching(r, 4))
    assert len(loop.delays) == 1
    assert len(lists(reqs)) == 4
    assert loop.watcher.counts["relists"] == 3


def test_retry_after_is_capped_at_backoff_max(fake: FakeKubeAPI, loop: Loop) -> None:
    fake.fail_next_requests(429, retry_after=86400)
    loop.watcher.start()
    fake.wait_for_requests(lambda r: watching(r, 1))
    assert loop.delays == [8.0]  # not a day
    err = loop.watcher.last_error
    assert isinstance(err, KubeAPIError)
    assert err.retry_after == 86400.0


def test_a_line_over_the_cap_is_an_error_and_the_watch_resumes(fake: FakeKubeAPI) -> None:
    loop = Loop(fake, max_line=4096)
    try:
        loop.watcher.start()
        fake.wait_for_requests(lambda r: watching(r, 1))
        rv = fake.resource_version
        assert fake.send_raw(b'{"type": "ADDED", "object": "' + b"x" * 8192) == 1
        reqs = fake.wait_for_requests(lambda r: watching(r, 2))
        err = loop.watcher.last_error
        assert isinstance(err, KubeAPIError)
        assert err.reason == "InvalidResponse"
        assert "longer than 4096 bytes" in err.message
        assert loop.watcher.counts["errors"] == 1
        assert [r.query["resourceVersion"] for r in reqs if r.is_watch] == [rv, rv]
        assert len(lists(reqs)) == 1
    finally:
        loop.close()

"""Shared kubegroup test helpers: typed wrappers around the client's untyped watch."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from kubegroup import KubeGroup
from kubegroup.testing import FakeKubeAPI, RecordedRequest, RecordingPool

if TYPE_CHECKING:
    from .conftest import StartGroup


@dataclass(frozen=True)
class TLSFiles:
    """A self-signed certificate and its key."""

    cert: Path
    key: Path


def events(
    core: k8s.CoreV1Api, n: int | None = None, namespace: str = "ns1", **kwargs: Any
) -> Iterator[tuple[str, Any, watch.Watch]]:
    """Stream pod events as ``(type, object, watch)``; stop cleanly after ``n`` of them.

    With ``n=None`` the stream runs until the server ends it (or it fails).
    """
    w = watch.Watch()  # type: ignore[no-untyped-call]
    stream = w.stream(core.list_namespaced_pod, namespace, **kwargs)  # type: ignore[no-untyped-call]
    for i, ev in enumerate(stream, 1):
        yield ev["type"], ev["object"], w
        if n is not None and i >= n:
            w.stop()  # type: ignore[no-untyped-call]


def drain(core: k8s.CoreV1Api, **kwargs: Any) -> list[str]:
    """Every event type until the stream ends."""
    return [kind for kind, _, _ in events(core, **kwargs)]


def status_body(exc: ApiException) -> dict[str, Any]:
    """The ``Status`` object of an error response."""
    body: dict[str, Any] = json.loads(exc.body or "{}")
    return body


@contextlib.contextmanager
def on_watch(fake: FakeKubeAPI, action: Callable[[], object], count: int = 1) -> Iterator[None]:
    """Run ``action`` in a thread as soon as ``count`` watches are open on ``fake``."""

    def run() -> None:
        fake.wait_for_watches(count)
        action()

    thread = threading.Thread(target=run, name="test-on-watch")
    thread.start()
    try:
        yield
    finally:
        thread.join()


SELF = "http://10.99.0.1:5000"
"""The URL the test groups use for themselves (no pod has this IP unless a test adds it)."""

WAIT = 10.0
"""Upper bound for any condition wait in these tests (they finish far sooner)."""


def group_options(api_client: k8s.ApiClient, **overrides: Any) -> dict[str, Any]:
    """``update_peers`` options for the tests: namespace ns1, pods app=web, no debounce,
    this node at SELF and a short backoff; ``overrides`` win."""
    options: dict[str, Any] = {
        "label_selector": "app=web",
        "port": 5000,
        "namespace": "ns1",
        "api_client": api_client,
        "debounce": 0.0,
        "my_url": SELF,
        "backoff_initial": 0.01,
        "backoff_max": 0.05,
    }
    options.update(overrides)
    return options


def url(ip: str) -> str:
    """The peer URL of a pod IP on the test port."""
    return f"http://{ip}:5000"


async def peers_become(pool: RecordingPool, *ips: str, self_url: str | None = SELF) -> None:
    """Wait until the pool's latest peers are these pod IPs (plus self), sorted."""
    expected = sorted([url(ip) for ip in ips] + ([self_url] if self_url else []))
    async with asyncio.timeout(WAIT):
        await pool.wait_for_peers(expected)


async def in_thread(fn: Callable[[], object]) -> None:
    """Run a blocking FakeKubeAPI wait in a thread, bounded by ``WAIT``."""
    async with asyncio.timeout(WAIT):
        await asyncio.to_thread(fn)


WEB = {"app": "web"}
"""The labels of the pods the test groups select (``app=web``)."""


def watches(fake: FakeKubeAPI) -> list[RecordedRequest]:
    """Every watch request so far."""
    return [r for r in fake.requests if r.is_watch]


def lists(fake: FakeKubeAPI) -> list[RecordedRequest]:
    """Every successful list request so far."""
    return [r for r in fake.requests if not r.is_watch and r.status == 200]


async def watch_requests(fake: FakeKubeAPI, n: int) -> None:
    """Wait until the fake has logged ``n`` watch requests."""
    await in_thread(lambda: fake.wait_for_requests(lambda reqs: sum(r.is_watch for r in reqs) >= n))


def no_call_emptied_the_ring(calls: list[tuple[str, ...]]) -> bool:
    """Whether every ``set_peers`` call kept self in the ring."""
    return all(call and SELF in call for call in calls)


async def synced_and_watching(
    fake: FakeKubeAPI, start_group: StartGroup, *ips: str, **overrides: Any
) -> tuple[KubeGroup, RecordingPool]:
    """Start pods ``p0``, ``p1``... with these IPs and a group; wait until it watches."""
    for i, ip in enumerate(ips):
        fake.start_pod(f"p{i}", labels=WEB, ip=ip)
    kg, pool = await start_group(**overrides)
    await peers_become(pool, *ips)
    await in_thread(lambda: fake.wait_for_watches(1))
    return kg, pool

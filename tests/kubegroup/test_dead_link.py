"""A connection to the API that dies silently (kubegroup.md §4.4): TCP keepalive is on,
and a watch that receives nothing for the inactivity bound (90 s by default, when
bookmarks arrive about every 60 s) is presumed dead and replaced, so a silent link is
detected within 2 minutes. Tested through a proxy that stops forwarding without closing.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import pytest
from kubernetes import client as k8s

from kubegroup import KubeGroup, update_peers
from kubegroup.testing import FakeKubeAPI, RecordingPool
from tests.support.proxy import TCPProxy
from tests.support.waiting import THREAD_POLL, until

from .conftest import StartGroup
from .helpers import (
    WEB,
    group_options,
    in_thread,
    lists,
    no_call_emptied_the_ring,
    peers_become,
)


def watch_socket(kg: KubeGroup) -> socket.socket:
    """The client socket of the watch being read (urllib3 2.x internals, test only)."""
    resp: Any = kg._watcher._resp
    assert resp is not None
    sock = resp._sock_shutdown.__self__
    assert isinstance(sock, socket.socket)
    return sock


async def test_by_default_a_watch_socket_has_keepalive_and_an_inactivity_bound_under_2_min(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    kg, _pool = await start_group()  # read_timeout not given: the default
    await in_thread(lambda: fake.wait_for_watches(1))
    await until(lambda: kg._watcher._resp is not None, interval=THREAD_POLL)
    sock = watch_socket(kg)
    timeout = sock.gettimeout()
    assert timeout is not None
    assert 60 < timeout <= 120  # above the ~60 s bookmark period, within 2 minutes
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    if hasattr(socket, "TCP_KEEPIDLE"):
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) <= 30


async def test_a_silent_connection_is_replaced_after_the_inactivity_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The fake sends a bookmark every 0.1 s, so a healthy watch never idles for the
    bound (1 s): the only silence is the proxy's."""
    caplog.set_level(logging.INFO, logger="kubegroup")
    with FakeKubeAPI(namespace="ns1", bookmark_interval=0.1) as fake:
        fake.start_pod("a", labels=WEB, ip="10.0.0.1")
        async with TCPProxy(fake.host, fake.port) as proxy:
            with k8s.ApiClient(k8s.Configuration(host=proxy.url)) as client:
                pool = RecordingPool()
                kg = await update_peers(pool, **group_options(client, read_timeout=1.0))
                async with kg:
                    await peers_become(pool, "10.0.0.1")
                    await in_thread(lambda: fake.wait_for_watches(1))
                    await until(lambda: kg._watcher._bookmarks_seen, interval=THREAD_POLL)
                    rv = fake.resource_version
                    assert proxy.blackhole() == 1  # the watch's connection
                    silenced = time.monotonic()
                    fake.start_pod("b", labels=WEB, ip="10.0.0.2")  # swallowed by the dead link
                    await peers_become(pool, "10.0.0.1", "10.0.0.2")  # from the new connection
                    took = time.monotonic() - silenced
    watches = [r for r in fake.requests if r.is_watch]
    assert watches[-1].query["resourceVersion"] == rv  # resumed, no relist
    assert len(lists(fake)) == 1
    assert 1.0 <= took < 5.0, took
    assert "connection presumed dead" in caplog.text
    assert kg.last_error is None  # not an error: a reconnect
    assert (kg.stats().dead_links, kg.stats().errors) == (1, 0)  # counted as what it was
    assert no_call_emptied_the_ring(pool.calls)

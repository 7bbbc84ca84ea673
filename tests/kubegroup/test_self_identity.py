"""Self is found by pod name (``POD_NAME``, else ``HOSTNAME``): when the address guessed
for ``my_url`` differs from the pod's ``status.podIP`` (IPv6-primary dual stack, a
hostname resolving to 127.0.1.1), the ring still holds this pod once, at its podIP."""

from __future__ import annotations

import logging

import pytest

from kubegroup.testing import FakeKubeAPI

from .conftest import StartGroup
from .helpers import WEB, peers_become

GUESSED = "http://127.0.1.1:5000"


@pytest.mark.parametrize("var", ["POD_NAME", "HOSTNAME"])
async def test_a_guessed_address_that_differs_gives_one_entry_at_the_pods_ip(
    fake: FakeKubeAPI,
    start_group: StartGroup,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    var: str,
) -> None:
    monkeypatch.delenv("POD_NAME", raising=False)
    monkeypatch.setenv(var, "me")
    caplog.set_level(logging.WARNING, logger="kubegroup")
    fake.start_pod("me", labels=WEB, ip="10.0.0.5")
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    kg, pool = await start_group(my_url=GUESSED)
    await peers_become(pool, "10.0.0.1", "10.0.0.5", self_url=None)
    assert GUESSED not in kg.peers
    assert "set POD_IP from status.podIP" in caplog.text


async def test_self_found_by_name_stays_in_the_ring_while_not_ready(
    fake: FakeKubeAPI, start_group: StartGroup
) -> None:
    fake.start_pod("me", labels=WEB, ip="10.0.0.5", ready=False)
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    _kg, pool = await start_group(my_url=GUESSED, pod_name="me")
    await peers_become(pool, "10.0.0.1", "10.0.0.5", self_url=None)


async def test_the_normal_case_my_url_equal_to_the_pods_ip_is_one_entry(
    fake: FakeKubeAPI, start_group: StartGroup, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="kubegroup")
    fake.start_pod("me", labels=WEB, ip="10.0.0.5")
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    _kg, pool = await start_group(my_url="http://10.0.0.5:5000", pod_name="me")
    await peers_become(pool, "10.0.0.1", "10.0.0.5", self_url=None)
    assert "POD_IP" not in caplog.text


async def test_without_a_listed_pod_of_that_name_self_is_my_url(
    fake: FakeKubeAPI, start_group: StartGroup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSTNAME", "node-7")  # hostNetwork: the node's name, no such pod
    fake.start_pod("a", labels=WEB, ip="10.0.0.1")
    _kg, pool = await start_group(my_url=GUESSED)
    await peers_become(pool, "10.0.0.1", self_url=GUESSED)

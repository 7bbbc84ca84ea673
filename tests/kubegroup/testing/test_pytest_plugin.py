"""kubegroup.testing.pytest_plugin (loaded by tests/conftest.py, as a user's conftest would):
the fixture serves a started fake built from its options fixture and checks for leaks."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import urllib3
from kubernetes import client as k8s

import kubegroup.testing
from kubegroup.testing import FakeKubeAPI
from kubegroup.testing.pytest_plugin import serving


@pytest.fixture
def fake_kube_api_options() -> dict[str, Any]:
    return {"namespace": "plugin-ns"}


def test_the_fixture_yields_a_started_fake_built_from_the_options(
    fake_kube_api: FakeKubeAPI,
) -> None:
    fake_kube_api.start_pod("web-0", labels={"app": "web"})
    with fake_kube_api.api_client() as client:
        pods: Any = k8s.CoreV1Api(client).list_namespaced_pod("plugin-ns").items
    assert [p.metadata.name for p in pods] == ["web-0"]


def test_serving_closes_the_fake_and_passes_when_nothing_leaked() -> None:
    with serving(FakeKubeAPI()) as api:
        assert api.port > 0
        assert api.watch_count == 0
    with pytest.raises(urllib3.exceptions.MaxRetryError), api.api_client() as client:
        k8s.CoreV1Api(client).list_namespaced_pod("default", _request_timeout=2)


def test_serving_fails_when_a_fake_thread_outlives_the_fake() -> None:
    """The check the kubegroup tests relied on in conftest.py, now for every user."""
    release = threading.Event()
    leaker = threading.Thread(target=release.wait, name="fake-leaked-for-the-test")
    try:
        with pytest.raises(AssertionError, match="threads left running"), serving(FakeKubeAPI()):
            leaker.start()
    finally:
        release.set()
        leaker.join()


def test_importing_kubegroup_testing_does_not_need_the_plugin() -> None:
    assert "pytest_plugin" not in kubegroup.testing.__all__

"""Fixtures for the kubegroup tests: a FakeKubeAPI on loopback, clients, TLS files.

Every fixture that starts something also proves it stopped: ``fake`` (the
``fake_kube_api`` fixture of kubegroup.testing.pytest_plugin, loaded by tests/conftest.py)
fails the test if a thread it started is still alive after close.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

import pytest
from kubernetes import client as k8s
from prometheus_client import CollectorRegistry

from kubegroup import KubeGroup, update_peers
from kubegroup.testing import FakeKubeAPI, RecordingPool

from .helpers import TLSFiles, group_options


@pytest.fixture
def fake_kube_api_options() -> dict[str, Any]:
    return {"namespace": "ns1"}


@pytest.fixture
def fake(fake_kube_api: FakeKubeAPI) -> FakeKubeAPI:
    """kubegroup.testing.pytest_plugin's fake, in namespace ns1."""
    return fake_kube_api


@pytest.fixture
def api_client(fake: FakeKubeAPI) -> Iterator[k8s.ApiClient]:
    with fake.api_client() as client:
        yield client


@pytest.fixture
def core(api_client: k8s.ApiClient) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(api_client)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """A self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    openssl = shutil.which("openssl")
    if openssl is None:  # pragma: no cover - openssl ships with every supported OS image
        pytest.skip("the openssl CLI is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "ca.crt", folder / "tls.key"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=fake-kube-api",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return TLSFiles(cert, key)


class StartGroup(Protocol):
    async def __call__(self, **overrides: Any) -> tuple[KubeGroup, RecordingPool]: ...


@pytest.fixture
async def start_group(fake: FakeKubeAPI, api_client: k8s.ApiClient) -> AsyncIterator[StartGroup]:
    """Start KubeGroups on ``fake`` with fast test settings; close them and check for leaks."""
    threads_before = set(threading.enumerate())
    groups: list[KubeGroup] = []

    async def start(**overrides: Any) -> tuple[KubeGroup, RecordingPool]:
        pool = RecordingPool()
        options = group_options(api_client, **{"registry": CollectorRegistry(), **overrides})
        kg = await update_peers(pool, **options)
        groups.append(kg)
        return kg, pool

    yield start
    for kg in groups:
        await kg.aclose()
    leaked = [t for t in threading.enumerate() if t not in threads_before]
    assert not [t for t in leaked if t.name.startswith("kubegroup")], leaked

"""One Kubernetes API, two backends: FakeKubeAPI and the real kube-apiserver.

A scenario written against :class:`KubeBackend` runs on both (the ``kube_backend``
fixture of test_scenarios.py), so the fake and the real server cannot drift apart
unnoticed: what kubegroup sees of pods, restarts and RBAC is checked on the real server
and kept fast and deterministic on the fake.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Protocol

import pytest
from kubernetes import client as k8s

from kubegroup import KubeGroup, update_peers
from kubegroup.testing import FakeKubeAPI, RecordingPool
from tests.support.realkube import RealKube, apply, load

SELECTOR = "app=kubegroup-example"
LABELS = {"app": "kubegroup-example"}
PORT = 5000
ROLE = "kubegroup-example-pods"


def pod_url(ip: str) -> str:
    return f"http://{ip}:{PORT}"


class KubeBackend(Protocol):
    """What a scenario does to the API: a kubelet's and an operator's moves."""

    name: str

    async def start(self, pool: RecordingPool, **options: Any) -> KubeGroup:
        """Start kubegroup against this backend, feeding ``pool``."""
        ...

    def ready_pod(self, name: str, ip: str, *, labels: dict[str, str] | None = None) -> None:
        """Create a pod and report it Running at ``ip`` and Ready."""
        ...

    def set_ready(self, name: str, ip: str, ready: bool) -> None:
        """Report the pod's Ready condition."""
        ...

    def terminate(self, name: str) -> None:
        """Delete the pod gracefully: Terminating, still Ready (no kubelet ends it)."""
        ...

    def delete(self, name: str) -> None:
        """Delete the pod at once."""
        ...

    def restart_api(self) -> None:
        """Kill the API server and start it again (a fresh watch cache)."""
        ...

    def forbid_watch(self, forbidden: bool) -> None:
        """Take ``watch`` out of the Role (list stays), or put it back."""
        ...


class FakeBackend:
    """The scenario on FakeKubeAPI (namespace ``ns1``)."""

    name = "fake"

    def __init__(self, fake: FakeKubeAPI) -> None:
        self.fake = fake
        self._clients: list[k8s.ApiClient] = []

    async def start(self, pool: RecordingPool, **options: Any) -> KubeGroup:
        client = self.fake.api_client()
        self._clients.append(client)
        return await update_peers(
            pool, label_selector=SELECTOR, port=PORT, namespace="ns1", api_client=client, **options
        )

    def ready_pod(self, name: str, ip: str, *, labels: dict[str, str] | None = None) -> None:
        self.fake.start_pod(name, labels=labels or LABELS, ip=ip, namespace="ns1")

    def set_ready(self, name: str, ip: str, ready: bool) -> None:
        self.fake.set_ready(name, ready, namespace="ns1")

    def terminate(self, name: str) -> None:
        self.fake.delete_pod(name, namespace="ns1", grace_period_seconds=30)

    def delete(self, name: str) -> None:
        self.fake.force_delete_pod(name, namespace="ns1")

    def restart_api(self) -> None:
        self.fake.restart()

    def forbid_watch(self, forbidden: bool) -> None:
        if forbidden:
            self.fake.deny_namespace("ns1", verbs=("watch",))
        else:
            self.fake.deny_namespace("ns1", False)

    def close(self) -> None:
        for client in self._clients:
            client.close()  # type: ignore[no-untyped-call]


class RealBackend:
    """The scenario on the real kube-apiserver: kubegroup on its in-cluster path, with
    the example's ServiceAccount, Role and RoleBinding in a namespace of its own."""

    name = "real"

    def __init__(
        self, kube: RealKube, namespace: str, folder: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        for name in ("serviceaccount.yaml", "role.yaml", "rolebinding.yaml"):
            apply(kube, namespace, load(name, namespace))
        token = kube.token(namespace, "kubegroup-example")
        self.sa_dir = kube.service_account_files(folder / "sa", namespace, token).dir
        for key, value in kube.in_cluster_env().items():  # what a kubelet sets in a pod
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("KUBECONFIG", raising=False)
        monkeypatch.delenv("POD_IP", raising=False)

    async def start(self, pool: RecordingPool, **options: Any) -> KubeGroup:
        return await update_peers(
            pool, label_selector=SELECTOR, port=PORT, service_account_dir=self.sa_dir, **options
        )

    def ready_pod(self, name: str, ip: str, *, labels: dict[str, str] | None = None) -> None:
        self.kube.create_pod(self.namespace, name, labels or LABELS, account="kubegroup-example")
        self.kube.set_status(self.namespace, name, ip)

    def set_ready(self, name: str, ip: str, ready: bool) -> None:
        self.kube.set_status(self.namespace, name, ip, ready=ready)

    def terminate(self, name: str) -> None:
        self.kube.delete_pod(self.namespace, name, grace=30)

    def delete(self, name: str) -> None:
        self.kube.delete_pod(self.namespace, name, grace=0)

    def restart_api(self) -> None:
        self.kube.restart_apiserver()

    def forbid_watch(self, forbidden: bool) -> None:
        verbs = ["list"] if forbidden else ["list", "watch"]
        rule = {"apiGroups": [""], "resources": ["pods"], "verbs": verbs}
        rbac = k8s.RbacAuthorizationV1Api(self.kube.admin)
        rbac.patch_namespaced_role(ROLE, self.namespace, {"rules": [rule]})

    def close(self) -> None:
        pass


async def in_thread(call: Any) -> Any:
    """Run a blocking backend call (the real one does HTTP) off the event loop."""
    return await asyncio.to_thread(call)

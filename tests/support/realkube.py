"""Drive the real kube-apiserver that ``scripts/kube-cluster`` starts, as a test needs it.

:class:`RealKube` reads ``DIR/cluster.json`` and offers what a kubelet, a scheduler and an
operator would do in a cluster: namespaces, service accounts with TokenRequest tokens, pods
with the status a kubelet would report, and the files a pod's service-account mount holds.
No controller runs, so nothing happens that a test did not ask for.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import ssl
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes import utils as k8s_utils

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts/kube-cluster"
EXIT_NO_GO = 3  # scripts/kube-cluster's exit status when there is no Go toolchain
UP_TIMEOUT = 3000.0  # seconds: a cold build of kube-apiserver included
READY_TIMEOUT = 90.0  # seconds for a (re)started kube-apiserver to answer /readyz


class NoToolchainError(Exception):
    """There is no Go toolchain to build kube-apiserver with: the tier is skipped."""


@dataclass(frozen=True)
class ServiceAccountFiles:
    """A pod's service-account mount: ``token``, ``ca.crt`` and ``namespace``."""

    dir: Path
    token: str
    namespace: str


def api_client(server: str, ca_file: str, token: str) -> k8s.ApiClient:
    """A client of ``server`` that authenticates with a bearer ``token``."""
    config = k8s.Configuration(host=server)
    config.ssl_ca_cert = ca_file
    config.api_key = {"BearerToken": f"Bearer {token}"}
    return k8s.ApiClient(config)


class RealKube:
    """A running kube-apiserver + etcd started by ``scripts/kube-cluster up DIR``."""

    def __init__(self, folder: Path) -> None:
        self.dir = folder
        self.info: dict[str, Any] = json.loads((folder / "cluster.json").read_text())
        self.server: str = self.info["server"]
        self.ca_file: str = self.info["ca_file"]
        self.admin = api_client(self.server, self.ca_file, self.info["admin_token"])
        self.core = k8s.CoreV1Api(self.admin)

    @classmethod
    def up(cls, folder: Path) -> RealKube:
        """Run ``scripts/kube-cluster up``; raises NoToolchainError when Go is missing."""
        done = subprocess.run(
            [str(SCRIPT), "up", str(folder)],
            capture_output=True,
            text=True,
            timeout=UP_TIMEOUT,
            check=False,
        )
        if done.returncode == EXIT_NO_GO:
            raise NoToolchainError(done.stderr.strip())
        if done.returncode != 0:
            raise RuntimeError(f"scripts/kube-cluster up failed:\n{done.stderr[-4000:]}")
        return cls(folder)

    def down(self) -> None:
        """Run ``scripts/kube-cluster down`` (stops both processes by PID)."""
        self.admin.close()  # type: ignore[no-untyped-call]
        subprocess.run([str(SCRIPT), "down", str(self.dir)], check=True, timeout=60)

    # ----------------------------------------------------------------- processes

    def ready(self, server: str | None = None) -> bool:
        """Whether ``/readyz`` of ``server`` (default: the cluster's) answers 200."""
        context = ssl.create_default_context(cafile=self.ca_file)
        request = urllib.request.Request(f"{server or self.server}/readyz")
        request.add_header("Authorization", f"Bearer {self.info['admin_token']}")
        try:
            with urllib.request.urlopen(request, timeout=5, context=context) as reply:
                return bool(reply.status == 200)
        except OSError:
            return False

    def _start_apiserver(self, argv: list[str], server: str) -> subprocess.Popen[bytes]:
        with open(self.info["apiserver_log"], "ab") as log:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while not self.ready(server):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(
                    f"kube-apiserver did not come back; see {self.info['apiserver_log']}"
                )
            time.sleep(0.1)
        threading.Thread(target=proc.wait, daemon=True).start()  # reap it when it exits
        return proc

    def restart_apiserver(self, sig: signal.Signals = signal.SIGKILL) -> float:
        """Kill the API server with ``sig`` and start it again on the same port and etcd.

        Returns the seconds it was not serving. cluster.json gets the new PID, so
        ``scripts/kube-cluster down`` stops the new process.
        """
        pid = int(self.info["apiserver_pid"])
        started = time.monotonic()
        os.kill(pid, sig)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)  # not our child: poll below instead
        while _alive(pid):
            time.sleep(0.02)
        proc = self._start_apiserver(self.info["apiserver_argv"], self.server)
        self.info["apiserver_pid"] = proc.pid
        (self.dir / "cluster.json").write_text(json.dumps(self.info, indent=2) + "\n")
        return time.monotonic() - started

    @contextlib.contextmanager
    def second_apiserver(self, *flags: str) -> Iterator[str]:
        """Another kube-apiserver on the same etcd, with ``flags`` added; yields its URL."""
        port = free_port()
        argv = [
            f"--secure-port={port}" if a.startswith("--secure-port=") else a
            for a in self.info["apiserver_argv"]
        ]
        server = f"https://127.0.0.1:{port}"
        proc = self._start_apiserver([*argv, *flags], server)
        try:
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _etcd(self, call: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.info['etcd_endpoint']}/v3/{call}", data=json.dumps(body).encode()
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            answer: dict[str, Any] = json.loads(reply.read())
            return answer

    def compact(self) -> int:
        """Compact etcd at its current revision (physically); returns the revision."""
        key = base64.b64encode(b"/registry/").decode()
        revision = int(self._etcd("kv/range", {"key": key, "limit": 1})["header"]["revision"])
        self._etcd("kv/compaction", {"revision": str(revision), "physical": True})
        return revision

    # ----------------------------------------------------------------- objects

    def namespace(self, name: str, labels: Mapping[str, str] | None = None) -> str:
        """Create namespace ``name`` (names are never reused: no controller deletes one)."""
        body = k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name, labels=dict(labels or {})))
        self.core.create_namespace(body)
        return name

    def service_account(self, namespace: str, name: str) -> None:
        """Create a ServiceAccount (no controller makes the ``default`` one)."""
        body = k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name=name))
        self.core.create_namespaced_service_account(namespace, body)

    def token(
        self,
        namespace: str,
        account: str,
        *,
        bound_to: tuple[str, str, str] | None = None,
        seconds: int = 3600,
    ) -> str:
        """A TokenRequest token for ``account``; ``bound_to`` is (kind, name, uid)."""
        ref = None
        if bound_to is not None:
            kind, name, uid = bound_to
            ref = k8s.V1BoundObjectReference(api_version="v1", kind=kind, name=name, uid=uid)
        spec = k8s.V1TokenRequestSpec(
            audiences=[self.info["service_account_issuer"]],
            expiration_seconds=seconds,
            bound_object_ref=ref,
        )
        reply = self.core.create_namespaced_service_account_token(
            account, namespace, k8s.AuthenticationV1TokenRequest(spec=spec)
        )
        assert reply.status is not None
        return str(reply.status.token)

    def service_account_files(
        self, folder: Path, namespace: str, token: str
    ) -> ServiceAccountFiles:
        """Write what Kubernetes mounts at /var/run/secrets/kubernetes.io/serviceaccount."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "token").write_text(token)
        (folder / "ca.crt").write_bytes(Path(self.ca_file).read_bytes())
        (folder / "namespace").write_text(namespace)
        return ServiceAccountFiles(folder, token, namespace)

    def in_cluster_env(self) -> dict[str, str]:
        """The variables a kubelet sets for every container to find the API server."""
        return {
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": str(self.info["apiserver_port"]),
        }

    # ----------------------------------------------------------------- pods

    def create_pod(
        self,
        namespace: str,
        name: str,
        labels: Mapping[str, str],
        *,
        account: str | None = None,
        node: str = "node-a",
    ) -> k8s.V1Pod:
        """A pod bound to ``node`` (no scheduler runs), with one restricted container."""
        container = k8s.V1Container(
            name="app",
            image="kubegroup-example:latest",
            security_context=k8s.V1SecurityContext(
                allow_privilege_escalation=False,
                run_as_non_root=True,
                run_as_user=10001,
                capabilities=k8s.V1Capabilities(drop=["ALL"]),
                seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
            ),
        )
        body = k8s.V1Pod(
            metadata=k8s.V1ObjectMeta(name=name, labels=dict(labels)),
            spec=k8s.V1PodSpec(
                containers=[container], node_name=node, service_account_name=account
            ),
        )
        pod: k8s.V1Pod = self.core.create_namespaced_pod(namespace, body)
        return pod

    def set_status(self, namespace: str, name: str, ip: str, *, ready: bool = True) -> None:
        """Report the pod Running at ``ip``, Ready or not, as its kubelet would."""
        flag = "True" if ready else "False"
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        status = {
            "status": {
                "phase": "Running",
                "hostIP": "127.0.0.1",
                "podIP": ip,
                "podIPs": [{"ip": ip}],
                "conditions": [
                    {"type": kind, "status": flag, "lastTransitionTime": now}
                    for kind in ("Ready", "ContainersReady")
                ],
            }
        }
        self.core.patch_namespaced_pod_status(
            name, namespace, status, _content_type="application/strategic-merge-patch+json"
        )

    def delete_pod(self, namespace: str, name: str, *, grace: int | None = 0) -> None:
        """Delete a pod; with a grace period it stays Terminating (no kubelet ends it)."""
        self.core.delete_namespaced_pod(name, namespace, grace_period_seconds=grace)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@contextlib.contextmanager
def client_for(kube: RealKube, token: str) -> Iterator[k8s.CoreV1Api]:
    """A CoreV1Api that authenticates as ``token`` (e.g. a service account's)."""
    with api_client(kube.server, kube.ca_file, token) as client:
        yield k8s.CoreV1Api(client)


BACKEND_PARAM = "kube_backend"
"""The parameter of tests that run on the fake and on the real server (``"real"``)."""

MANIFESTS = ROOT / "examples/kubegroup-example/k8s"
"""The example's manifests, which the real-server tests apply."""


def load(name: str, namespace: str) -> dict[str, Any]:
    """A manifest, with the RoleBinding's subject moved into ``namespace``."""
    doc: dict[str, Any] = yaml.safe_load((MANIFESTS / name).read_text())
    for subject in doc.get("subjects", []):
        subject["namespace"] = namespace
    return doc


def apply(kube: RealKube, namespace: str, doc: dict[str, Any]) -> None:
    """Create ``doc`` with strict server-side field validation (unknown fields fail)."""
    k8s_utils.create_from_dict(  # type: ignore[no-untyped-call]
        kube.admin, doc, namespace=namespace, field_validation="Strict"
    )

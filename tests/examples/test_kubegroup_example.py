"""examples/kubegroup-example: the manifests agree with each other and with the app, and two
instances of the app find each other through a fake Kubernetes API and load each key once.

The run test starts ``app.py`` twice as separate processes, each with its own "pod IP" on
the loopback network (127.0.0.21, 127.0.0.22) and the same two ports, reading the pods
from a FakeKubeAPI through a kubeconfig, as tests/kubegroup/test_end_to_end.py does.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

import groupcache
from kubegroup.testing import FakeKubeAPI
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "kubegroup-example"
K8S = EXAMPLE / "k8s"
MANIFESTS = {
    "serviceaccount.yaml": "ServiceAccount",
    "role.yaml": "Role",
    "rolebinding.yaml": "RoleBinding",
    "deployment.yaml": "Deployment",
    "service.yaml": "Service",
    "networkpolicy.yaml": "NetworkPolicy",
}
WAIT = 30.0  # bound of every cross-process wait (they take well under a second)


# --- the manifests --------------------------------------------------------------------


def load_app_module() -> ModuleType:
    name = "examples_kubegroup_example_app"
    spec = importlib.util.spec_from_file_location(name, EXAMPLE / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve their string annotations through it
    try:
        spec.loader.exec_module(module)  # no side effects: main() runs only as a script
    finally:
        del sys.modules[name]
    return module


@pytest.fixture(scope="module")
def docs() -> dict[str, dict[str, Any]]:
    """Every manifest, by kind (one object of each kind)."""
    assert sorted(p.name for p in K8S.iterdir()) == sorted(MANIFESTS)
    by_kind: dict[str, dict[str, Any]] = {}
    for name, kind in MANIFESTS.items():
        objects = [d for d in yaml.safe_load_all((K8S / name).read_text()) if d is not None]
        assert [d["kind"] for d in objects] == [kind], name
        assert "namespace" not in objects[0]["metadata"]  # kubectl apply -n decides
        by_kind[kind] = objects[0]
    return by_kind


def container(docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (c,) = docs["Deployment"]["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = c
    return result


def env_of(docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e for e in container(docs)["env"]}


def container_port(docs: dict[str, dict[str, Any]], port: int | str) -> int:
    """Resolve a port given by number or by the container port's name."""
    ports = {p["name"]: p["containerPort"] for p in container(docs)["ports"]}
    if isinstance(port, str):
        return int(ports[port])
    assert port in ports.values()
    return port


def selector_labels(selector: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in selector.split(","))


def test_rbac_grants_only_list_and_watch_on_pods_to_the_service_account(
    docs: dict[str, dict[str, Any]],
) -> None:
    sa, role, binding = docs["ServiceAccount"], docs["Role"], docs["RoleBinding"]
    assert role["apiVersion"] == binding["apiVersion"] == "rbac.authorization.k8s.io/v1"
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]}]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": "default"}
    ]
    pod_spec = docs["Deployment"]["spec"]["template"]["spec"]
    assert pod_spec["serviceAccountName"] == sa["metadata"]["name"]
    assert pod_spec.get("automountServiceAccountToken", True) is True  # kubegroup needs it


def test_deployment_env_ports_and_probe_match_the_app(docs: dict[str, dict[str, Any]]) -> None:
    app = load_app_module()
    defaults = app.Config.from_env({})
    assert (defaults.app_port, defaults.groupcache_port) == (8080, 5000)
    assert defaults.label_selector == "app=kubegroup-example"

    deployment = docs["Deployment"]
    assert deployment["apiVersion"] == "apps/v1"
    assert deployment["spec"]["replicas"] == 3
    env = env_of(docs)
    assert env["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert env["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    app_port = int(env["APP_PORT"]["value"])
    groupcache_port = int(env["GROUPCACHE_PORT"]["value"])
    assert (app_port, groupcache_port) == (defaults.app_port, defaults.groupcache_port)
    assert env["LABEL_SELECTOR"]["value"] == defaults.label_selector
    assert sorted(p["containerPort"] for p in container(docs)["ports"]) == sorted(
        [app_port, groupcache_port]
    )

    template_labels = deployment["spec"]["template"]["metadata"]["labels"]
    wanted = selector_labels(env["LABEL_SELECTOR"]["value"])
    assert wanted.items() <= template_labels.items()  # every replica is a peer
    assert deployment["spec"]["selector"]["matchLabels"].items() <= template_labels.items()

    probe = container(docs)["readinessProbe"]["httpGet"]
    assert probe["path"] == "/healthz"
    assert container_port(docs, probe["port"]) == app_port


def pod_security_restricted_violations(pod_spec: dict[str, Any]) -> list[str]:
    """What Pod Security "restricted" (v1.25+) would reject in ``pod_spec``; [] if none.

    The checks of the Pod Security Standards page: no host namespaces or ports, no
    privileged containers, allowPrivilegeEscalation false, capabilities dropping ALL and
    adding at most NET_BIND_SERVICE, runAsNonRoot true (pod or every container), no
    runAsUser 0, seccompProfile RuntimeDefault or Localhost (pod or every container),
    and only the allowed volume types.
    """
    bad: list[str] = []
    pod_sc = pod_spec.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod_spec.get(key):
            bad.append(key)
    allowed_volumes = {
        "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
        "persistentVolumeClaim", "projected", "secret",
    }  # fmt: skip
    for volume in pod_spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= allowed_volumes:
            bad.append(f"volume {volume['name']}: {sorted(kinds)}")
    seccomp_ok = {"RuntimeDefault", "Localhost"}
    pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type")
    if pod_seccomp is not None and pod_seccomp not in seccomp_ok:
        bad.append(f"pod seccompProfile {pod_seccomp}")
    if pod_sc.get("runAsUser") == 0:
        bad.append("pod runAsUser 0")
    containers = [
        *pod_spec.get("initContainers", []),
        *pod_spec.get("containers", []),
        *pod_spec.get("ephemeralContainers", []),
    ]
    for c in containers:
        sc, name = c.get("securityContext") or {}, c["name"]
        if sc.get("privileged"):
            bad.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            bad.append(f"{name}: allowPrivilegeEscalation not false")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            bad.append(f"{name}: capabilities do not drop ALL")
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            bad.append(f"{name}: adds capabilities {caps['add']}")
        non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        if non_root is not True:
            bad.append(f"{name}: runAsNonRoot not true")
        if sc.get("runAsUser") == 0:
            bad.append(f"{name}: runAsUser 0")
        seccomp = (sc.get("seccompProfile") or {}).get("type", pod_seccomp)
        if seccomp not in seccomp_ok:
            bad.append(f"{name}: seccompProfile {seccomp}")
        for port in c.get("ports") or []:
            if port.get("hostPort"):
                bad.append(f"{name}: hostPort")
    return bad


def test_the_pod_template_passes_pod_security_restricted(
    docs: dict[str, dict[str, Any]],
) -> None:
    pod_spec = docs["Deployment"]["spec"]["template"]["spec"]
    assert pod_security_restricted_violations(pod_spec) == []
    assert pod_spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod_spec["securityContext"]["runAsNonRoot"] is True
    for c in pod_spec["containers"]:
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_the_restricted_check_catches_what_it_should() -> None:
    base = {"containers": [{"name": "app"}]}
    assert len(pod_security_restricted_violations(base)) == 4  # escalation, caps, root, seccomp
    privileged = {"hostNetwork": True, "volumes": [{"name": "h", "hostPath": {"path": "/"}}]}
    assert len(pod_security_restricted_violations({**base, **privileged})) == 6


def test_service_exposes_only_the_app_port(docs: dict[str, dict[str, Any]]) -> None:
    service = docs["Service"]
    template_labels = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= template_labels.items()
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
    (port,) = service["spec"]["ports"]
    assert port["port"] == int(env_of(docs)["APP_PORT"]["value"])
    assert container_port(docs, port["targetPort"]) == port["port"]


def test_networkpolicy_admits_only_the_apps_pods_to_the_peer_port(
    docs: dict[str, dict[str, Any]],
) -> None:
    policy = docs["NetworkPolicy"]["spec"]
    app_labels = selector_labels(env_of(docs)["LABEL_SELECTOR"]["value"])
    assert policy["podSelector"] == {"matchLabels": app_labels}
    assert "Ingress" in policy["policyTypes"]
    groupcache_port = int(env_of(docs)["GROUPCACHE_PORT"]["value"])
    peer_rules = []
    for rule in policy["ingress"]:
        assert rule.get("ports"), "a rule without ports would admit every port"
        ports = {container_port(docs, p["port"]) for p in rule["ports"]}
        if groupcache_port in ports:
            peer_rules.append(rule)
    (rule,) = peer_rules
    assert rule["from"] == [{"podSelector": {"matchLabels": app_labels}}]


def test_dockerfile_installs_the_repository_and_runs_the_app() -> None:
    lines = [
        line.strip()
        for line in (EXAMPLE / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[0] == "FROM python:3.11-slim"
    copies = [line.split()[1:-1] for line in lines if line.startswith("COPY")]
    for sources in copies:
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository root"
    assert any(line.startswith("RUN pip install .") for line in lines)
    assert lines[-1] == 'CMD ["python", "/app/app.py"]'
    assert "COPY examples/kubegroup-example/app.py ./app.py" in lines


# --- kubectl -----------------------------------------------------------------------------

DISCOVERY: dict[str, list[tuple[str, str, bool]]] = {
    "v1": [("serviceaccounts", "ServiceAccount", True), ("services", "Service", True)],
    "apps/v1": [("deployments", "Deployment", True)],
    "rbac.authorization.k8s.io/v1": [
        ("roles", "Role", True),
        ("rolebindings", "RoleBinding", True),
    ],
    "networking.k8s.io/v1": [("networkpolicies", "NetworkPolicy", True)],
}


def discovery_app(seen: list[str]) -> web.Application:
    """Just enough of an API server for ``kubectl apply --dry-run=client``: the legacy
    discovery documents for the six kinds, and 404 for every object (none exists yet)."""

    def resources(group_version: str) -> dict[str, Any]:
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version,
            "resources": [
                {
                    "name": name,
                    "singularName": kind.lower(),
                    "namespaced": namespaced,
                    "kind": kind,
                    "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
                }
                for name, kind, namespaced in DISCOVERY[group_version]
            ],
        }

    groups = [gv for gv in DISCOVERY if "/" in gv]

    async def handle(request: web.Request) -> web.Response:
        seen.append(f"{request.method} {request.path}")
        path = request.path.rstrip("/")
        if request.method == "GET" and path == "/api":
            return web.json_response({"kind": "APIVersions", "versions": ["v1"]})
        if request.method == "GET" and path == "/apis":
            return web.json_response(
                {
                    "kind": "APIGroupList",
                    "apiVersion": "v1",
                    "groups": [
                        {
                            "name": gv.split("/")[0],
                            "versions": [{"groupVersion": gv, "version": "v1"}],
                            "preferredVersion": {"groupVersion": gv, "version": "v1"},
                        }
                        for gv in groups
                    ],
                }
            )
        gv = path.removeprefix("/api/").removeprefix("/apis/")
        if request.method == "GET" and gv in DISCOVERY:
            return web.json_response(resources(gv))
        return web.json_response(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "reason": "NotFound",
                "message": f"{request.path} not found",
                "code": 404,
            },
            status=404,
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def write_kubeconfig(path: Path, server: str) -> None:
    path.write_text(
        json.dumps(  # JSON is YAML
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "fake", "cluster": {"server": server}}],
                "users": [{"name": "fake", "user": {"token": "t"}}],
                "contexts": [
                    {
                        "name": "fake",
                        "context": {"cluster": "fake", "user": "fake", "namespace": "default"},
                    }
                ],
                "current-context": "fake",
            }
        )
    )


def find_or_install_kubectl() -> str | None:
    """Return kubectl, installing Debian's kubernetes-client package when it is missing."""
    kubectl = shutil.which("kubectl")
    if kubectl is None and shutil.which("apt-get") is not None and os.geteuid() == 0:
        for command in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "kubernetes-client"],
        ):
            if subprocess.run(command, capture_output=True, timeout=600).returncode != 0:
                break
        kubectl = shutil.which("kubectl")
    return kubectl


@pytest.mark.timeout(660)
async def test_kubectl_apply_dry_run_accepts_the_manifests(tmp_path: Path) -> None:
    kubectl = await asyncio.to_thread(find_or_install_kubectl)
    if kubectl is None:
        reason = (
            "kubectl is not installed and apt-get could not install Debian's "
            "kubernetes-client package here, so the manifests were not given to it"
        )
        print(reason)
        pytest.skip(reason)
    seen: list[str] = []
    runner = web.AppRunner(discovery_app(seen), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        kubeconfig = tmp_path / "kubeconfig"
        write_kubeconfig(kubeconfig, f"http://127.0.0.1:{port}")
        proc = await asyncio.create_subprocess_exec(
            kubectl, "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "cache"),
            "apply", "--dry-run=client", "--validate=false", "-f", str(K8S),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "HOME": str(tmp_path), "KUBECONFIG": str(kubeconfig)},
        )  # fmt: skip
        try:
            async with asyncio.timeout(WAIT):
                out, err = await proc.communicate()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    finally:
        await runner.cleanup()
    assert proc.returncode == 0, err.decode()
    assert sorted(out.decode().splitlines()) == sorted(
        [
            "deployment.apps/kubegroup-example created (dry run)",
            "networkpolicy.networking.k8s.io/kubegroup-example created (dry run)",
            "role.rbac.authorization.k8s.io/kubegroup-example-pods created (dry run)",
            "rolebinding.rbac.authorization.k8s.io/kubegroup-example-pods created (dry run)",
            "service/kubegroup-example created (dry run)",
            "serviceaccount/kubegroup-example created (dry run)",
        ]
    )
    assert all(line.startswith("GET ") for line in seen), seen  # a dry run writes nothing


# --- two instances against a fake API ----------------------------------------------------


@dataclass
class Instance:
    ip: str
    proc: subprocess.Popen[bytes]
    log: Path


@dataclass
class Cluster:
    api: FakeKubeAPI
    kubeconfig: Path
    tmp: Path
    session: aiohttp.ClientSession
    app_port: int = field(default_factory=free_port)
    groupcache_port: int = field(default_factory=free_port)
    instances: dict[str, Instance] = field(default_factory=dict)

    def start(self, ip: str, **extra_env: str) -> Instance:
        env = {
            **os.environ,
            "POD_IP": ip,
            "POD_NAMESPACE": "default",
            "KUBECONFIG": str(self.kubeconfig),
            "KUBERNETES_SERVICE_HOST": "",  # no in-cluster config: use the kubeconfig
            "APP_PORT": str(self.app_port),
            "GROUPCACHE_PORT": str(self.groupcache_port),
            "LISTEN_HOST": ip,  # each "pod" on its own address, same ports
            "BACKEND_DELAY": "0.2",
        }
        env.pop("LABEL_SELECTOR", None)  # the app's default, as in the manifests
        env.update(extra_env)
        log = self.tmp / f"{ip}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, str(EXAMPLE / "app.py")],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.tmp,
            )
        instance = Instance(ip, proc, log)
        self.instances[ip] = instance
        return instance

    def url(self, ip: str, path: str) -> str:
        return f"http://{ip}:{self.app_port}{path}"

    async def get(self, ip: str, path: str) -> tuple[int, bytes]:
        async with self.session.get(self.url(ip, path)) as resp:
            return resp.status, await resp.read()

    async def stats(self, ip: str) -> dict[str, Any]:
        async with self.session.get(self.url(ip, "/stats")) as resp:
            assert resp.status == 200
            body: dict[str, Any] = await resp.json()
            return body

    async def first_answer(self, ip: str, path: str) -> tuple[int, bytes]:
        """Poll another process until it answers ``path``; return that first answer."""
        instance = self.instances[ip]
        async with asyncio.timeout(WAIT):
            while True:
                assert instance.proc.poll() is None, instance.log.read_text()
                with contextlib.suppress(aiohttp.ClientConnectionError):
                    return await self.get(ip, path)
                await asyncio.sleep(0.02)

    async def wait_ready(self, ip: str) -> None:
        """Poll /healthz of another process until it answers 200."""
        instance = self.instances[ip]
        async with asyncio.timeout(WAIT):
            while True:
                assert instance.proc.poll() is None, instance.log.read_text()
                with contextlib.suppress(aiohttp.ClientConnectionError):
                    status, _ = await self.get(ip, "/healthz")
                    if status == 200:
                        return
                    assert status == 503
                await asyncio.sleep(0.02)

    def stop_all(self) -> None:
        for instance in self.instances.values():
            if instance.proc.poll() is None:
                instance.proc.terminate()
        for instance in self.instances.values():
            try:
                instance.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                instance.proc.kill()
                instance.proc.wait()


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    with FakeKubeAPI() as api:
        kubeconfig = tmp_path / "kubeconfig"
        write_kubeconfig(kubeconfig, api.url)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT)) as session:
            c = Cluster(api, kubeconfig, tmp_path, session)
            try:
                yield c
            finally:
                await asyncio.to_thread(c.stop_all)


@pytest.fixture
def labels() -> dict[str, str]:
    """The pod template's labels: the fake pods are labelled as the Deployment's."""
    deployment = yaml.safe_load((K8S / "deployment.yaml").read_text())
    return dict(deployment["spec"]["template"]["metadata"]["labels"])


async def test_two_instances_find_each_other_and_load_each_key_once(
    cluster: Cluster, labels: dict[str, str]
) -> None:
    ips = ["127.0.0.21", "127.0.0.22"]
    for n, ip in enumerate(ips, 1):
        cluster.api.start_pod(f"kubegroup-example-{n}", labels=labels, ip=ip)
    cluster.api.start_pod("unrelated", labels={"app": "other"}, ip="127.0.0.29")
    for ip in ips:
        cluster.start(ip)
    for ip in ips:
        await cluster.wait_ready(ip)
    peers = sorted(f"http://{ip}:{cluster.groupcache_port}" for ip in ips)
    for ip in ips:  # ready means synced: the first pod list is in the ring
        assert (await cluster.stats(ip))["peers"] == peers

    keys = [f"key-{n}" for n in range(20)]
    # Every key through both instances at once: one owner loads it, the other asks it.
    replies = await asyncio.gather(
        *(cluster.get(ip, f"/get?key={key}") for key in keys for ip in ips)
    )
    for (status, body), (key, _) in zip(
        replies, [(k, ip) for k in keys for ip in ips], strict=True
    ):
        assert status == 200
        assert body.startswith(f"value of {key!r}, loaded by http://127.0.0.2".encode())
    by_key = {key: {replies[2 * i][1], replies[2 * i + 1][1]} for i, key in enumerate(keys)}
    assert all(len(bodies) == 1 for bodies in by_key.values())  # both agree

    again = await asyncio.gather(
        *(cluster.get(ip, f"/get?key={key}") for key in keys for ip in ips)
    )
    assert again == replies  # cached

    stats = [await cluster.stats(ip) for ip in ips]
    calls: dict[str, int] = {}
    for s in stats:
        for key, n in s["backend_calls"].items():
            calls[key] = calls.get(key, 0) + n
    assert calls == dict.fromkeys(keys, 1)  # each key's slow getter ran once across both
    assert all(s["backend_calls"] for s in stats)  # and each instance owns some keys
    assert sum(s["group"]["peer_loads"] for s in stats) >= len(keys)
    assert sum(s["group"]["peer_errors"] for s in stats) == 0

    status, _ = await cluster.get(ips[0], "/get")
    assert status == 400

    for ip in ips:  # SIGTERM: a clean shutdown, exit status 0
        cluster.instances[ip].proc.send_signal(signal.SIGTERM)
    for ip in ips:
        instance = cluster.instances[ip]
        assert await asyncio.to_thread(instance.proc.wait, WAIT) == 0, instance.log.read_text()
        log = instance.log.read_text()
        assert "stopped" in log
        assert "Traceback" not in log, log


async def test_not_ready_until_the_first_pod_list_arrives(
    cluster: Cluster, labels: dict[str, str]
) -> None:
    ip = "127.0.0.23"
    cluster.api.start_pod("kubegroup-example-1", labels=labels, ip=ip)
    cluster.api.refuse_connections()  # the API is down: the pod list cannot arrive
    cluster.start(ip)
    status, body = await cluster.first_answer(ip, "/healthz")
    assert (status, body) == (503, b"waiting for the first pod list\n")
    status, body = await cluster.get(ip, "/get?key=k")  # alone in its ring, it still serves
    assert (status, body[:14]) == (200, b"value of 'k', ")
    assert (await cluster.stats(ip))["kubegroup"]["errors"] >= 1

    cluster.api.accept_connections()  # the next retry (backoff 0.8 s, doubling) lists them
    await cluster.wait_ready(ip)
    stats = await cluster.stats(ip)
    assert stats["ready"] is True
    assert stats["peers"] == [f"http://{ip}:{cluster.groupcache_port}"]


async def test_readiness_follows_discovery_health_not_only_the_first_sync(
    cluster: Cluster, labels: dict[str, str]
) -> None:
    """A Role that allows list but not watch: synced once, then the ring would be frozen
    for ever; once the failures outlast DISCOVERY_GRACE the pod must leave the Service
    (readiness 503), with the reason."""
    ip = "127.0.0.24"
    cluster.api.start_pod("kubegroup-example-1", labels=labels, ip=ip)
    cluster.start(ip, DISCOVERY_GRACE="0.5")
    await cluster.wait_ready(ip)
    cluster.api.deny_namespace("default", verbs=("watch",))
    cluster.api.cut_watches()  # the next watch is refused: 403
    async with asyncio.timeout(WAIT):
        while b"403" not in (answer := await cluster.get(ip, "/healthz"))[1]:  # noqa: ASYNC110
            await asyncio.sleep(0.02)  # another process's state: poll it
    status, body = answer
    assert status == 503
    assert body.startswith(b"peer discovery is failing: 403 Forbidden")
    stats = await cluster.stats(ip)
    assert stats["kubegroup"]["healthy"] is False
    assert stats["ready"] is False


async def test_readiness_outlives_an_api_outage_shorter_than_the_grace(
    cluster: Cluster, labels: dict[str, str]
) -> None:
    """An API outage (an API server restart) must not take every pod out of the Service:
    with the default 60 s grace, readiness stays 200 while discovery fails."""
    ip = "127.0.0.25"
    cluster.api.start_pod("kubegroup-example-1", labels=labels, ip=ip)
    cluster.start(ip)
    await cluster.wait_ready(ip)
    cluster.api.deny_namespace("default", verbs=("watch",))
    cluster.api.cut_watches()
    async with asyncio.timeout(WAIT):
        while (await cluster.stats(ip))["kubegroup"]["healthy"]:  # noqa: ASYNC110
            await asyncio.sleep(0.02)  # another process's state: poll it
    assert await cluster.get(ip, "/healthz") == (200, b"ok\n")
    stats = await cluster.stats(ip)
    assert stats["ready"] is True
    assert stats["kubegroup"]["unhealthy_seconds"] > 0


def test_the_deployment_drains_within_its_termination_grace(
    docs: dict[str, dict[str, Any]],
) -> None:
    """After SIGTERM the pod serves its peers for DRAIN_SECONDS (warm handoff): longer
    than kubegroup's 2 s debounce, so the others have dropped it, and well within the
    grace before the kubelet's SIGKILL."""
    drain = float(env_of(docs)["DRAIN_SECONDS"]["value"])
    grace = docs["Deployment"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert 2.0 < drain <= grace / 2
    assert load_app_module().Config.from_env({"DRAIN_SECONDS": "5"}).drain == 5.0


async def test_after_sigterm_the_pod_serves_its_peers_until_the_drain_ends(
    cluster: Cluster, labels: dict[str, str]
) -> None:
    ip = "127.0.0.24"
    cluster.api.start_pod("kubegroup-example-1", labels=labels, ip=ip)
    instance = cluster.start(ip, DRAIN_SECONDS="60")
    await cluster.wait_ready(ip)
    peer_url = f"http://{ip}:{cluster.groupcache_port}"
    async with groupcache.Client(peer_url) as client:
        value = await client.get("example", "k")
        assert value.startswith(b"value of 'k', loaded by ")
        instance.proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(WAIT):
            while "draining" not in instance.log.read_text():  # noqa: ASYNC110 - another process
                await asyncio.sleep(0.02)
        assert await client.get("example", "k") == value  # peers still served
    instance.proc.send_signal(signal.SIGINT)  # a second signal ends the drain
    assert await asyncio.to_thread(instance.proc.wait, WAIT) == 0, instance.log.read_text()
    assert "stopped" in instance.log.read_text()

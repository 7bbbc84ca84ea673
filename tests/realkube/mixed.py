"""One app label, udhos/kubegroup's Go example pods and our Python example pods side by side.

A :class:`MixedCluster` runs pods of both languages in namespace ``default`` (the Go
examples force it) with the label ``app=miniapi`` (theirs, hard-coded), each pod in its
own network, mount and UTS namespace (see :mod:`.sandbox`), each with a token bound to
its own Pod object and the example's RBAC. Pod objects go Running with their IP, the
process starts, and the pod is reported Ready once it answers (as a kubelet's probe
would). Rings are read from each process: ``/stats`` for ours, the debug log for Go's.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp
from kubernetes import utils as k8s_utils

from tests.support.netns import Topology
from tests.support.proxy import TCPProxy
from tests.support.realkube import ROOT, RealKube, apply, load

from .pods import ACCOUNT
from .sandbox import API_HOST, hosts_file, pod_prefix
from .udhos import APP_PORT, GROUP, PEER_PORT, SELECTOR, GoExample, loads_of_log, ring_of_log

NAMESPACE = "default"  # ForceNamespaceDefault in both Go examples
LABELS = dict([SELECTOR.split("=", 1)])
PYTHON_APP = ROOT / "examples/kubegroup-example/app.py"
START_TIMEOUT = 30.0  # seconds until a pod process answers its probe
Lang = Literal["go", "python"]


@dataclass(eq=False)
class Pod:
    """One pod's object and process."""

    name: str
    lang: Lang
    ip: str
    log: Path
    session: aiohttp.ClientSession
    proc: asyncio.subprocess.Process | None = None

    @property
    def peer_url(self) -> str:
        return f"http://{self.ip}:{PEER_PORT}"

    def _app(self, path: str) -> str:
        return f"http://{self.ip}:{APP_PORT}{path}"

    async def probe(self) -> bool:
        """The readiness probe: ``/healthz`` for ours, ``/metrics`` for Go's (it has none)."""
        path = "/healthz" if self.lang == "python" else "/metrics"
        try:
            async with self.session.get(self._app(path)) as resp:
                return resp.status == 200
        except aiohttp.ClientConnectionError:
            return False

    async def stats(self) -> dict[str, Any]:
        async with self.session.get(self._app("/stats")) as resp:
            assert resp.status == 200
            body: dict[str, Any] = await resp.json()
            return body

    async def ring(self) -> list[str] | None:
        """The peer URLs this pod's ring holds, sorted."""
        if self.lang == "go":
            return ring_of_log(self.log.read_text(errors="replace"))
        return sorted((await self.stats())["peers"])

    async def loads(self) -> collections.Counter[str]:
        """Origin loads by key, as this pod's getter counted them."""
        if self.lang == "go":
            return loads_of_log(self.log.read_text(errors="replace"))
        return collections.Counter((await self.stats())["backend_calls"])

    async def get(self, key: str) -> bytes:
        """The value of ``key`` through this pod's app (its cache and ring)."""
        path = f"/{key}" if self.lang == "go" else f"/get?key={key}"
        async with self.session.get(self._app(path)) as resp:
            body = await resp.read()
            assert resp.status == 200, (self.name, key, resp.status, body)
            return body

    async def stop(self) -> None:
        """SIGTERM the process, as a kubelet does, and wait (SIGKILL after 15 s)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            async with asyncio.timeout(15):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()


@dataclass
class MixedCluster:
    kube: RealKube
    topology: Topology
    proxy: TCPProxy
    example: GoExample
    go_binary: Path
    workdir: Path
    session: aiohttp.ClientSession
    pods: list[Pod] = field(default_factory=list)
    started: int = 0  # pods started so far: the next one takes the next address
    gone: list[Pod] = field(default_factory=list)  # deleted, maybe still running
    python_ring: str | None = None  # GROUPCACHE_RING of our pods; None: the example's

    @property
    def files(self) -> Path:
        """The Go pods' working directory: their getter reads the file named by the key."""
        return self.workdir / "files"

    def write_keys(self, keys: list[str]) -> None:
        for key in keys:
            (self.files / key).write_text(f"file {key}\n")

    def _env(self, pod: Pod, home: Path) -> dict[str, str]:
        cluster = {
            "HOME": str(home),  # no ~/.kube/config: udhos/kube falls back to in-cluster
            "KUBERNETES_SERVICE_HOST": API_HOST,
            "KUBERNETES_SERVICE_PORT": str(self.proxy.port),
        }
        if pod.lang == "go":
            return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **cluster}
        return {
            **{k: v for k, v in os.environ.items() if k != "KUBECONFIG"},
            **cluster,
            "POD_IP": pod.ip,
            "POD_NAME": pod.name,
            "POD_NAMESPACE": NAMESPACE,
            "HOSTNAME": pod.name,
            "LISTEN_HOST": pod.ip,
            "LABEL_SELECTOR": SELECTOR,
            "GROUPCACHE_GROUP": GROUP,
            "GROUPCACHE_RING": self.python_ring or self.example.ring,
            "BACKEND_DELAY": "0.01",
        }

    async def start(self, name: str, lang: Lang) -> Pod:
        """A pod Running with its IP, its process started, reported Ready once it answers."""
        ip = self.topology.ips[self.started]
        self.started += 1
        home = self.workdir / name
        home.mkdir()
        pod = Pod(name, lang, ip, home / "pod.log", self.session)
        self.pods.append(pod)
        created = self.kube.create_pod(NAMESPACE, name, LABELS, account=ACCOUNT)
        assert created.metadata is not None
        self.kube.set_status(NAMESPACE, name, ip, ready=False)
        token = self.kube.token(
            NAMESPACE, ACCOUNT, bound_to=("Pod", name, str(created.metadata.uid))
        )
        sa = self.kube.service_account_files(home / "sa", NAMESPACE, token)
        hosts = hosts_file(home / "hosts", pod=name, ip=ip, gateway=self.topology.gateway)
        self.files.mkdir(exist_ok=True)
        cwd = self.files if lang == "go" else home
        argv = [str(self.go_binary)] if lang == "go" else [sys.executable, str(PYTHON_APP)]
        prefix = pod_prefix(
            self.topology.command(ip), pod=name, sa_dir=sa.dir, hosts=hosts, workdir=cwd
        )
        with pod.log.open("ab") as log:
            pod.proc = await asyncio.create_subprocess_exec(
                *prefix, *argv, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
                env=self._env(pod, home),
            )  # fmt: skip
        async with asyncio.timeout(START_TIMEOUT):
            while not await pod.probe():
                if pod.proc.returncode is not None:
                    raise RuntimeError(f"{name} exited: {pod.log.read_text()[-3000:]}")
                await asyncio.sleep(0.05)
        return pod

    def report_ready(self, pod: Pod) -> None:
        self.kube.set_status(NAMESPACE, pod.name, pod.ip, ready=True)

    def delete(self, pod: Pod) -> None:
        """Delete the Pod object at once (grace 0); its process is stopped by the caller."""
        self.kube.delete_pod(NAMESPACE, pod.name, grace=0)
        self.pods.remove(pod)
        self.gone.append(pod)

    async def converge(self, members: list[Pod], t0: float, within: float = 60) -> dict[str, float]:
        """Poll every member's ring until it is ``members``; slowest pod per language, s."""
        want = sorted(m.peer_url for m in members)
        loop = asyncio.get_running_loop()
        took: dict[str, float] = {}
        pending = list(members)
        try:
            async with asyncio.timeout(within):
                while pending:
                    for pod in list(pending):
                        if await pod.ring() == want:
                            took[pod.name] = loop.time() - t0
                            pending.remove(pod)
                    await asyncio.sleep(0.02)  # polling other processes
        except TimeoutError:
            rings = {p.name: await p.ring() for p in pending}
            raise AssertionError(f"rings of {rings} never became {want}") from None
        return {
            lang: max(took[p.name] for p in members if p.lang == lang)
            for lang in ("go", "python")
            if any(p.lang == lang for p in members)
        }

    async def get_everywhere(self, keys: list[str]) -> dict[str, set[bytes]]:
        """Get every key through every pod, in turn; the values each key got."""
        self.write_keys(keys)
        return {key: {await pod.get(key) for pod in self.pods} for key in keys}

    async def loads(self, keys: list[str]) -> dict[str, collections.Counter[str]]:
        """Origin loads of ``keys`` by pod name."""
        loads = {}
        for pod in self.pods:
            counted = await pod.loads()
            loads[pod.name] = collections.Counter({k: counted[k] for k in keys if counted[k]})
        return loads

    async def load_once_everywhere(self, keys: list[str]) -> dict[str, collections.Counter[str]]:
        """Get every key through every pod; check one value per key and one load per key.

        Returns the loads by pod name.
        """
        values = await self.get_everywhere(keys)
        assert {key: len(got) for key, got in values.items()} == dict.fromkeys(keys, 1), values
        loads = await self.loads(keys)
        total = sum(loads.values(), collections.Counter[str]())
        assert total == collections.Counter(dict.fromkeys(keys, 1)), loads
        return loads

    async def aclose(self) -> None:
        for pod in [*self.pods, *self.gone]:
            await pod.stop()
        self.kube.core.delete_collection_namespaced_pod(
            NAMESPACE, label_selector=SELECTOR, grace_period_seconds=0
        )


def ensure_rbac(kube: RealKube) -> None:
    """The example's ServiceAccount, Role and RoleBinding in ``default`` (kept if there)."""
    for name in ("serviceaccount.yaml", "role.yaml", "rolebinding.yaml"):
        try:
            apply(kube, NAMESPACE, load(name, NAMESPACE))
        except k8s_utils.FailToCreateError as exc:
            if any(e.status != 409 for e in exc.api_exceptions):
                raise

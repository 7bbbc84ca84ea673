"""``groupcache serve --kube-selector`` processes that run as pods of a real API server.

Each :class:`PodNode` is one pod: a Pod object on the API server (bound to a node, its
status written as a kubelet would) and a node process that sees the cluster exactly as a
container does: its own service-account token, ``ca.crt`` and ``namespace`` mounted at
``/var/run/secrets/kubernetes.io/serviceaccount`` (a private mount namespace with a tmpfs
on ``/run``, made with ``unshare``), ``KUBERNETES_SERVICE_HOST``/``PORT`` pointing at the
API server, ``POD_IP`` from the downward API and ``HOSTNAME`` the pod's name. So the
nodes take kubegroup's in-cluster path, with the RBAC of the example's ServiceAccount.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.realkube import RealKube

SA_MOUNT = "/run/secrets/kubernetes.io/serviceaccount"  # /var/run is /run
SELECTOR_LABELS = {"app": "kubegroup-example"}
ACCOUNT = "kubegroup-example"
START_TIMEOUT = 30.0  # seconds until a node prints its ready line
DRAIN = 5.0
"""``groupcache serve --drain``: seconds a pod serves on after SIGTERM, longer than
kubegroup's 2 s debounce, so its peers take its copies after dropping it (warm handoff)."""


def unshare_prefix(sa_dir: Path) -> list[str]:
    """argv prefix: run the rest in a mount namespace with ``sa_dir`` as the SA mount."""
    unshare = shutil.which("unshare")
    if unshare is None:
        raise RuntimeError("unshare (util-linux) is needed to give each pod its own mounts")
    script = (
        "mount -t tmpfs -o size=1m,mode=755 pod-run /run"
        f" && mkdir -p {SA_MOUNT}"
        f" && mount --bind -o ro {shlex.quote(str(sa_dir))} {SA_MOUNT}"
        ' && exec "$@"'
    )
    return [unshare, "--mount", "--propagation", "private", "sh", "-c", script, "pod"]


class PodNode:
    """One pod: its API object and, once started, its groupcache node process."""

    def __init__(self, kube: RealKube, namespace: str, name: str, ip: str, port: int) -> None:
        self.kube = kube
        self.namespace = namespace
        self.name = name
        self.ip = ip
        self.port = port
        self.url = f"http://{ip}:{port}"
        self.proc: asyncio.subprocess.Process | None = None
        self.log: Path | None = None

    def create(self, *, labels: dict[str, str] | None = None) -> None:
        """Create the Pod object (Pending, no IP yet)."""
        self.kube.create_pod(self.namespace, self.name, labels or SELECTOR_LABELS, account=ACCOUNT)

    def report(self, *, ready: bool) -> None:
        """Write the status its kubelet would: Running at ``ip``, Ready or not."""
        self.kube.set_status(self.namespace, self.name, self.ip, ready=ready)

    async def start(self, workdir: Path) -> None:
        """Start the node process with a token bound to this pod, and wait until it serves."""
        pod = self.kube.core.read_namespaced_pod(self.name, self.namespace)
        assert pod.metadata is not None
        token = self.kube.token(
            self.namespace, ACCOUNT, bound_to=("Pod", self.name, str(pod.metadata.uid))
        )
        sa = self.kube.service_account_files(workdir / self.name / "sa", self.namespace, token)
        self.log = workdir / self.name / "node.log"
        env = {
            **{k: v for k, v in os.environ.items() if k != "KUBECONFIG"},
            **self.kube.in_cluster_env(),
            "POD_IP": self.ip,
            "HOSTNAME": self.name,
        }
        with self.log.open("ab") as log:  # a local file: opening it does not block
            self.proc = await asyncio.create_subprocess_exec(
                *unshare_prefix(sa.dir),
                sys.executable, "-m", "groupcache", "serve",
                "--kube-selector", "app=kubegroup-example", "--port", str(self.port),
                "--listen", f"{self.ip}:{self.port}",
                "--getter", "tests.support.getters:echo", "--group", "g",
                "--drain", str(DRAIN),
                stdout=asyncio.subprocess.PIPE, stderr=log, env=env,
            )  # fmt: skip
        assert self.proc.stdout is not None
        async with asyncio.timeout(START_TIMEOUT):
            line = await self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} exited before serving: {self.log.read_text()}")
        assert json.loads(line)["url"] == self.url

    async def stats(self) -> dict[str, Any]:
        """The node's ``/stats``: its peers and its group's counters."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.url + "/stats") as resp,
        ):
            body: dict[str, Any] = await resp.json()
            return body

    async def peers(self) -> list[str]:
        """The node's current ring members."""
        peers: list[str] = (await self.stats())["peers"]
        return peers

    def terminate(self) -> None:
        """SIGTERM the node process, as a kubelet does when the pod is deleted: it drains
        for :data:`DRAIN` seconds, then exits."""
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()

    async def stop(self, *, drained: bool = False) -> None:
        """Stop the node process and wait for it: SIGTERM, then SIGINT, which ends the
        drain at once (two signals of one kind may merge into one); with ``drained``,
        only wait for the drain :meth:`terminate` began to end."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        for sig in () if drained else (signal.SIGTERM, signal.SIGINT):
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(sig)
        try:
            async with asyncio.timeout(15 + DRAIN):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def wait_rings(nodes: list[PodNode], members: list[PodNode], within: float = 30) -> float:
    """Poll each node's ring (another process) until it is ``members``; seconds taken."""
    want = sorted(m.url for m in members)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(within):
        for node in nodes:
            while await node.peers() != want:  # noqa: ASYNC110 - polling another process
                await asyncio.sleep(0.02)
    return loop.time() - started

"""End to end: groupcache nodes as separate processes find each other through kubegroup.

Each node is ``groupcache serve --kube-selector app=web --port P`` with its own pod IP,
like pods on a cluster network, and reads the pods from a FakeKubeAPI through a
kubeconfig. Keys load once across the nodes; a deleted pod leaves every ring; a new pod
joins once it is Ready. The same scenario runs on two networks:

- ``loopback``: every node in this network namespace, on 127.0.0.11, .12, ...
- ``netns``: every node in a network namespace of its own on a bridge (see ``netns.py``),
  where the machine allows ``ip netns`` (root, iproute2); skipped with the reason if not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from groupcache import Client
from kubegroup.testing import FakeKubeAPI
from tests.support import netns
from tests.support.figures import figure
from tests.support.net import free_port

LABELS = {"app": "web"}


@dataclass(frozen=True)
class Network:
    """Where the pods live, and how to start a process with a pod's IP."""

    name: str
    api_host: str  # where the FakeKubeAPI listens, reachable from every pod
    pod_ips: tuple[str, ...]  # web-1, web-2, web-3 (started first), web-4 (joins later)
    other_ip: str  # an unselected pod that runs no node
    command: Callable[[str], list[str]]  # argv prefix running a command at a pod IP


LOOPBACK = Network(
    name="loopback",
    api_host="127.0.0.1",
    pod_ips=("127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"),
    other_ip="127.0.0.99",
    command=lambda ip: [],
)


def write_kubeconfig(path: Path, server: str) -> None:
    path.write_text(
        json.dumps(  # JSON is YAML
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "fake", "cluster": {"server": server}}],
                "users": [{"name": "fake", "user": {"token": "t"}}],
                "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
                "current-context": "fake",
            }
        )
    )


class Nodes:
    def __init__(self, kubeconfig: Path, port: int, network: Network) -> None:
        self.kubeconfig = kubeconfig
        self.port = port
        self.network = network
        self.procs: dict[str, asyncio.subprocess.Process] = {}

    def url(self, ip: str) -> str:
        return f"http://{ip}:{self.port}"

    async def start(self, ip: str) -> None:
        env = {
            **os.environ,
            "POD_IP": ip,
            "POD_NAMESPACE": "default",
            "KUBECONFIG": str(self.kubeconfig),
            "KUBERNETES_SERVICE_HOST": "",
        }
        proc = await asyncio.create_subprocess_exec(
            *self.network.command(ip),
            sys.executable, "-m", "groupcache", "serve", "--kube-selector", "app=web",
            "--port", str(self.port), "--listen", f"{ip}:{self.port}",
            "--getter", "tests.support.getters:echo", "--group", "g",
            stdout=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        self.procs[ip] = proc
        assert proc.stdout is not None
        ready = json.loads(await proc.stdout.readline())
        assert ready["url"] == self.url(ip)

    async def stats(self, ip: str) -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.url(ip) + "/stats") as resp,
        ):
            body: dict[str, Any] = await resp.json()
            return body

    async def wait_peers(self, ips: list[str], expected: list[str]) -> None:
        """Poll each node's /stats (another process) until its peers are ``expected``."""
        want = sorted(self.url(e) for e in expected)
        async with asyncio.timeout(20):
            for ip in ips:
                while (await self.stats(ip))["peers"] != want:  # noqa: ASYNC110 - another process
                    await asyncio.sleep(0.02)

    async def stop(self, ip: str) -> None:
        proc = self.procs.pop(ip)
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()

    async def aclose(self) -> None:
        for ip in list(self.procs):
            with contextlib.suppress(ProcessLookupError):
                self.procs[ip].kill()
            await self.stop(ip)


@pytest.fixture(params=["loopback", "netns"])
def network(request: pytest.FixtureRequest) -> Iterator[Network]:
    """The loopback network, or one network namespace per pod on a bridge."""
    if request.param == "loopback":
        yield LOOPBACK
        return
    reason = netns.unavailable()
    if reason is not None:
        print(f"\nnetns variant skipped: {reason}")
        pytest.skip(reason)
    started = time.perf_counter()
    with netns.Topology(pods=len(LOOPBACK.pod_ips)) as topology:
        figure(f"[netns] {topology.pods} namespaces on {topology.bridge} {topology.subnet}"
              f" in {(time.perf_counter() - started) * 1000:.0f} ms")  # fmt: skip
        yield Network(
            name="netns",
            api_host=topology.gateway,
            pod_ips=tuple(topology.ips),
            other_ip=topology.spare_ip,
            command=topology.command,
        )


@pytest.fixture
async def world(tmp_path: Path, network: Network) -> AsyncIterator[tuple[FakeKubeAPI, Nodes]]:
    with FakeKubeAPI(host=network.api_host) as api:
        kubeconfig = tmp_path / "kubeconfig"
        write_kubeconfig(kubeconfig, api.url)
        nodes = Nodes(kubeconfig, free_port(), network)
        try:
            yield api, nodes
        finally:
            await nodes.aclose()


@pytest.mark.timeout(90)
async def test_nodes_discover_each_other_load_once_shrink_and_grow(
    world: tuple[FakeKubeAPI, Nodes],
) -> None:
    api, nodes = world
    *ips, new_ip = nodes.network.pod_ips
    for i, ip in enumerate(ips, 1):
        api.start_pod(f"web-{i}", labels=LABELS, ip=ip)
    api.start_pod("other", labels={"app": "db"}, ip=nodes.network.other_ip)  # not selected
    for ip in ips:
        await nodes.start(ip)
    await nodes.wait_peers(ips, ips)

    keys = [f"key-{i}" for i in range(30)]
    for ip in ips:
        async with Client(nodes.url(ip)) as client:
            for key in keys:
                assert await client.get("g", key) == f"echo:{key}".encode()
    loads = [(await nodes.stats(ip))["groups"]["g"]["stats"]["local_loads"] for ip in ips]
    assert sum(loads) == len(keys)  # each key once across the three processes
    assert all(n > 0 for n in loads)  # and every node owns some

    deleted = time.perf_counter()
    api.force_delete_pod("web-3")  # the pod is gone: the ring shrinks everywhere
    await nodes.wait_peers(ips[:2], ips[:2])
    left = time.perf_counter() - deleted
    await nodes.stop(ips[2])
    async with Client(nodes.url(ips[0])) as client:
        for key in keys:
            assert await client.get("g", key) == f"echo:{key}".encode()
    survivors = [(await nodes.stats(ip))["groups"]["g"]["stats"] for ip in ips[:2]]
    assert sum(s["peer_errors"] for s in survivors) == 0  # nobody asked the dead node

    api.create_pod("web-4", labels=LABELS)
    api.assign_ip("web-4", new_ip)  # running, not ready: its own node still counts itself
    await nodes.start(new_ip)
    await nodes.wait_peers([new_ip], [*ips[:2], new_ip])
    await nodes.wait_peers(ips[:2], ips[:2])  # the others wait for readiness
    started = time.perf_counter()
    api.set_ready("web-4")
    await nodes.wait_peers([*ips[:2], new_ip], [*ips[:2], new_ip])
    joined = time.perf_counter() - started
    figure(
        f"[{nodes.network.name}] pod deleted -> out of every ring: {left * 1000:.0f} ms; "
        f"pod ready -> in every ring: {joined * 1000:.0f} ms (debounce 2 s)"
    )
    assert joined < 10

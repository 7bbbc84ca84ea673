"""Faults only the real API server shows: the ring is never emptied, the error is
surfaced, and kubegroup converges again; each prints its convergence time. (The faults
both servers show, a restart and a Role without ``watch``, are scenarios of
tests/kubegroup/test_scenarios.py, run on each.)

kubegroup runs in this process on its in-cluster path (a service-account folder and
``KUBERNETES_SERVICE_HOST``/``PORT``), feeding a RecordingPool; the pods are API objects
whose status the test writes, as a kubelet would.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client as k8s

from kubegroup import KubeAPIError, KubeGroup, update_peers
from kubegroup.testing import RecordingPool
from tests.support.figures import figure
from tests.support.proxy import TCPProxy
from tests.support.realkube import RealKube, apply, load

LABELS = {"app": "kubegroup-example"}
PORT = 5000
DEAD_LINK_BOUND = 120.0  # seconds: the bound for noticing a silent connection


def url(i: int) -> str:
    return f"http://127.0.0.{10 + i}:{PORT}"


@dataclass
class World:
    kube: RealKube
    namespace: str
    sa_dir: Path
    pool: RecordingPool

    def ready_pod(self, i: int) -> None:
        name = f"web-{i}"
        self.kube.create_pod(self.namespace, name, LABELS, account="kubegroup-example")
        self.kube.set_status(self.namespace, name, f"127.0.0.{10 + i}")

    def ring_never_emptied(self) -> bool:
        return all(self.pool.calls) and len(self.pool.calls) > 0

    async def start(
        self, monkeypatch: pytest.MonkeyPatch, server: str, **options: object
    ) -> KubeGroup:
        port = server.rsplit(":", 1)[1]
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", port)
        monkeypatch.delenv("KUBECONFIG", raising=False)
        monkeypatch.delenv("POD_IP", raising=False)
        kg = await update_peers(
            self.pool,
            label_selector="app=kubegroup-example",
            port=PORT,
            service_account_dir=self.sa_dir,
            my_url=url(1),
            debounce=0,
            backoff_initial=0.2,
            backoff_max=2.0,
            **options,  # type: ignore[arg-type]
        )
        async with asyncio.timeout(30):
            await kg.wait_synced()
        return kg


@pytest.fixture
def world(real_kube: RealKube, fresh_namespace: str, tmp_path: Path) -> World:
    for name in ("serviceaccount.yaml", "role.yaml", "rolebinding.yaml"):
        apply(real_kube, fresh_namespace, load(name, fresh_namespace))
    token = real_kube.token(fresh_namespace, "kubegroup-example")
    sa = real_kube.service_account_files(tmp_path / "sa", fresh_namespace, token)
    w = World(real_kube, fresh_namespace, sa.dir, RecordingPool())
    for i in (1, 2, 3):
        w.ready_pod(i)
    return w


async def converge(w: World, kg: KubeGroup, i: int, within: float = 60) -> float:
    """Add Ready pod ``i`` and return the seconds until the pool has it."""
    started = time.monotonic()
    w.ready_pod(i)
    async with asyncio.timeout(within):
        await w.pool.wait_until(lambda pool: url(i) in (pool.peers or ()))
    return time.monotonic() - started


@pytest.mark.realkube
@pytest.mark.timeout(180)
async def test_etcd_compacted_past_the_watch_gives_a_real_410_and_a_relist(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the watch cache the watch reads etcd, so a compaction past its
    # resourceVersion ends it with 410 Gone when it resumes (every 1-2 s here).
    with world.kube.second_apiserver("--watch-cache=false") as server:
        kg = await world.start(monkeypatch, server, watch_timeout=1)
        try:
            await world.pool.wait_for_peers([url(1), url(2), url(3)])
            relists = kg.stats().relists
            other = world.kube.namespace(f"{world.namespace}-writes")
            for n in range(5):  # move etcd's revision past the watch's
                world.kube.core.create_namespaced_config_map(
                    other, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name=f"c{n}"))
                )
            revision = world.kube.compact()
            started = time.monotonic()
            async with asyncio.timeout(60):
                while kg.stats().relists == relists:  # noqa: ASYNC110 - the watch thread's
                    await asyncio.sleep(0.05)
            relisted = time.monotonic() - started
            took = await converge(world, kg, 4)
            figure(
                f"[real kube-apiserver] etcd compacted at revision {revision}: relist "
                f"{relisted:.2f} s later (410 Gone); a new pod then reached the ring in "
                f"{took:.2f} s"
            )
            assert world.ring_never_emptied()
            assert world.pool.peers == (url(1), url(2), url(3), url(4))
        finally:
            await kg.aclose()


@pytest.mark.realkube
@pytest.mark.timeout(240)
async def test_a_revoked_token_is_a_401_then_a_new_token_file_recovers(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    kube, ns = world.kube, world.namespace
    secret = kube.core.create_namespaced_secret(
        ns, k8s.V1Secret(metadata=k8s.V1ObjectMeta(name="tok-a"))
    )
    assert secret.metadata is not None
    bound = kube.token(
        ns, "kubegroup-example", bound_to=("Secret", "tok-a", str(secret.metadata.uid))
    )
    (world.sa_dir / "token").write_text(bound)
    kg = await world.start(monkeypatch, kube.server, watch_timeout=1)
    try:
        await world.pool.wait_for_peers([url(1), url(2), url(3)])
        kube.core.delete_namespaced_secret("tok-a", ns)  # the token dies with it
        started = time.monotonic()
        async with asyncio.timeout(60):
            while not (  # noqa: ASYNC110 - the watch thread's state
                isinstance(kg.last_error, KubeAPIError) and kg.last_error.status == 401
            ):
                await asyncio.sleep(0.05)
        refused = time.monotonic() - started
        assert not kg.healthy
        assert world.pool.peers == (url(1), url(2), url(3))  # kept through the 401s

        (world.sa_dir / "token").write_text(kube.token(ns, "kubegroup-example"))
        started = time.monotonic()
        took = await converge(world, kg, 4, within=150)
        figure(
            f"[real kube-apiserver] token revoked: 401 after {refused:.2f} s; with a new "
            f"token file, a new pod reached the ring {took:.2f} s later "
            f"(the client re-reads the token file once a minute)"
        )
        assert world.ring_never_emptied()
        assert kg.healthy
    finally:
        await kg.aclose()


@pytest.mark.realkube
@pytest.mark.timeout(240)
async def test_a_blackholed_connection_is_detected_within_the_default_bound(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy that keeps both sockets open and forwards nothing, between kubegroup and
    the API server (TLS end to end): the default inactivity bound finds it in < 2 min."""
    port = int(world.kube.server.rsplit(":", 1)[1])
    async with TCPProxy("127.0.0.1", port) as proxy:
        kg = await world.start(monkeypatch, f"https://127.0.0.1:{proxy.port}")
        try:
            await world.pool.wait_for_peers([url(1), url(2), url(3)])
            assert proxy.blackhole() >= 1
            took = await converge(world, kg, 4, within=DEAD_LINK_BOUND)
            figure(
                f"[real kube-apiserver] blackholed watch connection: a pod created "
                f"then reached the ring after {took:.1f} s (default bound "
                f"{DEAD_LINK_BOUND:.0f} s)"
            )
            assert world.ring_never_emptied()
        finally:
            await kg.aclose()

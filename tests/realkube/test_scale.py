"""Scale on a real API server: 600 matching and 600 other pods in one namespace."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kubegroup import update_peers
from kubegroup.testing import RecordingPool

from .cluster import RealKube
from .test_example_manifests import apply, load

MATCHING = 600
OTHERS = 600


def ip(i: int) -> str:
    return f"127.1.{i // 250}.{i % 250 + 1}"


@pytest.mark.realkube
@pytest.mark.timeout(300)
async def test_six_hundred_ready_pods_among_twelve_hundred_make_the_ring_paged_list(
    real_kube: RealKube, fresh_namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ns = fresh_namespace
    for name in ("serviceaccount.yaml", "role.yaml", "rolebinding.yaml"):
        apply(real_kube, ns, load(name, ns))

    def make(i: int) -> None:
        labels = {"app": "kubegroup-example" if i < MATCHING else "other"}
        real_kube.create_pod(ns, f"p-{i}", labels, account="kubegroup-example")
        real_kube.set_status(ns, f"p-{i}", ip(i))

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(make, range(MATCHING + OTHERS)))
    created = time.monotonic() - started
    page = real_kube.core.list_namespaced_pod(
        ns, label_selector="app=kubegroup-example", limit=100, resource_version="0"
    )
    assert page.metadata is not None
    served_paged = bool(page.metadata._continue)

    token = real_kube.token(ns, "kubegroup-example")
    sa = real_kube.service_account_files(tmp_path / "sa", ns, token)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(real_kube.info["apiserver_port"]))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    recording = RecordingPool()
    started = time.monotonic()
    kg = await update_peers(
        recording,
        label_selector="app=kubegroup-example",
        port=5000,
        service_account_dir=sa.dir,
        my_url=f"http://{ip(0)}:5000",
        debounce=0,
        list_page_size=100,
    )
    try:
        async with asyncio.timeout(60):
            await kg.wait_synced()
        synced = time.monotonic() - started
        expected = sorted(f"http://{ip(i)}:5000" for i in range(MATCHING))
        assert recording.peers is not None
        assert sorted(recording.peers) == expected
        assert kg.stats().pods == MATCHING
        print(
            f"\n[real kube-apiserver] {MATCHING} matching + {OTHERS} other pods created in "
            f"{created:.1f} s; kubegroup synced a {len(recording.peers)}-peer ring in "
            f"{synced:.2f} s (pages of 100; the server "
            f"{'pages' if served_paged else 'does not page'} resourceVersion=0 lists)"
        )
    finally:
        await kg.aclose()

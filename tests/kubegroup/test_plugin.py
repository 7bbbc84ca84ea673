"""The ``groupcache.discovery`` entry point: kubegroup._plugin as groupcache serve uses it."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from kubegroup import _plugin
from kubegroup.testing import FakeKubeAPI, RecordingPool

from .helpers import peers_become


def test_the_entry_point_names_the_plugin_module() -> None:
    (entry,) = importlib.metadata.entry_points(group="groupcache.discovery", name="kube")
    assert entry.value == "kubegroup._plugin"


def test_my_url_uses_pod_ip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_IP", "10.5.0.9")
    assert _plugin.my_url(5000) == "http://10.5.0.9:5000"


async def test_discover_feeds_the_pool_from_the_environment(
    fake: FakeKubeAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.start_pod("a", labels={"app": "web"}, ip="10.0.0.1")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: f, cluster: {{server: '{fake.url}'}}}}]\n"
        "users: [{name: u, user: {}}]\n"
        "contexts: [{name: c, context: {cluster: f, user: u}}]\n"
    )
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("POD_NAMESPACE", "ns1")
    monkeypatch.setenv("POD_IP", "10.99.0.1")
    pool = RecordingPool()
    async with await _plugin.discover(pool, selector="app=web", port=5000):
        await peers_become(pool, "10.0.0.1")

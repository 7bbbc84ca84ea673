"""update_peers configuration: clear errors for bad input, namespace sources, and the
in-cluster (TLS + bearer token) and kubeconfig paths against FakeKubeAPI.

Environment variables and files are the only things patched (monkeypatch, tmp_path).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from kubegroup import KubeAPIError, KubeConfigError, update_peers
from kubegroup._config import resolve_namespace
from kubegroup.testing import FakeKubeAPI, RecordingPool

from .helpers import SELF, WAIT, TLSFiles, in_thread, peers_become


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No cluster, no kubeconfig, no pod variables, unless a test sets them."""
    for name in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "POD_NAMESPACE", "POD_IP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))


def service_account(folder: Path, *, namespace: str, token: str, ca: Path) -> Path:
    folder.mkdir()
    (folder / "namespace").write_text(namespace + "\n")
    (folder / "token").write_text(token)
    (folder / "ca.crt").write_bytes(ca.read_bytes())
    return folder


@pytest.mark.parametrize("selector", ["", "   "])
async def test_an_empty_selector_is_refused(selector: str) -> None:
    with pytest.raises(KubeConfigError, match="label_selector is required"):
        await update_peers(RecordingPool(), label_selector=selector, port=5000, namespace="ns")


async def test_a_malformed_selector_is_refused_with_the_reason() -> None:
    with pytest.raises(KubeConfigError, match=r"invalid label_selector 'app in \(': expected"):
        await update_peers(RecordingPool(), label_selector="app in (", port=5000, namespace="ns")


@pytest.mark.parametrize("port", [0, 70000, "http", ":", True])
async def test_a_bad_port_is_refused(port: object) -> None:
    with pytest.raises(KubeConfigError, match="invalid port"):
        await update_peers(RecordingPool(), label_selector="a=b", port=port, namespace="ns")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [{"debounce": -1}, {"watch_timeout": 0}, {"backoff_max": 0.1, "backoff_initial": 1.0}],
)
async def test_nonsense_timings_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(KubeConfigError):
        await update_peers(
            RecordingPool(), label_selector="a=b", port=5000, namespace="ns", **options
        )


async def test_no_namespace_anywhere_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError, match=r"no namespace: pass namespace=.*POD_NAMESPACE"):
        await update_peers(
            RecordingPool(), label_selector="a=b", port=5000, service_account_dir=tmp_path
        )


def test_the_namespace_comes_from_argument_then_env_then_file(tmp_path: Path) -> None:
    (tmp_path / "namespace").write_text("from-file\n")
    env = {"POD_NAMESPACE": " from-env "}
    assert resolve_namespace("explicit", service_account_dir=tmp_path, environ=env) == "explicit"
    assert resolve_namespace(None, service_account_dir=tmp_path, environ=env) == "from-env"
    assert resolve_namespace("", service_account_dir=tmp_path, environ={}) == "from-file"


def test_an_invalid_namespace_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError, match="invalid namespace 'Bad_NS'"):
        resolve_namespace("Bad_NS", service_account_dir=tmp_path, environ={})


async def test_missing_credentials_outside_a_cluster_are_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError) as info:
        await update_peers(
            RecordingPool(),
            label_selector="a=b",
            port=5000,
            namespace="ns",
            my_url=SELF,
            service_account_dir=tmp_path,
        )
    message = str(info.value)
    assert "in-cluster config failed (Service host/port is not set.)" in message
    assert "no-kubeconfig" in message
    assert info.value.__cause__ is not None


async def test_the_in_cluster_path_uses_tls_the_token_and_the_namespace_file(
    tls_files: TLSFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeKubeAPI(tls_cert=tls_files.cert, tls_key=tls_files.key, token="TOKEN123") as fake:
        fake.start_pod("a", labels={"app": "web"}, ip="10.0.0.1", namespace="team-a")
        fake.start_pod("me", labels={"app": "web"}, ip="10.99.0.1", namespace="team-a")
        sa = service_account(
            tmp_path / "sa", namespace="team-a", token="TOKEN123", ca=tls_files.cert
        )
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(fake.port))
        monkeypatch.setenv("POD_IP", "10.99.0.1")
        pool = RecordingPool()
        async with await update_peers(
            pool, label_selector="app=web", port=5000, service_account_dir=sa, debounce=0
        ) as kg:
            await peers_become(pool, "10.0.0.1")
            assert (kg.namespace, kg.my_url) == ("team-a", SELF)
            request = fake.requests[0]
            assert request.path == "/api/v1/namespaces/team-a/pods"
            assert request.headers["authorization"] == "bearer TOKEN123"


async def test_a_rejected_token_is_an_unhealthy_auth_error(
    tls_files: TLSFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeKubeAPI(tls_cert=tls_files.cert, tls_key=tls_files.key, token="right") as fake:
        sa = service_account(tmp_path / "sa", namespace="ns1", token="wrong", ca=tls_files.cert)
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(fake.port))
        pool = RecordingPool()
        async with await update_peers(
            pool, label_selector="app=web", port=5000, service_account_dir=sa, my_url=SELF
        ) as kg:
            await in_thread(lambda: fake.wait_for_requests(lambda r: len(r) >= 1))
            async with asyncio.timeout(WAIT):
                while kg.last_error is None:  # noqa: ASYNC110 - set by the watch thread
                    await asyncio.sleep(0)
            err = kg.last_error
            assert isinstance(err, KubeAPIError)
            assert (err.status, err.is_auth_error) == (401, True)
            assert not kg.healthy
            assert pool.calls == []


async def test_a_kubeconfig_is_the_fallback_outside_a_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeKubeAPI(token="kc-token") as fake:
        fake.start_pod("a", labels={"app": "web"}, ip="10.0.0.1", namespace="ns1")
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
            f"clusters: [{{name: f, cluster: {{server: '{fake.url}'}}}}]\n"
            "users: [{name: u, user: {token: kc-token}}]\n"
            "contexts: [{name: c, context: {cluster: f, user: u}}]\n"
        )
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        monkeypatch.setenv("POD_NAMESPACE", "ns1")
        pool = RecordingPool()
        async with await update_peers(
            pool,
            label_selector="app=web",
            port=":5000",
            my_url=SELF,
            service_account_dir=tmp_path,
            registry=CollectorRegistry(),
        ):
            await peers_become(pool, "10.0.0.1")
        assert fake.requests[0].headers["authorization"] == "Bearer kc-token"


async def test_a_given_api_client_is_copied_not_closed_or_changed(fake: FakeKubeAPI) -> None:
    with fake.api_client() as client:
        client.set_default_header("X-Test", "yes")
        pool = RecordingPool()
        async with await update_peers(
            pool,
            label_selector="app=web",
            port=5000,
            namespace="ns1",
            api_client=client,
            my_url=SELF,
        ) as kg:
            async with asyncio.timeout(WAIT):
                await kg.wait_synced()
        assert fake.requests[0].headers["x-test"] == "yes"
        assert client.configuration.retries is None
        fake.create_pod("still-usable")
        assert client.call_api("GET", fake.url + "/version").status == 200

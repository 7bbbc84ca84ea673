"""The example's RBAC, for real: what its service account's token may and may not do."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.support.realkube import RealKube, apply, client_for, load


def example_account(kube: RealKube, namespace: str) -> str:
    """Apply the example's ServiceAccount, Role and RoleBinding; a token for the account."""
    for name in ("serviceaccount.yaml", "role.yaml", "rolebinding.yaml"):
        apply(kube, namespace, load(name, namespace))
    return kube.token(namespace, "kubegroup-example")


def status_of(call: object) -> int:
    assert callable(call)
    try:
        call()
    except ApiException as exc:
        return int(exc.status)
    return 200


@pytest.mark.realkube
def test_the_example_token_may_list_and_watch_pods_in_its_own_namespace(
    real_kube: RealKube, fresh_namespace: str
) -> None:
    token = example_account(real_kube, fresh_namespace)
    with client_for(real_kube, token) as core:
        assert core.list_namespaced_pod(fresh_namespace).items == []
        watch: Any = core.list_namespaced_pod(
            fresh_namespace, watch=True, timeout_seconds=1, _preload_content=False
        )
        try:
            assert watch.status == 200
        finally:
            watch.release_conn()


@pytest.mark.realkube
def test_the_example_token_is_refused_secrets_other_namespaces_and_writes(
    real_kube: RealKube, fresh_namespace: str
) -> None:
    token = example_account(real_kube, fresh_namespace)
    other = real_kube.namespace(f"{fresh_namespace}-other")
    with client_for(real_kube, token) as core:
        assert status_of(lambda: core.list_namespaced_secret(fresh_namespace)) == 403
        assert status_of(lambda: core.list_namespaced_pod(other)) == 403
        assert status_of(lambda: core.list_pod_for_all_namespaces()) == 403
        assert status_of(lambda: core.read_namespaced_pod("any", fresh_namespace)) == 403
        pod = k8s.V1Pod(
            metadata=k8s.V1ObjectMeta(name="x"),
            spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="c", image="i")]),
        )
        assert status_of(lambda: core.create_namespaced_pod(fresh_namespace, pod)) == 403


@pytest.mark.realkube
def test_a_request_without_a_valid_token_is_refused_401(
    real_kube: RealKube, fresh_namespace: str
) -> None:
    with client_for(real_kube, "not-a-token") as core:
        assert status_of(lambda: core.list_namespaced_pod(fresh_namespace)) == 401

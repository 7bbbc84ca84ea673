"""The example's manifests, applied for real: server-side validation and Pod Security."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import utils as k8s_utils

from tests.support.realkube import MANIFESTS, RealKube, apply, load

RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}


def pod_from_template(namespace: str, name: str) -> dict[str, Any]:
    """A Pod exactly as the Deployment's ReplicaSet would make it (bound to a node)."""
    template = load("deployment.yaml", namespace)["spec"]["template"]
    spec = copy.deepcopy(template["spec"])
    spec["nodeName"] = "node-a"  # no scheduler runs
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": template["metadata"]["labels"]},
        "spec": spec,
    }


@pytest.mark.realkube
def test_every_example_manifest_is_accepted_by_strict_server_side_validation(
    real_kube: RealKube, fresh_namespace: str
) -> None:
    names = sorted(p.name for p in MANIFESTS.glob("*.yaml"))
    assert "deployment.yaml" in names
    assert "role.yaml" in names
    for name in names:
        apply(real_kube, fresh_namespace, load(name, fresh_namespace))
    apps = k8s.AppsV1Api(real_kube.admin)
    assert apps.read_namespaced_deployment("kubegroup-example", fresh_namespace).spec.replicas == 3


@pytest.mark.realkube
def test_a_pod_from_the_deployment_template_is_admitted_under_pod_security_restricted(
    real_kube: RealKube,
) -> None:
    namespace = real_kube.namespace("restricted-example", RESTRICTED)
    apply(real_kube, namespace, load("serviceaccount.yaml", namespace))
    pod = pod_from_template(namespace, "kubegroup-example-0")
    apply(real_kube, namespace, pod)
    created = real_kube.core.read_namespaced_pod("kubegroup-example-0", namespace)
    assert created.spec is not None
    assert created.spec.service_account_name == "kubegroup-example"


@pytest.mark.realkube
def test_pod_security_restricted_is_enforced_so_the_admission_test_means_something(
    real_kube: RealKube,
) -> None:
    namespace = real_kube.namespace("restricted-control", RESTRICTED)
    apply(real_kube, namespace, load("serviceaccount.yaml", namespace))
    pod = pod_from_template(namespace, "lax")
    del pod["spec"]["containers"][0]["securityContext"]["capabilities"]
    with pytest.raises(k8s_utils.FailToCreateError) as caught:
        apply(real_kube, namespace, pod)
    (refused,) = caught.value.api_exceptions
    message = json.loads(refused.body)["message"]
    assert refused.status == 403
    assert 'violates PodSecurity "restricted:latest"' in message
    assert "capabilities" in message

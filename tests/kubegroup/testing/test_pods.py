"""Pod builders: complete objects, RFC 3339 times, and no mutation of the input."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable

from kubegroup.testing._pods import (
    Pod,
    begin_termination,
    make_pod,
    relabel,
    schedule,
    set_ready,
    terminated,
    timestamp,
)


def test_a_new_pod_is_pending_without_ip_and_has_a_named_container() -> None:
    pod = make_pod("a", "ns", {"app": "x"}, node_name="n1")
    assert pod["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    assert pod["spec"]["containers"][0]["name"] == "app"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", pod["metadata"]["creationTimestamp"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", timestamp())


def test_lifecycle_steps_return_new_objects_and_leave_the_input_alone() -> None:
    pod = make_pod("a", "ns", {"app": "x"}, node_name="n1")
    steps: list[Callable[[Pod], Pod]] = [
        lambda p: schedule(p, "10.0.0.5", "10.1.0.1"),
        lambda p: set_ready(p, True),
        lambda p: begin_termination(p, 30),
        terminated,
        lambda p: relabel(p, {"app": "y"}),
    ]
    for step in steps:
        before = copy.deepcopy(pod)
        new = step(pod)
        assert pod == before
        assert new is not pod
        pod = new
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["metadata"]["labels"] == {"app": "y"}
    conditions = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
    assert conditions == {
        "PodScheduled": "True",
        "Initialized": "True",
        "ContainersReady": "False",
        "Ready": "False",
    }

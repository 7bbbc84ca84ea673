"""Pod objects for the fake API server, and the lifecycle steps a kubelet would apply.

Every function returns a new dict and never mutates its argument: the store shares
object dicts between its map, its history and open watches.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = [
    "Pod",
    "begin_termination",
    "make_pod",
    "relabel",
    "schedule",
    "set_ready",
    "terminated",
    "timestamp",
]

Pod = dict[str, Any]
"""A pod as the API serves it: plain JSON-compatible dicts, complete enough to deserialise."""


def timestamp() -> str:
    """Return the current UTC time in the RFC 3339 form the API uses."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _condition(kind: str, status: bool, now: str) -> dict[str, Any]:
    return {"type": kind, "status": "True" if status else "False", "lastTransitionTime": now}


def make_pod(
    name: str,
    namespace: str,
    labels: Mapping[str, str] | None,
    *,
    node_name: str,
) -> Pod:
    """Return a just-created pod: Pending, not yet scheduled, no IP, no conditions."""
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": str(uuid.uuid4()),
            "creationTimestamp": timestamp(),
            "labels": dict(labels or {}),
        },
        "spec": {
            "containers": [{"name": "app", "image": "registry.example/app:1.0"}],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "serviceAccountName": "default",
            "nodeName": node_name,
        },
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    }


def _copy(pod: Pod) -> Pod:
    return copy.deepcopy(pod)


def schedule(pod: Pod, ip: str, host_ip: str) -> Pod:
    """Return ``pod`` running with ``ip`` assigned and its containers not ready yet."""
    new = _copy(pod)
    now = timestamp()
    status = new["status"]
    status.update(
        phase="Running",
        podIP=ip,
        podIPs=[{"ip": ip}],
        hostIP=host_ip,
        hostIPs=[{"ip": host_ip}],
        startTime=now,
        conditions=[
            _condition("PodScheduled", True, now),
            _condition("Initialized", True, now),
            _condition("ContainersReady", False, now),
            _condition("Ready", False, now),
        ],
        containerStatuses=[
            {
                "name": "app",
                "image": "registry.example/app:1.0",
                "imageID": "",
                "ready": False,
                "restartCount": 0,
                "started": True,
                "state": {"running": {"startedAt": now}},
            }
        ],
    )
    return new


def set_ready(pod: Pod, ready: bool) -> Pod:
    """Return ``pod`` with its Ready and ContainersReady conditions set to ``ready``."""
    new = _copy(pod)
    now = timestamp()
    status = new["status"]
    conditions = [
        c for c in status.get("conditions", []) if c["type"] not in ("Ready", "ContainersReady")
    ]
    conditions += [_condition("ContainersReady", ready, now), _condition("Ready", ready, now)]
    status["conditions"] = conditions
    for cs in status.get("containerStatuses", []):
        cs["ready"] = ready
    return new


def begin_termination(pod: Pod, grace_period_seconds: int) -> Pod:
    """Return ``pod`` marked for graceful deletion (its Ready condition is left alone)."""
    new = _copy(pod)
    meta = new["metadata"]
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=grace_period_seconds)
    meta["deletionTimestamp"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    meta["deletionGracePeriodSeconds"] = grace_period_seconds
    return new


def terminated(pod: Pod) -> Pod:
    """Return ``pod`` after its containers exited: not ready, phase Succeeded."""
    new = set_ready(pod, False)
    new["status"]["phase"] = "Succeeded"
    for cs in new["status"].get("containerStatuses", []):
        cs["state"] = {"terminated": {"exitCode": 0, "reason": "Completed"}}
        cs["started"] = False
    return new


def relabel(pod: Pod, labels: Mapping[str, str]) -> Pod:
    """Return ``pod`` with its labels replaced by ``labels``."""
    new = _copy(pod)
    new["metadata"]["labels"] = dict(labels)
    return new

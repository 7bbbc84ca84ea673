"""Pure functions from pod objects to peer URLs (kubepodinformer ``Pod`` + kubegroup ``onUpdate``).

A pod is a peer when its Ready condition is ``"True"``, it has an IP and it is not
terminating. Go kubegroup checks only Ready; dropping terminating pods at once is what
the Kubernetes endpoints controller does too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._address import peer_url

__all__ = ["PodInfo", "find_self", "peer_urls", "pod_info"]


@dataclass(frozen=True, slots=True)
class PodInfo:
    """What discovery needs from a pod."""

    name: str
    ip: str
    ready: bool
    terminating: bool

    @property
    def is_peer(self) -> bool:
        """Whether this pod belongs in the ring."""
        return self.ready and bool(self.ip) and not self.terminating


def _section(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def _text(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def pod_info(obj: Mapping[str, Any]) -> PodInfo:
    """Extract a :class:`PodInfo` from a raw pod object (as JSON-decoded from the API).

    Any JSON object is accepted: a field of the wrong type counts as absent, so a
    malformed pod is simply not a peer.
    """
    meta, status = _section(obj, "metadata"), _section(obj, "status")
    conditions = status.get("conditions")
    ready = isinstance(conditions, list) and any(
        isinstance(c, Mapping) and c.get("type") == "Ready" and c.get("status") == "True"
        for c in conditions
    )
    return PodInfo(
        name=_text(meta, "name"),
        ip=_text(status, "podIP"),
        ready=ready,
        terminating=meta.get("deletionTimestamp") is not None,
    )


def find_self(pods: Iterable[PodInfo], my_name: str | None) -> PodInfo | None:
    """Return this pod's own entry (by name, from ``POD_NAME``/``HOSTNAME``) if it has an IP."""
    if not my_name:
        return None
    return next((p for p in pods if p.name == my_name and p.ip), None)


def peer_urls(
    pods: Iterable[PodInfo],
    *,
    port: int,
    my_url: str | None,
    scheme: str = "http",
    my_name: str | None = None,
) -> tuple[str, ...]:
    """Return the sorted, de-duplicated peer URLs: every peer pod, plus this pod.

    Self is always included, also while its own pod is not (yet) Ready, so the local
    pool always finds itself in the ring. When the pod named ``my_name`` is listed, self
    is the URL of its ``status.podIP`` (what the other pods use), and ``my_url`` is not
    added: a guessed address that differs (dual stack, ``127.0.1.1``) never makes a
    second entry. Otherwise self is ``my_url``. ``scheme`` is ``"http"`` or ``"https"``.
    """
    pods = list(pods)
    urls = {peer_url(p.ip, port, scheme=scheme) for p in pods if p.is_peer}
    me = find_self(pods, my_name)
    if me is not None:
        urls.add(peer_url(me.ip, port, scheme=scheme))
    elif my_url:
        urls.add(my_url)
    return tuple(sorted(urls))

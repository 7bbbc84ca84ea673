"""The ``kube`` discovery plugin of ``groupcache serve --kube-selector``.

Registered under the ``groupcache.discovery`` entry point, so groupcache finds it without
importing kubegroup.
"""

from __future__ import annotations

from ._address import find_my_url
from ._discovery import KubeGroup, PeerSetter
from ._update import update_peers


def my_url(port: int) -> str:
    """Return this pod's peer URL (``POD_IP`` first)."""
    return find_my_url(port)


async def discover(pool: PeerSetter, *, selector: str, port: int) -> KubeGroup:
    """Start feeding ``pool`` with the ready pods matching ``selector``."""
    return await update_peers(pool, label_selector=selector, port=port)

"""Kubernetes pod-watch peer discovery for groupcache (a port of udhos/kubegroup).

``await update_peers(pool, label_selector="app=myapp", port=5000)`` watches the pods
matching the selector in this pod's namespace and keeps ``pool.set_peers(...)`` fed
with the URLs of the ready ones, self included. Metrics are in :mod:`kubegroup.metrics`;
a fake API server for tests is in :mod:`kubegroup.testing`.
"""

from ._address import find_my_address, find_my_url
from ._config import DEFAULT_SERVICE_ACCOUNT_DIR
from ._discovery import KubeGroup, PeerSetter
from ._errors import KubeAPIError, KubeConfigError, KubeConnectionError, KubeGroupError
from ._stats import KubeGroupStats
from ._update import update_peers

__all__ = [
    "DEFAULT_SERVICE_ACCOUNT_DIR",
    "KubeAPIError",
    "KubeConfigError",
    "KubeConnectionError",
    "KubeGroup",
    "KubeGroupError",
    "KubeGroupStats",
    "PeerSetter",
    "find_my_address",
    "find_my_url",
    "update_peers",
]

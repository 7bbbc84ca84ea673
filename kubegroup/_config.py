"""Configuration checks for ``update_peers``: selector, namespace and API credentials.

Everything here fails with a :class:`KubeConfigError` that says what to fix, instead of
a stack trace from deep inside the client.
"""

from __future__ import annotations

import copy
import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config.incluster_config import InClusterConfigLoader
from urllib3.connection import HTTPConnection

from ._errors import KubeConfigError
from ._selector import LabelSelector, SelectorError

__all__ = [
    "DEFAULT_SERVICE_ACCOUNT_DIR",
    "check_selector",
    "keepalive_options",
    "load_api_client",
    "my_pod_name",
    "resolve_namespace",
    "watch_client",
]

DEFAULT_SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
"""Where Kubernetes mounts a pod's service-account token, CA and namespace."""

POD_NAMESPACE_ENV = "POD_NAMESPACE"
POD_NAME_ENV = "POD_NAME"
KEEPALIVE_IDLE = 30  # seconds of silence before the first probe (client-go dials with 30 s)
KEEPALIVE_INTERVAL = 10  # between unanswered probes
KEEPALIVE_COUNT = 3  # unanswered probes before the kernel drops the connection

SocketOption = tuple[int, int, int]
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def check_selector(text: str | None) -> str:
    """Return ``text`` stripped if it is a usable, non-empty label selector.

    Raises:
        KubeConfigError: empty, or not valid Kubernetes selector syntax.
    """
    if text is None or not text.strip():
        raise KubeConfigError(
            "label_selector is required (e.g. 'app=myapp'): without it every pod in the "
            "namespace would become a peer"
        )
    try:
        LabelSelector.parse(text)
    except SelectorError as exc:
        raise KubeConfigError(f"invalid label_selector {text!r}: {exc}") from exc
    return text.strip()


def resolve_namespace(
    explicit: str | None,
    *,
    service_account_dir: str | os.PathLike[str],
    environ: Mapping[str, str],
) -> str:
    """Return the namespace: ``explicit``, else ``$POD_NAMESPACE``, else the SA file.

    Raises:
        KubeConfigError: none of the three is available, or the name is not a DNS label.
    """
    source = "namespace="
    value = (explicit or "").strip()
    if not value:
        source, value = f"${POD_NAMESPACE_ENV}", environ.get(POD_NAMESPACE_ENV, "").strip()
    if not value:
        path = Path(service_account_dir) / "namespace"
        source = str(path)
        try:
            value = path.read_text().strip()
        except OSError as exc:
            raise KubeConfigError(
                f"no namespace: pass namespace=..., set {POD_NAMESPACE_ENV}, or run in a pod "
                f"with a service account ({path}: {exc.strerror or exc})"
            ) from exc
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise KubeConfigError(f"invalid namespace {value!r} (from {source})")
    return value


def my_pod_name(environ: Mapping[str, str]) -> str | None:
    """Return this pod's name: ``$POD_NAME`` (downward API), else ``$HOSTNAME``, else None.

    In a pod, the container runtime sets ``HOSTNAME`` to the pod's hostname, its name
    unless ``spec.hostname`` is set; with ``hostNetwork`` it is the node's name, which no
    pod has, so discovery then falls back to ``my_url``.
    """
    for var in (POD_NAME_ENV, "HOSTNAME"):
        value = environ.get(var, "").strip()
        if value:
            return value
    return None


def load_api_client(
    *, service_account_dir: str | os.PathLike[str], environ: Mapping[str, str]
) -> k8s.ApiClient:
    """Return an ``ApiClient`` from in-cluster config, or else from a kubeconfig.

    The in-cluster path reads ``KUBERNETES_SERVICE_HOST``/``_PORT`` and the token and CA
    in ``service_account_dir``; the kubeconfig path reads ``$KUBECONFIG`` or
    ``~/.kube/config``. urllib3's own retries are turned off: the watch loop retries
    with backoff, honours ``Retry-After``, and stays interruptible by ``close()``. TCP
    keepalive is on (:func:`keepalive_options`).

    Raises:
        KubeConfigError: neither configuration is usable (both reasons are given).
    """
    sa_dir = Path(service_account_dir)
    config = k8s.Configuration()
    try:
        loader = InClusterConfigLoader(  # type: ignore[no-untyped-call]
            token_filename=str(sa_dir / "token"),
            cert_filename=str(sa_dir / "ca.crt"),
            environ=environ,
        )
        loader.load_and_set(config)  # type: ignore[no-untyped-call]
    except (k8s_config.ConfigException, OSError) as in_cluster:
        kubeconfig = environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        config = k8s.Configuration()
        try:
            k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, client_configuration=config
            )
        except Exception as exc:  # the loader raises ConfigException, OSError, YAML errors...
            raise KubeConfigError(
                f"no Kubernetes API credentials: in-cluster config failed ({in_cluster}) and "
                f"kubeconfig {kubeconfig!r} failed ({exc}); pass api_client=... to choose"
            ) from exc
    _harden(config)
    return k8s.ApiClient(config)


def keepalive_options(given: list[SocketOption] | None = None) -> list[SocketOption]:
    """Return urllib3 socket options with TCP keepalive on (``given`` kept, else urllib3's).

    A peer that vanishes (node lost, connection reset by a middlebox and never told) is
    then dropped by the kernel after about 30 + 3 x 10 s of unanswered probes. Options the
    platform lacks (macOS has no ``TCP_KEEPIDLE``) are left out.
    """
    options = list(HTTPConnection.default_socket_options if given is None else given)
    wanted = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    for name, value in (
        ("TCP_KEEPIDLE", KEEPALIVE_IDLE),
        ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL),
        ("TCP_KEEPCNT", KEEPALIVE_COUNT),
    ):
        if hasattr(socket, name):
            wanted.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    present = {(level, opt) for level, opt, _ in options}
    return options + [o for o in wanted if (o[0], o[1]) not in present]


def _harden(config: k8s.Configuration) -> None:
    config.retries = False
    config.socket_options = keepalive_options(getattr(config, "socket_options", None))


def watch_client(api_client: k8s.ApiClient) -> k8s.ApiClient:
    """Return a private ``ApiClient`` like ``api_client``: urllib3 retries off, keepalive on.

    urllib3 would otherwise sleep through a ``Retry-After`` itself, uninterruptibly; the
    watch loop does that with backoff instead. TCP keepalive is added to the client's
    socket options. The caller's client is left untouched.
    """
    config = copy.deepcopy(api_client.configuration)
    _harden(config)
    client = k8s.ApiClient(config, cookie=api_client.cookie)
    client.default_headers.update(api_client.default_headers)
    return client

"""``update_peers``: check the options, resolve namespace, address and credentials, and
start a :class:`~kubegroup.KubeGroup` (port of kubegroup ``UpdatePeers``)."""

from __future__ import annotations

import dataclasses
import os

from kubernetes import client as k8s

from . import _config
from ._address import check_scheme, find_my_url, parse_port
from ._discovery import KubeGroup, PeerSetter
from ._errors import KubeConfigError
from ._watch import WatchSettings
from .metrics import Registry

__all__ = ["update_peers"]


async def update_peers(
    pool: PeerSetter,
    *,
    label_selector: str,
    port: int | str,
    namespace: str | None = None,
    api_client: k8s.ApiClient | None = None,
    debounce: float = 2.0,
    registry: Registry | None = None,
    metrics_namespace: str = "",
    my_url: str | None = None,
    service_account_dir: str | os.PathLike[str] = _config.DEFAULT_SERVICE_ACCOUNT_DIR,
    watch_timeout: int = 300,
    request_timeout: float = 30.0,
    read_timeout: float | None = None,
    backoff_initial: float = 0.8,
    backoff_max: float = 30.0,
    scheme: str = "http",
    pod_name: str | None = None,
    close_timeout: float = 5.0,
    list_page_size: int = 500,
) -> KubeGroup:
    """Watch the pods matching ``label_selector`` and keep ``pool``'s peers in step.

    Returns at once, before the first list (see :meth:`KubeGroup.wait_synced`).

    Args:
        pool: Receives ``set_peers(*urls)`` on the running loop's thread.
        label_selector: Required Kubernetes label selector, e.g. ``"app=myapp"``.
        port: The groupcache port of every pod: ``5000``, ``"5000"`` or ``":5000"``.
        namespace: Defaults to ``$POD_NAMESPACE``, then the service-account namespace.
        api_client: Defaults to in-cluster config, then kubeconfig. A given client is
            copied (configuration and default headers, urllib3 retries off), not used.
        debounce: Seconds between updates under churn; the first change applies at once.
        registry: If given, register a :class:`~kubegroup.metrics.KubeGroupCollector`.
        metrics_namespace: Prefix of the metric names.
        my_url: This pod's URL; defaults to :func:`find_my_url` of ``port``.
        service_account_dir: Where the token, CA and namespace files are mounted.
        watch_timeout: Server-side watch duration (seconds; each watch picks T..2T).
        request_timeout: Connect timeout, and read timeout of list requests.
        read_timeout: Watch inactivity bound: a watch that receives nothing (not even a
            bookmark, sent about every 60 s) for this long is presumed dead and replaced.
            Default 90 s.
        backoff_initial: First retry delay after an error (doubling, jittered).
        backoff_max: Longest retry delay; 401/403 are retried near this. A server's
            ``Retry-After`` is honoured up to this long.
        scheme: ``"http"``, or ``"https"`` when the pool serves TLS (peer URLs and, by
            default, ``my_url`` use it).
        pod_name: This pod's name, to find it in the list: its ``status.podIP`` URL is
            then self in the ring, instead of ``my_url``. Default ``$POD_NAME``, then
            ``$HOSTNAME``.
        close_timeout: The longest :meth:`KubeGroup.aclose` / ``close`` waits for the
            watch thread (seconds; below a pod's 30 s termination grace period).
        list_page_size: ``limit`` of paged lists (0: never paged).

    Raises:
        KubeConfigError: bad selector, port, scheme, namespace, address or credentials.
    """
    selector = _config.check_selector(label_selector)
    port_n = parse_port(port)
    check_scheme(scheme)
    if debounce < 0 or watch_timeout < 1 or request_timeout <= 0 or backoff_initial <= 0:
        raise KubeConfigError("debounce >= 0, watch_timeout >= 1, timeouts and backoff > 0")
    if backoff_max < backoff_initial or (read_timeout is not None and read_timeout <= 0):
        raise KubeConfigError("need backoff_max >= backoff_initial and read_timeout > 0")
    if close_timeout <= 0 or list_page_size < 0:
        raise KubeConfigError("need close_timeout > 0 and list_page_size >= 0")
    ns = _config.resolve_namespace(
        namespace, service_account_dir=service_account_dir, environ=os.environ
    )
    me = my_url or find_my_url(port_n, scheme=scheme)
    if api_client is None:
        client = _config.load_api_client(
            service_account_dir=service_account_dir, environ=os.environ
        )
    else:
        client = _config.watch_client(api_client)
    settings = WatchSettings(
        ns, selector, watch_timeout, request_timeout, read_timeout, backoff_initial, backoff_max
    )
    settings = dataclasses.replace(settings, list_page_size=list_page_size)
    name = pod_name if pod_name is not None else _config.my_pod_name(os.environ)
    kg = KubeGroup(
        pool,
        client,
        settings,
        port=port_n,
        my_url=me,
        debounce=debounce,
        scheme=scheme,
        pod_name=name,
        close_timeout=close_timeout,
    )
    try:
        kg._start(registry, metrics_namespace)
    except Exception:
        kg.close()
        raise
    return kg

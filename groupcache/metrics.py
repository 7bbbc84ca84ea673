"""Prometheus metrics for groupcache, collected at scrape time.

Nothing runs on the hot path: :class:`GroupcacheCollector` reads every group's counters
when Prometheus scrapes. Names and labels are those of mailgun/groupcache's promexporter,
so existing dashboards keep working (``<namespace>_`` is prefixed when given), plus
``peer_auth_errors_total``, the warm handoff's ``handoff_*_total``, stale-while-revalidate's
``stale_*_total`` and negative caching's ``negative_hits_total``, which mailgun does not
have:

=================================================  =======  ===============
metric                                             type     labels
=================================================  =======  ===============
``groupcache_gets_total``                          counter  group
``groupcache_hits_total``                          counter  group
``groupcache_get_from_peers_latency_lower``        gauge    group (max s)
``groupcache_peer_loads_total``                    counter  group
``groupcache_peer_errors_total``                   counter  group
``groupcache_loads_total``                         counter  group
``groupcache_loads_deduped_total``                 counter  group
``groupcache_local_loads_total``                   counter  group
``groupcache_local_load_errs_total``               counter  group
``groupcache_server_requests_total``               counter  group
``groupcache_peer_auth_errors_total``              counter  group
``groupcache_handoff_loads_total``                 counter  group
``groupcache_handoff_misses_total``                counter  group
``groupcache_stale_hits_total``                    counter  group
``groupcache_stale_refreshes_total``               counter  group
``groupcache_stale_refresh_errors_total``          counter  group
``groupcache_negative_hits_total``                 counter  group
``groupcache_peer_up``                             gauge    peer
``groupcache_peer_consecutive_failures``           gauge    peer
``groupcache_peer_marked_down_total``              counter  peer
``groupcache_cache_bytes``                         gauge    group, type
``groupcache_cache_items``                         gauge    group, type
``groupcache_cache_gets_total``                    counter  group, type
``groupcache_cache_hits_total``                    counter  group, type
``groupcache_cache_evictions_total``               counter  group, type
``groupcache_cache_evictions_nonexpired_total``    counter  group, type
=================================================  =======  ===============

``type`` is ``main`` or ``hot``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ._core.group import Group
from ._core.workspace import Workspace, default_workspace

__all__ = ["GroupcacheCollector", "metrics_handler", "mount", "register"]

_GROUP_COUNTERS = (
    (
        "gets_total",
        "gets",
        "Count of cache gets (including from peers, from either main or hot cache)",
    ),
    ("hits_total", "cache_hits", "Count of cache hits (from either main or hot cache)"),
    ("peer_loads_total", "peer_loads", "Count of loads or cache hits from peers"),
    ("peer_errors_total", "peer_errors", "Count of errors from peers"),
    ("loads_total", "loads", "Count of (gets - hits)"),
    ("loads_deduped_total", "loads_deduped", "Count of loads after singleflight"),
    ("local_loads_total", "local_loads", "Count of loads from local cache"),
    ("local_load_errs_total", "local_load_errs", "Count of load errors from local cache"),
    ("server_requests_total", "server_requests", "Count of gets received from peers"),
    (
        "peer_auth_errors_total",
        "peer_auth_errors",
        "Count of peer fetches refused for the token (401/403), also in peer errors",
    ),
    (
        "handoff_loads_total",
        "handoff_loads",
        "Count of values taken from their previous owner's cache after a membership change",
    ),
    (
        "handoff_misses_total",
        "handoff_misses",
        "Count of requests to a previous owner that brought no value back",
    ),
    ("stale_hits_total", "stale_hits", "Count of gets served a stale value within its grace"),
    (
        "stale_refreshes_total",
        "stale_refreshes",
        "Count of background refreshes of stale values that loaded a new one",
    ),
    (
        "stale_refresh_errors_total",
        "stale_refresh_errors",
        "Count of background refreshes of stale values that failed",
    ),
    (
        "negative_hits_total",
        "negative_hits",
        "Count of gets answered with a remembered not-found (negative_ttl)",
    ),
)
_CACHE_METRICS = (
    ("cache_bytes", "bytes", "Gauge of current bytes in use", False),
    ("cache_items", "items", "Gauge of current items in use", False),
    ("cache_gets_total", "gets", "Count of cache gets", True),
    ("cache_hits_total", "hits", "Count of cache hits", True),
    ("cache_evictions_total", "evictions", "Count of cache evictions", True),
    (
        "cache_evictions_nonexpired_total",
        "evictions_nonexpired",
        "Count of cache evictions for non-expired keys due to memory full",
        True,
    ),
)


class GroupcacheCollector(Collector):
    """A custom collector over the groups of a workspace (mailgun's ``promexporter``).

    Args:
        workspace: Whose groups to export (default: the default workspace).
        namespace: Prefix of every name: ``<namespace>_groupcache_...``.
        labels: Constant labels added to every sample.
        groups: Returns the groups to export, called on every scrape (default: all of
            the workspace's groups).
    """

    def __init__(
        self,
        workspace: Workspace | None = None,
        *,
        namespace: str = "",
        labels: Mapping[str, str] | None = None,
        groups: Callable[[], Iterable[Group]] | None = None,
    ) -> None:
        ws = workspace if workspace is not None else default_workspace()
        self._ws = ws
        self._groups = groups if groups is not None else ws.groups
        self._prefix = f"{namespace}_groupcache_" if namespace else "groupcache_"
        self._const = dict(labels or {})

    def describe(self) -> Iterable[Metric]:
        """Describe the metric families without reading any group."""
        return [*self._families([]), *self._peers([])]

    def collect(self) -> Iterable[Metric]:
        """Read every group's counters, and the peers' health, into metric families."""
        report = getattr(self._ws.peer_picker, "peer_health", None)  # HTTPPool's
        health: list[Any] = list(report()) if callable(report) else []
        return [*self._families(list(self._groups())), *self._peers(health)]

    def _peers(self, health: list[Any]) -> list[Metric]:
        names = list(self._const)
        consts = list(self._const.values())
        labels = [*names, "peer"]
        up = GaugeMetricFamily(
            self._prefix + "peer_up",
            "1 while requests go to the peer, 0 while it is down",
            labels=labels,
        )
        failures = GaugeMetricFamily(
            self._prefix + "peer_consecutive_failures",
            "Requests in a row that failed to reach the peer",
            labels=labels,
        )
        downs = CounterMetricFamily(
            self._prefix + "peer_marked_down",
            "Count of times the peer was marked down",
            labels=labels,
        )
        for info in health:
            up.add_metric([*consts, info.url], 1.0 if info.up else 0.0)
            failures.add_metric([*consts, info.url], float(info.failures))
            downs.add_metric([*consts, info.url], float(info.times_down))
        return [up, failures, downs]

    def _families(self, groups: list[Group]) -> list[Metric]:
        names = list(self._const)
        consts = list(self._const.values())
        families: list[Metric] = []
        snaps = [(g.name, g.stats()) for g in groups]
        for suffix, attr, doc in _GROUP_COUNTERS:
            counter = CounterMetricFamily(self._prefix + suffix, doc, labels=[*names, "group"])
            for name, snap in snaps:
                counter.add_metric([*consts, name], float(getattr(snap, attr)))
            families.append(counter)
        latency = GaugeMetricFamily(
            self._prefix + "get_from_peers_latency_lower",
            "Represent slowest duration to request value from peers",
            labels=[*names, "group"],
        )
        for name, snap in snaps:
            # Seconds, as mailgun's exporter reports it (it divides its ms counter by 1000).
            latency.add_metric([*consts, name], snap.peer_latency_max_ms / 1000.0)
        families.append(latency)
        cache_snaps = [
            (g.name, kind, g.cache_stats(kind)) for g in groups for kind in ("main", "hot")
        ]
        for suffix, attr, doc, is_counter in _CACHE_METRICS:
            cls = CounterMetricFamily if is_counter else GaugeMetricFamily
            family = cls(self._prefix + suffix, doc, labels=[*names, "group", "type"])
            for name, kind, cache in cache_snaps:
                family.add_metric([*consts, name, kind], float(getattr(cache, attr)))
            families.append(family)
        return families


def register(
    registry: CollectorRegistry,
    workspace: Workspace | None = None,
    *,
    namespace: str = "",
    labels: Mapping[str, str] | None = None,
) -> GroupcacheCollector:
    """Create a :class:`GroupcacheCollector` and register it with ``registry``."""
    collector = GroupcacheCollector(workspace, namespace=namespace, labels=labels)
    registry.register(collector)
    return collector


def metrics_handler(
    registry: CollectorRegistry,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Return an aiohttp handler serving ``registry`` in the Prometheus text format."""

    async def handle(request: web.Request) -> web.Response:
        content_type, body = render(registry)
        return web.Response(body=body, headers={"Content-Type": content_type})

    return handle


def registry_for(workspace: Workspace | None = None) -> CollectorRegistry:
    """Return a new registry exporting ``workspace``'s groups (default: the default workspace)."""
    registry = CollectorRegistry()
    register(registry, workspace)
    return registry


def render(registry: CollectorRegistry) -> tuple[str, bytes]:
    """Return ``registry`` in the Prometheus text format: its content type and body (for
    any server, e.g. ``pool.add_endpoint("/metrics", lambda: render(registry))``)."""
    return CONTENT_TYPE_LATEST, generate_latest(registry)


def mount(
    app: web.Application,
    registry: CollectorRegistry | None = None,
    path: str = "/metrics",
    *,
    workspace: Workspace | None = None,
) -> CollectorRegistry:
    """Serve ``registry`` at ``path`` of ``app`` (for example ``pool.app``, before start).

    Without a registry, a new one exporting ``workspace``'s groups is made. Mounted on
    ``pool.app``, the endpoint asks for the pool's token like the peer protocol does.
    Returns the registry served.
    """
    if registry is None:
        registry = registry_for(workspace)
    app.router.add_get(path, metrics_handler(registry))
    return registry

"""Prometheus metrics for kubegroup (port of kubegroup ``metrics.go``).

The only module that imports ``prometheus_client``. A scrape-time collector reads a
:class:`~kubegroup.KubeGroup`'s stats, so discovery itself never touches Prometheus.

Series (``<namespace>_`` prefixed when a metrics namespace is given):

- ``kubegroup_peers`` (gauge): pods matching the selector, ready or not, as in Go.
- ``kubegroup_ring_peers`` (gauge): URLs in the ring, self included.
- ``kubegroup_events_total`` (counter): debounced updates; Go's ``kubegroup_events``
  (prometheus_client always adds ``_total`` to counters).
- ``kubegroup_errors_total`` (counter): failed API requests and ``set_peers`` calls.
- ``kubegroup_healthy`` (gauge): 1 when the last API request succeeded, else 0.
- ``kubegroup_unhealthy_seconds`` (gauge): how long API requests have been failing in a
  row (0 while healthy): alert on it rather than on one failed request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from ._stats import KubeGroupStats

__all__ = ["KubeGroupCollector", "Registry"]

Registry = CollectorRegistry
"""The registry type ``update_peers(registry=...)`` accepts."""


class KubeGroupCollector(Collector):
    """Expose one KubeGroup's stats; register it in a registry of your choice.

    Args:
        stats: Returns the current stats (e.g. ``kg.stats``).
        namespace: Optional Prometheus namespace prefix (Go's ``MetricsNamespace``).
    """

    def __init__(self, stats: Callable[[], KubeGroupStats], *, namespace: str = "") -> None:
        self._stats = stats
        self._prefix = f"{namespace}_" if namespace else ""

    def describe(self) -> Iterator[Metric]:
        """Yield the families without samples, so a registry rejects duplicate names."""
        yield from self._families(None)

    def collect(self) -> Iterator[Metric]:
        """Yield the metric families from a fresh stats snapshot."""
        yield from self._families(self._stats())

    def _families(self, stats: KubeGroupStats | None) -> Iterator[Metric]:
        s, p = stats or KubeGroupStats(), self._prefix

        def value(v: float) -> float | None:
            return None if stats is None else v  # no samples when only describing

        yield GaugeMetricFamily(
            p + "kubegroup_peers", "Number of peer PODs discovered.", value=value(s.pods)
        )
        yield GaugeMetricFamily(
            p + "kubegroup_ring_peers", "Number of peer URLs in the ring.", value=value(s.peers)
        )
        yield CounterMetricFamily(
            p + "kubegroup_events", "Number of events received.", value=value(s.updates)
        )
        yield CounterMetricFamily(
            p + "kubegroup_errors", "Number of Kubernetes API errors.", value=value(s.errors)
        )
        yield GaugeMetricFamily(
            p + "kubegroup_healthy",
            "Whether the last Kubernetes API request succeeded.",
            value=value(int(s.healthy)),
        )
        yield GaugeMetricFamily(
            p + "kubegroup_unhealthy_seconds",
            "Seconds the Kubernetes API requests have been failing in a row.",
            value=value(s.unhealthy_seconds),
        )

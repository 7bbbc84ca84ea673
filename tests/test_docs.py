"""The documentation site's own checks beyond ``mkdocs build --strict`` (run by
scripts/test): the Grafana dashboard names only metrics the collectors export."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

import groupcache
from groupcache.metrics import register
from kubegroup import KubeGroupStats
from kubegroup.metrics import KubeGroupCollector

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "docs" / "grafana" / "groupcache.json"
METRIC = re.compile(r"\b(?:groupcache|kubegroup)_[a-z_]+\b")


def exported_names() -> set[str]:
    """Every sample name the groupcache and kubegroup collectors expose, peers included."""
    registry = CollectorRegistry()
    with groupcache.Workspace() as ws:
        groupcache.Group("users", lambda key: key.encode(), 1 << 20, workspace=ws)
        pool = groupcache.HTTPPool("http://127.0.0.1:5000", workspace=ws)
        pool.set_peers("http://127.0.0.1:5000", "http://127.0.0.2:5000")
        register(registry, ws)
        registry.register(KubeGroupCollector(KubeGroupStats))
        text = generate_latest(registry).decode()
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"}


def queries(dashboard: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    exprs += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return exprs


def test_every_query_of_the_grafana_dashboard_names_an_exported_metric() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exported = exported_names()
    named = {name for expr in queries(dashboard) for name in METRIC.findall(expr)}
    assert len(named) >= 15  # the dashboard covers the collectors, not a corner
    assert named <= exported, sorted(named - exported)


def test_every_panel_of_the_dashboard_has_a_query_and_a_unique_id() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    assert all(panel["targets"] for panel in panels)
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))

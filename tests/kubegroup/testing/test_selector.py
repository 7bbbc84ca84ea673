"""The fake's own selector matcher, and kubegroup's parser, against the real API server.

Every row was observed on kube-apiserver v1.37.2: the selector sent as ``labelSelector`` or
``fieldSelector`` on a pod list in a namespace holding the pods of ``PODS``, and the answer:
the names listed (200), or None for a 400 Bad Request. The fake's oracle
(kubegroup.testing._selector) must give the same answers; kubegroup's own check
(kubegroup._selector, used by update_peers) must accept and refuse exactly the same strings.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubegroup import _selector as kubegroup_selector
from kubegroup.testing._pods import make_pod
from kubegroup.testing._selector import FieldQuery, LabelQuery, QueryError

PODS: dict[str, dict[str, str]] = {
    "p-web": {"app": "web", "tier": "1"},
    "p-api": {"app": "api", "n": "10"},
    "p-under": {"app": "web", "n": "1_0"},
    "p-zero": {"n": "007", "empty": ""},
    "p-in": {"in": "x", "notin": "y"},
    "p-big": {"n": "99999999999999999999"},
    "p-neg": {"m": "5"},
}
NODES = {"p-web": "node-a", "p-under": "node-a", "p-in": "node-a", "p-big": "node-a"}


def pods() -> list[dict[str, Any]]:
    out = []
    for name, labels in PODS.items():
        pod = make_pod(name, "sel", labels, node_name=NODES.get(name, "node-b"))
        out.append(pod)
    return out


LABELS: list[tuple[str, list[str] | None]] = [
    ("app=web", ["p-under", "p-web"]),
    ("app==web", ["p-under", "p-web"]),
    ("app!=web", ["p-api", "p-big", "p-in", "p-neg", "p-zero"]),
    ("app", ["p-api", "p-under", "p-web"]),
    ("!app", ["p-big", "p-in", "p-neg", "p-zero"]),
    ("app in (web,api)", ["p-api", "p-under", "p-web"]),
    ("app in (web, api), tier notin (2)", ["p-api", "p-under", "p-web"]),
    ("app notin (web)", ["p-api", "p-big", "p-in", "p-neg", "p-zero"]),
    ("app in ()", []),
    ("app in (,)", []),
    ("app in (web,)", ["p-under", "p-web"]),
    ("app in (,web)", ["p-under", "p-web"]),
    ("app in (web,,api)", ["p-api", "p-under", "p-web"]),
    ("empty=", ["p-zero"]),
    ("empty in (,)", ["p-zero"]),
    ("app=", []),
    ("n>5", ["p-api", "p-zero"]),
    ("n<10", ["p-zero"]),
    ("n>-1", None),
    ("n>+1", None),
    ("n>1_0", None),
    ("n<100000", ["p-api", "p-zero"]),
    ("m>4,m<6", ["p-neg"]),
    ("in", ["p-in"]),
    ("notin", ["p-in"]),
    ("in=x", ["p-in"]),
    ("in in (x)", ["p-in"]),
    ("app in (in, notin)", []),
    ("app=in", []),
    ("app !", None),
    ("!app=web", None),
    ("app in (", None),
    ("app in (web", None),
    ("app in web", None),
    ("app=web,", None),
    (",app=web", None),
    ("app=web,,tier=1", None),
    ("app=web tier=1", None),
    ("app===web", None),
    ("app=!web", None),
    ("app>web", None),
    ("example.com/app=web", []),
    ("Example.com/app=web", None),
    ("/app=web", None),
    ("a/b/c=d", None),
    ("-app=web", None),
    ("app=-web", None),
    ("app=we b", None),
    ("app = web", ["p-under", "p-web"]),
    ("  app=web  ", ["p-under", "p-web"]),
    ("app=web)", None),
    ("(app=web)", None),
    ("app in (web) ,tier", ["p-web"]),
    ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=x", None),
    ("app=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", None),
    ("n>99999999999999999999", None),
    ("!n,!m", ["p-in", "p-web"]),
    ("x.y_z-w=1", []),
    ("app<5", []),
    ("", ["p-api", "p-big", "p-in", "p-neg", "p-under", "p-web", "p-zero"]),
]
FIELDS: list[tuple[str, list[str] | None]] = [
    ("metadata.name=p-web", ["p-web"]),
    ("metadata.name==p-web", ["p-web"]),
    ("metadata.name!=p-web", ["p-api", "p-big", "p-in", "p-neg", "p-under", "p-zero"]),
    ("spec.nodeName=node-a,metadata.name!=p-in", ["p-big", "p-under", "p-web"]),
    ("spec.nodeName = node-a", None),
    ("spec.nodeName=node-a ", []),
    (" spec.nodeName=node-a", None),
    ("status.phase=Pending", ["p-api", "p-big", "p-in", "p-neg", "p-under", "p-web", "p-zero"]),
    ("status.podIP=", ["p-api", "p-big", "p-in", "p-neg", "p-under", "p-web", "p-zero"]),
    ("spec.bogus=1", None),
    ("metadata.name", None),
    ("metadata.name=p-web,", ["p-web"]),
    (",metadata.name=p-web", ["p-web"]),
    ("metadata.name=p\\,web", []),
    ("metadata.name=p\\qweb", None),
    ("metadata.namespace=sel", ["p-api", "p-big", "p-in", "p-neg", "p-under", "p-web", "p-zero"]),
    (
        "spec.restartPolicy=Always",
        ["p-api", "p-big", "p-in", "p-neg", "p-under", "p-web", "p-zero"],
    ),
    (
        "spec.serviceAccountName=default",
        ["p-api", "p-big", "p-in", "p-neg", "p-under", "p-web", "p-zero"],
    ),
    (
        "spec.schedulerName=default-scheduler",
        ["p-api", "p-big", "p-in", "p-neg", "p-under", "p-web", "p-zero"],
    ),
    ("spec.hostNetwork=false", ["p-api", "p-big", "p-in", "p-neg", "p-under", "p-web", "p-zero"]),
    (
        "status.nominatedNodeName=",
        ["p-api", "p-big", "p-in", "p-neg", "p-under", "p-web", "p-zero"],
    ),
    ("metadata.labels.app=web", None),
    ("metadata.name=a=b", None),
    ("metadata.name!==x", None),
]


def selected(query: LabelQuery | FieldQuery) -> list[str]:
    if isinstance(query, LabelQuery):
        return sorted(
            p["metadata"]["name"] for p in pods() if query.matches(p["metadata"]["labels"])
        )
    return sorted(p["metadata"]["name"] for p in pods() if query.matches(p))


@pytest.mark.parametrize(("selector", "expected"), LABELS)
def test_the_fakes_label_selector_answers_like_kube_apiserver(
    selector: str, expected: list[str] | None
) -> None:
    if expected is None:
        with pytest.raises(QueryError):
            LabelQuery.parse(selector)
    else:
        assert selected(LabelQuery.parse(selector)) == expected


@pytest.mark.parametrize(("selector", "expected"), FIELDS)
def test_the_fakes_field_selector_answers_like_kube_apiserver(
    selector: str, expected: list[str] | None
) -> None:
    if expected is None:
        with pytest.raises(QueryError):
            FieldQuery.parse(selector)
    else:
        assert selected(FieldQuery.parse(selector)) == expected


@pytest.mark.parametrize(("selector", "expected"), LABELS)
def test_kubegroups_selector_check_accepts_what_kube_apiserver_accepts(
    selector: str, expected: list[str] | None
) -> None:
    """The two parsers agree on the corpus, so update_peers refuses exactly what the server
    would refuse (with a 400) and nothing it would serve."""
    if expected is None:
        with pytest.raises(kubegroup_selector.SelectorError):
            kubegroup_selector.LabelSelector.parse(selector)
    else:
        kubegroup_selector.LabelSelector.parse(selector)


def test_the_400_message_names_the_requirement_like_the_apiserver() -> None:
    """Observed on kube-apiserver v1.37.2: "unable to parse requirement: found '', expected:
    ',', ')' or identifier" for ``app in (``, and no such prefix for a bad separator."""
    with pytest.raises(QueryError, match=r"^unable to parse requirement: found ''"):
        LabelQuery.parse("app in (")
    with pytest.raises(QueryError, match=r"^found ',', expected: identifier"):
        LabelQuery.parse("app=web,,tier=1")

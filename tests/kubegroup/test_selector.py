"""Label and field selectors: the apimachinery grammar, matching, and the errors."""

from __future__ import annotations

import pytest

from kubegroup._selector import FieldSelector, LabelSelector, SelectorError

LABELS = {"app": "web", "tier": "front", "n": "5", "example.com/team": "a"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app=db", False),
        ("app!=db", True),
        ("missing!=x", True),
        ("app=web,tier=back", False),
        ("app in (web, db)", True),
        ("app in (db)", False),
        ("app notin (db,cache)", True),
        ("missing notin (x)", True),
        ("app", True),
        ("missing", False),
        ("!missing", True),
        ("!app", False),
        ("n>4", True),
        ("n<4", False),
        ("missing>1", False),
        ("app>1", False),
        ("example.com/team=a", True),
        ("  app = web ,  tier in ( front )  ", True),
        ("missing=", False),
    ],
)
def test_label_selector_matches_like_the_apiserver(selector: str, expected: bool) -> None:
    assert LabelSelector.parse(selector).matches(LABELS) is expected


def test_an_empty_value_matches_an_empty_label() -> None:
    assert LabelSelector.parse("k=").matches({"k": ""})
    assert LabelSelector.parse("k in (a,)").matches({"k": ""})


def test_no_labels_only_match_negative_requirements() -> None:
    assert LabelSelector.parse("!a,b!=c,d notin (e)").matches(None)
    assert not LabelSelector.parse("a").matches(None)


@pytest.mark.parametrize("selector", ["app in ()", "in", "notin", "in=x", "in in (x)"])
def test_selectors_the_apiserver_accepts_are_accepted(selector: str) -> None:
    """Observed on kube-apiserver v1.37.2: each of these lists with 200 ("()" is the set
    holding the empty value; "in" and "notin" are keys where no operator is due)."""
    LabelSelector.parse(selector)


@pytest.mark.parametrize(
    "selector",
    [
        "=web",
        "app=web,",
        "app web",
        "app=web=x",
        "app in (web",
        "app in web",
        "n>x",
        "n>-1",
        "n>99999999999999999999",
        "-bad=1",
        "app=-bad",
        "Bad_Prefix/app=1",
        "app=" + "x" * 64,
        "!",
    ],
)
def test_malformed_label_selectors_are_rejected(selector: str) -> None:
    with pytest.raises(SelectorError):
        LabelSelector.parse(selector)


def test_field_selector_matches_pod_fields() -> None:
    pod = {"metadata": {"name": "a", "namespace": "ns"}, "status": {"phase": "Running"}}
    assert FieldSelector.parse("metadata.name=a,status.phase!=Pending").matches(pod)
    assert not FieldSelector.parse("metadata.name==b").matches(pod)
    assert FieldSelector.parse("status.podIP=").matches(pod)
    assert FieldSelector.parse("").matches(pod)


@pytest.mark.parametrize("selector", ["spec.unknown=x", "metadata.name", "=x"])
def test_unsupported_or_malformed_field_selectors_are_rejected(selector: str) -> None:
    with pytest.raises(SelectorError):
        FieldSelector.parse(selector)

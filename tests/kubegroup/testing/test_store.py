"""PodStore: revisions, bounded history, selector transitions and exact lists."""

from __future__ import annotations

import pytest

from kubegroup.testing._pods import make_pod, relabel
from kubegroup.testing._selector import FieldQuery, LabelQuery
from kubegroup.testing._store import Change, Expired, PodStore, WatchFilter


def flt(labels: str = "", namespace: str | None = "ns") -> WatchFilter:
    return WatchFilter(namespace, LabelQuery.parse(labels), FieldQuery.parse(""))


def create(store: PodStore, name: str, **labels: str) -> None:
    store.write("ns", name, lambda old: make_pod(name, "ns", labels, node_name="n"))


def test_every_write_bumps_the_revision_and_stamps_the_object() -> None:
    store = PodStore(first_revision=10)
    create(store, "a")
    gone = store.write("ns", "a", lambda old: None)
    assert store.revision == 12
    assert gone["metadata"]["resourceVersion"] == "12"
    assert [(c.rv, c.type) for c in store.history()] == [(11, "ADDED"), (12, "DELETED")]


def test_deleting_a_missing_pod_raises_key_error() -> None:
    with pytest.raises(KeyError):
        PodStore().write("ns", "zz", lambda old: None)


def test_history_beyond_the_limit_moves_the_compaction_point() -> None:
    store = PodStore(history_limit=2, first_revision=0)
    for name in "abc":
        create(store, name)
    with pytest.raises(Expired) as info:
        store.open_watch(flt(), since=0, bookmarks=False)
    # the number is the oldest version a watch may start from, as kube-apiserver v1.37.2
    # says it ("too old resource version: 268 (272)", and a watch from 272 works)
    assert str(info.value) == "too old resource version: 0 (1)"
    watcher, items = store.open_watch(flt(), since=1, bookmarks=False)
    assert [i[2]["metadata"]["name"] for i in items] == ["b", "c"]
    store.close_watch(watcher)
    assert store.watch_count == 0


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({"app": "x"}, {"app": "x", "v": "2"}, "MODIFIED"),
        ({"app": "y"}, {"app": "x"}, "ADDED"),
        ({"app": "x"}, {"app": "y"}, "DELETED"),
        ({"app": "y"}, {"app": "z"}, None),
    ],
)
def test_a_modification_is_translated_by_whether_old_and_new_match(
    old: dict[str, str], new: dict[str, str], expected: str | None
) -> None:
    before = make_pod("a", "ns", old, node_name="n")
    change = Change(2, "MODIFIED", before, relabel(before, new))
    event = flt("app=x").translate(change)
    assert (event[0] if event else None) == expected


def test_other_namespaces_are_filtered_out() -> None:
    pod = make_pod("a", "other", {}, node_name="n")
    assert flt().translate(Change(1, "ADDED", None, pod)) is None
    assert flt(namespace=None).translate(Change(1, "ADDED", None, pod)) == ("ADDED", pod)


def test_an_exact_list_undoes_newer_writes() -> None:
    store = PodStore(first_revision=0)
    create(store, "a", app="x")
    create(store, "b", app="x")
    store.write("ns", "a", lambda old: relabel(old or {}, {"app": "y"}))
    store.write("ns", "b", lambda old: None)
    rv, pods = store.list_pods(flt("app=x"), exact=2)
    assert (rv, [p["metadata"]["name"] for p in pods]) == (2, ["a", "b"])
    assert store.list_pods(flt("app=x"))[1] == []


def test_queued_bookmarks_carry_the_revision_in_order_with_events() -> None:
    store = PodStore(first_revision=0)
    watcher, _ = store.open_watch(flt(), since=None, bookmarks=True)
    plain, _ = store.open_watch(flt(), since=None, bookmarks=False)
    create(store, "a")
    assert store.bookmark() == 1
    assert watcher.queue.get_nowait()[:2] == ("event", "ADDED")
    assert watcher.queue.get_nowait() == ("bookmark", 1, False, False)
    assert plain.queue.get_nowait()[:2] == ("event", "ADDED")
    assert plain.queue.empty()

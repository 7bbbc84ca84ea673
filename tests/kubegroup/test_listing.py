"""list_all: pages chained by continue tokens at one revision, client-go's pager fallback to
one unpaged list when a token expired, and no paging for a list at a revision N."""

from __future__ import annotations

from typing import Any

import pytest

from kubegroup import KubeAPIError
from kubegroup._listing import list_all


def doc(rv: str, names: list[str], token: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": rv}
    if token:
        meta["continue"] = token
    return {"metadata": meta, "items": [{"metadata": {"name": n}} for n in names]}


class Server:
    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, int, str]] = []

    def __call__(self, rv: str, limit: int, token: str) -> Any:
        self.calls.append((rv, limit, token))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_pages_are_chained_and_later_pages_carry_no_revision() -> None:
    server = Server([doc("7", ["a", "b"], "t1"), doc("7", ["c"], "t2"), doc("7", ["d"])])
    rv, items = list_all(server, resource_version="0", page_size=2)
    assert (rv, [i["metadata"]["name"] for i in items]) == ("7", ["a", "b", "c", "d"])
    assert server.calls == [("0", 2, ""), ("", 2, "t1"), ("", 2, "t2")]


def test_an_expired_token_falls_back_to_one_unpaged_list() -> None:
    server = Server([doc("7", ["a"], "t1"), KubeAPIError(410, "Expired"), doc("9", ["a", "b"])])
    rv, items = list_all(server, resource_version="", page_size=1)
    assert (rv, len(items)) == ("9", 2)
    assert server.calls[-1] == ("", 0, "")


def test_a_list_at_a_revision_is_not_paged_and_other_errors_propagate() -> None:
    server = Server([doc("12", ["a"])])
    list_all(server, resource_version="11", page_size=500)
    assert server.calls == [("11", 0, "")]
    server = Server([doc("7", ["a"], "t1"), KubeAPIError(500, "InternalError")])
    with pytest.raises(KubeAPIError):
        list_all(server, resource_version="0", page_size=1)


def test_an_answer_that_is_not_a_pod_list_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="resourceVersion"):
        list_all(Server([{"items": []}]), resource_version="0", page_size=1)
    with pytest.raises(ValueError, match="items"):
        list_all(
            Server([{"metadata": {"resourceVersion": "1"}, "items": [1]}]),
            resource_version="0",
            page_size=1,
        )

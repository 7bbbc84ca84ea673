"""The fake's request log: Go-boolean watch detection and blocking waits."""

from __future__ import annotations

import threading

import pytest

from kubegroup.testing._log import RecordedRequest, RequestLog


def request(watch: str | None) -> RecordedRequest:
    query = {} if watch is None else {"watch": watch}
    return RecordedRequest("GET", "/api/v1/pods", query, {}, 200, 0.0)


@pytest.mark.parametrize(
    ("watch", "expected"), [("True", True), ("1", True), ("false", False), (None, False)]
)
def test_is_watch_reads_go_booleans(watch: str | None, expected: bool) -> None:
    assert request(watch).is_watch is expected


def test_wait_for_wakes_on_append_and_times_out_otherwise() -> None:
    log = RequestLog()
    t = threading.Thread(target=log.append, args=(request("true"),))
    t.start()
    assert len(log.wait_for(lambda items: len(items) == 1, timeout=5)) == 1
    t.join()
    with pytest.raises(TimeoutError):
        log.wait_for(lambda items: len(items) == 2, timeout=0.01)
    assert log.snapshot() == [request("true")]

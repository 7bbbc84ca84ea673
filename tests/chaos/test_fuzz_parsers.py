"""Fuzzed decoders: the protobuf/JSON wire decoders and the Kubernetes watch-event parser.

Every ``groupcache._protocol.bodies.decode_*`` must either succeed or raise ``WireError``. The pod
parser (``kubegroup._pods.pod_info``) and the watch-event parser
(``PodWatcher._apply``) must accept any JSON value without raising anything but their
documented errors: ``ValueError`` (a malformed response), ``KubeGroupError`` (an
``ERROR`` event) and the internal 410 signal.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from kubernetes import client as k8s

from groupcache._errors import WireError
from groupcache._protocol import bodies as _wire
from groupcache._protocol._groupcache_pb2 import GetBatchRequest, GetResponse, SetRequest
from kubegroup import KubeGroupError
from kubegroup._pods import PodInfo, pod_info
from kubegroup._watch import PodWatcher, WatchSettings, _Expired, _loads
from tests.support.figures import figure

DECODERS: dict[str, Callable[[bytes], object]] = {
    "decode_get_response": _wire.decode_get_response,
    "decode_set_request": _wire.decode_set_request,
    "decode_batch_request": _wire.decode_batch_request,
    "decode_batch_response": _wire.decode_batch_response,
    "decode_remove_keys": _wire.decode_remove_keys,
}

VALID = [
    GetResponse(value=b"v", expire=1).SerializeToString(),
    SetRequest(group="g", key="k", value=b"v", expire=5).SerializeToString(),
    GetBatchRequest(keys=[b"a", b"\xff"]).SerializeToString(),
    b'{"group": "g", "keys": ["a", "b"]}',
]


def mutate(data: bytes, flips: list[tuple[int, int]], cut: int) -> bytes:
    buf = bytearray(data)
    for pos, byte in flips:
        if buf:
            buf[pos % len(buf)] = byte
    return bytes(buf[: max(0, len(buf) - cut)])


wire_bodies = st.one_of(
    st.binary(max_size=512),
    st.builds(
        mutate,
        st.sampled_from(VALID),
        st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=4),
        st.integers(0, 8),
    ),
    st.builds(lambda b, n: b * n, st.binary(min_size=1, max_size=4), st.integers(1, 5000)),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
POD_KEYS = ["metadata", "status", "name", "podIP", "conditions", "type", "Ready", "True"]


def pod_like(draw_keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """JSON objects whose keys are mostly those a pod parser looks at."""
    return st.recursive(
        JSON,
        lambda inner: st.dictionaries(draw_keys, inner, max_size=4) | st.lists(inner, max_size=3),
        max_leaves=20,
    )


POD_JSON = pod_like(st.sampled_from([*POD_KEYS, "deletionTimestamp", "resourceVersion"]))
EVENTS = st.one_of(
    POD_JSON,
    st.fixed_dictionaries(
        {"type": st.sampled_from(["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR", "X"])},
        optional={"object": POD_JSON | st.dictionaries(st.sampled_from(["code", "kind"]), JSON)},
    ),
)
COUNTS = {"decoders": 0, "pods": 0, "events": 0}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", list(DECODERS))
@SETTINGS
@given(body=wire_bodies)
def test_wire_decoders_succeed_or_raise_wire_error(name: str, body: bytes) -> None:
    COUNTS["decoders"] += 1
    with contextlib.suppress(WireError):
        DECODERS[name](body)


@SETTINGS
@given(body=wire_bodies)
@example(body=b"[" * 100_000)
def test_decode_remove_keys_rejects_deep_nesting_with_wire_error(body: bytes) -> None:
    with contextlib.suppress(WireError):
        _wire.decode_remove_keys(body)


def test_decoder_fuzz_reports_how_many_bodies_it_tried() -> None:
    """Records a figure only: the decoder tests above assert; this says how much they tried."""
    figure(
        f"wire decoder fuzz: {COUNTS['decoders']} bodies through 5 decoders (when run with "
        f"the tests above), no exception but WireError, b'[' * 100000 included"
    )


@SETTINGS
@given(obj=POD_JSON.filter(lambda o: isinstance(o, dict)))
@example(obj={"status": {"conditions": 1}})
@example(obj={"metadata": {"name": 5}, "status": {"conditions": "True"}})
def test_pod_info_accepts_any_json_object(obj: dict[str, Any]) -> None:
    COUNTS["pods"] += 1
    assert isinstance(pod_info(obj), PodInfo)


@SETTINGS
@given(
    obj=st.fixed_dictionaries(
        {},
        optional={
            "metadata": st.fixed_dictionaries(
                {}, optional={"name": JSON, "deletionTimestamp": JSON}
            ),
            "status": st.fixed_dictionaries(
                {}, optional={"podIP": JSON, "conditions": st.lists(JSON, max_size=3)}
            ),
        },
    )
)
def test_pod_info_accepts_pod_shaped_objects_with_any_values(obj: dict[str, Any]) -> None:
    COUNTS["pods"] += 1
    info = pod_info(obj)
    assert isinstance(info.name, str)
    assert isinstance(info.ip, str)


def watcher() -> PodWatcher:
    return PodWatcher(
        k8s.ApiClient(),
        WatchSettings("ns", "app=web"),
        on_change=lambda: None,
        on_exit=lambda: None,
    )


@SETTINGS
@given(event=EVENTS)
@example(event={"type": "ADDED", "object": {"metadata": [1]}})
@example(event={"type": "ADDED", "object": {"status": {"conditions": 1}}})
@example(event={"type": "ERROR", "object": {"code": [1]}})
@example(event={"type": "ERROR", "object": {"code": float("inf")}})
def test_watch_event_parser_raises_only_documented_errors(event: Any) -> None:
    COUNTS["events"] += 1
    w = watcher()
    try:
        w._apply(event)
    except (ValueError, KubeGroupError, _Expired):
        pass
    finally:
        w._core.api_client.close()


@SETTINGS
@given(
    kind=st.sampled_from(["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]),
    obj=st.fixed_dictionaries(
        {},
        optional={
            "metadata": st.fixed_dictionaries(
                {}, optional={"name": st.text(max_size=5), "resourceVersion": JSON}
            ),
            "code": st.integers(100, 599),
            "kind": st.just("Status"),
            "status": st.fixed_dictionaries({}, optional={"podIP": st.text(max_size=5)}),
        },
    ),
)
def test_watch_events_of_the_documented_shape_parse_or_raise_documented_errors(
    kind: str, obj: dict[str, Any]
) -> None:
    COUNTS["events"] += 1
    w = watcher()
    try:
        w._apply({"type": kind, "object": obj})
    except (ValueError, KubeGroupError, _Expired):
        pass
    finally:
        w._core.api_client.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("kubegroup")]


def test_parser_fuzz_reports_how_many_objects_and_events_it_tried() -> None:
    """Records a figure only: the parser tests above assert; this says how much they tried."""
    figure(
        f"kube parser fuzz: {COUNTS['pods']} pod objects and {COUNTS['events']} watch events "
        f"(when run with the tests above), arbitrary JSON included: no exception but "
        f"ValueError, KubeGroupError and the internal 410 signal"
    )


@pytest.mark.parametrize(
    "line", [b"[" * 100_000, b'{"type": "ADDED", "object": ' * 50_000, b"\xff{", b"{"]
)
def test_watch_lines_that_are_not_json_raise_value_error(line: bytes) -> None:
    with pytest.raises(ValueError, match=r"nested|Expecting|decode"):
        _loads(line)

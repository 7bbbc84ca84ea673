"""Codecs (``Group(codec=...)``): each round-trips its values and refuses what it cannot
carry. Ports the idea of Go's typed sinks (``StringSink``, ``ProtoSink``); no Go test of
codecs exists as such."""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import math
from typing import Any

import pytest

import groupcache
from groupcache._core.codec import JsonCodec, ProtobufCodec
from groupcache._protocol._groupcache_pb2 import GetRequest

BACKENDS = [JsonCodec(use_orjson=False), JsonCodec(use_orjson=True)]


def test_bytes_pass_through_unchanged() -> None:
    assert groupcache.BYTES.encode(b"\x00\xff") == b"\x00\xff"
    assert groupcache.BYTES.decode(b"\x00\xff") == b"\x00\xff"


def test_str_is_utf8_and_invalid_utf8_does_not_decode() -> None:
    assert groupcache.STR.encode("héllo") == "héllo".encode()
    assert groupcache.STR.decode("héllo".encode()) == "héllo"
    with pytest.raises(UnicodeDecodeError):
        groupcache.STR.decode(b"\xff")


def test_the_orjson_backend_is_used_when_installed() -> None:
    assert JsonCodec().backend == "orjson"  # a dev dependency, so this path is tested
    assert JsonCodec(use_orjson=False).backend == "json"


@pytest.mark.parametrize("codec", BACKENDS, ids=["json", "orjson"])
@pytest.mark.parametrize(
    "value",
    [{"id": 42, "name": "Ada", "tags": ["a", "é"], "score": 3.5, "ok": True, "x": None}, [], 0],
)
def test_json_round_trips_and_each_backend_reads_the_other(codec: JsonCodec, value: Any) -> None:
    data = codec.encode(value)
    assert all(other.decode(data) == value for other in BACKENDS)


@pytest.mark.parametrize("codec", BACKENDS, ids=["json", "orjson"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, {"a": [1, math.nan]}])
def test_json_refuses_nan_and_infinities_rather_than_write_them(codec: JsonCodec, bad: Any) -> None:
    with pytest.raises(ValueError, match=r"JSON compliant|Out of range"):
        codec.encode(bad)


@pytest.mark.parametrize("codec", BACKENDS, ids=["json", "orjson"])
@pytest.mark.parametrize("garbage", [b"NaN", b"{", b"\xff", b""])
def test_json_that_is_not_json_does_not_decode(codec: JsonCodec, garbage: bytes) -> None:
    with pytest.raises(ValueError, match=r"."):  # JSONDecodeError, UnicodeDecodeError, NaN
        codec.decode(garbage)


def test_a_protobuf_codec_round_trips_its_messages() -> None:
    codec = ProtobufCodec(GetRequest)
    message = GetRequest(group="g", key="k")
    assert codec.decode(codec.encode(message)) == message
    assert repr(codec) == "groupcache.ProtobufCodec(GetRequest)"


def test_a_protobuf_codec_refuses_another_type_and_garbage() -> None:
    codec = ProtobufCodec(GetRequest)
    with pytest.raises(TypeError, match="expected a GetRequest message, got str"):
        codec.encode("k")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a GetRequest message"):
        codec.decode(b"\xff\xff\xff")


def test_the_codecs_say_which_they_are() -> None:
    assert [repr(c) for c in (groupcache.BYTES, groupcache.STR)] == [
        "groupcache.BYTES",
        "groupcache.STR",
    ]
    assert repr(groupcache.JSON).startswith("groupcache.JsonCodec(backend=")


def test_without_orjson_the_json_codec_uses_the_standard_library(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_orjson(name: str) -> object:
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(importlib, "import_module", no_orjson)
    codec = JsonCodec()
    assert codec.backend == "json"
    assert codec.decode(codec.encode({"a": [1]})) == {"a": [1]}


def test_the_orjson_backend_writes_what_it_supports_beside_a_null() -> None:
    """Its NaN check looks for non-finite floats, not at what the standard library would
    refuse: a datetime beside a None, or a string "nullable", encode."""
    codec = JsonCodec(use_orjson=True)
    value = {"at": datetime.datetime(2020, 1, 1), "x": None, "kind": "nullable"}
    assert codec.decode(codec.encode(value)) == {**value, "at": "2020-01-01T00:00:00"}


@dataclasses.dataclass
class Reading:
    value: float


def test_the_orjson_backend_finds_a_nan_inside_a_dataclass() -> None:
    with pytest.raises(ValueError, match=r"Out of range"):
        JsonCodec(use_orjson=True).encode({"r": [Reading(math.nan)], "x": None})

"""The wire format: golden bytes of the groupcachepb messages (proto2, as protobuf-go
encodes them) and Go's url.PathEscape."""

from __future__ import annotations

import math

import pytest

from groupcache import InvalidKeyError, InvalidValueError, Value
from groupcache._errors import WireError
from groupcache._protocol import _groupcache_pb2 as pb
from groupcache._protocol.bodies import (
    decode_get_response,
    decode_remove_keys,
    decode_set_request,
    encode_get_response,
    encode_remove_keys,
    encode_set_request,
)
from groupcache._protocol.paths import parse_path, path_escape, path_key, request_path

JAN_2026 = 1767225600.0  # 2026-01-01T00:00Z


def test_get_response_always_writes_expire_field_3() -> None:
    assert encode_get_response(Value(b"got:foo")).hex(" ") == "0a 07 67 6f 74 3a 66 6f 6f 18 00"
    assert (
        encode_get_response(Value(b"got:foo", JAN_2026)).hex(" ")
        == "0a 07 67 6f 74 3a 66 6f 6f 18 80 80 e8 ef 9e ca 9c c3 18"
    )


@pytest.mark.parametrize(
    ("hexbody", "expected"),
    [
        ("0a07676f743a666f6f", Value(b"got:foo")),  # golang: no expire
        ("0a07676f743a666f6f1800", Value(b"got:foo")),  # mailgun/v3: 0 = never
        ("0a07676f743a666f6f188080e8ef9eca9cc318", Value(b"got:foo", JAN_2026)),
        ("0a07676f743a666f6f108080e8ef9eca9cc318", Value(b"got:foo", JAN_2026)),  # field 2
        ("0a07676f743a666f6f110000000000000000", Value(b"got:foo")),  # minute_qps double
        ("", Value(b"")),
    ],
)
def test_get_response_decodes_every_variant(hexbody: str, expected: Value) -> None:
    assert decode_get_response(bytes.fromhex(hexbody)) == expected


@pytest.mark.parametrize("body", [b"\xff\xff", b"\x0a\x10abc", b"\x0a"])
def test_garbage_get_responses_are_wire_errors(body: bytes) -> None:
    with pytest.raises(WireError, match="invalid GetResponse"):
        decode_get_response(body)


def test_a_set_request_encodes_to_the_golden_bytes_and_decodes_back() -> None:
    body = encode_set_request("users", "12345", Value(b"v"))
    assert body.hex(" ") == "0a 05 75 73 65 72 73 12 05 31 32 33 34 35 1a 01 76 20 00"
    assert decode_set_request(body) == ("users", "12345", Value(b"v"))
    expiring = encode_set_request("g", "k", Value(b"x", JAN_2026))
    assert decode_set_request(expiring) == ("g", "k", Value(b"x", JAN_2026))


def test_set_request_without_required_fields_is_a_wire_error() -> None:
    with pytest.raises(WireError):
        decode_set_request(b"\x1a\x01v")  # value only
    with pytest.raises(WireError):
        decode_set_request(b"\xff")


def test_path_escape_matches_go_path_escape() -> None:
    """mailgun PR#49: PathEscape, so 'a b/c,d' round-trips (golang's QueryEscape did not)."""
    assert path_escape("a b/c,d") == "a%20b%2Fc%2Cd"
    assert path_escape("$&+:=@-_.~") == "$&+:=@-_.~"
    assert path_escape("ü?#%;") == "%C3%BC%3F%23%25%3B"
    assert path_escape("\udcff") == "%FF"  # a raw byte from a Go peer goes back as it came
    assert request_path("/_groupcache/", "users", "a/b") == "/_groupcache/users/a%2Fb"


@pytest.mark.parametrize(
    "key",
    ["", "key-0", "$&+:=@-_.~AZaz09", "a b/c,d", "ü?#%;", "\udcff", "٣", "x\n", "k/", "%41"],
)
def test_path_key_is_path_escape_in_bytes(key: str) -> None:
    """The fast path of a GET's key (only encoded when nothing needs escaping) escapes
    exactly as path_escape: non-ASCII digits and letters are escaped too."""
    assert path_key(key) == path_escape(key).encode("ascii")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/_groupcache/users/12345", ("users", "12345")),
        ("/_groupcache/users/", ("users", "")),
        ("/_groupcache/users/a+b", ("users", "a+b")),  # '+' stays '+'
        ("/_groupcache/users/a%20b%2Fc", ("users", "a b/c")),
        ("/_groupcache/users/x/y", ("users", "x/y")),
        ("/_groupcache/users/%FF", ("users", "\udcff")),
        ("/_groupcache/users/\u00fc", ("users", "\u00fc")),  # raw UTF-8, not escaped
        ("/_groupcache/users/k?ignored=1", ("users", "k")),
    ],
)
def test_parse_path_decodes_then_splits_once(raw: str, expected: tuple[str, str]) -> None:
    assert parse_path(raw, "/_groupcache/") == expected


@pytest.mark.parametrize("raw", ["/_groupcache/users", "/other/users/k", "/_groupcache/"])
def test_malformed_paths_are_rejected(raw: str) -> None:
    with pytest.raises(WireError):
        parse_path(raw, "/_groupcache/")


def test_remove_keys_json_matches_groupcache_go() -> None:
    assert encode_remove_keys("g", ["a", "b"]) == b'{"group": "g", "keys": ["a", "b"]}'
    assert encode_remove_keys("g", []) == b'{"group": "g"}'  # omitempty
    assert decode_remove_keys(b'{"group":"g","keys":["a","b"]}') == ("g", ["a", "b"])
    assert decode_remove_keys(b'{"group":"g"}') == ("g", [])
    for bad in (b"nope", b"[1]", b'{"keys": "a"}', b'{"keys": [1]}', b"\xff"):
        with pytest.raises(WireError, match="invalid request"):
            decode_remove_keys(bad)


INT64_MAX_SECONDS = (2**63 - 1) / 1e9  # 2262-04-11T23:47:16.854775807Z: the wire's limit


@pytest.mark.parametrize(
    "expire_at",
    [math.inf, -math.inf, math.nan, INT64_MAX_SECONDS + 1, -INT64_MAX_SECONDS - 1, 10**400],
)
def test_expiries_the_wire_cannot_carry_are_rejected_where_the_value_is_made(
    expire_at: float,
) -> None:
    with pytest.raises(InvalidValueError, match="expire_at"):
        Value(b"x", expire_at)


@pytest.mark.parametrize("ns", [2**63 - 1, -(2**63), 1, -1])
def test_every_int64_expiry_from_a_peer_decodes_and_goes_out_again(ns: int) -> None:
    for body in (
        bytes.fromhex("0a0178") + pb.GetResponse(expire=ns).SerializeToString(),
        bytes.fromhex("0a0178") + b"\x10" + _varint(ns % 2**64),  # modernprogram field 2
    ):
        value = decode_get_response(body)
        assert value.expire_at == ns / 1e9
        assert decode_get_response(encode_get_response(value)) == value
    _, _, stored = decode_set_request(encode_set_request("g", "k", Value(b"x", ns / 1e9)))
    assert stored.expire_at == ns / 1e9


def test_an_expiry_at_the_epoch_is_not_sent_as_never() -> None:
    """0 on the wire means "never expires": a value that expired in 1970 must stay expired."""
    for expire_at in (0.0, 0, 1e-12, -1e-12):
        assert decode_get_response(encode_get_response(Value(b"x", expire_at))).expire_at
        _, _, stored = decode_set_request(encode_set_request("g", "k", Value(b"x", expire_at)))
        assert stored.expire_at is not None
        assert stored.expired(0.5)


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes([*out, n])


def test_a_set_request_key_that_is_not_utf8_is_a_key_error() -> None:
    body = b"\x0a\x01g\x12\x02\xff\xfe\x1a\x01v"  # Go may send any bytes in a proto2 string
    with pytest.raises(WireError, match="not valid UTF-8") as info:
        decode_set_request(body)
    assert isinstance(info.value, InvalidKeyError)
    assert decode_set_request(b"\x0a\x01\xff\x12\x01k")[:2] == ("\udcff", "k")
    with pytest.raises(InvalidKeyError, match="UTF-8"):
        encode_set_request("g", "k\udcff", Value(b"v"))

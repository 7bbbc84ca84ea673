"""The wire forms of a value's grace and of a remembered not-found's TTL: headers on plain
replies, fields 5 and 6 of a batch item (our peers only); garbage from a peer is ignored."""

from __future__ import annotations

import pytest

from groupcache import NotFoundError, Value
from groupcache._protocol import _groupcache_pb2 as pb
from groupcache._protocol.bodies import (
    BatchItem,
    RememberedNotFound,
    decode_batch_response,
    encode_batch_response,
    encode_get_response,
)
from groupcache._protocol.headers import format_seconds, parse_seconds
from groupcache._protocol.status import item_error, reply_error


def test_a_batch_carries_a_values_grace_and_a_not_founds_ttl() -> None:
    items: list[BatchItem] = [
        (200, Value(b"a", 100.0, grace=30)),
        (200, Value(b"b", 100.0)),
        (404, RememberedNotFound("gone", 4.5)),
        (404, "gone too"),
    ]
    assert decode_batch_response(encode_batch_response(items)) == items


def test_a_grace_without_an_expiry_is_not_sent() -> None:
    body = encode_batch_response([(200, Value(b"a", None, grace=30))])
    assert not pb.GetBatchResponse.FromString(body).items[0].HasField("grace")


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), 1e12])
def test_a_peers_bad_grace_or_ttl_is_ignored(bad: float) -> None:
    msg = pb.GetBatchResponse()
    msg.items.add(status=200, value=b"a", expire=1, grace=bad)
    msg.items.add(status=404, error="gone", negative_ttl=bad)
    decoded = decode_batch_response(msg.SerializeToString())
    assert decoded == [(200, Value(b"a", 1e-9)), (404, "gone")]


def test_a_get_responses_body_is_the_same_with_or_without_a_grace() -> None:
    assert encode_get_response(Value(b"v", 5.0, grace=9)) == encode_get_response(Value(b"v", 5.0))


@pytest.mark.parametrize(
    ("given", "seconds"),
    [
        ("30", 30.0),
        ("2.5", 2.5),
        ("0", 0.0),
        ("-3", 0.0),
        ("nan", 0.0),
        ("inf", 0.0),
        ("1e99", 0.0),
        ("x", 0.0),
        ("٣", 0.0),
        ("1" * 40, 0.0),
        (None, 0.0),
        (2.0, 2.0),
    ],
)
def test_seconds_from_a_peer_are_taken_only_when_sane(given: object, seconds: float) -> None:
    assert parse_seconds(given) == seconds


def test_seconds_are_written_short() -> None:
    assert [format_seconds(s) for s in (30.0, 2.5, 0.125, 3599.99)] == [
        "30",
        "2.5",
        "0.125",
        "3599.99",
    ]


def test_a_not_found_reply_with_a_ttl_header_is_a_not_found_with_that_ttl() -> None:
    headers = {"x-groupcache-error": "not-found", "x-groupcache-negative-ttl": "7.5"}
    exc = reply_error(404, headers, b"gone\n", url="u", method="GET", group="g", path="/")
    assert isinstance(exc, NotFoundError)
    assert exc.negative_ttl == 7.5
    plain = reply_error(
        404,
        {"x-groupcache-error": "not-found"},
        b"gone\n",
        url="u",
        method="GET",
        group="g",
        path="/",
    )
    assert isinstance(plain, NotFoundError)
    assert plain.negative_ttl == 0.0
    item = item_error(404, "gone", url="u", group="g", path="/", negative_ttl=3.0)
    assert isinstance(item, NotFoundError)
    assert item.negative_ttl == 3.0


def test_a_remembered_not_found_cut_to_the_reply_limit_keeps_its_ttl() -> None:
    items: list[BatchItem] = [(404, RememberedNotFound("gone " * 200, 30.0))]
    body = encode_batch_response(items, limit=64)
    assert len(body) <= 64
    ((status, result),) = decode_batch_response(body)
    assert status == 404
    assert isinstance(result, RememberedNotFound)
    assert result.negative_ttl == 30.0
    assert result.message.startswith("gone gone")

"""The protocol's bodies: proto2 ``GetResponse``/``SetRequest`` messages (groupcachepb),
our batch-get messages, and the JSON of groupcache-go's batch remove.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from google.protobuf import message as _message
from google.protobuf import unknown_fields

from .._core.value import RatedValue, Value
from .._errors import InvalidKeyError, WireError, WireKeyError
from . import _groupcache_pb2 as pb
from .headers import MAX_BATCH_KEYS, parse_seconds
from .paths import from_bytes, to_bytes

LEFT_OUT = 413
"""A batch item's status for a value left out to keep the reply under the requester's
limit: the requester fetches it on its own, with a plain GET."""

ExpiryField = Literal[2, 3, "both"]
"""Where a ``GetResponse`` we serve carries the expiry (``HTTPPool(expiry_field=...)``)."""
EXPIRY_FIELDS: tuple[ExpiryField, ...] = (3, 2, "both")

M = TypeVar("M", bound=_message.Message)


def _parse(msg: M, body: bytes) -> M:
    """Parse ``body`` into ``msg``, turning any decoding failure into :class:`WireError`."""
    try:
        msg.ParseFromString(body)
    except (_message.DecodeError, ValueError) as exc:
        raise WireError(f"invalid {msg.DESCRIPTOR.name}: {exc}") from exc
    return msg


_INT64_MAX = (1 << 63) - 1


def _expire_ns(expire_at: float | None) -> int:
    """Unix nanoseconds for the wire; 0 is "never", so a deadline that rounds to the epoch
    goes out as -1 ns (as long expired), and the int64 limits are clamped to."""
    if expire_at is None:
        return 0
    ns = round(expire_at * 1e9)  # Value keeps expire_at within about ±2**63 ns
    return max(-_INT64_MAX - 1, min(_INT64_MAX, ns)) or -1


def _expire_at(ns: int) -> float | None:
    return None if ns == 0 else ns / 1e9


def encode_get_response(
    value: Value, expiry_field: ExpiryField = 3, rate: float | None = None
) -> bytes:
    """Encode a ``GetResponse``; the expiry is always written, 0 meaning never.

    ``expiry_field`` 3 is mailgun's, modernprogram <= v2.7.21's and groupcache-go v3's
    ``int64 expire = 3``; 2 is modernprogram >= v2.7.22's ``int64 expire = 2``; "both"
    writes the two. Go peers drop a field whose wire type does not match their schema
    (field 2 is golang's and mailgun's ``double minute_qps``), so extra fields are safe.

    ``rate``, for requesters of ours that asked only, is the owner's rate of the key: a
    double in field 2 (golang's ``minute_qps``), after the expiry, which a varint there
    leaves to the unknown fields.
    """
    ns = _expire_ns(value.expire_at)
    if expiry_field == 2:
        body = pb.GetResponse(value=value.data).SerializeToString() + _varint_field_2(ns)
    else:
        body = pb.GetResponse(value=value.data, expire=ns).SerializeToString()
        if expiry_field == "both":
            body += _varint_field_2(ns)
    return body if rate is None else body + _double_field_2(rate)


_pack_double = struct.Struct("<d").pack


def _double_field_2(rate: float) -> bytes:
    """Field 2 as a double (tag 0x11): golang's ``minute_qps``."""
    return b"\x11" + _pack_double(rate)


def _varint_field_2(n: int) -> bytes:
    """Field 2 as an int64 varint (tag 0x10), which our schema cannot write: it declares
    field 2 as golang's ``double minute_qps``."""
    n &= (1 << 64) - 1  # a negative int64 is sent as its two's complement
    out = bytearray(b"\x10")
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def decode_get_response(body: bytes, rated: bool = False) -> Value:
    """Decode a ``GetResponse``, taking the expiry from field 3 or, failing that, field 2.

    modernprogram >= v2.7.22 writes expire as a varint in field 2, which our schema
    declares as ``double minute_qps``; protobuf keeps it as an unknown field. A double in
    field 2 (golang's ``minute_qps``, never set in practice) is not an expiry: when
    ``rated`` (we asked a peer of ours for it), it is the owner's rate of the key, and the
    value a :class:`RatedValue`.

    Raises:
        WireError: the body is not a valid ``GetResponse``.
    """
    msg = _parse(pb.GetResponse(), body)
    ns = msg.expire
    if not msg.HasField("expire"):
        fields = unknown_fields.UnknownFieldSet(msg)
        for i in range(len(fields)):
            field = fields[i]
            if field.field_number == 2 and field.wire_type == 0:
                ns = int(field.data)
                if ns >= 1 << 63:  # int64 sent as a two's-complement varint
                    ns -= 1 << 64
    if rated and msg.HasField("minute_qps"):
        return RatedValue(msg.value, _expire_at(ns), rate=msg.minute_qps)
    return Value(msg.value, _expire_at(ns))


def encode_set_request(group: str, key: str, value: Value) -> bytes:
    """Encode the body of a PUT (Set); ``expire`` is Unix nanoseconds, 0 = never.

    Raises:
        InvalidKeyError: ``group`` or ``key`` is not valid UTF-8 (a protobuf string).
    """
    try:
        msg = pb.SetRequest(group=group, key=key, value=value.data)
    except ValueError as exc:  # UnicodeEncodeError included
        raise InvalidKeyError(f"a SetRequest needs UTF-8 group and key: {exc}") from exc
    msg.expire = _expire_ns(value.expire_at)
    return msg.SerializeToString()


def decode_set_request(body: bytes) -> tuple[str, str, Value]:
    """Decode a PUT body into (group, key, value).

    Raises:
        WireError: the body is not a complete ``SetRequest``.
        WireKeyError: the key is not valid UTF-8 (Go does not check proto2 strings); an
            :class:`InvalidKeyError` too.
    """
    msg = _parse(pb.SetRequest(), body)
    if not (msg.HasField("group") and msg.HasField("key")):
        raise WireError("invalid SetRequest: group and key are required")
    group: str | bytes = msg.group  # upb hands out bytes for a string that is not UTF-8
    key: str | bytes = msg.key
    if isinstance(key, bytes):
        raise WireKeyError(f"key {key[:64]!r} is not valid UTF-8: a Set needs a UTF-8 key")
    if isinstance(group, bytes):
        group = from_bytes(group)  # unused by servers (the path names the group)
    return group, key, Value(msg.value, _expire_at(msg.expire))


def encode_remove_keys(group: str, keys: list[str]) -> bytes:
    """Encode a v3 ``RemoveKeysRequest`` as the JSON groupcache-go sends."""
    payload: dict[str, object] = {"group": group}
    if keys:
        payload["keys"] = keys
    return json.dumps(payload).encode()


def decode_remove_keys(body: bytes) -> tuple[str, list[str]]:
    """Decode a v3 batch-remove body into (group, keys).

    Raises:
        WireError: not the JSON object groupcache-go sends.
    """
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: nesting too deep
        raise WireError(f"invalid request: {type(exc).__name__}: {exc}") from exc
    if not isinstance(payload, dict):
        raise WireError("invalid request: not a JSON object")
    group = payload.get("group", "")
    keys = payload.get("keys") or []
    if not isinstance(group, str) or not isinstance(keys, list):
        raise WireError("invalid request: group must be a string and keys a list")
    if not all(isinstance(k, str) for k in keys):
        raise WireError("invalid request: keys must be strings")
    return group, keys


def _varint_size(n: int) -> int:
    size = 1
    while n >= 0x80:
        n >>= 7
        size += 1
    return size


def _field_size(length: int) -> int:
    """Bytes a length-delimited field with a one-byte tag takes for ``length`` bytes."""
    return 1 + _varint_size(length) + length


def batch_key_cost(key: str) -> int:
    """Return the bytes ``key`` adds to the body of a batch get."""
    return _field_size(len(to_bytes(key)))


def encode_batch_request(keys: list[str]) -> bytes:
    """Encode the body of a batch get."""
    return pb.GetBatchRequest(keys=[to_bytes(k) for k in keys]).SerializeToString()


def decode_batch_request(body: bytes) -> list[str]:
    """Decode the keys of a batch get.

    Raises:
        WireError: not a ``GetBatchRequest``, or more than :data:`MAX_BATCH_KEYS` keys.
    """
    msg = _parse(pb.GetBatchRequest(), body)
    if len(msg.keys) > MAX_BATCH_KEYS:
        raise WireError(f"{len(msg.keys)} keys in a batch, over the limit of {MAX_BATCH_KEYS}")
    return [from_bytes(k) for k in msg.keys]


@dataclass(frozen=True, slots=True)
class RememberedNotFound:
    """A batch item's 404 that the owner remembers for ``negative_ttl`` more seconds."""

    message: str
    negative_ttl: float


BatchItem = tuple[int, Value | str | RememberedNotFound]
"""One answer of a batch: (200, value), (404, a remembered not-found) or (status, error
message)."""


def encode_batch_response(items: Sequence[BatchItem], limit: int | None = None) -> bytes:
    """Encode the answers of a batch get, in key order, in at most ``limit`` bytes.

    A value that would take the reply over ``limit`` is left out: its item says
    :data:`LEFT_OUT`, and the requester fetches it on its own. An error message that
    does not fit is shortened (its status is kept). Only when even the bare statuses
    exceed ``limit`` (a tiny limit, many keys) is the reply larger.
    """
    built = [_batch_item(status, result) for status, result in items]
    if limit is not None:
        marker = _field_size(pb.GetBatchItem(status=LEFT_OUT).ByteSize())
        total = marker * len(built)  # room kept for every item, at its smallest
        for i, item in enumerate(built):
            room = limit - total + marker  # what this item may take
            if _field_size(item.ByteSize()) > room:
                status, result = items[i]
                if isinstance(result, Value):
                    item = built[i] = pb.GetBatchItem(status=LEFT_OUT)
                elif isinstance(result, str):
                    item = built[i] = _shortened(status, result, room)
                else:  # a remembered not-found keeps its TTL while its message shortens
                    item = built[i] = _shortened(status, result.message, room, result.negative_ttl)
            total += _field_size(item.ByteSize()) - marker
    msg = pb.GetBatchResponse()
    msg.items.extend(built)
    return msg.SerializeToString()


def _batch_item(status: int, result: Value | str | RememberedNotFound) -> pb.GetBatchItem:
    if isinstance(result, Value):
        item = pb.GetBatchItem(
            status=status, value=result.data, expire=_expire_ns(result.expire_at)
        )
        if result.grace and result.expire_at is not None:
            item.grace = result.grace
        if isinstance(result, RatedValue):  # asked for by the requester
            item.minute_qps = result.rate
        return item
    if isinstance(result, RememberedNotFound):
        return pb.GetBatchItem(
            status=status, error=result.message, negative_ttl=result.negative_ttl
        )
    return pb.GetBatchItem(status=status, error=result)


def _shortened(
    status: int, message: str, room: int, negative_ttl: float | None = None
) -> pb.GetBatchItem:
    """The error item cut to ``room`` bytes (its message shortened, or dropped)."""
    data = message.encode()
    while data:
        item = pb.GetBatchItem(
            status=status, error=data.decode("utf-8", "ignore"), negative_ttl=negative_ttl
        )
        over = _field_size(item.ByteSize()) - room
        if over <= 0:
            return item
        data = data[: len(data) - over]
    return pb.GetBatchItem(status=status)  # as small as a LEFT_OUT marker


def decode_batch_response(body: bytes) -> list[BatchItem]:
    """Decode the answers of a batch get.

    Raises:
        WireError: not a ``GetBatchResponse``.
    """
    msg = _parse(pb.GetBatchResponse(), body)
    return [_decoded_item(item) for item in msg.items]


def _decoded_item(item: pb.GetBatchItem) -> BatchItem:
    if item.status == 200:
        expire_at, grace = _expire_at(item.expire), parse_seconds(item.grace)
        if item.HasField("minute_qps"):
            return 200, RatedValue(item.value, expire_at, grace, rate=item.minute_qps)
        return 200, Value(item.value, expire_at, grace)
    ttl = parse_seconds(item.negative_ttl)
    if item.status == 404 and ttl:
        return 404, RememberedNotFound(item.error, ttl)
    return item.status, item.error

"""Values and keys: immutable bytes with an optional expiry (Go's ByteView), and the key
checks every entry point applies, with their size as Go counts it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .._errors import InvalidKeyError, InvalidValueError

_BYTES_LIKE = (bytes, bytearray, memoryview)

MAX_EXPIRE_AT = 2**63 / 1e9
"""The latest expiry the wire can carry (int64 Unix nanoseconds): 2262-04-11T23:47:16Z.
``-MAX_EXPIRE_AT`` is the earliest; a value's ``expire_at`` must lie between them."""


@dataclass(frozen=True, slots=True)
class Value:
    """A value with an optional expiry, as a getter may return it.

    Args:
        data: The bytes. ``bytearray`` and ``memoryview`` are copied into ``bytes``.
        expire_at: Absolute expiry in Unix seconds, or ``None`` for never. An entry is
            still valid at exactly ``expire_at`` and expires strictly after it (mailgun).
        grace: Seconds after ``expire_at`` during which a get still returns this value,
            stale, while one background refresh loads the next one (stale-while-revalidate;
            0, the default: none). Ignored without an ``expire_at``.
    """

    data: bytes
    expire_at: float | None = None
    grace: float = 0.0

    def __post_init__(self) -> None:
        data: Any = self.data
        if type(data) is not bytes:
            if not isinstance(data, _BYTES_LIKE):
                raise InvalidValueError(f"value must be bytes-like, not {type(data).__name__}")
            object.__setattr__(self, "data", bytes(data))
        expire_at: Any = self.expire_at
        if expire_at is not None and (
            isinstance(expire_at, bool) or not isinstance(expire_at, int | float)
        ):
            raise InvalidValueError(
                f"expire_at must be Unix seconds (float) or None, not {type(expire_at).__name__}"
            )
        if expire_at is not None and not -MAX_EXPIRE_AT <= expire_at <= MAX_EXPIRE_AT:
            raise InvalidValueError(  # also NaN, for which every comparison is false
                f"expire_at must be Unix seconds between {-MAX_EXPIRE_AT} and {MAX_EXPIRE_AT} "
                f"(int64 nanoseconds on the wire), not {expire_at!r}; use None for never"
            )
        grace: Any = self.grace
        if grace:
            check_seconds("grace", grace, InvalidValueError)

    def stale_until(self) -> float | None:
        """Return until when the value may be served stale (``expire_at`` + ``grace``), or
        ``None`` when it has no grace."""
        if self.grace and self.expire_at is not None:
            return self.expire_at + self.grace
        return None

    def expired(self, now: float) -> bool:
        """Return whether the value has expired at ``now`` (strictly after ``expire_at``)."""
        return self.expire_at is not None and self.expire_at < now


def check_seconds(name: str, seconds: object, error: type[Exception]) -> None:
    """Check that ``seconds`` is a finite, non-negative int or float.

    Raises:
        error: it is not.
    """
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not math.isfinite(seconds)
        or seconds < 0
    ):
        raise error(f"{name} must be finite, non-negative seconds, not {seconds!r}")


@dataclass(frozen=True, slots=True)
class RatedValue(Value):
    """A value fetched from its owner, with the owner's estimate of how often its peers
    ask it for the key (requests per second over about a minute): what a
    ``hot_cache="qps"`` group admits to its hot cache by. Never cached as such."""

    rate: float = 0.0


def to_value(result: object) -> Value:
    """Normalise what a getter returned into a :class:`Value`.

    Raises:
        InvalidValueError: ``result`` is neither a :class:`Value` nor bytes-like.
    """
    if type(result) is Value:
        return result
    if isinstance(result, _BYTES_LIKE):
        return Value(bytes(result))
    if isinstance(result, Value):
        return result
    raise InvalidValueError(
        f"getter must return bytes or groupcache.Value, not {type(result).__name__}"
    )


DEFAULT_MAX_KEY_BYTES = 64 * 1024
"""Keys longer than this many UTF-8 bytes are rejected (``max_key_bytes``)."""


def key_size(key: str) -> int:
    """Return the size of ``key`` in bytes as Go counts it (UTF-8; lone surrogates kept).

    Raises:
        UnicodeEncodeError: a lone surrogate outside U+DC80..U+DCFF (not from a byte).
    """
    if key.isascii():
        return len(key)
    return len(key.encode("utf-8", "surrogateescape"))


def check_key(key: object, max_key_bytes: int) -> None:
    """Check that ``key`` is a str that has a UTF-8 form of at most ``max_key_bytes``.

    Raises:
        InvalidKeyError: it is not.
    """
    if type(key) is not str:
        raise InvalidKeyError(f"key must be str, not {type(key).__name__}")
    try:
        size = key_size(key)
    except UnicodeEncodeError as exc:
        raise InvalidKeyError(f"key is not encodable as UTF-8: {exc.reason}") from exc
    if size > max_key_bytes:
        raise InvalidKeyError(f"key is {size} bytes, over the limit of {max_key_bytes}")


def is_utf8(key: str) -> bool:
    """Whether ``key`` is valid UTF-8 text: no raw bytes held as lone surrogates."""
    if key.isascii():
        return True
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_set_key(key: object, max_key_bytes: int) -> None:
    """Check a key for a Set: as :func:`check_key`, and it must be valid UTF-8.

    A ``SetRequest`` carries the key as a protobuf string, so a key that holds raw bytes
    (``surrogateescape``, as keys of Go peers' GETs may) can be got and removed, not set.

    Raises:
        InvalidKeyError: it is not.
    """
    check_key(key, max_key_bytes)
    assert isinstance(key, str)  # checked above
    if not key.isascii():
        try:
            key.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidKeyError(
                f"key {key[:64]!r} is not valid UTF-8 ({exc.reason}): a Set carries it as a "
                "protobuf string (get and remove take any key)"
            ) from exc

"""The cached value: immutable bytes plus an optional absolute expiry (Go's ByteView)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._errors import InvalidValueError

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
    """

    data: bytes
    expire_at: float | None = None

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

    def expired(self, now: float) -> bool:
        """Return whether the value has expired at ``now`` (strictly after ``expire_at``)."""
        return self.expire_at is not None and self.expire_at < now


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

"""Keys: their size as Go counts it, and the checks every entry point applies."""

from __future__ import annotations

from .._errors import InvalidKeyError

__all__ = ["DEFAULT_MAX_KEY_BYTES", "check_key", "check_set_key", "key_size"]

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

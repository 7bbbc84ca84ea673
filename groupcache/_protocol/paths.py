"""The protocol's URL paths (http.go): ``{base}{group}/{key}`` with Go's ``url.PathEscape``
escaping, the batch endpoints beside the keys, and the parsing a server does.

Keys are arbitrary byte strings in Go: we carry bytes that are not UTF-8 through ``str``
with ``surrogateescape``.
"""

from __future__ import annotations

import re
from urllib.parse import quote_from_bytes, unquote_to_bytes

from .._errors import WireError

_PATH_SAFE = "$&+:=@"  # Go's PathEscape keeps these besides the unreserved characters


class Endpoint(str):
    """A path element after the group that is not a key (sent as it is, not escaped)."""

    __slots__ = ()


REMOVE_KEYS = Endpoint("_remove-keys/")
"""The v3 batch remove: ``POST {base}{group}/_remove-keys/``."""
GET_KEYS = Endpoint("_get-keys/")
"""Our batch get: ``POST {base}{group}/_get-keys/`` (Python peers only)."""


def to_bytes(text: str) -> bytes:
    """Encode a key or group as the bytes Go would send (UTF-8, raw bytes kept)."""
    return text.encode("utf-8", "surrogateescape")


def from_bytes(data: bytes) -> str:
    """Decode bytes from the wire into a ``str`` key (UTF-8, other bytes kept)."""
    return data.decode("utf-8", "surrogateescape")


def path_escape(text: str) -> str:
    """Escape ``text`` for a URL path segment exactly as Go's ``url.PathEscape``."""
    return quote_from_bytes(to_bytes(text), safe=_PATH_SAFE)


_PLAIN_KEY = re.compile(r"[A-Za-z0-9\-._~$&+:=@]*").fullmatch  # what PathEscape keeps


def path_key(key: str) -> bytes:
    """Return ``key`` escaped as :func:`path_escape` does, as ASCII bytes; a key of
    characters that need no escape (the usual one) is only encoded."""
    if _PLAIN_KEY(key) is not None:
        return key.encode()
    return path_escape(key).encode()


def base_of(url: str, base_path: str) -> str:
    """Return the path under which a node at ``url`` serves the protocol: the URL's own
    path (usually empty), without its trailing slash, then ``base_path``."""
    rest = url.split("://", 1)[-1]
    slash = rest.find("/")
    return ("" if slash < 0 else rest[slash:].rstrip("/")) + base_path


def request_path(base: str, group: str, key: str) -> str:
    """Return the escaped path of ``key`` (or of an :class:`Endpoint`) in ``group`` under
    ``base``: the one builder of request paths, for peers and the thin client alike."""
    tail = key if isinstance(key, Endpoint) else path_escape(key)
    return f"{base}{path_escape(group)}/{tail}"


_HANDOFF_QUERY = "?handoff="


def handoff_path(base: str, group: str, key: str) -> str:
    """Return the path of a warm handoff's cached-only GET of ``key``:
    ``{base}{group}?handoff={key}``. Every Go variant answers a path without a ``/``
    after the group with 400 before any lookup, so only our servers serve it."""
    return f"{base}{path_escape(group)}{_HANDOFF_QUERY}{quote_from_bytes(to_bytes(key), safe='')}"


def parse_handoff(raw_target: str, base_path: str) -> tuple[str, str] | None:
    """Return (group, key) of a :func:`handoff_path` target, or ``None`` if it is not one."""
    path, sep, key = raw_target.partition(_HANDOFF_QUERY)
    if not sep or not path.startswith(base_path) or "?" in path:
        return None
    group = from_bytes(unquote_to_bytes(path[len(base_path) :]))
    if not group or "/" in group:
        return None
    return group, from_bytes(unquote_to_bytes(key))


_CLEAR_QUERY = "?clear"


def clear_path(base: str, group: str) -> str:
    """Return the path of a cluster-wide clear's ``DELETE``: ``{base}{group}?clear``,
    which every Go variant refuses with 400 (no ``/`` after the group), changing nothing."""
    return f"{base}{path_escape(group)}{_CLEAR_QUERY}"


def parse_clear(raw_target: str, base_path: str) -> str | None:
    """Return the group of a :func:`clear_path` target, or ``None`` if it is not one."""
    if not raw_target.endswith(_CLEAR_QUERY) or not raw_target.startswith(base_path):
        return None
    group = from_bytes(unquote_to_bytes(raw_target[len(base_path) : -len(_CLEAR_QUERY)]))
    return group if group and "/" not in group and "?" not in group else None


def parse_path(raw_path: str, base_path: str) -> tuple[str, str]:
    """Split a raw request path into (group, key), as Go's ``ServeHTTP`` does.

    The whole path is percent-decoded first (``+`` stays ``+``), then split on the first
    ``/`` after the base path; the key may contain ``/`` and may be empty.

    Raises:
        WireError: the path is not under ``base_path`` or has no ``/`` after the group.
    """
    path = raw_path.split("?", 1)[0]
    if not path.startswith(base_path):
        raise WireError(f"path is not under {base_path}")
    rest = path[len(base_path) :]
    if "%" in rest or not rest.isascii():  # else decoding would give it back unchanged
        rest = from_bytes(unquote_to_bytes(rest))
    group, sep, key = rest.partition("/")
    if not sep:
        raise WireError("bad request")
    return group, key

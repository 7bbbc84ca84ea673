"""Peer URLs in a canonical form, by which a node recognises itself among its peers."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from .._errors import GroupcacheError


def normalize_url(url: str) -> str:
    """Return ``url`` in a canonical form, to recognise this node among its peers.

    Scheme and host are lower-cased, the default port is made explicit, IPv6 hosts are
    bracketed and trailing slashes dropped: ``HTTP://Node:80/`` → ``http://node:80``.

    Raises:
        GroupcacheError: not an http(s) URL with a host.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise GroupcacheError(f"invalid peer URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise GroupcacheError(f"peer URL must be http(s)://host[:port], not {url!r}")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None:
        port = 443 if scheme == "https" else 80
    return urlunsplit((scheme, f"{host}:{port}", parts.path.rstrip("/"), "", ""))

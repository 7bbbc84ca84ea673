"""The HTTP peer client: fetch, set and remove keys on one peer (httpGetter in http.go).

Replies are mapped as mailgun does: 404 → :class:`NotFoundError` and 503 →
:class:`RemoteCallError` (both returned without a local retry); anything else that is
not a usable 200, and every transport error or timeout, → :class:`PeerError`, which the
group counts and answers with a local load.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import aiohttp
from yarl import URL

from ._errors import NotFoundError, PeerError, RemoteCallError
from ._value import Value
from ._wire import CONTENT_TYPE, WireError, decode_get_response, encode_set_request, path_escape

FORWARDED_HEADER = "X-Groupcache-Forwarded"
"""Marks requests sent by a peer; Go peers ignore it. A server never forwards a request."""

_ERROR_BODY_LIMIT = 1 << 20  # as mailgun, read at most 1 MiB of an error body


class HTTPPeer:
    """A :class:`~groupcache.PeerGetter` over HTTP for the peer at ``url``.

    Args:
        url: The peer's base URL, e.g. ``http://10.0.0.2:8080``.
        session: Returns the pool's shared keep-alive session (made on first use).
        base_path: The peers' base path.
        headers: Sent with every request (the token, the forwarded marker).
        max_body_bytes: Longest reply body accepted.
        clock: Wall clock, to reject values that expired on the way (as mailgun).
    """

    __slots__ = ("_base", "_clock", "_headers", "_max_body", "_session", "url")

    def __init__(
        self,
        url: str,
        *,
        session: Callable[[], aiohttp.ClientSession],
        base_path: str,
        headers: dict[str, str],
        max_body_bytes: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self._base = url.rstrip("/") + base_path
        self._session = session
        self._headers = headers
        self._max_body = max_body_bytes
        self._clock = clock

    def _url(self, group: str, key: str) -> URL:
        return URL(f"{self._base}{path_escape(group)}/{path_escape(key)}", encoded=True)

    async def get(self, group: str, key: str) -> Value:
        """Fetch ``key`` of ``group`` from the peer (see the module doc for errors)."""
        body = await self._request("GET", group, key, None)
        try:
            value = decode_get_response(body)
        except WireError as exc:
            raise PeerError(f"{self.url}: {exc}") from exc
        if value.expired(self._clock()):
            raise PeerError(f"{self.url}: peer returned expired value")
        return value

    async def set(self, group: str, key: str, value: Value) -> None:
        """Store ``value`` in the peer's main cache (HTTP PUT with a ``SetRequest``)."""
        await self._request("PUT", group, key, encode_set_request(group, key, value))

    async def remove(self, group: str, key: str) -> None:
        """Remove ``key`` from the peer's caches (HTTP DELETE)."""
        await self._request("DELETE", group, key, None)

    async def _request(self, method: str, group: str, key: str, data: bytes | None) -> bytes:
        headers = self._headers
        if data is not None:
            headers = {**headers, "Content-Type": CONTENT_TYPE}
        try:
            async with self._session().request(
                method, self._url(group, key), data=data, headers=headers
            ) as resp:
                if resp.status == 200:
                    return await _read_limited(resp, self._max_body)
                text = (await _read_limited(resp, _ERROR_BODY_LIMIT, truncate=True)).decode(
                    "utf-8", "replace"
                )
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            raise PeerError(f"{self.url}: {type(exc).__name__}: {exc}") from exc
        message = text.rstrip("\n")
        if method == "GET" and resp.status == 404:
            raise NotFoundError(message)
        if method == "GET" and resp.status == 503:
            raise RemoteCallError(message)
        raise PeerError(f"{self.url}: server returned status {resp.status}: {message}")

    def __repr__(self) -> str:
        return f"<HTTPPeer {self.url}>"


async def _read_limited(
    resp: aiohttp.ClientResponse, limit: int, *, truncate: bool = False
) -> bytes:
    length = resp.content_length
    if length is not None and length > limit and not truncate:
        raise PeerError(f"reply of {length} bytes is over the limit of {limit}")
    if length is not None and length <= limit:
        body = await resp.read()  # framed by Content-Length: aiohttp checks the length
        if len(body) != length:
            raise PeerError(f"reply truncated: {len(body)} of {length} bytes")
        return body
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > limit:
            if truncate:
                chunks.append(chunk[: limit - (size - len(chunk))])
                break
            raise PeerError(f"reply is over the limit of {limit} bytes")
        chunks.append(chunk)
    if length is not None and size < length and not truncate:
        raise PeerError(f"reply truncated: {size} of {length} bytes")
    return b"".join(chunks)

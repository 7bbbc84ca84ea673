"""The HTTP peer client: fetch, set and remove keys on one peer (httpGetter in http.go).

Replies are mapped by :mod:`groupcache._protocol.status`: a missing value (404) →
:class:`NotFoundError` and a failed getter (503) → :class:`RemoteCallError`, both returned
without a local retry (as mailgun); anything else that is not a usable 200 (a peer
without the group, a 404 from outside the protocol, a refused token), and every transport
error or timeout, → a :class:`PeerError`, which the group counts and answers with a
local load. A write (PUT,
DELETE) is done only on an empty 200: a 200 with a value is golang/groupcache serving it
as a Get (:class:`UnsupportedWriteError`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from .._core.value import Value
from .._errors import (
    InvalidValueError,
    NotFoundError,
    PeerError,
    RemoteCallError,
    UnsupportedWriteError,
    WireError,
)
from .._protocol.bodies import (
    CONTENT_TYPE,
    GET_KEYS_SUFFIX,
    LEFT_OUT,
    MAX_BATCH_KEYS,
    REMOVE_KEYS_SUFFIX,
    REPLY_LIMIT_HEADER,
    batch_key_cost,
    decode_batch_response,
    decode_get_response,
    encode_batch_request,
    encode_remove_keys,
    encode_set_request,
    path_escape,
)
from .._protocol.status import reply_error
from .batch import Batcher
from .connections import ConnectionPool, ReplyTooLargeError, Response, TransportError

_PROTOBUF = CONTENT_TYPE.encode()
_GETS_AT_ONCE = 8
"""Plain GETs in flight at once for the keys of one batch that are fetched on their own."""
_MIN_ITEM_BYTES = 16
"""Reply bytes reserved per key of a batch: a batch has at most ``max_body_bytes / 16``
keys, so the owner can always answer each one (a value left out takes 5 bytes)."""


class HTTPPeer:
    """A :class:`~groupcache.PeerGetter` over HTTP for the peer at ``url``.

    Args:
        url: The peer's base URL, e.g. ``http://10.0.0.2:8080``.
        connections: The keep-alive connections to that peer.
        base_path: The peers' base path.
        headers: Header lines sent with every request (the token).
        batches: Batch requests on the wire at once, once the peer has shown it serves
            them (``X-Groupcache-Batch`` on a reply); 0 never batches. A batch is bounded
            by ``max_body_bytes`` both ways: its keys fit the peer's request limit, and
            the peer leaves out the values that would take its reply over ours (those
            are then fetched with plain GETs).
        max_queued: Gets that may wait for a batch at most (``None``: no bound); more
            fail at once with :class:`PeerError`, so the group loads them locally.
    """

    __slots__ = (
        "_base",
        "_batch_ok",
        "_batchers",
        "_batches",
        "_conns",
        "_headers",
        "_max_queued",
        "_remove_keys_ok",
        "url",
    )

    def __init__(
        self,
        url: str,
        *,
        connections: ConnectionPool,
        base_path: str,
        headers: bytes,
        batches: int = 0,
        max_queued: int | None = None,
    ) -> None:
        self.url = url
        self._base = urlpath(url) + base_path
        self._conns = connections
        self._headers = headers
        self._batches = batches
        self._max_queued = max_queued
        self._batch_ok = False
        self._remove_keys_ok: bool | None = None  # None: not known yet
        self._batchers: dict[str, Batcher] = {}

    def path(self, group: str, key: str) -> str:
        """Return the escaped request path of ``key`` in ``group``."""
        return f"{self._base}{path_escape(group)}/{path_escape(key)}"

    async def get(self, group: str, key: str) -> Value:
        """Fetch ``key`` of ``group`` from the peer (see the module doc for errors).

        Once the peer has shown that it serves batches, concurrent gets are coalesced.
        """
        if self._batch_ok:
            batcher = self._batchers.get(group)
            if batcher is None:
                limit = self._conns.max_body_bytes
                batcher = self._batchers[group] = Batcher(
                    lambda keys: self._get_batch(group, keys),
                    max_in_flight=self._batches,
                    max_keys=max(1, min(MAX_BATCH_KEYS, limit // _MIN_ITEM_BYTES)),
                    max_pending=self._max_queued,
                    max_bytes=limit,  # the peers' request limit too (as for a Set)
                    cost=batch_key_cost,
                )
            return await batcher.get(key)
        return await self.get_one(group, key)

    async def get_one(self, group: str, key: str) -> Value:
        """Fetch one key with a plain GET, as Go peers understand it."""
        resp = await self.request("GET", self.path(group, key))
        self.check(resp, "GET", group)
        if self._batches and resp.headers.get("x-groupcache-batch") == "1":
            self._batch_ok = True
        return self.decode_value(resp.body)

    async def _get_each(self, group: str, keys: Sequence[str]) -> list[Value | Exception]:
        """Fetch ``keys`` with plain GETs, a few at a time; each key gets its own result."""
        slots = asyncio.Semaphore(_GETS_AT_ONCE)

        async def one(key: str) -> Value | Exception:
            async with slots:
                try:
                    return await self.get_one(group, key)
                except Exception as exc:
                    return exc

        return list(await asyncio.gather(*(one(k) for k in keys)))

    async def _get_batch(self, group: str, keys: list[str]) -> list[Value | Exception]:
        if len(keys) == 1:  # a lone get: the common case without load, kept lean
            try:
                return [await self.get_one(group, keys[0])]
            except Exception as exc:
                return [exc]
        path = f"{self._base}{path_escape(group)}/{GET_KEYS_SUFFIX}"
        limit = f"{REPLY_LIMIT_HEADER}: {self._conns.max_body_bytes}\r\n".encode()
        body = encode_batch_request(keys)
        try:
            resp = await self.request("POST", path, body, content_type=_PROTOBUF, extra=limit)
        except PeerError as exc:
            if isinstance(exc.__cause__, ReplyTooLargeError):  # an owner that does not
                return await self._get_each(group, keys)  # cut its replies (older version)
            raise
        if resp.status in (404, 405):  # no longer a peer of ours at this URL
            self._batch_ok = False
            return await self._get_each(group, keys)
        if resp.status == 413:  # the owner's body limit is below ours
            return await self._get_each(group, keys)
        self.check(resp, "POST", group)
        try:
            items = decode_batch_response(resp.body)
        except WireError as exc:
            raise PeerError(f"{self.url}: {exc}") from exc
        if len(items) != len(keys):
            raise PeerError(f"{self.url}: {len(items)} answers for {len(keys)} keys")
        results: list[Value | Exception] = []
        left_out: list[int] = []
        for i, (status, item) in enumerate(items):
            if isinstance(item, Value):
                results.append(item)
            elif status == LEFT_OUT:  # it would have taken the reply over our limit
                left_out.append(i)
                results.append(PeerError(f"{self.url}: left out"))  # fetched below
            elif status == 404:
                results.append(NotFoundError(item))
            elif status == 503:
                results.append(RemoteCallError(item))
            else:
                results.append(PeerError(f"{self.url}: status {status}: {item}"))
        if left_out:
            fetched = await self._get_each(group, [keys[i] for i in left_out])
            for i, result in zip(left_out, fetched, strict=True):
                results[i] = result
        return results

    def decode_value(self, body: bytes) -> Value:
        """Decode a ``GetResponse`` from this peer (its expiry is the group's to judge,
        by the group's clock)."""
        try:
            return decode_get_response(body)
        except WireError as exc:
            raise PeerError(f"{self.url}: {exc}") from exc

    async def set(self, group: str, key: str, value: Value) -> None:
        """Store ``value`` in the peer's main cache (HTTP PUT with a ``SetRequest``).

        Raises:
            InvalidValueError: the request would be over ``max_body_bytes``, which the
                peers apply too; nothing is sent.
            UnsupportedWriteError: the peer served the PUT as a Get (golang/groupcache).
            PeerError: any other failure.
        """
        body = self._set_body(group, key, value)
        resp = await self.request("PUT", self.path(group, key), body, content_type=_PROTOBUF)
        self.check_write(resp, "PUT", group)

    def check_set(self, group: str, key: str, value: Value) -> None:
        """Raise :class:`InvalidValueError` if :meth:`set` would refuse ``value``."""
        self._set_body(group, key, value)

    def _set_body(self, group: str, key: str, value: Value) -> bytes:
        body = encode_set_request(group, key, value)
        limit = self._conns.max_body_bytes
        if len(body) > limit:
            raise InvalidValueError(
                f"value of {len(value.data)} bytes for {group}/{key[:64]!r} makes a request "
                f"of {len(body)} bytes, over the limit of {limit} (max_body_bytes)"
            )
        return body

    async def remove(self, group: str, key: str) -> None:
        """Remove ``key`` from the peer's caches (HTTP DELETE).

        Raises:
            UnsupportedWriteError: the peer served the DELETE as a Get (golang/groupcache).
            PeerError: any other failure.
        """
        resp = await self.request("DELETE", self.path(group, key))
        self.check_write(resp, "DELETE", group)

    async def remove_keys(self, group: str, keys: Sequence[str]) -> None:
        """Remove ``keys`` from the peer's caches: ``POST .../_remove-keys/`` with the JSON
        groupcache-go v3 sends, in as few requests as ``max_body_bytes`` allows.

        A Go v1/v2 peer serves that POST as a Get of the key ``_remove-keys/``: a protobuf
        reply, or the error its getter gives that key (404, 500 or 503), or (modernprogram,
        which reads a Get's body as a ``GetRequest``) 400. Such a peer gets one DELETE per
        key, now and from then on, unless a POST worked on it before.
        """
        if self._remove_keys_ok is False:
            for key in keys:
                await self.remove(group, key)
            return
        path = f"{self._base}{path_escape(group)}/{REMOVE_KEYS_SUFFIX}"
        budget = self._conns.max_body_bytes - len(encode_remove_keys(group, [""]))
        chunk: list[str] = []
        size = 0
        for i, key in enumerate(keys):
            cost = len(json.dumps(key)) + 2  # the quoted string and ", "
            if chunk and size + cost > budget:
                if not await self._post_remove_keys(path, group, chunk):
                    return await self.remove_keys(group, keys[i - len(chunk) :])
                chunk, size = [], 0
            chunk.append(key)
            size += cost
        if chunk and not await self._post_remove_keys(path, group, chunk):
            await self.remove_keys(group, chunk)

    async def _post_remove_keys(self, path: str, group: str, keys: list[str]) -> bool:
        """POST one batch remove; return False when the peer does not know the endpoint."""
        body = encode_remove_keys(group, keys)
        resp = await self.request("POST", path, body, content_type=b"application/json")
        if resp.status == 200 and resp.headers.get("content-type", "").startswith(CONTENT_TYPE):
            self._remove_keys_ok = False  # a GetResponse: served as a Get by a Go v2 peer
            return False
        if self._remove_keys_ok is None and (_getter_refused(resp) or resp.status == 400):
            # Served as a Get, and the getter said no; or modernprogram, which decodes the
            # body of a Get as its GetRequest, rejected our JSON. The DELETEs that follow
            # are checked one by one, so a peer that did mean the 400 still fails loudly.
            self._remove_keys_ok = False
            return False
        self.check(resp, "POST", group)
        self._remove_keys_ok = True
        return True

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        content_type: bytes | None = None,
        extra: bytes = b"",
    ) -> Response:
        """Send one request to the peer (``extra``: more header lines); transport
        failures become :class:`PeerError`."""
        headers = self._headers + extra
        if content_type is not None:
            headers += b"Content-Type: " + content_type + b"\r\n"
        try:
            return await self._conns.request(method, path, headers=headers, body=body)
        except TransportError as exc:
            raise PeerError(f"{self.url}: {exc}") from exc

    def check(self, resp: Response, method: str, group: str) -> None:
        """Raise the error a reply other than 200 stands for (:func:`reply_error`)."""
        if resp.status != 200:
            raise reply_error(
                resp.status,
                resp.headers,
                resp.body,
                url=self.url,
                method=method,
                group=group,
                path=self._base,
            )

    def check_write(self, resp: Response, method: str, group: str) -> None:
        """Raise unless ``resp`` says a PUT or DELETE was done: an empty 200.

        Raises:
            UnsupportedWriteError: a 200 with a body or a protobuf type, the value of a Get:
                golang/groupcache answers every method so, and changes nothing.
            PeerError: any other reply but 200 (:meth:`check`).
        """
        self.check(resp, method, group)
        if resp.body or resp.headers.get("content-type", "").startswith(CONTENT_TYPE):
            raise UnsupportedWriteError(
                f"{self.url}: served the {method} as a Get (200 with a value), as "
                "golang/groupcache does: that peer cannot take Set or Remove, and nothing "
                "changed there"
            )

    def close(self) -> None:
        """Refuse new requests and close the idle connections, without waiting."""
        for batcher in self._batchers.values():
            batcher.close()
        self._conns.close()

    async def aclose(self) -> None:
        """Refuse new requests and close the idle connections to the peer."""
        for batcher in self._batchers.values():
            batcher.close()
        await self._conns.aclose()

    def __repr__(self) -> str:
        return f"<HTTPPeer {self.url}>"


def urlpath(url: str) -> str:
    """Return the path part of a peer URL without its trailing slash (usually empty)."""
    rest = url.split("://", 1)[-1]
    slash = rest.find("/")
    return "" if slash < 0 else rest[slash:].rstrip("/")


def _getter_refused(resp: Response) -> bool:
    """Whether an error reply is a Go getter's (v1: 500, v2: 404 or 503), not the peer
    refusing the request itself ("no such group" is an answer to any method)."""
    return resp.status in (404, 500, 503) and not resp.body.startswith(b"no such group")

"""The HTTP peer client: fetch, set and remove keys on one peer (httpGetter in http.go).

Replies are mapped by :mod:`groupcache._protocol.status`: a missing value (404) →
:class:`NotFoundError` and a failed getter (503) → :class:`RemoteCallError`, both returned
without a local retry (as mailgun); anything else that is not a usable 200 (a peer
without the group, a 404 from outside the protocol, a refused token), and every transport
error or timeout, → a :class:`PeerError`, which the group counts and answers with a
local load. A write (PUT, DELETE) is done only on an empty 200: a 200 with a value is
golang/groupcache serving it as a Get (:class:`UnsupportedWriteError`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Sequence
from typing import Any

from .._core.value import Value, is_utf8
from .._errors import InvalidValueError, UnsupportedWriteError
from .._protocol.bodies import (
    batch_key_cost,
    encode_remove_keys,
    encode_set_request,
)
from .._protocol.headers import (
    CONTENT_TYPE,
    ERROR_HEADER,
    JSON_CONTENT_TYPE,
    MAX_BATCH_KEYS,
    NOT_CACHED,
)
from .._protocol.paths import REMOVE_KEYS, clear_path, handoff_path
from .._protocol.status import lacks_group
from .batch import Batcher, get_batch
from .connections import PeerChannel, Response
from .health import PeerHealth

_ERROR = ERROR_HEADER.lower()
_HANDOFF_TIMEOUT = 1.0
"""Seconds a warm handoff's request may take before the origin is called instead."""
_MIN_ITEM_BYTES = 16
"""Reply bytes reserved per key of a batch: a batch has at most ``max_body_bytes / 16``
keys, so the owner can always answer each one (a value left out takes 5 bytes)."""


class HTTPPeer:
    """A :class:`~groupcache.PeerGetter` over HTTP for the peer at ``channel.url``.

    Args:
        channel: The requests to that peer (its connections, base path and our token).
        batches: Batch requests on the wire at once, once the peer has shown it serves
            them (``X-Groupcache-Batch`` on a reply); 0 never batches. A batch is bounded
            by ``max_body_bytes`` both ways: its keys fit the peer's request limit, and
            the peer leaves out the values that would take its reply over ours (those
            are then fetched with plain GETs).
        max_queued: Gets that may wait for a batch at most (``None``: no bound); more
            fail at once with :class:`PeerError`, so the group loads them locally.
    """

    __slots__ = (
        "_batchers",
        "_batches",
        "_channel",
        "_handoff_ok",
        "_max_queued",
        "_remove_keys_ok",
        "url",
    )

    def __init__(
        self, channel: PeerChannel, *, batches: int = 0, max_queued: int | None = None
    ) -> None:
        self.url = channel.url
        self._channel = channel
        self._batches = batches
        self._max_queued = max_queued
        self._remove_keys_ok: bool | None = None  # None: not known yet
        self._handoff_ok = True  # until the peer shows it is not ours
        self._batchers: dict[str, Batcher] = {}

    def get(self, group: str, key: str) -> Coroutine[Any, Any, Value]:
        """Fetch ``key`` of ``group`` from the peer (see the module doc for errors).

        Once the peer has shown that it serves batches, concurrent gets are coalesced.
        (A plain function returning the coroutine of the request: one coroutine less.)
        """
        channel = self._channel
        if not channel.serves_batches:
            return channel.get_one(group, key)
        return self._get_batched(group, key)

    async def _get_batched(self, group: str, key: str) -> Value:
        batcher = self._batchers.get(group)
        if batcher is None:
            batcher = self._batcher(group, False)
        return await batcher.get(key)

    async def get_rated(self, group: str, key: str) -> Value:
        """As :meth:`get`, asking a peer of ours for its rate of ``key`` too (``"qps"``
        groups): a :class:`~groupcache._core.value.RatedValue` when it reported one."""
        channel = self._channel
        if not channel.serves_batches:
            return await channel.get_one(group, key, True)
        batcher = self._batchers.get(group)
        if batcher is None:
            batcher = self._batcher(group, True)
        return await batcher.get(key)

    def _batcher(self, group: str, rated: bool) -> Batcher:
        channel = self._channel
        limit = channel.conns.max_body_bytes
        batcher = self._batchers[group] = Batcher(
            lambda keys: get_batch(channel, group, keys, rated),
            max_in_flight=self._batches,
            max_keys=max(1, min(MAX_BATCH_KEYS, limit // _MIN_ITEM_BYTES)),
            max_pending=self._max_queued,
            max_bytes=limit,  # the peers' request limit too (as for a Set)
            cost=batch_key_cost,
        )
        return batcher

    async def get_cached(self, group: str, key: str) -> Value | None:
        """Return the peer's cached copy of ``key``, or ``None`` (warm handoff): a GET of
        :func:`~groupcache._protocol.paths.handoff_path`, which our servers answer from
        the cache alone and every Go variant refuses with 400 (such a peer is asked no
        more).

        Raises:
            PeerError: the peer could not be reached or answered garbage.
        """
        channel = self._channel
        if not self._handoff_ok:
            return None
        try:
            async with asyncio.timeout(_HANDOFF_TIMEOUT):
                resp = await channel.request("GET", handoff_path(channel.base, group, key))
        except TimeoutError:
            return None
        if resp.status == 404 and resp.headers.get(_ERROR) == NOT_CACHED:
            return None
        if resp.status == 400:
            self._handoff_ok = False  # not ours: a Go peer
            return None
        channel.check(resp, "GET", group)
        return channel.decode_value(resp)

    @property
    def failing(self) -> bool:
        """Return whether the last request to the peer failed to reach it."""
        return self._channel.health.failures > 0

    @property
    def health(self) -> PeerHealth:
        """Return the peer's health (down after a few failed requests in a row)."""
        return self._channel.health

    async def set(self, group: str, key: str, value: Value) -> None:
        """Store ``value`` in the peer's main cache (HTTP PUT with a ``SetRequest``).

        Raises:
            InvalidValueError: the request would be over ``max_body_bytes``, which the
                peers apply too; nothing is sent.
            UnsupportedWriteError: the peer served the PUT as a Get (golang/groupcache).
            PeerError: any other failure.
        """
        body = self._set_body(group, key, value)
        resp = await self._channel.request(
            "PUT", self._channel.path(group, key), body, content_type=CONTENT_TYPE
        )
        self.check_write(resp, "PUT", group)

    def check_set(self, group: str, key: str, value: Value) -> None:
        """Raise :class:`InvalidValueError` if :meth:`set` would refuse ``value``."""
        self._set_body(group, key, value)

    def _set_body(self, group: str, key: str, value: Value) -> bytes:
        body = encode_set_request(group, key, value)
        limit = self._channel.conns.max_body_bytes
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
        resp = await self._channel.request("DELETE", self._channel.path(group, key))
        self.check_write(resp, "DELETE", group)

    async def clear(self, group: str) -> None:
        """Drop every cached value of ``group`` on the peer: ``DELETE {base}{group}?clear``.

        Raises:
            UnsupportedWriteError: the peer refused the path with 400, as every Go
                variant does (none can clear a group): nothing changed there.
            PeerError: any other failure.
        """
        resp = await self._channel.request("DELETE", clear_path(self._channel.base, group))
        if resp.status == 400:
            raise UnsupportedWriteError(
                f"{self.url}: refused the clear with 400, as Go peers do: that peer cannot "
                "clear a group, and nothing changed there"
            )
        self.check_write(resp, "DELETE", group)

    async def remove_keys(self, group: str, keys: Sequence[str]) -> None:
        """Remove ``keys`` from the peer's caches: ``POST .../_remove-keys/`` with the JSON
        groupcache-go v3 sends, in as few requests as ``max_body_bytes`` allows.

        A key that is not valid UTF-8 (raw bytes, ``surrogateescape``) gets a DELETE of its
        own: JSON cannot carry its bytes. A Go v1/v2 peer serves that POST as a Get of the
        key ``_remove-keys/``: a protobuf reply, or the error its getter gives that key (404,
        500 or 503), or (modernprogram, which reads a Get's body as a ``GetRequest``) 400.
        Such a peer gets one DELETE per key, now and from then on, unless a POST worked on
        it before.
        """
        raw = [k for k in keys if not is_utf8(k)]
        if raw:  # JSON would carry them as lone surrogates, which Go reads as U+FFFD
            writes = [self.remove_keys(group, [k for k in keys if is_utf8(k)])]
            writes += [self.remove(group, key) for key in raw]
            failed: Exception | None = None
            for write in writes:  # every one tried; the first failure raised after
                try:
                    await write
                except Exception as exc:
                    failed = failed or exc
            if failed is not None:
                raise failed
            return
        if self._remove_keys_ok is False:
            for key in keys:
                await self.remove(group, key)
            return
        path = self._channel.path(group, REMOVE_KEYS)
        budget = self._channel.conns.max_body_bytes - len(encode_remove_keys(group, [""]))
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
        resp = await self._channel.request("POST", path, body, content_type=JSON_CONTENT_TYPE)
        if resp.status == 200 and resp.headers.get("content-type", "").startswith(CONTENT_TYPE):
            self._remove_keys_ok = False  # a GetResponse: served as a Get by a Go v2 peer
            return False
        if self._remove_keys_ok is None and (_getter_refused(resp, group) or resp.status == 400):
            # Served as a Get, and the getter said no; or modernprogram, which decodes the
            # body of a Get as its GetRequest, rejected our JSON. The DELETEs that follow
            # are checked one by one, so a peer that did mean the 400 still fails loudly.
            self._remove_keys_ok = False
            return False
        self._channel.check(resp, "POST", group)
        self._remove_keys_ok = True
        return True

    def check_write(self, resp: Response, method: str, group: str) -> None:
        """Raise unless ``resp`` says a PUT or DELETE was done: an empty 200.

        Raises:
            UnsupportedWriteError: a 200 with a body or a protobuf type, the value of a Get:
                golang/groupcache answers every method so, and changes nothing.
            PeerError: any other reply but 200.
        """
        self._channel.check(resp, method, group)
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
        self._channel.conns.close()

    async def aclose(self) -> None:
        """Refuse new requests and close the idle connections to the peer."""
        for batcher in self._batchers.values():
            batcher.close()
        await self._channel.conns.aclose()

    def __repr__(self) -> str:
        return f"<HTTPPeer {self.url}>"


def _getter_refused(resp: Response, group: str) -> bool:
    """Whether an error reply is a Go getter's (v1: 500, v2: 404 or 503), not the peer
    refusing the request itself ("no such group" is an answer to any method)."""
    return resp.status in (404, 500, 503) and not lacks_group(resp.headers, resp.body, group)

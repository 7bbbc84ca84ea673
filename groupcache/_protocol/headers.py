"""Every header the protocol adds to HTTP, the content types it sends, and its limits."""

from __future__ import annotations

import math

CONTENT_TYPE = "application/x-protobuf"
"""Of every protobuf body (a ``GetResponse``, a ``SetRequest``, the batch messages)."""
JSON_CONTENT_TYPE = "application/json"
"""Of the v3 batch remove's body."""

BATCH_HEADER = "X-Groupcache-Batch"
"""A reply header (``1``) by which our servers say they serve batch gets."""
RATE_HEADER = "X-Groupcache-Rate"
"""Sent (``1``) with a get by a ``hot_cache="qps"`` group's node, only to peers whose
replies carried :data:`BATCH_HEADER` (ours): report your rate of the key (``GetResponse``
field 2, ``GetBatchItem`` field 7). Go peers never get it, so never send the field."""
REPLY_LIMIT_HEADER = "X-Groupcache-Reply-Limit"
"""Sent with a batch get: the largest reply body, in bytes, that the requester accepts."""
ERROR_HEADER = "X-Groupcache-Error"
"""On our servers' 404s, what is missing: :data:`NOT_FOUND` or :data:`NO_SUCH_GROUP`."""
NOT_FOUND = "not-found"
NO_SUCH_GROUP = "no-such-group"
NOT_CACHED = "not-cached"
"""On the 404 that answers a warm handoff's cached-only GET of a value not cached."""
GRACE_HEADER = "X-Groupcache-Grace"
"""On a 200 of a value with a grace (``Value.grace``): its seconds, for our peers to serve
their hot copy stale after its expiry too. Go peers ignore it."""
NEGATIVE_TTL_HEADER = "X-Groupcache-Negative-TTL"
"""On a 404 ``not-found`` that this node remembers (``negative_ttl``): the seconds left, for
our peers to remember it as long. Go peers ignore it."""
MAX_SECONDS = 10 * 365 * 86400.0
"""The longest grace or TTL a peer's header or batch item is taken for (ten years)."""
CLIENT_HEADER = "X-Groupcache-Client"
"""Sent (``1``) by :class:`groupcache.Client`: route this GET through the ring like a
local get (a GET from a peer is always served by the node it reaches)."""

MAX_BATCH_KEYS = 512
"""Most keys one batch request may carry."""
ERROR_BODY_LIMIT = 1 << 20
"""As mailgun, an error body is reported up to 1 MiB."""


def format_seconds(seconds: float) -> str:
    """``seconds`` for :data:`GRACE_HEADER` or :data:`NEGATIVE_TTL_HEADER` (``"30"``, ``"2.5"``)."""
    return format(seconds, ".6g")


def parse_seconds(given: object) -> float:
    """Seconds from a peer (a header's text, or a batch item's double): 0 unless they are
    positive, finite and at most :data:`MAX_SECONDS` (garbage is ignored, not refused)."""
    if isinstance(given, str):
        if not given.isascii() or len(given) > 32:
            return 0.0
        try:
            given = float(given)
        except ValueError:
            return 0.0
    if not isinstance(given, float) or not math.isfinite(given):
        return 0.0
    return given if 0 < given <= MAX_SECONDS else 0.0

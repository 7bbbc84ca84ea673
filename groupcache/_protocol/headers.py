"""Every header the protocol adds to HTTP, the content types it sends, and its limits."""

from __future__ import annotations

CONTENT_TYPE = "application/x-protobuf"
"""Of every protobuf body (a ``GetResponse``, a ``SetRequest``, the batch messages)."""
JSON_CONTENT_TYPE = "application/json"
"""Of the v3 batch remove's body."""

BATCH_HEADER = "X-Groupcache-Batch"
"""A reply header (``1``) by which our servers say they serve batch gets."""
RATE_HEADER = "X-Groupcache-Rate"
"""Sent (``1``) with a get by a ``hot_cache="qps"`` group's node, only to peers whose
replies carried :data:`BATCH_HEADER` (ours): report your rate of the key (``GetResponse``
field 2, ``GetBatchItem`` field 5). Go peers never get it, so never send the field."""
REPLY_LIMIT_HEADER = "X-Groupcache-Reply-Limit"
"""Sent with a batch get: the largest reply body, in bytes, that the requester accepts."""
ERROR_HEADER = "X-Groupcache-Error"
"""On our servers' 404s, what is missing: :data:`NOT_FOUND` or :data:`NO_SUCH_GROUP`."""
NOT_FOUND = "not-found"
NO_SUCH_GROUP = "no-such-group"
NOT_CACHED = "not-cached"
"""On the 404 that answers a warm handoff's cached-only GET of a value not cached."""
CLIENT_HEADER = "X-Groupcache-Client"
"""Sent (``1``) by :class:`groupcache.Client`: route this GET through the ring like a
local get (a GET from a peer is always served by the node it reaches)."""

MAX_BATCH_KEYS = 512
"""Most keys one batch request may carry."""
ERROR_BODY_LIMIT = 1 << 20
"""As mailgun, an error body is reported up to 1 MiB."""

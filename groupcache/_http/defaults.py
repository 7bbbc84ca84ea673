"""HTTPPool's defaults, and the request-line bound its servers derive from the groups."""

from __future__ import annotations

from .._core.value import DEFAULT_MAX_KEY_BYTES
from .._core.workspace import Workspace

DEFAULT_BASE_PATH = "/_groupcache/"
DEFAULT_TIMEOUT = 15.0
"""Seconds a peer request may take in all (modernprogram's response-header timeout)."""
DEFAULT_CONNECT_TIMEOUT = 2.0
DEFAULT_MAX_BODY_BYTES = 64 << 20
DEFAULT_MAX_CONNECTIONS_PER_PEER = 32
DEFAULT_MAX_QUEUED_PER_PEER = 1024
"""Requests (or batched gets) that may wait for a busy peer; more are loaded locally."""
DEFAULT_BATCHES_IN_FLIGHT = 2
"""Batch requests on the wire to one peer at once; gets arriving meanwhile join the next."""
DEFAULT_HANDOFF_WINDOW = 60.0
"""Seconds after a membership change during which previous owners hand copies over."""
DEFAULT_SHUTDOWN_TIMEOUT = 2.0
"""Seconds :meth:`HTTPPool.aclose` lets requests in progress finish before cancelling them."""


def request_line_limit(workspace: Workspace, base_path: str) -> int:
    """The longest request line a peer may send: method, base path, group, key, version."""
    longest_key = max([DEFAULT_MAX_KEY_BYTES, *(g.max_key_bytes for g in workspace.groups())])
    return 3 * (longest_key + 1024) + len(base_path) + 64  # 1024: a long group name

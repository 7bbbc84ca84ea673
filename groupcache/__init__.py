"""groupcache: a pure-Python asyncio port of Go's groupcache.

A :class:`Group` is a read-through cache with a getter; concurrent misses for a key run the
getter once, and with an :class:`HTTPPool` each key has one owner in a cluster of peers,
wire- and ring-compatible with Go groupcache.
"""

from ._cache import CacheStats
from ._client import Client
from ._errors import (
    DuplicateGroupError,
    GroupcacheError,
    GroupNotFoundError,
    InvalidKeyError,
    InvalidValueError,
    MultiError,
    NotFoundError,
    PeerError,
    RemoteCallError,
    UnsupportedWriteError,
)
from ._group import Group
from ._keys import DEFAULT_MAX_KEY_BYTES
from ._peers import NoPeers, PeerGetter, PeerPicker
from ._pool import DEFAULT_BASE_PATH, HTTPPool, normalize_url
from ._ring import DEFAULT_REPLICAS, HashRing
from ._stats import GroupStats
from ._value import Value
from ._workspace import Workspace, default_workspace, get_group

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_BASE_PATH",
    "DEFAULT_MAX_KEY_BYTES",
    "DEFAULT_REPLICAS",
    "CacheStats",
    "Client",
    "DuplicateGroupError",
    "Group",
    "GroupNotFoundError",
    "GroupStats",
    "GroupcacheError",
    "HTTPPool",
    "HashRing",
    "InvalidKeyError",
    "InvalidValueError",
    "MultiError",
    "NoPeers",
    "NotFoundError",
    "PeerError",
    "PeerGetter",
    "PeerPicker",
    "RemoteCallError",
    "UnsupportedWriteError",
    "Value",
    "Workspace",
    "default_workspace",
    "get_group",
    "normalize_url",
]

"""groupcache: a pure-Python asyncio port of Go's groupcache.

A :class:`Group` is a read-through cache with a getter; concurrent misses for a key run the
getter once, and with an :class:`HTTPPool` each key has one owner in a cluster of peers,
wire- and ring-compatible with Go groupcache.
"""

from ._app.client import Client
from ._core.cache import CacheStats
from ._core.codec import BYTES, JSON, STR, Codec, JsonCodec, ProtobufCodec
from ._core.group import Group
from ._core.hot import DEFAULT_HOT_QPS, HotCachePolicy
from ._core.peers import NoPeers, PeerGetter, PeerPicker
from ._core.ring import DEFAULT_REPLICAS, HashRing
from ._core.stats import GroupStats
from ._core.value import DEFAULT_MAX_KEY_BYTES, Value
from ._core.workspace import Workspace, default_workspace, get_group
from ._errors import (
    DuplicateGroupError,
    ForeignReplyError,
    GroupcacheError,
    GroupNotFoundError,
    InvalidKeyError,
    InvalidValueError,
    MultiError,
    NotFoundError,
    PeerAuthError,
    PeerError,
    RemoteCallError,
    UnsupportedWriteError,
)
from ._http.defaults import DEFAULT_BASE_PATH
from ._http.pool import HTTPPool
from ._http.serving import ServerKind
from ._http.urls import normalize_url

__version__ = "0.1.0"

__all__ = [
    "BYTES",
    "DEFAULT_BASE_PATH",
    "DEFAULT_HOT_QPS",
    "DEFAULT_MAX_KEY_BYTES",
    "DEFAULT_REPLICAS",
    "JSON",
    "STR",
    "CacheStats",
    "Client",
    "Codec",
    "DuplicateGroupError",
    "ForeignReplyError",
    "Group",
    "GroupNotFoundError",
    "GroupStats",
    "GroupcacheError",
    "HTTPPool",
    "HashRing",
    "HotCachePolicy",
    "InvalidKeyError",
    "InvalidValueError",
    "JsonCodec",
    "MultiError",
    "NoPeers",
    "NotFoundError",
    "PeerAuthError",
    "PeerError",
    "PeerGetter",
    "PeerPicker",
    "ProtobufCodec",
    "RemoteCallError",
    "ServerKind",
    "UnsupportedWriteError",
    "Value",
    "Workspace",
    "default_workspace",
    "get_group",
    "normalize_url",
]

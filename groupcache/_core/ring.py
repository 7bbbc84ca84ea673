"""Consistent-hash rings, compatible with each Go groupcache family member (consistenthash/).

Each replica ``i`` of member ``m`` is a point ``point_hash(str(i) + m)`` on the circle; a key
belongs to the member of the first point at or after ``key_hash(key)``, wrapping to the
first point. When two points collide the member added last wins, as in golang/mailgun.

Presets (see the README's compatibility table):

* ``"golang"``: crc32-IEEE for points and keys; members are peer URLs (golang/groupcache).
* ``"mailgun"``: FNV-1-64 over the md5 hex of ``str(i) + m`` for points, FNV-1-64 over the
  raw key; members are peer URLs (mailgun and modernprogram v2).
* ``"groupcache-go"``: as ``"mailgun"``, but members are ``host:port`` (groupcache-go v3).
* ``"mmh3"``: MurmurHash3 x64 for points and keys; members are URLs. Our default: fast,
  evenly spread, and free of FNV-1's clustering of sequential keys.
"""

from __future__ import annotations

import bisect
import hashlib
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import mmh3

from .._errors import GroupcacheError

HashFn = Callable[[bytes], int]

DEFAULT_REPLICAS = 50
_M64 = (1 << 64) - 1
_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211


def fnv1_64(data: bytes) -> int:
    """Return FNV-1 (multiply, then xor) 64-bit of ``data``, as segmentio/fasthash fnv1."""
    h = _FNV_OFFSET
    for byte in data:
        h = ((h * _FNV_PRIME) & _M64) ^ byte
    return h


def crc32(data: bytes) -> int:
    """Return crc32-IEEE of ``data`` (Go's ``crc32.ChecksumIEEE``)."""
    return zlib.crc32(data)


def mmh3_64(data: bytes) -> int:
    """Return the first 64 bits of MurmurHash3 x64-128 of ``data``, unsigned."""
    return int(mmh3.hash64(data, signed=False)[0])


def _md5_fnv(data: bytes) -> int:
    return fnv1_64(hashlib.md5(data).hexdigest().encode())


def url_member(url: str) -> str:
    """Return ``url`` itself: golang and mailgun hash the URL string given to Set()."""
    return url


def host_port_member(url: str) -> str:
    """Return ``host:port`` of ``url``, as groupcache-go v3 hashes ``peer.Info.Address``.

    Host and port are kept as written (v3 hashes the address byte for byte, upper case
    included); only a missing port is made explicit.

    Raises:
        GroupcacheError: the URL has no host, or an invalid port.
    """
    parts = urlsplit(url if "//" in url else "//" + url)
    try:
        port = parts.port
    except ValueError as exc:
        raise GroupcacheError(f"invalid peer URL {url!r}: {exc}") from exc
    if parts.hostname is None:
        raise GroupcacheError(f"peer URL has no host: {url!r}")
    address = parts.netloc.rpartition("@")[2]  # hostname, unlike netloc, is lower-cased
    if port is not None:
        return address
    default = 443 if parts.scheme == "https" else 80
    return f"{address.removesuffix(':')}:{default}"  # "http://h:" has an empty port


@dataclass(frozen=True, slots=True)
class RingPreset:
    """How a ring hashes keys and points and which string stands for a peer."""

    name: str
    key_hash: HashFn
    point_hash: HashFn
    member: Callable[[str], str]


PRESETS: dict[str, RingPreset] = {
    "golang": RingPreset("golang", crc32, crc32, url_member),
    "mailgun": RingPreset("mailgun", fnv1_64, _md5_fnv, url_member),
    "groupcache-go": RingPreset("groupcache-go", fnv1_64, _md5_fnv, host_port_member),
    "mmh3": RingPreset("mmh3", mmh3_64, mmh3_64, url_member),
}


def resolve_preset(ring: str | HashFn | RingPreset) -> RingPreset:
    """Return the preset named by ``ring``, or wrap a custom hash function (URL members).

    Raises:
        GroupcacheError: unknown preset name.
    """
    if isinstance(ring, RingPreset):
        return ring
    if isinstance(ring, str):
        try:
            return PRESETS[ring]
        except KeyError:
            raise GroupcacheError(
                f"unknown ring {ring!r}; choose one of {sorted(PRESETS)} or pass a hash function"
            ) from None
    if callable(ring):
        return RingPreset(getattr(ring, "__name__", "custom"), ring, ring, url_member)
    raise GroupcacheError(f"ring must be a preset name or a hash function, not {ring!r}")


class HashRing:
    """A consistent-hash ring of member strings (Go's ``consistenthash.Map``).

    Lookups are a hash and a binary search; rebuilding is O(members * replicas).
    """

    __slots__ = ("_key_hash", "_point_hash", "_table", "replicas")

    def __init__(
        self,
        *,
        replicas: int = DEFAULT_REPLICAS,
        key_hash: HashFn = crc32,
        point_hash: HashFn | None = None,
    ) -> None:
        if replicas < 1:
            raise GroupcacheError(f"replicas must be at least 1, not {replicas}")
        self.replicas = replicas
        self._key_hash = key_hash
        self._point_hash = point_hash or key_hash
        # (sorted points, their owners): one attribute, replaced whole, so that a get on
        # another thread (a discovery thread calling set_peers) sees one ring or the other
        self._table: tuple[list[int], list[str]] = ([], [])

    def add(self, *members: str) -> None:
        """Add members; on a point collision the member added last wins."""
        self._table = self._placed(dict(zip(*self._table, strict=True)), members)

    def set(self, members: Iterable[str]) -> None:
        """Replace all members, in order (order matters only for collisions)."""
        self._table = self._placed({}, members)

    def _placed(self, table: dict[int, str], members: Iterable[str]) -> tuple[list[int], list[str]]:
        """The ring of ``table`` (point → owner) with ``members`` placed on it."""
        point_hash = self._point_hash
        for member in members:
            for i in range(self.replicas):
                table[point_hash(f"{i}{member}".encode())] = member
        points = sorted(table)
        return points, [table[p] for p in points]

    def get(self, key: str) -> str | None:
        """Return the member owning ``key``, or ``None`` when the ring is empty."""
        points, owners = self._table
        if not points:
            return None
        data = key.encode() if key.isascii() else key.encode("utf-8", "surrogateescape")
        i = bisect.bisect_left(points, self._key_hash(data))
        return owners[i if i < len(points) else 0]

    def successors(self, key: str) -> Iterator[str]:
        """Yield the distinct members clockwise from ``key``'s point, its owner first:
        the order every node agrees on for failing over from a member that is down."""
        points, owners = self._table
        if not points:
            return
        data = key.encode() if key.isascii() else key.encode("utf-8", "surrogateescape")
        start = bisect.bisect_left(points, self._key_hash(data))
        seen: set[str] = set()
        n = len(points)
        for j in range(n):
            member = owners[(start + j) % n]
            if member not in seen:
                seen.add(member)
                yield member

    @property
    def members(self) -> list[str]:
        """Return the distinct members, sorted."""
        return sorted(set(self._table[1]))

    def __len__(self) -> int:
        """Return the number of points."""
        return len(self._table[0])

    def __repr__(self) -> str:
        points, owners = self._table
        return f"<HashRing members={len(set(owners))} points={len(points)}>"

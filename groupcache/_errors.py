"""The groupcache error hierarchy.

Exceptions raised by a user's getter are never wrapped: they reach the caller unchanged.
Everything groupcache itself raises derives from :class:`GroupcacheError`.
"""

from __future__ import annotations


class GroupcacheError(Exception):
    """Base class of every error groupcache raises itself."""


class InvalidKeyError(GroupcacheError, ValueError):
    """A key is not a ``str`` or is longer than the group's key limit, or a Set's key is
    not valid UTF-8 (HTTP 400 on the wire)."""


class InvalidValueError(GroupcacheError, TypeError):
    """A getter or caller supplied a value that is not bytes-like, or is too large."""


class DuplicateGroupError(GroupcacheError):
    """A group with this name already exists in the workspace."""


class NotFoundError(GroupcacheError, LookupError):
    """The value does not exist.

    A getter raises it to say so. It crosses the wire as HTTP 404 (mailgun's
    ``ErrNotFound``) and is returned to the caller without a local retry.
    """

    negative_ttl: float = 0.0
    """Seconds the node that said so still remembers it (``Group(negative_ttl=...)``),
    set on the errors groupcache raises; 0: not remembered."""


class GroupNotFoundError(NotFoundError):
    """The node that was asked has no group of this name (HTTP 404 "no such group").

    :meth:`Client.get <groupcache.Client.get>` raises it. A :class:`Group` whose owning
    peer lacks the group (a rolling deploy that adds a group) treats it as a peer error
    and loads the key locally: unlike its base class, it says nothing about the value.
    """


class RemoteCallError(GroupcacheError):
    """The owning peer's getter failed (HTTP 503); returned without a local retry."""


class PeerError(GroupcacheError):
    """A peer could not be reached or answered something unusable.

    The group counts it in ``peer_errors`` and falls back to a local load.
    """


class UnsupportedWriteError(PeerError):
    """A peer cannot take Set or Remove: it served the PUT or DELETE as a Get (200 with a
    value), as golang/groupcache does. Nothing changed on that peer."""


class MultiError(GroupcacheError):
    """Several peers failed during a broadcast (Set or Remove); ``errors`` has them all."""

    def __init__(self, errors: list[BaseException]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class PeerAuthError(PeerError):
    """A peer refused our token (HTTP 401 or 403): the nodes' ``token=`` differ."""


class ForeignReplyError(PeerError):
    """A peer's 404 did not come from the groupcache protocol: nothing is served at the
    request's path there (a ``base_path`` or URL that differs between the nodes)."""


# -- internal: the protocol's and the transport's errors. A server answers them with a
# 400, a peer client turns them into a PeerError naming the peer (a local load).


class WireError(GroupcacheError):
    """A body or path does not follow the protocol."""


class WireKeyError(WireError, InvalidKeyError):
    """A body carries a key that cannot be one (a ``SetRequest`` key that is not UTF-8)."""


class TransportError(Exception):
    """The request failed below HTTP semantics: connect, send, framing, size or time."""


class ReplyTooLargeError(TransportError):
    """The reply's body is over ``max_body``: not read (the connection is closed)."""


class ClosedError(ConnectionError):
    """The peer closed the connection before the whole response had arrived."""


class QueueFullError(TransportError):
    """Every connection is busy and the queue of waiting requests is full: not sent."""

"""Writes to every node: a Set, Remove, batch Remove or clear goes to the key's owner
first (waiting for it at most the picker's write grace), then here and to every other
peer, each failure named; a refusal by the owner within the grace stops the write."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from .._errors import MultiError, PeerError, UnsupportedWriteError
from .peers import (
    DEFAULT_WRITE_GRACE,
    Clearer,
    Handoff,
    KeysRemover,
    PeerGetter,
    PeerPicker,
    SetChecker,
    WriteGrace,
)
from .value import Value


def check_set_everywhere(picker: PeerPicker, group: str, key: str, value: Value) -> None:
    """Check a Set against every peer that can tell, before anything is written.

    Raises:
        InvalidValueError: some peer would refuse the value.
    """
    if isinstance(picker, SetChecker):  # e.g. HTTPPool: one check for all its peers
        picker.check_set(group, key, value)
        return
    for peer in picker.remote_peers():
        if isinstance(peer, SetChecker):
            peer.check_set(group, key, value)


async def _clear(peer: PeerGetter, group: str) -> None:
    if not isinstance(peer, Clearer):
        raise UnsupportedWriteError(f"{peer.url}: this peer client cannot clear a group")
    await peer.clear(group)


async def broadcast_clear(picker: PeerPicker, group: str, local: Callable[[], None]) -> None:
    """Clear ``group`` here (``local``) and on every peer; no peer owns a clear, so none is
    waited for first. Flights in progress are detached everywhere (as by a Remove).

    Raises:
        MultiError: some peers failed, each error naming its peer; the others, and this
            node, are cleared.
    """
    _, errors = await _write([], picker, lambda p: _clear(p, group), local)
    if errors:
        raise MultiError(errors)


async def _remove_keys(peer: PeerGetter, group: str, keys: Sequence[str]) -> None:
    if isinstance(peer, KeysRemover):
        await peer.remove_keys(group, keys)
    else:
        for key in keys:
            await peer.remove(group, key)


async def broadcast(
    picker: PeerPicker,
    key: str,
    call: Callable[[PeerGetter], Awaitable[None]],
    local: Callable[[], None],
) -> None:
    """Apply a write (Set or Remove) to ``key``'s owner, then here and every other peer.

    Raises:
        UnsupportedWriteError: the owner refused within the grace: it cannot take writes
            (golang/groupcache). Nothing was changed anywhere, so every node still agrees.
        PeerError: only the owner failed (naming it), a refusal after the grace included;
            here and every other peer have the write.
        MultiError: other peers failed (and maybe the owner), each error naming its peer.
    """
    owner = picker.pick_peer(key)
    owners = [] if owner is None else [owner]
    owner_errors, errors = await _write(owners, picker, call, local, final=UnsupportedWriteError)
    if owner_errors and not errors:
        raise owner_errors[0]
    if errors:
        raise MultiError(owner_errors + errors)


async def broadcast_set(
    picker: PeerPicker, group: str, key: str, value: Value, local: Callable[[str, Value], None]
) -> None:
    """Set ``key`` to ``value`` on its owner, then here (``local``) and on every other peer,
    once every peer that can tell has said it would take the value (:func:`broadcast`).

    Raises:
        InvalidValueError: some peer would refuse the value; nothing was written.
    """
    check_set_everywhere(picker, group, key, value)
    await broadcast(picker, key, lambda p: p.set(group, key, value), lambda: local(key, value))


async def broadcast_keys(
    picker: PeerPicker, group: str, keys: Sequence[str], local: Callable[[str], None]
) -> None:
    """Remove ``keys`` from their owners, then here and from every other peer.

    Raises:
        MultiError: some peers failed, owners or not (each error names its peer); every
            other peer and this node have removed the keys, unless an owner refused
            within the grace (:class:`UnsupportedWriteError`): then nothing else was.
    """
    if not keys:
        return
    owners = list({id(p): p for p in map(picker.pick_peer, keys) if p is not None}.values())

    def remove_here() -> None:
        for key in keys:
            local(key)

    owner_errors, errors = await _write(
        owners,
        picker,
        lambda p: _remove_keys(p, group, keys),
        remove_here,
        final=UnsupportedWriteError,  # nothing removed here, nor from the other peers
    )
    if owner_errors or errors:
        raise MultiError(owner_errors + errors)


async def _write(
    owners: Sequence[PeerGetter],
    picker: PeerPicker,
    call: Callable[[PeerGetter], Awaitable[None]],
    local: Callable[[], None],
    *,
    final: type[BaseException] | None = None,
) -> tuple[list[BaseException], list[BaseException]]:
    """Write to the owners, then, once they answered or the grace is over, here and to
    the other peers. An owner that took the write after the others got it may have
    served them the old value meanwhile: everyone that has the write gets it again.
    An owner error of type ``final`` within the grace ends the write there, with
    nothing written here or to the other peers (the other owners are still waited for);
    one that comes after the grace becomes a :class:`PeerError` that says the others
    have the write. Return the owners' errors and the other peers' errors."""
    tasks = [asyncio.ensure_future(_attempt(p, call)) for p in owners]
    grace = picker.write_grace if isinstance(picker, WriteGrace) else DEFAULT_WRITE_GRACE
    try:
        late = False
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=grace)
            late = bool(pending)
            if final and any(isinstance(t.result(), final) for t in done):
                answers = await asyncio.gather(*tasks)  # every owner's outcome, reported
                return [e for e in answers if e is not None], []
        local()
        others = [p for p in picker.remote_peers() if all(p is not o for o in owners)]
        other_errors, _ = await asyncio.gather(
            asyncio.gather(*(_attempt(p, call) for p in others)),
            _write_departed(picker, [*owners, *others], call),
        )
        owner_errors = await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
    if final and late:
        owner_errors = [_too_late(e, grace) if isinstance(e, final) else e for e in owner_errors]
    written = [
        p
        for p, e in zip([*owners, *others], [*owner_errors, *other_errors], strict=True)
        if e is None
    ]
    errors = [e for e in other_errors if e is not None]
    if late and any(e is None for e in owner_errors):
        local()
        again = await asyncio.gather(*(_attempt(p, call) for p in written))
        errors += [e for e in again if e is not None]
    return [e for e in owner_errors if e is not None], errors


async def _write_departed(
    picker: PeerPicker,
    written: Sequence[PeerGetter],
    call: Callable[[PeerGetter], Awaitable[None]],
) -> None:
    """Give the write, best-effort, to the previous owners that left the ring within the
    handoff window (they may still hand copies over); one that fails is asked no more."""
    if not isinstance(picker, Handoff):
        return
    donors = [p for p in picker.departed() if all(p is not w for w in written)]
    errors = await asyncio.gather(*(_attempt(p, call) for p in donors))
    for donor, error in zip(donors, errors, strict=True):
        if error is not None:
            picker.drop_donor(donor)


def _too_late(err: BaseException, grace: float) -> PeerError:
    """An owner's refusal that came after the others were written: say that they were."""
    late = PeerError(
        f"{err} (it answered after the {grace:g} s write grace: this node and the other "
        "peers have the write, the owner keeps its old value; retry or remove the key)"
    )
    late.__cause__ = err
    return late


async def _attempt(
    peer: PeerGetter, call: Callable[[PeerGetter], Awaitable[None]]
) -> BaseException | None:
    """Return ``call(peer)``'s error, or ``None``. An error that does not name the peer
    becomes a :class:`PeerError` that does, caused by it."""
    try:
        await call(peer)
    except Exception as exc:
        if peer.url in str(exc):
            return exc
        named = PeerError(f"{peer.url}: {exc}")
        named.__cause__ = exc
        return named
    return None

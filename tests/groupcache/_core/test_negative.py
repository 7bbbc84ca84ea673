"""Negative caching: ``Group(negative_ttl=...)`` remembers a getter's ``NotFoundError``
for that many seconds (a fake clock; no sleeps)."""

from __future__ import annotations

import pytest

from groupcache import (
    Group,
    GroupcacheError,
    GroupNotFoundError,
    NotFoundError,
    PeerError,
    Value,
    Workspace,
)
from tests.groupcache.helpers import ModPicker
from tests.support.clock import Clock


class Missing:
    """A getter for which keys starting with ``gone`` do not exist."""

    def __init__(self, error: type[Exception] = NotFoundError) -> None:
        self.calls = 0
        self.error = error

    async def __call__(self, key: str) -> bytes:
        self.calls += 1
        if key.startswith("gone"):
            raise self.error(f"{key} does not exist")
        return b"here:" + key.encode()


def make(workspace: Workspace, ttl: float = 5.0, size: int = 1 << 20) -> tuple[Group, Missing]:
    origin = Missing()
    g = Group("neg", origin, size, workspace=workspace, clock=clock, negative_ttl=ttl)
    return g, origin


clock = Clock()


async def test_a_not_found_is_remembered_for_negative_ttl_seconds(workspace: Workspace) -> None:
    g, origin = make(workspace)
    for _ in range(3):
        with pytest.raises(NotFoundError, match="gone1 does not exist"):
            await g.get("gone1")
    assert origin.calls == 1
    assert g.stats().negative_hits == 2
    assert g.negative_ttl_left("gone1") == 5.0
    with pytest.raises(NotFoundError) as remembered:
        await g.get("gone1")
    assert remembered.value.negative_ttl == 5.0
    clock.now += 5.0  # valid at exactly the deadline, as values are
    with pytest.raises(NotFoundError):
        await g.get_value("gone1", from_peer=True)
    assert origin.calls == 1
    clock.now += 0.5
    assert g.negative_ttl_left("gone1") is None
    with pytest.raises(NotFoundError):
        await g.get("gone1")
    assert origin.calls == 2


async def test_without_negative_ttl_every_get_asks_the_getter_as_before(
    workspace: Workspace,
) -> None:
    origin = Missing()
    g = Group("off", origin, 1 << 20, workspace=workspace)
    for _ in range(3):
        with pytest.raises(NotFoundError):
            await g.get("gone")
    assert origin.calls == 3
    assert g.negative_ttl_left("gone") is None


async def test_other_errors_are_never_remembered(workspace: Workspace) -> None:
    for error in (RuntimeError, GroupNotFoundError):
        origin = Missing(error)
        g = Group(f"e{error.__name__}", origin, 1 << 20, workspace=workspace, negative_ttl=5)
        for _ in range(2):
            with pytest.raises(error):
                await g.get("gone")
        assert origin.calls == 2


async def test_set_remove_and_clear_forget_a_remembered_not_found(workspace: Workspace) -> None:
    g, origin = make(workspace)
    with pytest.raises(NotFoundError):
        await g.get("gone-a")
    await g.set("gone-a", b"now it exists")
    assert await g.get("gone-a") == b"now it exists"

    def remove() -> None:
        g.local_remove("gone-b")

    for forget in (remove, g.clear):
        with pytest.raises(NotFoundError):
            await g.get("gone-b")
        calls = origin.calls
        forget()
        with pytest.raises(NotFoundError):
            await g.get("gone-b")
        assert origin.calls == calls + 1


async def test_remembered_not_founds_take_a_bounded_share_of_the_budget(
    workspace: Workspace,
) -> None:
    g, _origin = make(workspace, size=8000)  # an eighth: 1000 bytes for not-founds
    for i in range(200):
        with pytest.raises(NotFoundError):
            await g.get(f"gone-{i:04d}")
    assert 0 < g._negative.nbytes <= 1000
    assert len(g._negative) < 200
    assert g.negative_ttl_left("gone-0199") is not None  # the newest kept, the oldest not
    assert g.negative_ttl_left("gone-0000") is None


async def test_without_a_cache_nothing_is_remembered(workspace: Workspace) -> None:
    g, origin = make(workspace, size=0)
    for _ in range(2):
        with pytest.raises(NotFoundError):
            await g.get("gone")
    assert origin.calls == 2


def test_negative_ttl_must_be_finite_non_negative_seconds(workspace: Workspace) -> None:
    for i, bad in enumerate((-1.0, float("nan"), float("inf"), "5", True)):
        with pytest.raises(GroupcacheError, match="negative_ttl"):
            Group(f"bad{i}", Missing(), 100, workspace=workspace, negative_ttl=bad)  # type: ignore[call-overload]


class OwnerSaysMissing:
    url = "fake://owner"

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.asked = 0

    async def get(self, group: str, key: str) -> Value:
        self.asked += 1
        if key.startswith("peerfail"):
            raise PeerError("down")
        exc = NotFoundError(f"{key}: not at the owner")
        exc.negative_ttl = self.ttl
        raise exc

    async def set(self, group: str, key: str, value: Value) -> None: ...
    async def remove(self, group: str, key: str) -> None: ...


async def test_an_owners_remembered_not_found_is_remembered_here_for_the_ttl_it_carries(
    workspace: Workspace,
) -> None:
    owner = OwnerSaysMissing(ttl=3.0)
    workspace.set_peer_picker(ModPicker([owner]))  # type: ignore[list-item]
    g = Group("req", Missing(), 1 << 20, workspace=workspace, clock=clock)  # negative_ttl=0
    for _ in range(3):
        with pytest.raises(NotFoundError, match="not at the owner"):
            await g.get("k")
    assert owner.asked == 1
    assert g.negative_ttl_left("k") == 3.0
    clock.now += 3.5
    with pytest.raises(NotFoundError):
        await g.get("k")
    assert owner.asked == 2


async def test_an_owners_plain_not_found_is_not_remembered(workspace: Workspace) -> None:
    owner = OwnerSaysMissing(ttl=0.0)  # a Go owner, or ours without negative_ttl
    workspace.set_peer_picker(ModPicker([owner]))  # type: ignore[list-item]
    g = Group("req0", Missing(), 1 << 20, workspace=workspace, negative_ttl=9)
    for _ in range(2):
        with pytest.raises(NotFoundError):
            await g.get("k")
    assert owner.asked == 2


async def test_an_owners_not_found_follows_the_hot_cache_policy(workspace: Workspace) -> None:
    owner = OwnerSaysMissing(ttl=3.0)
    workspace.set_peer_picker(ModPicker([owner]))  # type: ignore[list-item]
    g = Group("never", Missing(), 1 << 20, workspace=workspace, hot_cache="never")
    for _ in range(2):
        with pytest.raises(NotFoundError):
            await g.get("k")
    assert owner.asked == 2

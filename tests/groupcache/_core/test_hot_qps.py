"""Hot-cache admission by the owner's reported rate (``hot_cache="qps"``) and the owner's
per-key rate estimate, with fake clocks."""

from __future__ import annotations

import math
import random

import pytest

from groupcache import DEFAULT_HOT_QPS, Group, GroupcacheError, Value, Workspace
from groupcache._core.hot import HotAdmission
from groupcache._core.rates import RateTable
from groupcache._core.value import RatedValue
from tests.groupcache.helpers import FakePeer, ModPicker
from tests.support.clock import Clock
from tests.support.getters import CountingGetter


def test_a_steady_rate_is_estimated_in_requests_per_second() -> None:
    clock = Clock()
    rates = RateTable(clock)
    rate = 0.0
    for _ in range(600 * 5):  # 5 per second for ten minutes
        clock.now += 0.2
        rate = rates.hit("k")
    assert rate == pytest.approx(5.0, rel=0.02)


def test_the_rate_decays_by_e_each_window_without_requests() -> None:
    clock = Clock()
    rates = RateTable(clock, window=60.0)
    for _ in range(120):
        rates.hit("k")  # 120 at one instant: 2 per second over the window
    assert rates.rate("k") == pytest.approx(2.0)
    clock.now += 60.0
    assert rates.rate("k") == pytest.approx(2.0 / math.e)
    assert rates.hit("k") == pytest.approx(2.0 / math.e + 1 / 60)


def test_an_unknown_key_has_rate_zero_and_a_first_request_one_per_window() -> None:
    rates = RateTable(Clock(), window=60.0)
    assert rates.rate("k") == 0.0
    assert rates.hit("k") == pytest.approx(1 / 60)


def test_a_clock_going_back_does_not_inflate_the_rate() -> None:
    clock = Clock()
    rates = RateTable(clock, window=60.0)
    rates.hit("k")
    clock.now -= 3600.0
    assert rates.hit("k") == pytest.approx(2 / 60)
    assert rates.rate("k") == pytest.approx(2 / 60)


def test_the_table_keeps_at_most_capacity_keys_dropping_the_least_recently_asked() -> None:
    rates = RateTable(Clock(), capacity=3)
    for key in ("a", "b", "c"):
        rates.hit(key)
    rates.hit("a")  # b is now the least recently asked
    rates.hit("d")
    assert len(rates) == 3
    assert rates.rate("b") == 0.0
    assert rates.rate("a") > 0.0
    assert rates.rate("c") > 0.0
    assert rates.rate("d") > 0.0


def test_qps_admission_takes_a_value_whose_owner_rate_reaches_the_threshold() -> None:
    admission = HotAdmission("qps", random.Random(1), hot_qps=2.0)
    assert admission.rated
    assert admission.judge(RatedValue(b"v", None, rate=2.0)) == (Value(b"v"), True)
    assert admission.judge(RatedValue(b"v", 5.0, rate=1.99)) == (Value(b"v", 5.0), False)


def test_qps_admission_returns_plain_values_whatever_it_decides() -> None:
    admission = HotAdmission("qps", random.Random(1), hot_qps=0.0)
    value, _ = admission.judge(RatedValue(b"v", None, rate=3.0))
    assert type(value) is Value


def test_qps_admission_without_a_reported_rate_takes_one_in_ten_as_golang() -> None:
    admission = HotAdmission("qps", random.Random(7), hot_qps=0.0)
    taken = [admission.judge(Value(b"v"))[1] for _ in range(200)]
    replay = random.Random(7)
    assert taken == [replay.randrange(10) == 0 for _ in range(200)]


@pytest.mark.parametrize("policy", ["always", "golang", "never"])
def test_other_policies_ask_for_no_rate(policy: str) -> None:
    admission = HotAdmission(policy, random.Random(1))
    assert not admission.rated
    assert admission.judge(Value(b"v"))[0] == Value(b"v")


def test_other_policies_drop_a_rate_they_did_not_ask_for() -> None:
    admission = HotAdmission("never", random.Random(1))
    value, admit = admission.judge(RatedValue(b"v", None, rate=1e9))
    assert type(value) is Value
    assert not admit


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, "1", True])
def test_a_bad_threshold_is_refused(bad: object, workspace: Workspace) -> None:
    with pytest.raises(GroupcacheError, match="hot_qps"):
        Group("h", CountingGetter(), 10, workspace=workspace, hot_cache="qps", hot_qps=bad)  # type: ignore[call-overload]


def test_the_default_threshold_is_six_requests_a_minute() -> None:
    assert DEFAULT_HOT_QPS == 0.1


class RatedPeer(FakePeer):
    """A peer that reports ``rate`` for each key it serves, when asked for it."""

    def __init__(self, rate: float | None) -> None:
        super().__init__(0)
        self.rate = rate
        self.plain = 0
        self.rated = 0

    async def get(self, group: str, key: str) -> Value:
        self.plain += 1
        return Value(key.encode())

    async def get_rated(self, group: str, key: str) -> Value:
        self.rated += 1
        if self.rate is None:
            return Value(key.encode())
        return RatedValue(key.encode(), None, rate=self.rate)


async def test_a_qps_group_asks_owners_for_their_rate_and_admits_hot_keys(
    workspace: Workspace,
) -> None:
    peer = RatedPeer(3.0)
    workspace.set_peer_picker(ModPicker([peer]))
    g = Group("q", CountingGetter(), 1 << 20, workspace=workspace, hot_cache="qps", hot_qps=3.0)
    assert await g.get("k") == b"k"
    assert type(await g.get_value("k")) is Value  # from the hot cache, without its rate
    assert (peer.rated, peer.plain) == (1, 0)
    assert g.cache_stats("hot").items == 1


async def test_a_qps_group_keeps_asking_the_owner_for_a_cold_key(workspace: Workspace) -> None:
    peer = RatedPeer(0.05)
    workspace.set_peer_picker(ModPicker([peer]))
    g = Group("q", CountingGetter(), 1 << 20, workspace=workspace, hot_cache="qps")
    value = await g.get_value("k")
    assert type(value) is Value
    assert value == Value(b"k")
    await g.get("k")
    assert peer.rated == 2
    assert g.cache_stats("hot").items == 0


async def test_a_qps_group_uses_plain_gets_of_a_peer_that_cannot_report(
    workspace: Workspace,
) -> None:
    class Plain(RatedPeer):
        get_rated = None  # type: ignore[assignment]

    peer = Plain(None)
    workspace.set_peer_picker(ModPicker([peer]))
    g = Group(
        "q", CountingGetter(), 1 << 20, workspace=workspace, hot_cache="qps", rng=random.Random(3)
    )
    for i in range(50):
        await g.get(f"k{i}")
    replay = random.Random(3)
    assert peer.plain == 50
    assert g.cache_stats("hot").items == sum(1 for _ in range(50) if replay.randrange(10) == 0)


async def test_an_owner_counts_rates_of_the_keys_peers_ask_it_for(workspace: Workspace) -> None:
    clock = Clock()
    g = Group("o", CountingGetter(), 1 << 20, workspace=workspace, clock=clock)
    for _ in range(60):
        rate = g.owner_rate("k")
    assert rate == pytest.approx(1.0)
    clock.now += 60.0
    assert g.owner_rate("k") == pytest.approx(1 / math.e + 1 / 60)


async def test_the_view_of_a_rated_peer_gets_with_the_rate_and_writes_through_the_peer() -> None:
    peer = RatedPeer(2.0)
    view = HotAdmission("qps", random.Random(1)).peer(peer)
    assert view.url == peer.url
    assert await view.get("g", "k") == RatedValue(b"k", None, rate=2.0)
    await view.set("g", "k", Value(b"x"))
    await view.remove("g", "k")
    assert peer.sets == [("g", "k", Value(b"x"))]
    assert peer.removes == [("g", "k")]
    assert HotAdmission("always", random.Random(1)).peer(peer) is peer


def test_qps_admission_keeps_the_owners_grace_on_the_value_it_admits() -> None:
    """A value with a grace (stale-while-revalidate) and a rate: the hot copy may still be
    served stale, whatever the rate decided."""
    admission = HotAdmission("qps", random.Random(1), hot_qps=1.0)
    value, admit = admission.judge(RatedValue(b"v", 5.0, 30.0, rate=2.0))
    assert (value, admit) == (Value(b"v", 5.0, grace=30.0), True)


def test_a_policy_without_rates_admits_what_comes_without_one_as_it_would_a_value() -> None:
    assert HotAdmission("always", random.Random(1))()
    assert not HotAdmission("never", random.Random(1))()

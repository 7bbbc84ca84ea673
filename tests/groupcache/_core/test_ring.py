"""Consistent-hash rings (ports consistenthash_test.go of golang, mailgun and v3).

Every preset is checked against ../shared/reference/ring-vectors.json; the golang vectors
there were verified against a running Go peer. tests/interop/ring-vectors.json is a copy of
it plus vectors of our own (the upper-case v3 one was printed by groupcache-go v3 itself).
"""

from __future__ import annotations

import json
import random
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from groupcache import GroupcacheError, HashRing
from groupcache._core.ring import PRESETS, fnv1_64, host_port_member, resolve_preset

ROOT = Path(__file__).resolve().parents[3]
SHARED = ROOT.parent / "shared" / "reference" / "ring-vectors.json"
VECTORS_FILE = SHARED if SHARED.exists() else ROOT / "tests" / "interop" / "ring-vectors.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_FILE.read_text())
OUR_VECTORS: dict[str, Any] = json.loads((ROOT / "tests/interop/ring-vectors.json").read_text())


def ring_for(preset: str, members: list[str], replicas: int = 50) -> HashRing:
    p = PRESETS[preset]
    ring = HashRing(replicas=replicas, key_hash=p.key_hash, point_hash=p.point_hash)
    ring.set([p.member(m) for m in members])
    return ring


@pytest.mark.parametrize(
    ("preset", "section", "members", "owners"),
    [
        ("golang", "golang", "members", "owners"),
        ("golang", "golang", "members_2", "owners_2"),
        ("mailgun", "mailgun", "members", "owners"),
        ("groupcache-go", "groupcache-go-v3", "members", "owners"),
    ],
)
def test_every_preset_matches_the_shared_vectors(
    preset: str, section: str, members: str, owners: str
) -> None:
    data = VECTORS[section]
    ring = ring_for(preset, data[members], data["replicas"])
    expected: dict[str, str] = data[owners]
    assert {key: ring.get(key) for key in expected} == expected


def test_our_copy_of_the_vectors_keeps_every_reference_vector() -> None:
    assert {k: OUR_VECTORS[k] for k in VECTORS} == VECTORS


def test_groupcache_go_ring_hashes_host_names_as_given() -> None:
    """v3 hashes ``peer.Info.Address`` byte for byte: no lower-casing of host names."""
    data = OUR_VECTORS["groupcache-go-v3-upper-case"]
    ring = ring_for("groupcache-go", [f"http://{m}" for m in data["members"]], data["replicas"])
    assert {key: ring.get(key) for key in data["owners"]} == data["owners"]


def test_mailgun_ring_owners_match_its_go_test_vectors() -> None:
    """Ports mailgun/modernprogram consistenthash.TestHashing (512 replicas, 6/4/2, then 8)."""
    t = VECTORS["go_test_vectors"]["mailgun_TestHashing"]
    ring = ring_for("mailgun", t["members"], t["replicas"])
    assert {k: ring.get(k) for k in t["owners"]} == t["owners"]
    ring.add("8")
    assert {k: ring.get(k) for k in t["after_adding_8"]} == t["after_adding_8"]


def test_groupcache_go_ring_owners_match_its_pick_peer_vectors() -> None:
    """Ports groupcache-go peer.TestPickPeer (512 replicas, a/b/c.svc.local)."""
    t = VECTORS["go_test_vectors"]["v3_TestPickPeer"]
    p = PRESETS["groupcache-go"]  # the test's addresses have no port: hashed as given
    ring = HashRing(replicas=t["replicas"], key_hash=p.key_hash, point_hash=p.point_hash)
    ring.set(t["members"])
    assert {k: ring.get(k) for k in t["owners"]} == t["owners"]


def test_golang_hashing_with_an_injected_hash() -> None:
    """Ports golang consistenthash.TestHashing: points 2,4,6,12,14,16,22,24,26; wrap to 2."""
    ring = HashRing(replicas=3, key_hash=lambda b: int(b.decode()))
    ring.add("6", "4", "2")
    assert {k: ring.get(k) for k in ("2", "11", "23", "27")} == {
        "2": "2",
        "11": "2",
        "23": "4",
        "27": "2",
    }
    ring.add("8")
    assert ring.get("27") == "8"
    assert len(ring) == 12


def test_member_order_does_not_change_owners() -> None:
    """Ports consistenthash.TestConsistency."""
    for preset in PRESETS:
        a = ring_for(preset, ["http://a:1", "http://b:1", "http://c:1"])
        b = ring_for(preset, ["http://c:1", "http://a:1", "http://b:1"])
        keys = [f"k{i}" for i in range(300)]
        assert [a.get(k) for k in keys] == [b.get(k) for k in keys], preset


def test_adding_a_member_moves_only_keys_it_now_owns() -> None:
    ring = ring_for("mmh3", [f"http://10.0.0.{i}:80" for i in range(1, 4)])
    keys = [f"key-{i}" for i in range(2000)]
    before = {k: ring.get(k) for k in keys}
    ring.add("http://10.0.0.4:80")
    moved = [k for k in keys if ring.get(k) != before[k]]
    assert all(ring.get(k) == "http://10.0.0.4:80" for k in moved)
    assert 0.1 < len(moved) / len(keys) < 0.45


def test_mmh3_spreads_sequential_keys_evenly() -> None:
    """Unlike FNV-1, which XORs the last byte in after its last multiply (so keys that
    differ in their last characters hash side by side), mmh3 spreads sequential keys."""
    members = [f"http://10.0.0.{i}:8080" for i in range(1, 4)]
    ring = ring_for("mmh3", members)
    counts = {m: 0 for m in members}
    for i in range(9000):
        owner = ring.get(f"key-{i}")
        assert owner is not None
        counts[owner] += 1
    assert all(2000 < c < 4000 for c in counts.values()), counts


def test_mmh3_golden_owners_stay_stable() -> None:
    """Our default ring's placement is part of the wire contract between our own nodes."""
    ring = ring_for(
        "mmh3", ["http://10.0.0.1:8080", "http://10.0.0.2:8080", "http://10.0.0.3:8080"]
    )
    assert {k: ring.get(k) for k in ("foo", "bar", "user:42", "", "ünïcödé")} == GOLDEN_MMH3


GOLDEN_MMH3 = {
    "foo": "http://10.0.0.1:8080",
    "bar": "http://10.0.0.2:8080",
    "user:42": "http://10.0.0.3:8080",
    "": "http://10.0.0.1:8080",
    "ünïcödé": "http://10.0.0.1:8080",
}


def test_fnv1_64_matches_gos_fnv_new64() -> None:
    assert fnv1_64(b"") == 14695981039346656037
    assert fnv1_64(b"foo") == 15621798640163566899  # 0xd8cbc7186ba13533, Go's fnv.New64


def test_host_port_members_follow_v3() -> None:
    assert host_port_member("http://10.0.0.1:8080") == "10.0.0.1:8080"
    assert host_port_member("https://node") == "node:443"
    assert host_port_member("http://[::1]:80/") == "[::1]:80"
    assert host_port_member("10.0.0.1:8080") == "10.0.0.1:8080"
    assert host_port_member("http://Node-A.Example:8080/") == "Node-A.Example:8080"
    assert host_port_member("https://user@NODE") == "NODE:443"
    assert host_port_member("http://[FE80::1]:80") == "[FE80::1]:80"
    with pytest.raises(GroupcacheError, match="no host"):
        host_port_member("http://:80")


def test_empty_ring_owns_nothing_and_bad_settings_are_clear() -> None:
    assert HashRing().get("k") is None
    with pytest.raises(GroupcacheError, match="replicas"):
        HashRing(replicas=0)
    with pytest.raises(GroupcacheError, match="unknown ring 'ketama'"):
        resolve_preset("ketama")
    custom = resolve_preset(lambda b: len(b))
    assert custom.key_hash(b"abc") == 3


def test_lookups_agree_with_a_brute_force_reference() -> None:
    rng = random.Random(7)
    members = [f"http://10.1.{rng.randrange(256)}.{rng.randrange(256)}:80" for _ in range(7)]
    for preset, p in PRESETS.items():
        ring = ring_for(preset, members)
        points = sorted(
            (p.point_hash(f"{i}{p.member(m)}".encode()), p.member(m))
            for m in members
            for i in range(50)
        )
        for _ in range(200):
            key = "".join(rng.choice("abcxyz019/ü") for _ in range(rng.randrange(12)))
            h = p.key_hash(key.encode())
            expected = next((m for pt, m in points if pt >= h), points[0][1])
            assert ring.get(key) == expected, (preset, key)


def test_bad_rings_and_peer_urls_are_clear_errors() -> None:
    with pytest.raises(GroupcacheError, match="invalid peer URL 'http://node:99999'"):
        host_port_member("http://node:99999")
    with pytest.raises(GroupcacheError, match=r"unknown ring 'nope'; choose one of \["):
        resolve_preset("nope")
    with pytest.raises(GroupcacheError, match="ring must be a preset name or a hash function"):
        resolve_preset(42)  # type: ignore[arg-type]


def test_a_ring_lists_its_distinct_members_and_counts_its_points() -> None:
    ring = HashRing(replicas=3)
    ring.add("b", "a", "b")
    assert ring.members == ["a", "b"]
    assert len(ring) == 6  # 3 points each: a member added again adds none
    assert repr(ring) == "<HashRing members=2 points=6>"


def test_a_get_from_another_thread_during_set_never_sees_half_a_ring() -> None:
    """A discovery thread may call set_peers while the loop picks owners: a get must
    see the old ring or the new one, never new points with the old owners."""
    ring = HashRing(replicas=50)
    small, large = (
        [f"http://10.0.0.{i}:80" for i in range(2)],
        [f"http://10.0.0.{i}:80" for i in range(8)],
    )
    ring.set(small)
    stop = threading.Event()
    errors: list[BaseException] = []

    def read() -> None:
        keys = [f"k{i}" for i in range(64)]
        while not stop.is_set():
            for key in keys:
                try:
                    ring.get(key)
                except Exception as exc:  # counted: the test fails on any
                    errors.append(exc)
                    return

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(3000):
            ring.set(large if i % 2 else small)
            if errors:
                break
    finally:
        stop.set()
        reader.join(timeout=10)
        sys.setswitchinterval(old)
    assert errors == []

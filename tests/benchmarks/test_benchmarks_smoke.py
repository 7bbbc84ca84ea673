"""Smoke tests of benchmarks/: each script runs in --quick mode and records nothing.

The figures are not checked (that is scripts/bench's job); only that every script still
runs to the end and prints its verdicts. The optional parts (cachetools, redis-py,
redis-server, uvloop, matplotlib) are skipped by the scripts themselves, which say why.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"
RESULTS = BENCH / "RESULTS.md"


def have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def redis_installed() -> bool:
    return shutil.which("redis-server") is not None or os.access("/usr/bin/redis-server", os.X_OK)


def bench(name: str, *args: str, env: dict[str, str] | None = None, timeout: float = 30) -> str:
    before = RESULTS.stat().st_mtime_ns if RESULTS.exists() else None
    proc = subprocess.run(
        [sys.executable, str(BENCH / f"bench_{name}.py"), "--quick", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = RESULTS.stat().st_mtime_ns if RESULTS.exists() else None
    assert before == after, "a smoke run must not touch RESULTS.md"
    return proc.stdout


@pytest.mark.timeout(60)
def test_bench_local_hit_prints_every_baseline_and_both_targets() -> None:
    out = bench("local_hit", "--no-record")
    assert "functools.lru_cache(None) hit" in out
    assert "await group.get hit (asyncio)" in out
    assert "group.get_sync hit" in out
    assert ("cachetools.LRUCache c[k] hit" in out) == have("cachetools")
    assert "await group.get <= 4x lru_cache: " in out
    assert out.count("target ") == 2


PEER_FETCH_TARGETS = 7  # per loop: see benchmarks/_fetch_report.py


@pytest.mark.timeout(900)  # as test_bench_go_peer: the Go owner may need a cold build
def test_bench_peer_fetch_prints_every_series_and_target_and_draws_the_plot(
    tmp_path: Path,
) -> None:
    png = tmp_path / "peer_fetch.png"
    out = bench("peer_fetch", "--no-record", "--plot", str(png), timeout=880)
    loops = ["asyncio", "uvloop"] if have("uvloop") else ["asyncio"]
    series = ["groupcache", "batched", "floor"]
    if "no Go owner series" in out:
        print("Go owner part skipped: the Go toolchain is not installed")
        assert "target not judged  owner CPU per request (asyncio) at c=32 <= the Go" in out
    else:
        series.append("go-owner")
    if have("redis") and redis_installed():
        series.append("redis")
    else:
        print("Redis part skipped: redis-server or redis-py is not installed")
        assert "no Redis series: " in out
        assert "target not judged  batched req/s (asyncio) at c=32 >= 5x redis" in out
    for loop in loops:
        assert f"our owner ({loop}): HTTPPool(server='auto') served by lean" in out
        for name in series:
            for c in (1, 32):
                assert f"{name:<11} {loop:<8} {c:>4} " in out, (name, loop, c)
    verdicts = [line for line in out.splitlines() if line.startswith("target ")]
    assert len(verdicts) == PEER_FETCH_TARGETS * len(loops), verdicts
    assert "per-key GET req/s (asyncio) at c=32 >= 0.7x the floor's" in out
    assert "requester CPU per get (asyncio) at c=32 <= 1.5x the floor's" in out
    if have("matplotlib"):
        assert png.read_bytes().startswith(b"\x89PNG")


@pytest.mark.timeout(60)
def test_bench_peer_fetch_without_go_or_redis_judges_what_it_can_and_says_why_not() -> None:
    out = bench("peer_fetch", "--no-record", "--no-go", "--no-redis", "--loop", "asyncio")
    assert "no Go owner series: --no-go was given" in out
    assert "no Redis series: --no-redis was given" in out
    assert "go-owner    asyncio" not in out
    assert "redis       asyncio" not in out
    not_judged = [line for line in out.splitlines() if line.startswith("target not judged")]
    assert len(not_judged) == 3, not_judged  # owner CPU vs Go, p50 vs Redis, batched vs Redis
    assert all(line.endswith("was given)") for line in not_judged), not_judged
    judged = [line for line in out.splitlines() if line.startswith(("target MET", "target NOT"))]
    assert len(judged) == PEER_FETCH_TARGETS - 3, judged


@pytest.mark.timeout(60)
def test_bench_stampede_meets_one_getter_call_per_stampede() -> None:
    out = bench("stampede", "--no-record", "--origin-ms", "20")
    assert "target MET      one getter call per stampede" in out
    assert "naive dict cache x3" in out


@pytest.mark.timeout(60)
def test_bench_ring_times_get_and_set_for_every_preset() -> None:
    out = bench("ring", "--no-record")
    for preset in ("mmh3", "golang", "mailgun"):
        assert f"{preset:<8} HashRing.get" in out
        assert f"{preset:<8} HashRing.set" in out


@pytest.mark.timeout(60)
def test_bench_memory_keeps_rss_within_its_bound_of_the_accounted_bytes() -> None:
    out = bench("memory", "--no-record", "--entries", "2000")
    assert "RSS growth <= 2.5x accounted bytes at 100 B values" in out
    assert " 10240B " in out


@pytest.mark.timeout(60)
def test_record_goes_to_the_scratch_file_and_finish_appends_one_section(tmp_path: Path) -> None:
    scratch = tmp_path / "section.md"
    bench("ring", "--rounds", "1", env={"GROUPCACHE_BENCH_SECTION": str(scratch)})
    assert scratch.read_text().startswith("### ring\n")
    with scratch.open("a") as f:  # a baseline that could not run is summed up too
        f.write("### other\n\n```text\ntarget not judged  x <= y: no y series (why)\n```\n")
    results = tmp_path / "RESULTS.md"
    subprocess.run(
        [
            sys.executable,
            str(BENCH / "_common.py"),
            "finish",
            str(scratch),
            "--results",
            str(results),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    text = results.read_text()
    assert text.startswith("# Benchmark results")
    assert "- machine: " in text
    assert "- versions: python " in text
    assert "### targets" in text
    summary = text.split("### targets", 1)[1].split("### ring", 1)[0]
    assert "mmh3 HashRing.get 512 peers <= 2x 8 peers: " in summary  # MET or NOT MET
    assert "- target not judged  x <= y: no y series (why)" in summary


@pytest.mark.timeout(900)  # as the interop tests: a cold module download and build
def test_bench_go_peer_times_gets_through_a_go_peer() -> None:
    """Builds the interop Go peer if needed; a few seconds once it is built."""
    out = bench("go_peer", "--no-record", timeout=880)
    if "no Go peer" in out:
        pytest.skip(out.strip())
    assert "groupcache      1" in out
    assert "aiohttp        32" in out


def test_bench_handoff_compares_origin_loads_with_the_handoff_on_and_off() -> None:
    out = bench("handoff", "--nodes", "3,4", "--no-record")
    assert "handoff on   handoff off" in out
    assert "target MET      origin loads per distinct key" in out


def test_bench_failover_compares_gets_during_an_outage_with_failover_on_and_off() -> None:
    out = bench("failover", "--seconds", "1", "--timeout", "0.3", "--no-record")
    assert "on (3)" in out
    assert "off (0, as Go)" in out


def test_bench_clear_all_compares_clear_all_with_removing_every_key() -> None:
    out = bench("clear_all", "--keys", "200", "--no-record")
    for way in ("clear_all()", "remove_keys(all)", "remove() per key"):
        assert way in out
    assert "faster than the fastest way to remove every key" in out


def test_bench_swr_compares_stale_while_revalidate_and_negative_caching_with_off() -> None:
    out = bench("swr", "--seconds", "1", "--no-record")
    assert "stale-while-revalidate" in out
    assert "negative_ttl=0.5" in out
    assert out.count("off (") == 2


@pytest.mark.timeout(60)
def test_bench_hotkeys_prints_every_policy_for_both_budgets_and_the_owner_cpu() -> None:
    out = bench("hotkeys", "--no-record")
    for budget in ("ample", "tight"):
        assert f"budget {budget}" in out
        assert f"{budget}: qps vs always: " in out
    for policy in ("never (off)", "always", "golang", "qps", "qps, 1/s"):
        assert out.count(f"  {policy:<12} ") == 2, policy
    assert "owner CPU per cached peer GET (PeerHandler.cached_get): " in out
    assert out.count("target ") == 1


@pytest.mark.timeout(60)
def test_profile_requester_prints_ours_and_the_floors_cpu_per_get() -> None:
    args = ["--loop", "asyncio", "--concurrency", "2", "--gets", "200", "--rounds", "1"]
    proc = subprocess.run(
        [sys.executable, str(BENCH / "profile_requester.py"), *args, "--profile"],
        capture_output=True,
        text=True,
        timeout=50,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ours/floor" in proc.stdout
    assert "asyncio      2" in proc.stdout
    assert "Ordered by: internal time" in proc.stdout

"""udhos/kubegroup's own examples and ours on one real API server, in one ring.

For each Go example (``kubegroup-example``: modernprogram v2, our ring ``"mailgun"``;
``kubegroup-example3``: groupcache-go v3, our ring ``"groupcache-go"``), two Go pods and two
Python pods (examples/kubegroup-example/app.py) share the label ``app=miniapi``: every
ring converges to the four; every key is loaded once across both languages and every pod
returns the owner's value; a Go pod deleted leaves every ring, Go's and ours; a Python
pod added joins every ring, Go's included, and takes its share of new keys. The
convergence times are printed, per language (the slowest pod of each).

Skipped, with the reason printed, only without a Go toolchain or without ``ip netns``.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support import netns
from tests.support.figures import figure
from tests.support.proxy import TCPProxy
from tests.support.realkube import RealKube

from .mixed import MixedCluster, ensure_rbac
from .udhos import (
    BUILD_TIMEOUT,
    EXAMPLES,
    KUBEGROUP,
    GoExample,
    GoToolchainUnavailableError,
    build,
    module_versions,
)

KEYS = 40


def keys(prefix: str) -> list[str]:
    """File names that spread over the ring: the FNV-1 of mailgun's and groupcache-go's
    rings puts sequential short keys (``k-0``...``k-39``) all on one member."""
    return [hashlib.sha256(f"{prefix}{i}".encode()).hexdigest()[:12] + ".txt" for i in range(KEYS)]


def skip(reason: str) -> None:
    print(f"\nskipped: {reason}", file=sys.stderr)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def go_binaries() -> dict[GoExample, Path]:
    try:
        return build()
    except GoToolchainUnavailableError as exc:
        skip(f"no Go toolchain to build udhos/kubegroup's examples: {exc}")
        raise  # unreachable: skip raises


@pytest.fixture
def topology() -> Iterator[netns.Topology]:
    reason = netns.unavailable()
    if reason is not None:
        skip(f"no network namespaces for the pods: {reason}")
    with netns.Topology(pods=5) as made:
        yield made


@pytest.fixture(params=EXAMPLES, ids=[e.name for e in EXAMPLES])
async def mixed(
    request: pytest.FixtureRequest,
    go_binaries: dict[GoExample, Path],
    real_kube: RealKube,
    topology: netns.Topology,
    tmp_path: Path,
) -> AsyncIterator[MixedCluster]:
    example: GoExample = request.param
    ensure_rbac(real_kube)
    upstream = ("127.0.0.1", int(real_kube.info["apiserver_port"]))
    timeout = aiohttp.ClientTimeout(total=15)
    async with (
        TCPProxy(*upstream, host=topology.gateway) as proxy,
        aiohttp.ClientSession(timeout=timeout) as session,
    ):
        cluster = MixedCluster(
            real_kube, topology, proxy, example, go_binaries[example], tmp_path, session
        )
        try:
            yield cluster
        finally:
            await cluster.aclose()


@pytest.mark.realkube
@pytest.mark.timeout(BUILD_TIMEOUT + 300)  # a cold build of both examples included
async def test_go_and_python_pods_share_one_ring_through_a_delete_and_a_join(
    mixed: MixedCluster,
) -> None:
    loop = asyncio.get_running_loop()
    go1, go2 = [await mixed.start(f"go-{i}", "go") for i in (1, 2)]
    py1, py2 = [await mixed.start(f"py-{i}", "python") for i in (1, 2)]
    t0 = loop.time()
    for pod in (go1, go2, py1, py2):
        mixed.report_ready(pod)
    formed = await mixed.converge([go1, go2, py1, py2], t0)

    loads = await mixed.load_once_everywhere(keys("k"))
    by_lang = {lang: sum(sum(loads[p.name].values()) for p in mixed.pods if p.lang == lang)
               for lang in ("go", "python")}  # fmt: skip
    assert by_lang["go"] > 0
    assert by_lang["python"] > 0

    t0 = loop.time()
    mixed.delete(go2)  # its process still runs, as in the kubelet's grace period
    left = await mixed.converge([go1, py1, py2], t0)
    await go2.stop()

    py3 = await mixed.start("py-3", "python")
    t0 = loop.time()
    mixed.report_ready(py3)
    joined = await mixed.converge([go1, py1, py2, py3], t0)

    later = await mixed.load_once_everywhere(keys("n"))
    assert sum(later["py-3"].values()) > 0  # the Go pod sends py-3 its keys

    versions = module_versions()
    figure(
        f"[real kube-apiserver] udhos/kubegroup {versions[KUBEGROUP]} "
        f"{mixed.example.name} ({mixed.example.groupcache} "
        f"{versions[mixed.example.groupcache]}) + Python ring={mixed.example.ring!r}: "
        f"{by_lang['go']} of {KEYS} keys loaded by Go, {by_lang['python']} by Python, each once; "
        f"4 rings formed: Go {formed['go']:.2f} s, Python {formed['python']:.2f} s; "
        f"deleted Go pod left: Go {left['go']:.2f} s, Python {left['python']:.2f} s; "
        f"new Python pod joined: Go {joined['go']:.2f} s, Python {joined['python']:.2f} s"
    )


@pytest.mark.realkube
@pytest.mark.timeout(BUILD_TIMEOUT + 300)
@pytest.mark.parametrize("mixed", [EXAMPLES[0]], ids=[EXAMPLES[0].name], indirect=True)
async def test_with_our_default_ring_the_go_and_python_pods_disagree_on_owners(
    mixed: MixedCluster,
) -> None:
    """The control: with ``GROUPCACHE_RING`` left at ``mmh3``, the same rings (members)
    pick other owners, so keys are loaded twice and the check above means something."""
    mixed.python_ring = "mmh3"
    pods = [await mixed.start(f"go-{i}", "go") for i in (1, 2)]
    pods += [await mixed.start(f"py-{i}", "python") for i in (1, 2)]
    t0 = asyncio.get_running_loop().time()
    for pod in pods:
        mixed.report_ready(pod)
    await mixed.converge(pods, t0)
    names = keys("c")
    await mixed.get_everywhere(names)
    total = sum((await mixed.loads(names)).values(), collections.Counter[str]())
    assert set(total) == set(names)
    twice = sorted(k for k, n in total.items() if n > 1)
    figure(f"[real kube-apiserver] ring mmh3 next to modernprogram: {len(twice)} of {KEYS} "
          "keys loaded more than once")  # fmt: skip
    assert twice

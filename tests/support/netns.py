"""Pods as Linux network namespaces, for the end-to-end test.

A :class:`Topology` makes one namespace per pod, each with a veth pair whose outer end is
a port of a bridge in the root namespace. The bridge holds the first address of a
private /24 in 10.213.0.0/16, so the test process and a FakeKubeAPI bound to that
address reach every pod, and the pods reach each other and the API. No namespace gets a
default route: nothing leaves the bridge.

Every name carries the pid of the test process that made it (``gctest-<pid>-pod<n>``,
bridge ``gctbr<pid>``, veths ``gctv<pid>p<n>``), so parallel workers do not collide and
what a crashed run left behind is recognised (its pid is gone) and removed first.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from types import TracebackType

NETNS_PREFIX = "gctest-"
BRIDGE_PREFIX = "gctbr"
VETH_PREFIX = "gctv"
SUPERNET = ipaddress.IPv4Network("10.213.0.0/16")
"""Private test addresses: each topology takes one free /24 of these."""

_NETNS_RE = re.compile(rf"^{NETNS_PREFIX}(\d+)-\S+")
_LINK_RE = re.compile(rf"^\d+: ((?:{BRIDGE_PREFIX}|{VETH_PREFIX})(\d+)\w*)[@:]")
_IPV4_RE = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?\b")
_SBIN = "/usr/local/sbin:/usr/sbin:/sbin"


class NetnsError(RuntimeError):
    """An ``ip`` command failed."""


def find_ip() -> str | None:
    """The ``ip`` binary of iproute2 (also looked for in the sbin folders), or None."""
    return shutil.which("ip", path=os.pathsep.join([os.environ.get("PATH", ""), _SBIN]))


def _install_iproute2(budget: float) -> str | None:
    """Install iproute2 with apt-get within ``budget`` seconds; why not, or None if done."""
    apt = shutil.which("apt-get", path=os.pathsep.join([os.environ.get("PATH", ""), _SBIN]))
    if apt is None:
        return "`ip` (iproute2) is missing and there is no apt-get to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=10", "iproute2"]
    deadline = time.monotonic() + budget
    steps = [install, [apt, "update", "-q"], install]  # the package lists may be missing
    for step in steps:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            done = subprocess.run(step, env=env, capture_output=True, text=True, timeout=left)
        except subprocess.TimeoutExpired:
            break
        if step is install and done.returncode == 0:
            return None
    return f"`ip` (iproute2) is missing and `apt-get install -y iproute2` failed ({budget:.0f} s)"


def ip(*args: str, check: bool = True, timeout: float = 10.0) -> str:
    """Run ``ip ARGS``; its stdout. Raises NetnsError if it fails and ``check``."""
    binary = find_ip()
    if binary is None:
        raise NetnsError("`ip` (iproute2) is not installed")
    done = subprocess.run(
        [binary, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


@functools.cache
def unavailable(install_budget: float = 45.0) -> str | None:
    """Why this machine cannot run pods in network namespaces, or None if it can.

    Needs Linux, root and iproute2 (installed with apt-get if missing); then proves it by
    making a throwaway namespace with a veth pair into it, and deleting both.
    """
    if not sys.platform.startswith("linux"):
        return f"network namespaces are Linux only (this is {sys.platform})"
    if os.geteuid() != 0:
        return f"`ip netns add` needs root (euid {os.geteuid()})"
    if find_ip() is None:
        reason = _install_iproute2(install_budget)
        if reason is not None:
            return reason
        if find_ip() is None:  # pragma: no cover - the package ships /usr/sbin/ip (or /sbin/ip)
            return "iproute2 was installed but `ip` is still not on PATH"
    pid = os.getpid()
    namespace, veth = f"{NETNS_PREFIX}{pid}-probe", f"{VETH_PREFIX}{pid}probe"
    _delete(namespaces=[namespace], links=[veth])  # a crashed run with our pid
    try:
        ip("netns", "add", namespace)
        ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", namespace)
        ip("link", "add", f"{BRIDGE_PREFIX}{pid}probe", "type", "bridge")
    except (NetnsError, subprocess.TimeoutExpired) as exc:
        return f"cannot make a network namespace with a veth and a bridge here: {exc}"
    finally:
        _delete(namespaces=[namespace], links=[veth, f"{BRIDGE_PREFIX}{pid}probe"])
    return None


def _kill_inside(namespace: str) -> None:
    """SIGKILL, by pid, the processes left in ``namespace`` (only this test starts any)."""
    for pid in ip("netns", "pids", namespace, check=False).split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


def _delete(*, namespaces: list[str], links: list[str]) -> None:
    """Delete these namespaces (killing what runs inside) and links; absent ones are fine."""
    for namespace in namespaces:
        _kill_inside(namespace)
        ip("netns", "del", namespace, check=False)
    for link in links:  # deleting one end of a veth deletes both
        ip("link", "del", link, check=False)


def _ours(made_by: Callable[[int], bool]) -> tuple[list[str], list[str]]:
    """Our namespaces and links whose maker's pid passes ``made_by``."""
    namespaces = [
        m.group(0)
        for line in ip("netns", "list", check=False).splitlines()
        if (m := _NETNS_RE.match(line)) and made_by(int(m.group(1)))
    ]
    links = [
        m.group(1)
        for line in ip("-o", "link", "show", check=False).splitlines()
        if (m := _LINK_RE.match(line)) and made_by(int(m.group(2)))
    ]
    return namespaces, links


def reap_stale() -> None:
    """Remove what earlier runs left: names made by a pid that is gone, or by our own."""
    me = os.getpid()
    namespaces, links = _ours(lambda pid: pid == me or not os.path.exists(f"/proc/{pid}"))
    _delete(namespaces=namespaces, links=links)


def _free_subnet(start: int) -> ipaddress.IPv4Network:
    """A /24 of :data:`SUPERNET` that no address or route here overlaps."""
    listing = ip("-4", "-o", "addr", "show") + ip("-4", "route", "show", "table", "all")
    used = [ipaddress.IPv4Network(m, strict=False) for m in _IPV4_RE.findall(listing)]
    subnets = list(SUPERNET.subnets(new_prefix=24))[1:-1]
    for i in range(len(subnets)):
        subnet = subnets[(start + i) % len(subnets)]
        if not any(subnet.overlaps(u) for u in used):
            return subnet
    raise NetnsError(f"no free /24 left in {SUPERNET}")


class Topology:
    """``pods`` network namespaces on one bridge; a context manager that tears it all down.

    Pod ``n`` (1-based) lives in namespace ``gctest-<pid>-pod<n>`` with address
    ``<subnet>.<10 + n>`` on its ``eth0``; the bridge has ``<subnet>.1``.
    """

    def __init__(self, pods: int) -> None:
        self.pid = os.getpid()
        self.pods = pods
        self.bridge = f"{BRIDGE_PREFIX}{self.pid}"
        self.subnet = SUPERNET  # chosen by setup()
        self.namespaces: dict[str, str] = {}  # pod IP -> namespace

    @property
    def gateway(self) -> str:
        """The bridge's address in the root namespace (where the API listens)."""
        return str(self.subnet[1])

    @property
    def ips(self) -> list[str]:
        """The pods' addresses, pod 1 first."""
        return list(self.namespaces)

    @property
    def spare_ip(self) -> str:
        """An address in the subnet that no namespace holds (for a pod without a node)."""
        return str(self.subnet[99])

    def command(self, pod_ip: str) -> list[str]:
        """The argv prefix that runs a command inside the namespace of ``pod_ip``."""
        binary = find_ip()
        assert binary is not None
        return [binary, "netns", "exec", self.namespaces[pod_ip]]

    def _veth(self, n: int) -> str:
        return f"{VETH_PREFIX}{self.pid}p{n}"

    def setup(self) -> Topology:
        """Remove stale leftovers, then make the bridge and one namespace per pod."""
        reap_stale()
        self.subnet = _free_subnet(self.pid)
        prefix = f"/{self.subnet.prefixlen}"
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", self.gateway + prefix, "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for n in range(1, self.pods + 1):
            namespace, veth = f"{NETNS_PREFIX}{self.pid}-pod{n}", self._veth(n)
            pod_ip = str(self.subnet[10 + n])
            ip("netns", "add", namespace)
            self.namespaces[pod_ip] = namespace
            ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", namespace)
            ip("link", "set", veth, "master", self.bridge, "up")
            ip("-n", namespace, "addr", "add", pod_ip + prefix, "dev", "eth0")
            ip("-n", namespace, "link", "set", "eth0", "up")
            ip("-n", namespace, "link", "set", "lo", "up")
        return self

    def teardown(self) -> None:
        """Kill what runs inside, delete namespaces, veths and bridge; prove none is left."""
        _delete(
            namespaces=[f"{NETNS_PREFIX}{self.pid}-pod{n}" for n in range(1, self.pods + 1)],
            links=[*(self._veth(n) for n in range(1, self.pods + 1)), self.bridge],
        )
        namespaces, links = _ours(lambda pid: pid == self.pid)
        if namespaces or links:
            raise NetnsError(f"left behind: namespaces {namespaces}, links {links}")

    def __enter__(self) -> Topology:
        try:
            return self.setup()
        except BaseException:
            self.teardown()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.teardown()

"""udhos/kubegroup's two Go examples: built from Go modules, and read through their logs.

``udhos/go.mod`` (ours; no upstream code) requires ``github.com/udhos/kubegroup`` and
``go build`` compiles its example packages ``examples/kubegroup-example`` (modernprogram
groupcache v2) and ``examples/kubegroup-example3`` (groupcache-go v3) as they are
published, with ``CGO_ENABLED=0`` (Go's own resolver, which reads ``/etc/hosts``) and
``-trimpath``, into ``.build/<example>-<hash>`` (the hash covers go.mod, go.sum and the Go
version, as tests/support/gobuild.py does), so a warm run builds nothing.

The examples print what their rings are given: kubegroup's debug log writes one
``onUpdate: N`` line, then one ``onUpdate: i/N: ... ip=IP ready=BOOL`` line per pod, right
before it hands the Ready pods to ``HTTPPool.Set`` (v2) or ``SetPeers`` (v3, which logs
``set peers: error`` when it refuses them); and each origin load is a ``cache miss,
loading file: KEY`` line. :func:`ring_of_log` and :func:`loads_of_log` read them back.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import hashlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.gobuild import (
    GoBuildError,
    GoToolchainUnavailableError,
    find_go,
    go_version,
)

HERE = Path(__file__).resolve().parent
MODULE = HERE / "udhos"
BUILD_DIR = HERE / ".build"
BUILD_TIMEOUT = 900.0  # seconds: a cold download of client-go & co. and two links
KUBEGROUP = "github.com/udhos/kubegroup"

__all__ = [
    "EXAMPLES",
    "GoBuildError",
    "GoExample",
    "GoToolchainUnavailableError",
    "build",
    "loads_of_log",
    "module_versions",
    "ring_of_log",
]


@dataclass(frozen=True)
class GoExample:
    """One of udhos/kubegroup's examples and the settings our pods need to join it."""

    name: str  # the package's folder under examples/
    groupcache: str  # the Go groupcache module it imports
    ring: str  # our HTTPPool ring preset that agrees with it

    @property
    def package(self) -> str:
        return f"{KUBEGROUP}/examples/{self.name}"


EXAMPLES = (
    GoExample("kubegroup-example", "github.com/modernprogram/groupcache/v2", "mailgun"),
    GoExample("kubegroup-example3", "github.com/groupcache/groupcache-go/v3", "groupcache-go"),
)
"""What the examples share: label ``app=miniapi``, namespace ``default``
(``ForceNamespaceDefault``), group ``files``, peer port 5000 and app port 8080."""

SELECTOR = "app=miniapi"
GROUP = "files"
PEER_PORT = 5000
APP_PORT = 8080


def module_versions() -> dict[str, str]:
    """The versions ``udhos/go.mod`` pins, by module path."""
    versions: dict[str, str] = {}
    for line in (MODULE / "go.mod").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].startswith("v") and "/" in parts[0]:
            versions[parts[0]] = parts[1]
    return versions


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "GOFLAGS": "-mod=readonly",  # go.mod and go.sum are committed: never rewrite them
        "GOTOOLCHAIN": "local",
        "GOWORK": "off",
        "CGO_ENABLED": "0",  # the pure Go resolver: hostnames from the pod's /etc/hosts
    }


def _hash(version: str) -> str:
    digest = hashlib.sha256(version.encode())
    for name in ("go.mod", "go.sum"):
        digest.update(f"\0{name}\0".encode() + (MODULE / name).read_bytes())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with (BUILD_DIR / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build() -> dict[GoExample, Path]:
    """Build both examples if their binaries are missing; return them by example.

    Raises:
        GoToolchainUnavailableError: there is no ``go`` command.
        GoBuildError: ``go build`` failed (a module not served, a compile error).
    """
    go = find_go()
    if go is None:
        raise GoToolchainUnavailableError("the Go toolchain (go) is not installed")
    version = go_version(go)
    tag = _hash(version)
    binaries = {e: BUILD_DIR / f"{e.name}-{tag}" for e in EXAMPLES}
    with _lock():
        missing = [e for e, path in binaries.items() if not path.exists()]
        if missing:
            started = time.monotonic()
            scratch = BUILD_DIR / f"tmp-{os.getpid()}"
            scratch.mkdir(exist_ok=True)
            done = subprocess.run(
                [go, "build", "-trimpath", "-o", f"{scratch}/", *(e.package for e in missing)],
                cwd=MODULE,
                env=_env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT,
                check=False,
            )
            try:
                if done.returncode != 0:
                    raise GoBuildError(f"go build of udhos/kubegroup examples:\n{done.stderr}")
                for example in missing:
                    (scratch / example.name).replace(binaries[example])
            finally:
                for leftover in scratch.iterdir():
                    leftover.unlink()
                scratch.rmdir()
            took = time.monotonic() - started
            print(f"built {[e.name for e in missing]} ({version}) in {took:.0f} s", file=sys.stderr)
        for stale in BUILD_DIR.glob("kubegroup-example*-*"):
            if stale not in binaries.values():
                stale.unlink(missing_ok=True)
    return binaries


_HEADER = re.compile(r"DEBUG kubegroup: onUpdate: (\d+)$")
_ENTRY = re.compile(r"DEBUG kubegroup: onUpdate: (\d+)/(\d+): .*\bip=(\S*) ready=(true|false)")
_REFUSED = "ERROR kubegroup: set peers: error"
_LOAD = re.compile(r"cache miss, loading file: (\S+) \(ttl:")


def ring_of_log(text: str, port: int = PEER_PORT) -> list[str] | None:
    """The peer URLs of the last pod list the example applied, sorted; None before any.

    A list still being written (fewer entry lines than its header says) is not counted;
    a list that groupcache-go refused (``set peers: error`` after it) was not applied, so
    the one before it still stands.
    """
    applied: list[str] | None = None
    before: list[str] | None = None  # what a refusal of the latest list falls back to
    block: list[str] | None = None
    for line in text.splitlines():
        if header := _HEADER.search(line):
            block = []
            if header.group(1) == "0":
                before, applied, block = applied, [], None
        elif block is not None and (entry := _ENTRY.search(line)):
            if entry.group(4) == "true":
                block.append(f"http://{entry.group(3)}:{port}")
            if entry.group(1) == entry.group(2):
                before, applied, block = applied, sorted(block), None
        elif _REFUSED in line:
            applied = before
    return applied


def loads_of_log(text: str) -> collections.Counter[str]:
    """How many times the example's getter loaded each key."""
    return collections.Counter(m.group(1) for m in _LOAD.finditer(text))

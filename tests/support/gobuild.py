"""Build the Go peers of the interop tests from Go modules, once per source change.

Every variant (see :mod:`.variants`) is an ordinary Go module; ``go build`` downloads
its dependencies through the module proxy (checked against the committed ``go.sum``)
and compiles with ``CGO_ENABLED=0 -trimpath``. The binary goes to
``.build/<directory>-<hash>``, the hash covering the variant's and the shared front
end's sources, ``go.mod`` and ``go.sum`` and the Go version, so a warm run finds it and
runs no ``go`` command but one ``go env``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from .variants import FRONT, GOLANG, Variant

BUILD_DIR = Path(__file__).resolve().parents[1] / "interop" / ".build"
GO_BUILD_TIMEOUT = 600.0  # seconds: a cold module download and compile of one variant
GO_ENV_TIMEOUT = 60.0


class GoToolchainUnavailableError(Exception):
    """No ``go`` command: the one reason the interop tests may skip."""


class GoBuildError(Exception):
    """``go build`` of a peer failed (a real error, never a reason to skip)."""


def find_go() -> str | None:
    """Return the path of the ``go`` command, or None."""
    return shutil.which("go") or next(
        (p for p in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go") if os.access(p, os.X_OK)),
        None,
    )


def _go() -> str:
    go = find_go()
    if go is None:
        raise GoToolchainUnavailableError("the Go toolchain (go) is not installed")
    return go


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "GOFLAGS": "-mod=readonly",  # go.mod and go.sum are committed: never rewrite them
        "GOTOOLCHAIN": "local",  # never download another toolchain
        "GOWORK": "off",
        "CGO_ENABLED": "0",
    }


def _run(
    go: str, args: Iterable[str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [go, *args],
        cwd=cwd,
        env=_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def go_version(go: str) -> str:
    """``go env GOVERSION``, e.g. ``go1.26.8``."""
    done = _run(go, ["env", "GOVERSION"], Path.cwd(), GO_ENV_TIMEOUT)
    if done.returncode != 0:
        raise GoBuildError(f"go env GOVERSION failed ({done.returncode}): {done.stderr}")
    return done.stdout.strip()


def _sources(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix == ".go" or p.name.startswith("go."))


def source_hash(variant: Variant, version: str) -> str:
    """A digest of everything the binary is built from."""
    digest = hashlib.sha256(version.encode())
    for directory in (FRONT, variant.source_dir):
        for path in _sources(directory):
            digest.update(f"\0{directory.name}/{path.name}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def binary_path(variant: Variant, version: str) -> Path:
    return BUILD_DIR / f"{variant.directory}-{source_hash(variant, version)}"


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with (BUILD_DIR / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build(go: str, variant: Variant, binary: Path) -> None:
    partial = binary.with_name(f"{binary.name}.{os.getpid()}.tmp")
    try:
        done = _run(
            go,
            ["build", "-trimpath", "-o", str(partial), "."],
            variant.source_dir,
            GO_BUILD_TIMEOUT,
        )
        if done.returncode != 0:
            raise GoBuildError(f"go build of {variant} failed ({done.returncode}):\n{done.stderr}")
        partial.replace(binary)
    finally:
        partial.unlink(missing_ok=True)
    for stale in BUILD_DIR.glob(f"{variant.directory}-*"):
        if stale != binary and len(stale.name) == len(binary.name):
            stale.unlink(missing_ok=True)


def build_variants(variants: Iterable[Variant]) -> dict[Variant, Path]:
    """Make sure each variant's binary is built from its current sources; return them.

    Prints one line per variant with how long it took (0 s: already built).

    Raises:
        GoToolchainUnavailableError: there is no ``go`` command.
        GoBuildError: a build failed (a module not served, a compile error).
    """
    go = _go()
    version = go_version(go)
    built: dict[Variant, Path] = {}
    with _build_lock():
        for variant in variants:
            binary = binary_path(variant, version)
            started = time.monotonic()
            if not binary.exists():
                _build(go, variant, binary)
            took = time.monotonic() - started
            print(f"go peer {variant} ({version}): {binary.name}, {took:.1f}s", file=sys.stderr)
            built[variant] = binary
    return built


def binaries_are_current(variants: Iterable[Variant]) -> bool:
    """Whether every variant is built already (so no test needs build time)."""
    go = find_go()
    if go is None:
        return False
    try:
        version = go_version(go)
    except GoBuildError:
        return False
    return all(binary_path(v, version).exists() for v in variants)


def build_gopeer() -> Path:
    """The golang/groupcache peer (the benchmarks' Go peer)."""
    return build_variants([GOLANG])[GOLANG]

"""Shared helpers of the benchmark scripts: timing, machine info, RESULTS.md, redis-server.

Each ``bench_<name>.py`` collects its printed lines in a :class:`Report`. At the end the
report is appended to ``benchmarks/RESULTS.md`` as a dated section with the command, the
machine and the versions; ``--no-record`` skips that. When ``scripts/bench`` runs the suite
it sets ``GROUPCACHE_BENCH_SECTION`` to a scratch file: each script then appends only its
subsection there, and ``python benchmarks/_common.py finish`` turns the scratch file into
one dated section of RESULTS.md.

Usage: .venv/bin/python benchmarks/_common.py finish SCRATCH --command CMD
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import importlib
import importlib.metadata
import os
import platform
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

T = TypeVar("T")

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))

RESULTS = BENCH_DIR / "RESULTS.md"
SECTION_ENV = "GROUPCACHE_BENCH_SECTION"
VERSIONED = (
    "groupcache",
    "aiohttp",
    "protobuf",
    "mmh3",
    "cachetools",
    "redis",
    "hiredis",
    "uvloop",
    "matplotlib",
)
LOOPS = ("asyncio", "uvloop")

# -- optional modules and event loops ------------------------------------------------


def optional_module(name: str) -> ModuleType | None:
    """Import ``name`` if it is installed (the bench extra), else return ``None``."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """Return a factory of event loops: ``"asyncio"`` (the default loop) or ``"uvloop"``.

    Raises:
        SystemExit: uvloop was asked for and is not installed.
    """
    if name == "asyncio":
        return asyncio.new_event_loop
    if name == "uvloop":
        uvloop = optional_module("uvloop")
        if uvloop is None:
            raise SystemExit("uvloop is not installed: pip install -e '.[bench]'")
        factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
        return factory
    raise SystemExit(f"unknown loop {name!r}: choose asyncio or uvloop")


def available_loops(wanted: str) -> list[str]:
    """Parse ``--loop`` (``asyncio``, ``uvloop`` or both, comma-separated), dropping uvloop
    with a printed reason when it is not installed."""
    loops = [x.strip() for x in wanted.split(",") if x.strip()]
    for name in loops:
        if name not in LOOPS:
            raise SystemExit(f"unknown loop {name!r}: choose from {', '.join(LOOPS)}")
    if "uvloop" in loops and optional_module("uvloop") is None:
        print("uvloop is not installed (pip install -e '.[bench]'): measuring asyncio only")
        loops.remove("uvloop")
    return loops


def run(coro: Coroutine[Any, Any, T], loop: str = "asyncio") -> T:
    """Run ``coro`` to completion on a fresh event loop of the named kind."""
    with asyncio.Runner(loop_factory=loop_factory(loop)) as runner:
        return runner.run(coro)


# -- timing ---------------------------------------------------------------------------


def best_of(rounds: int, fn: Callable[[], float]) -> float:
    """Return the smallest of ``rounds`` calls of ``fn`` (a time per operation)."""
    return min(fn() for _ in range(max(1, rounds)))


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Return the ``pct`` percentile (nearest rank) of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(pct / 100.0 * len(sorted_values)) - 1))
    return sorted_values[rank]


def rss_bytes() -> int:
    """Return this process's resident set size in bytes (/proc/self/statm)."""
    resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


# -- machine and versions -------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _mem_total() -> str:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) // 1024} MiB RAM"
    return "RAM unknown"


def redis_server_path() -> str | None:
    """Return the redis-server executable, or ``None`` when it is not installed."""
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK) else None
    )


def _git_state() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "groupcache"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    return f"{head}" + (" (groupcache/ has uncommitted changes)" if dirty else "")


def versions() -> dict[str, str]:
    """Return the versions of Python, the packages that matter and redis-server."""
    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    server = redis_server_path()
    if server is None:
        found["redis-server"] = "not installed"
    else:
        try:
            out = subprocess.run(
                [server, "--version"], capture_output=True, text=True, timeout=10, check=False
            ).stdout
            found["redis-server"] = next(
                (w[2:] for w in out.split() if w.startswith("v=")), out.strip()
            )
        except (OSError, subprocess.SubprocessError):
            found["redis-server"] = "unknown"
    with contextlib.suppress(ImportError):
        from google.protobuf.internal import api_implementation

        found["protobuf"] += f" ({api_implementation.Type()})"
    return found


def machine() -> str:
    """Return one line describing this machine."""
    return (
        f"{_cpu_model()}, {os.cpu_count()} CPUs, {_mem_total()}, "
        f"{platform.system()} {platform.release()}, {platform.python_implementation()}"
    )


def header_lines(command: str) -> list[str]:
    """Return the Markdown lines that open a dated RESULTS.md section."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    vers = ", ".join(f"{k} {v}" for k, v in versions().items())
    return [
        f"## {now}: `{command}`",
        "",
        f"- machine: {machine()}",
        f"- versions: {vers}",
        f"- groupcache tree: {_git_state()}",
        "- load average (1, 5, 15 min) when written: "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
        + " (2 vCPUs: other work on the machine skews the figures)",
        "",
    ]


# -- reports and RESULTS.md -----------------------------------------------------------


@dataclass
class Target:
    """A target of an issue: what was measured against what was asked."""

    name: str
    met: bool
    detail: str

    def line(self) -> str:
        """Return the printed form."""
        return f"target {'MET    ' if self.met else 'NOT MET'}  {self.name}: {self.detail}"


class Report:
    """Printed lines of one benchmark, appended to RESULTS.md at the end."""

    def __init__(self, name: str, argv: Sequence[str] | None = None) -> None:
        self.name = name
        args = list(sys.argv[1:] if argv is None else argv)
        script = Path(sys.argv[0]).resolve()
        shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
        self.command = shlex.join([".venv/bin/python", str(shown), *args])
        self.lines: list[str] = []
        self.targets: list[Target] = []

    def print(self, line: str = "") -> None:
        """Print ``line`` and keep it for the record."""
        print(line, flush=True)
        self.lines.append(line)

    def target(self, name: str, met: bool, detail: str) -> Target:
        """Print and keep a target's verdict."""
        t = Target(name, met, detail)
        self.print(t.line())
        self.targets.append(t)
        return t

    def markdown(self) -> str:
        """Return this report as a RESULTS.md subsection."""
        body = "\n".join(self.lines).rstrip()
        return f"### {self.name}\n\n`{self.command}`\n\n```text\n{body}\n```\n\n"

    def record(self, enabled: bool = True) -> None:
        """Append to the scratch file of scripts/bench, or as a dated section of RESULTS.md."""
        if not enabled:
            return
        scratch = os.environ.get(SECTION_ENV)
        if scratch:
            with open(scratch, "a", encoding="utf-8") as f:
                f.write(self.markdown())
            return
        append_results("\n".join(header_lines(self.command)) + "\n" + self.markdown())
        print(f"appended to {RESULTS.relative_to(ROOT)}")


def append_results(text: str, results: Path = RESULTS) -> None:
    """Append ``text`` to RESULTS.md, creating it with a title the first time."""
    if not results.exists():
        results.write_text(
            "# Benchmark results\n\n"
            "Appended by `scripts/bench` (one dated section per run) or by a single\n"
            "`benchmarks/bench_<name>.py` run without `--no-record`. Ratios are against\n"
            "baselines measured in the same run.\n\n",
            encoding="utf-8",
        )
    with open(results, "a", encoding="utf-8") as f:
        f.write(text)


def finish(scratch: Path, command: str, results: Path = RESULTS) -> None:
    """Turn the scratch file of scripts/bench into one dated section of RESULTS.md."""
    body = scratch.read_text(encoding="utf-8") if scratch.exists() else ""
    verdicts = [
        line.strip()
        for line in body.splitlines()
        if line.startswith(("target MET", "target NOT MET", "target not judged"))
    ]
    summary = ["### targets", "", *(f"- {v}" for v in verdicts), ""] if verdicts else []
    append_results("\n".join([*header_lines(command.strip()), *summary]) + "\n" + body, results)
    print(f"appended one section to {results}")


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--quick`` and ``--no-record``, which every benchmark script takes."""
    parser.add_argument("--quick", action="store_true", help="fast smoke mode, small sizes")
    parser.add_argument(
        "--no-record", action="store_true", help="do not append to benchmarks/RESULTS.md"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    fin = sub.add_parser("finish", help="append the scratch file as one dated section")
    fin.add_argument("scratch", type=Path)
    fin.add_argument("--command", default="scripts/bench")
    fin.add_argument("--results", type=Path, default=RESULTS)
    sub.add_parser("header", help="print the header lines (machine, versions)")
    args = parser.parse_args()
    if args.cmd == "finish":
        finish(args.scratch, args.command, args.results)
    else:
        print("\n".join(header_lines(" ".join(sys.argv))))


if __name__ == "__main__":
    main()

"""What bench_peer_fetch prints and draws: the table, the targets of issue 15, the plot.

Every target compares figures of the same run and loop (absolute figures move 1.5x from
run to run on a shared 2-core machine; the ratios within one run hold):

* the per-key GET (``groupcache``, ``batch=False``) at 32 in flight >= 0.7x the floor's
  req/s;
* its owner CPU per request <= the Go owner's, and <= 1.5x the floor server's;
* its requester CPU per get <= 1.5x the floor client's;
* its p50 at 1 in flight <= 1.3x the floor's, and below redis.asyncio's;
* the batched path at 32 in flight >= 5x redis.asyncio's req/s.

A target whose baseline was not measured (no redis-server, no Go) is printed as not
judged, with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from _common import Report, optional_module
from _fetch import REPEATS, Sample

PLAIN, BATCHED, REDIS, FLOOR, GO = "groupcache", "batched", "redis", "floor", "go-owner"
SERIES = (PLAIN, BATCHED, FLOOR, GO, REDIS)


def _find(samples: list[Sample], series: str, loop: str, concurrency: int) -> Sample | None:
    return next(
        (
            s
            for s in samples
            if s.series == series and s.loop == loop and s.concurrency == concurrency
        ),
        None,
    )


def print_table(report: Report, samples: list[Sample], seconds: float) -> None:
    report.print(
        f"100-byte values, 1000 keys, best of {REPEATS} x "
        f"{seconds:g} s per point; requester CPU = this process's CPU per get, "
        "owner CPU = the server process's per request, counted in "
        f"{1000 / os.sysconf('SC_CLK_TCK'):g} ms ticks (/proc/PID/stat), so coarse at short runs"
    )
    report.print(
        f"{'series':<11} {'loop':<8} {'c':>4} {'req/s':>8} {'p50 us':>8} {'p99 us':>8} "
        f"{'requester CPU':>13} {'owner CPU':>10} {'vs redis':>8} {'vs floor':>8}"
    )
    order = {name: i for i, name in enumerate(SERIES)}
    for s in sorted(samples, key=lambda s: (s.loop, s.concurrency, order.get(s.series, 99))):
        ratios = []
        for base_series in (REDIS, FLOOR):
            base = _find(samples, base_series, s.loop, s.concurrency)
            ratios.append(f"{s.rate / base.rate:7.2f}x" if base else "       -")
        report.print(
            f"{s.series:<11} {s.loop:<8} {s.concurrency:>4} {s.rate:8.0f} {s.p50_us:8.0f} "
            f"{s.p99_us:8.0f} {s.client_cpu_us:11.1f}us {s.server_cpu_us:8.1f}us "
            f"{ratios[0]:>8} {ratios[1]:>8}"
        )


def _rate(s: Sample) -> float:
    return s.rate


def _owner_cpu(s: Sample) -> float:
    return s.server_cpu_us


def _requester_cpu(s: Sample) -> float:
    return s.client_cpu_us


def _p50(s: Sample) -> float:
    return s.p50_us


# (what, our series, baseline series, concurrency, figure, unit, comparison, factor)
TARGETS: tuple[tuple[str, str, str, int, Callable[[Sample], float], str, str, float], ...] = (
    ("per-key GET req/s", PLAIN, FLOOR, 32, _rate, "req/s", ">=", 0.7),
    ("owner CPU per request", PLAIN, GO, 32, _owner_cpu, "us", "<=", 1.0),
    ("owner CPU per request", PLAIN, FLOOR, 32, _owner_cpu, "us", "<=", 1.5),
    ("requester CPU per get", PLAIN, FLOOR, 32, _requester_cpu, "us", "<=", 1.5),
    ("p50", PLAIN, FLOOR, 1, _p50, "us", "<=", 1.3),
    ("p50", PLAIN, REDIS, 1, _p50, "us", "<", 1.0),
    ("batched req/s", BATCHED, REDIS, 32, _rate, "req/s", ">=", 5.0),
)
_BASE_NAMES = {FLOOR: "the floor's", GO: "the Go owner's", REDIS: "redis.asyncio's"}


def check_targets(
    report: Report, samples: list[Sample], missing: dict[str, str] | None = None
) -> None:
    """Print every target of issue 15 on each loop measured: MET / NOT MET with the
    figures, or not judged when the run has no figure for one side (with the reason of
    ``missing``, by series, when the caller knows it)."""
    missing = missing or {}
    for loop in sorted({s.loop for s in samples}):
        for what, series, base_series, c, figure, unit, op, factor in TARGETS:
            bound = f"{factor:g}x " if factor != 1.0 else ""
            name = f"{what} ({loop}) at c={c} {op} {bound}{_BASE_NAMES[base_series]}"
            ours, base = _find(samples, series, loop, c), _find(samples, base_series, loop, c)
            if ours is None or base is None:
                absent = series if ours is None else base_series
                why = missing.get(absent, "not measured in this run")
                report.print(f"target not judged  {name}: no {absent} series ({why})")
                continue
            mine, theirs = figure(ours), figure(base)
            ratio = mine / theirs if theirs else float("inf")
            met = {">=": ratio >= factor, "<=": ratio <= factor, "<": ratio < factor}[op]
            report.target(name, met, f"{mine:.1f} vs {theirs:.1f} {unit} = {ratio:.2f}x")


_STYLE = {  # series: (colour, marker, line style, label)
    PLAIN: ("tab:blue", "o", "-", "ours, per-key GET"),
    BATCHED: ("tab:green", "s", "-", "ours, batched"),
    FLOOR: ("black", "x", ":", "floor (bare asyncio.Protocol)"),
    GO: ("tab:purple", "d", "-.", "ours -> golang/groupcache owner"),
    REDIS: ("tab:red", "^", "--", "redis.asyncio -> redis-server"),
}
_ROWS: tuple[tuple[str, Callable[[Sample], float], bool], ...] = (
    ("requests / s", _rate, False),
    ("requester CPU per get (us)", _requester_cpu, True),
    ("owner CPU per request (us)", _owner_cpu, True),
)


def plot(samples: list[Sample], path: Path) -> None:
    """Draw req/s and both CPU figures against concurrency, one column per loop."""
    matplotlib = optional_module("matplotlib")
    if matplotlib is None:
        print("matplotlib is not installed (pip install -e '.[bench]'): no plot")
        return
    matplotlib.use("Agg")
    plt = optional_module("matplotlib.pyplot")
    ticker = optional_module("matplotlib.ticker")
    assert plt is not None
    assert ticker is not None
    loops = [loop for loop in ("asyncio", "uvloop") if any(s.loop == loop for s in samples)]
    fig, axes = plt.subplots(
        len(_ROWS), len(loops), figsize=(5.5 * len(loops), 10), dpi=100, squeeze=False
    )
    levels = sorted({s.concurrency for s in samples})
    for col, loop in enumerate(loops):
        for row, (ylabel, figure, log) in enumerate(_ROWS):
            ax = axes[row][col]
            for series in SERIES:
                points = [s for s in samples if s.series == series and s.loop == loop]
                if points:
                    colour, marker, line, label = _STYLE[series]
                    ax.plot(
                        [s.concurrency for s in points],
                        [figure(s) for s in points],
                        color=colour,
                        marker=marker,
                        linestyle=line,
                        label=label,
                    )
            ax.set_xscale("log", base=2)
            ax.set_xticks(levels, [str(c) for c in levels])
            if log:
                ax.set_yscale("log")
                ax.yaxis.set_major_formatter(ticker.ScalarFormatter())
                ax.yaxis.set_minor_formatter(ticker.NullFormatter())
            else:
                ax.set_ylim(bottom=0)
            ax.set_ylabel(ylabel)
            ax.grid(True, alpha=0.3, which="both")
            if row == 0:
                ax.set_title(f"{loop} loop")
            if row == len(_ROWS) - 1:
                ax.set_xlabel("requests in flight (one client process)")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Peer fetch of a 100-byte value over 127.0.0.1: ours, the floor, Go, Redis")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"wrote {path}")

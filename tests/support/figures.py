"""Figures: the measured lines a test reports (convergence times, RSS, rates).

A test calls :func:`figure`; the root conftest shows every figure of the run in a
"figures" section of the terminal summary, captured output or not (so a plain run and CI
show them), and saves them to the file named by ``GROUPCACHE_FIGURES``, else to
``figures.txt`` in pytest's base temporary directory (``/tmp/pytest-of-$USER/pytest-N/``),
never into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

FIGURES_ENV = "GROUPCACHE_FIGURES"

RECORDED: list[str] = []
"""Every ``FIGURE:`` line of this run (this process), in order."""


def figure(text: str) -> None:
    """Record one report line and print it (seen with ``-s``)."""
    line = f"FIGURE: {text}"
    RECORDED.append(line)
    print(f"\n{line}", flush=True)


def figures_file(basetemp: Path) -> Path:
    """Where the run's figures are saved: ``$GROUPCACHE_FIGURES`` or ``basetemp/figures.txt``."""
    env = os.environ.get(FIGURES_ENV)
    return Path(env) if env else basetemp / "figures.txt"


def save(lines: list[str], path: Path) -> str:
    """Write ``lines`` to ``path``; return the summary's last line saying where (or why not)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{line}\n" for line in lines))
    except OSError as exc:
        return f"figures not saved to {path}: {exc}"
    return f"{len(lines)} figures saved to {path} (set {FIGURES_ENV} to choose the file)"

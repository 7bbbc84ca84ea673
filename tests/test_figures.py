"""The figures of the terminal summary (tests/support/figures.py, tests/conftest.py).

Checked on a pytest run of its own: every ``FIGURE:`` line a test records appears in the
"figures" section of the summary, output captured or not, and is saved to
``$GROUPCACHE_FIGURES``, else to pytest's base temporary directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EMITTER = """
from tests.support.figures import figure

def test_emits() -> None:
    figure("alpha: 1 ms")
    figure("beta: 2 MiB")
"""


def run_pytest(tmp_path: Path, env_path: Path | None) -> tuple[str, Path]:
    tmp_path.mkdir()
    test_file = tmp_path / "test_emits.py"
    test_file.write_text(EMITTER)
    basetemp = tmp_path / "basetemp"
    env = {k: v for k, v in os.environ.items() if k != "GROUPCACHE_FIGURES"}
    if env_path is not None:
        env["GROUPCACHE_FIGURES"] = str(env_path)
    repo = Path(__file__).resolve().parents[1]
    args = ["-q", "-p", "no:cacheprovider", "-p", "tests.conftest", "-c", "pyproject.toml"]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *args, f"--basetemp={basetemp}", str(test_file)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout, basetemp


def test_figures_are_shown_in_the_summary_and_saved(tmp_path: Path) -> None:
    lines = ["FIGURE: alpha: 1 ms", "FIGURE: beta: 2 MiB"]
    out, basetemp = run_pytest(tmp_path / "default", None)
    section = out.split(" figures =", 1)[1].splitlines()
    assert section[1:3] == lines, out
    saved = basetemp / "figures.txt"
    assert saved.read_text().splitlines() == lines
    assert f"2 figures saved to {saved}" in out
    chosen = tmp_path / "saved" / "figures.txt"  # its directory is made
    out, _ = run_pytest(tmp_path / "env", chosen)
    assert out.split(" figures =", 1)[1].splitlines()[1:3] == lines, out
    assert chosen.read_text().splitlines() == lines

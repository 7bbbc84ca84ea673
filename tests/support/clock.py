"""A wall clock the test moves by hand (``Group(clock=...)``)."""

from __future__ import annotations


class Clock:
    """Unix seconds that stand still until the test sets or adds to ``now``."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

"""Event-loop hygiene for every chaos test, and the report of their figures.

Each test runs with asyncio debug mode on its loop and fails if, by the end (after a
``gc.collect()``), the asyncio logger reported a task destroyed while pending, an
exception never retrieved or an unclosed transport, or a ``ResourceWarning`` (unclosed
socket, client session) was raised. Async tests also fail if they leave a task pending.

The ``FIGURE:`` lines the tests record (tests.support.figures) are shown in the "figures"
section of the summary by the root conftest.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
from collections.abc import AsyncIterator, Iterator

import pytest

BAD_LOG_LINES = (
    "Task was destroyed but it is pending",
    "exception was never retrieved",
    "Unclosed",
    "unclosed",
)


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(autouse=True)
def asyncio_hygiene() -> Iterator[None]:
    """Fail on leaked tasks, unretrieved exceptions and unclosed resources."""
    recorder = _Recorder()
    log = logging.getLogger("asyncio")
    log.addHandler(recorder)
    try:
        yield
    finally:
        # Torn down after the test's event loop was closed: what is still pending now
        # is destroyed by this collection, and says so through the asyncio logger.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gc.collect()
        log.removeHandler(recorder)
    bad = [m for m in recorder.messages if any(b in m for b in BAD_LOG_LINES)]
    assert not bad, f"asyncio reported: {bad}"
    leaked = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaked, f"unclosed resources: {leaked}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "no_loop_debug: measure speed or memory; debug mode's per-task tracebacks would skew"
        " it, and so would coverage's tracing (the test runs unmeasured: no_cover)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that measures speed or memory runs without coverage's tracing."""
    for item in items:
        if item.get_closest_marker("no_loop_debug") is not None:
            item.add_marker(pytest.mark.no_cover)


@pytest.fixture(autouse=True)
async def loop_debug(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Run the test's loop in debug mode; fail if the test leaves a task pending."""
    loop = asyncio.get_running_loop()
    loop.set_debug(request.node.get_closest_marker("no_loop_debug") is None)
    loop.slow_callback_duration = 5.0  # only the checks above matter here, not speed
    yield
    me = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
    assert not pending, f"tasks left pending: {pending}"

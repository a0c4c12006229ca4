"""Fixtures of the hardening suite, plus the tally the issue note quotes.

`tally` counts generated cases per property and faults injected; the totals are printed in
pytest's terminal summary (e.g. `hardening: 3200 generated cases, 540 faults injected`).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, Iterator

import pytest

from sms_receipt_stats import log as product_log

TALLY: Counter = Counter()


@pytest.fixture(scope="session")
def tally() -> Counter:
    """`tally["cases:<property>"] += 1`, `tally["faults"] += n`, `tally["leaks"] += n`."""
    return TALLY


@pytest.fixture(autouse=True)
def _fresh_product_logger() -> Iterator[None]:
    """`log.configure` binds its stdout handler once; drop it around each test so that the
    test's captured stdout gets a handler of its own (never a closed stream of another test)."""

    def drop() -> None:
        logger = logging.getLogger(product_log.LOGGER_NAME)
        for handler in list(logger.handlers):
            if isinstance(handler.formatter, product_log.JsonFormatter):
                logger.removeHandler(handler)

    drop()
    yield
    drop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TALLY:
        return
    cases = {k.split(":", 1)[1]: v for k, v in TALLY.items() if k.startswith("cases:")}
    total = sum(cases.values())
    terminalreporter.write_line(
        f"hardening: {total} generated cases over {len(cases)} properties, "
        f"{TALLY['faults']} faults injected, {TALLY['leaks']} leaks, {TALLY['crashes']} crashes"
    )
    for name in sorted(cases):
        terminalreporter.write_line(f"  {name}: {cases[name]}")

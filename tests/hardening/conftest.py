"""Fixtures of the hardening suite, plus the tally the issue note quotes.

`tally` counts generated cases per property and faults injected; the totals are printed in
pytest's terminal summary (e.g. `hardening: 3200 generated cases, 540 faults injected`).
The root tests/conftest.py resets the product logger around each test here too.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

TALLY: Counter = Counter()


@pytest.fixture(scope="session")
def tally() -> Counter:
    """`tally["cases:<property>"] += 1`, `tally["faults"] += n`, `tally["leaks"] += n`."""
    return TALLY


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

"""Shortening text: one helper for every "cut and add …" (render, dashboard, delivery errors, issues, redaction)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms_receipt_stats.text import ELLIPSIS, cut_utf8, fit_utf8, shorten, utf8_len

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "sms_receipt_stats"


@pytest.mark.parametrize("value, limit, shown", [
    ("abcdef", 6, "abcdef"),
    ("abcdefg", 6, "abcde…"),
    (None, 5, ""),
    (12345678, 4, "123…"),
    ("名字🔥名字", 3, "名字…"),
])
def test_shorten_cuts_visibly_within_the_limit(value: object, limit: int, shown: str) -> None:
    assert shorten(value, limit) == shown


@given(st.text(), st.integers(min_value=1, max_value=50))
def test_shorten_keeps_a_prefix_and_the_limit(text: str, limit: int) -> None:
    shown = shorten(text, limit)
    assert len(shown) <= limit
    assert shown == text or (shown.endswith(ELLIPSIS) and text.startswith(shown[:-1]))


@given(st.text(), st.integers(min_value=4, max_value=200))  # no smaller than the marker
def test_fit_utf8_stays_within_the_bytes_and_marks_a_cut(text: str, limit: int) -> None:
    fitted = fit_utf8(text, limit, "\n…")
    if utf8_len(text) <= limit:
        assert fitted == text
    else:
        assert utf8_len(fitted) <= limit and fitted.endswith("\n…")
        assert text.startswith(fitted[:-2])
    assert cut_utf8(text, 0) == ""


def test_no_module_cuts_with_an_ellipsis_of_its_own() -> None:
    """`x[: n - 1] + "…"` outside `text.py` is the helper written again."""
    pattern = re.compile(r"""- ?1\]\s*\+\s*(["']…["']|ELLIPSIS)""")
    found = [f"{p.relative_to(PACKAGE)}:{n}" for p in sorted(PACKAGE.rglob("*.py")) if p.name != "text.py"
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1) if pattern.search(line)]
    assert not found
    assert pattern.search('return text if len(text) <= limit else text[: limit - 1] + "…"')

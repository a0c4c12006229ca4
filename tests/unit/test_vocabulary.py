"""One vocabulary: severities, languages, granularities and job names are written once, in `vocabulary.py`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sms_receipt_stats import vocabulary
from sms_receipt_stats.config import load_settings
from sms_receipt_stats.events import TimerMessage
from sms_receipt_stats.render import render_message
from sms_receipt_stats.render.i18n import normalize_lang
from sms_receipt_stats.vocabulary import GRANULARITIES, LANGS, SEVERITIES, SEVERITY_RANK, TIMER_JOBS, one_of
from support import base_env

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "sms_receipt_stats"

#: each list as a literal would write it again: a tuple/set/choices of two or more of its words
LISTS = {
    "severities": SEVERITIES,
    "languages": LANGS,
    "granularities": GRANULARITIES,
    "timer jobs": TIMER_JOBS,
}


def _literal_pattern(words: tuple) -> re.Pattern:
    """`("en", "zh")`, `{"info": 0, "warning": 1` and the like: two of the words in a row, bare or
    ranked. A table with a value of its own per word (`{"info": "blue", ...}`) is data, not a list."""
    word = "|".join(re.escape(w) for w in words)
    return re.compile(rf"""(?<!: )["']({word})["']\s*(:\s*[0-9]\s*)?,\s*["']({word})["']""")


def test_the_words_and_their_order() -> None:
    assert SEVERITIES == ("info", "warning", "critical")
    assert SEVERITY_RANK == {"info": 0, "warning": 1, "critical": 2}
    assert LANGS == ("en", "zh") and vocabulary.DEFAULT_LANG == "en"
    assert GRANULARITIES == ("total", "day", "hour")
    assert one_of(TIMER_JOBS) == "'report', 'check' or 'doctor'"


@pytest.mark.parametrize("name", sorted(LISTS))
def test_no_module_writes_a_word_list_again(name: str) -> None:
    """Outside `vocabulary.py` a list of these words is an import, never a literal of its own."""
    pattern = _literal_pattern(LISTS[name])
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "vocabulary.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if pattern.search(line) and not line.lstrip().startswith("#"):
                found.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_the_scan_finds_a_list_written_again() -> None:
    assert _literal_pattern(LANGS).search('if lang not in ("en", "zh"):')
    assert _literal_pattern(SEVERITIES).search('ORDER = {"info": 0, "warning": 1, "critical": 2}')
    assert not _literal_pattern(LANGS).search('t("en", key)')
    colours = '_COLOURS = {"critical": "warning", "warning": "warning", "info": "info"}'
    assert not _literal_pattern(SEVERITIES).search(colours)
    assert not _literal_pattern(GRANULARITIES).search('DAYS = {"total": 366, "day": 366, "hour": 7}')


def test_the_checks_use_the_vocabulary() -> None:
    _, issues = load_settings(base_env(REPORT_LANG="fr"))
    assert [str(i) for i in issues] == ["REPORT_LANG: not 'en' or 'zh'; using en"]
    with pytest.raises(ValueError, match="must be 'total', 'day' or 'hour'"):
        TimerMessage(granularity="week")
    with pytest.raises(ValueError, match="must be 'report', 'check' or 'doctor'"):
        TimerMessage(job="lookup")
    with pytest.raises(ValueError, match="expected info, warning or critical"):
        render_message(None, "plain", min_severity="urgent")  # type: ignore[arg-type]
    assert normalize_lang("zh-CN") == "zh" and normalize_lang("en_US") == "en" and normalize_lang("fr") == "en"

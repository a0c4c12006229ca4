"""`backtest --help` explains its words in one line each, with the figures score.py and naive.py use."""

from __future__ import annotations

import argparse

from sms_receipt_stats.dev.backtest import command, naive
from sms_receipt_stats.dev.backtest import scenario as sc
from sms_receipt_stats.dev.backtest.score import GRACE_HOURS


def _help() -> str:
    parser = argparse.ArgumentParser(prog="sms-receipt-stats")
    command.add_parser(parser.add_subparsers(), lambda args: 0)
    return parser._subparsers._group_actions[0].choices["backtest"].format_help()  # type: ignore[union-attr]


def test_the_glossary_defines_each_word_in_one_line():
    text = _help()
    glossary = text[text.index("glossary"):]
    lines = {line.split(":", 1)[0].strip(): line for line in glossary.splitlines()[1:] if ":" in line}
    for word in ("naive", "detectable", "detected", "false notice", "delay", "flaps", "messages",
                 "package warned / critical"):
        assert word in lines, word
        assert len(lines[word]) <= 160, lines[word]


def test_the_glossary_quotes_the_scorecard_s_own_figures():
    lines = {line.split(":", 1)[0].strip(): line for line in _help().splitlines() if ":" in line}
    grace = f"{GRACE_HOURS} h"
    assert grace in lines["false notice"] and grace in lines["flaps"] and grace in lines["detected"]
    assert f"{(1 - sc.DETECT_ALPHA) * 100:g} %" in lines["detectable"]
    assert f"{naive.REPEAT // 3600} h" in lines["naive"] and "naive.py" in lines["naive"]
    assert "median" in lines["delay"] and "onset" in lines["delay"]


def test_the_options_are_documented():
    text = _help()
    for option in ("--set", "--progress", "--jobs"):
        assert option in text

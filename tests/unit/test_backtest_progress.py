"""The backtest's progress line: on stderr, on a terminal by default, with --progress elsewhere."""

from __future__ import annotations

import io

from sms_receipt_stats.dev.backtest import command
from sms_receipt_stats.dev.backtest import scenario as sc
from sms_receipt_stats.dev.backtest.replay import replay


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_mode_follows_the_terminal_and_the_flag():
    assert command.progress_mode(None, Tty()) == "tty"
    assert command.progress_mode(None, io.StringIO()) == "off"  # a pipe or a file: quiet
    assert command.progress_mode(True, io.StringIO()) == "line"
    assert command.progress_mode(False, Tty()) == "off"


def test_line_mode_prints_every_simulated_week_and_the_end():
    out = io.StringIO()
    report = command.Progress(out, "line", "product")
    for day in range(1, 16):
        report(day, 15, day // 5)
    assert out.getvalue().splitlines() == ["backtest: product day 7/15, 1 alert so far",
                                           "backtest: product day 14/15, 2 alerts so far",
                                           "backtest: product day 15/15, 3 alerts so far"]


def test_tty_mode_rewrites_one_line_daily_and_ends_it():
    out = Tty()
    report = command.Progress(out, "tty", "product")
    for day in (1, 2, 3):
        report(day, 3, 0)
    text = out.getvalue()
    assert text.count("\r") == 3 and text.endswith("day 3/3, 0 alerts so far\x1b[K\n")
    quiet = io.StringIO()
    command.Progress(quiet, "off", "x")(3, 3, 1)
    assert quiet.getvalue() == ""


def test_the_replay_reports_each_simulated_day_with_the_alerts_so_far():
    apps = [sc.AppSpec("1400000001", "big", 3000, 0.98, 0.985)]
    outage = sc.Incident("O", "outage", ("1400000001",), sc.at(sc.DEFAULT_START, 1, 10, 0),
                         sc.at(sc.DEFAULT_START, 1, 14, 0), rate=0.3)
    short = sc.build(apps, [outage], days=3, seed=5)
    calls = []
    result = replay(short.truth, {}, progress=lambda day, days, alerts: calls.append((day, days, alerts)))
    assert [c[:2] for c in calls] == [(1, 3), (2, 3), (3, 3)]
    assert calls[0][2] == 0 and calls[-1][2] == sum(1 for n in result.notices if n.status == "firing") > 0

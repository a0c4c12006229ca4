"""Trend: each app's success rate against its trailing 7-day baseline, and `success_rate_drop`."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

import pytest

from sms_receipt_stats.config import Thresholds
from sms_receipt_stats.documents import AppResult, ResultDocument, WindowDoc
from sms_receipt_stats.render import render_message
from sms_receipt_stats.rules import evaluate_app
from sms_receipt_stats.state.baseline import baseline_window, trend_of
from sms_receipt_stats.stats import Stats, compute_rates
from sms_receipt_stats.windows import named_window
from support import NOW, FakeFetcher, RecordingDeliver, base_env, read_event

Invoke = Callable[..., Dict[str, Any]]
APP = "1400006874"
TZ = "Asia/Shanghai"


def stats(success: int, receipts: int = 1000) -> Stats:
    return Stats(RequestSuccessCount=receipts, CallbackCount=receipts, CallbackSuccessCount=success,
                 CallbackFailCount=receipts - success, ShutdownErrorCount=receipts - success)


class SplitFetcher(FakeFetcher):
    """Answers `current` for the window being reported (yesterday) and `usual` for any other day."""

    def __init__(self, current: Stats, usual: Stats) -> None:
        super().__init__()
        yesterday = named_window("yesterday", NOW, TZ)
        self.current_range = (yesterday.counted().begin_time, yesterday.counted().end_time)
        self.current, self.usual = current, usual

    def fetch(self, app_id: str, api_begin: str, api_end: str,
              timeout: Optional[float] = None) -> Tuple[Stats, Optional[str]]:
        super().fetch(app_id, api_begin, api_end, timeout)
        return (self.current if (api_begin, api_end) == self.current_range else self.usual), "req-x"


def test_the_baseline_is_the_seven_days_before_the_windows_day() -> None:
    base = baseline_window(named_window("yesterday", NOW, TZ))
    assert (base.begin_str, base.end_str) == ("2026111700", "2026112400")
    hourly = baseline_window(named_window("last_hour", NOW, TZ))
    assert (hourly.begin_str, hourly.end_str) == ("2026111800", "2026112500")


def result_with(current: Stats) -> AppResult:
    return AppResult(app_id=APP, window=WindowDoc(begin="2026112400", end="2026112500", timezone=TZ),
                     stats=current, rates=compute_rates(current))


def baseline_result(usual: Stats, days: int = 7) -> AppResult:
    from sms_receipt_stats.documents import SeriesPoint

    points = [SeriesPoint(begin="x", end="y", stats=usual, rates=compute_rates(usual)) for _ in range(days)]
    return AppResult(app_id=APP, window=WindowDoc(begin="2026111700", end="2026112400", timezone=TZ),
                     stats=usual, series=points)


@pytest.mark.parametrize("current, drop, fires", [
    (820, 0.05, True),  # 1,000 receipts: 82 % is confidently below 90 % - 5 points
    (830, 0.05, False),  # below the line, but 1,000 receipts cannot rule out 85 % at 99 %
    (850, 0.05, False),  # on the line: no evidence of a drop
    (760, 0.10, True),
    (790, 0.10, False),
    (900, 0.0, False),  # no drop at all never fires
])
def test_success_rate_drop_fires_when_confidently_below_the_configured_points(current: int, drop: float,
                                                                            fires: bool) -> None:
    window = baseline_window(named_window("yesterday", NOW, TZ))
    result = result_with(stats(current))
    result.trend = trend_of(result, baseline_result(stats(900)), window, Thresholds(drop_points=drop))
    assert result.trend.baseline_success_rate == 0.9
    alerts = [a for a in evaluate_app(result, Thresholds(drop_points=drop, success_rate_min=0.5,
                                                         success_rate_critical=0.4)) if a.rule == "success_rate_drop"]
    assert bool(alerts) is fires
    if fires:
        assert alerts[0].severity == "warning" and alerts[0].threshold == round(0.9 - drop, 4)
        assert "below its usual 90.00% (the whole day, against its 7-day average)" in alerts[0].message


def test_no_baseline_under_the_minimum_volume() -> None:
    window = baseline_window(named_window("yesterday", NOW, TZ))
    result = result_with(stats(500))
    trend = trend_of(result, baseline_result(stats(9, receipts=10)), window, Thresholds())  # 70 receipts in 7 days
    assert trend.baseline_success_rate is None and trend.success_rate_change is None
    result.trend = trend
    assert not [a for a in evaluate_app(result, Thresholds()) if a.rule == "success_rate_drop"]


def test_a_report_shows_the_trend_and_warns_on_a_drop(invoke: Invoke, make_deps: Callable[..., Any],
                                                      delivered: RecordingDeliver, tmp_path) -> None:
    fetcher = SplitFetcher(current=stats(880), usual=stats(970))
    env = base_env(STATE_URL=f"sqlite:///{tmp_path}/s.db", SMS_SDK_APP_IDS=APP)
    doc = invoke(read_event("timer_default"), env=env, deps=make_deps(fetcher=fetcher))
    trend = doc["results"][0]["trend"]
    assert trend == {"baseline": {"begin": "2026111700", "end": "2026112400", "timezone": TZ},
                     "baseline_success_rate": 0.97, "success_rate_change": -0.09}
    [drop] = [a for a in doc["alerts"] if a["rule"] == "success_rate_drop"]
    assert drop["notified"] is True and drop["value"] == 0.88
    text = render_message(ResultDocument.model_validate(delivered.docs[0]), "plain").text
    assert "success rate vs 7-day average 97.00%: -9.00 pts" in text
    assert "success rate 88.00% < 92.00% (its 7-day average minus 5.00 pts)" in text  # words, not a bare "−"
    # the baseline's settled days come from the cache the next time
    calls = len(fetcher.calls)
    invoke(dict(read_event("timer_default"), TriggerName="again"), env=env, deps=make_deps(fetcher=fetcher))
    assert len(fetcher.calls) - calls < calls / 2


def test_stateless_reports_have_no_trend(invoke: Invoke, fetcher: FakeFetcher) -> None:
    doc = invoke(read_event("timer_default"))
    assert all("trend" not in r for r in doc["results"])
    assert len(fetcher.calls) == 3  # one per app: no baseline queries


def test_the_trend_is_rendered_in_chinese(tmp_path, invoke: Invoke, make_deps: Callable[..., Any],
                                          delivered: RecordingDeliver) -> None:
    fetcher = SplitFetcher(current=stats(950), usual=stats(900))
    env = base_env(STATE_URL=f"sqlite:///{tmp_path}/s.db", SMS_SDK_APP_IDS=APP, REPORT_LANG="zh")
    invoke(read_event("timer_default"), env=env, deps=make_deps(fetcher=fetcher))
    text = render_message(ResultDocument.model_validate(delivered.docs[0]), "plain", lang="zh").text
    assert "成功率较近 7 日均值 90.00%：+5.00 个百分点" in text


def test_an_hourly_check_asks_no_baseline_and_rereads_one_settled_hour(invoke: Invoke, make_deps: Callable[..., Any],
                                                                       tmp_path) -> None:
    """A check compares hours with the same hours in the evidence ledger, never asks for the 7-day
    baseline of the report's `success_rate_drop` (docs/alerts.md): it reads each app's hour, and
    once the hour that ended ALERT_RECEIPT_DELAY (2 h) ago, for the receipt rule."""
    fetcher = FakeFetcher()
    env = base_env(STATE_URL=f"sqlite:///{tmp_path}/s.db")
    first = invoke(read_event("timer_check_last_hour"), env=env, deps=make_deps(fetcher=fetcher))
    assert all("trend" not in r for r in first["results"])
    assert sorted({c[1:] for c in fetcher.calls}) == [("2026112506", "2026112506"), ("2026112508", "2026112508")]
    assert len(fetcher.calls) == 3 * 2
    invoke(dict(read_event("timer_check_last_hour"), TriggerName="other"), env=env, deps=make_deps(fetcher=fetcher))
    assert len(fetcher.calls) == 3 * 2 + 3  # the hour again; the settled hour is in the ledger

"""Each app against its own baseline: the success rate of the 7 days before the window's day.

Seven day buckets per app are cheap with the settled cache: all but the last few days come
from the store. The baseline pools the seven days (successes / receipts), so a quiet day does
not weigh like a busy one; with fewer receipts than `ALERT_MIN_VOLUME` there is no baseline.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Dict, List, Sequence

from sms_receipt_stats.config import App, Thresholds
from sms_receipt_stats.documents import AppResult, Trend, WindowDoc
from sms_receipt_stats.query import Querier
from sms_receipt_stats.stats import compute_rates, sum_stats
from sms_receipt_stats.windows import Window, parse_hour

BASELINE_DAYS = 7


def baseline_window(window: Window) -> Window:
    """The BASELINE_DAYS local days before the day on which `window` begins."""
    day = window.begin.date()
    end = parse_hour(day.strftime("%Y%m%d") + "00", window.tz, which="end")
    begin = parse_hour((day - timedelta(days=BASELINE_DAYS)).strftime("%Y%m%d") + "00", window.tz, which="begin")
    return Window(begin, end, window.tz)


def trend_of(result: AppResult, baseline: AppResult, window: Window, thresholds: Thresholds) -> Trend:
    """Pure: the current result against its baseline result (a day series or a total)."""
    parts = [p.stats for p in baseline.series] if baseline.series else ([baseline.stats] if baseline.stats else [])
    total = sum_stats(parts)
    rate = compute_rates(total).success_rate if total.CallbackCount >= thresholds.min_volume else None
    current = result.rates.success_rate if result.rates is not None else None
    change = round(current - rate, 4) if rate is not None and current is not None else None
    return Trend(baseline=WindowDoc(**window.to_doc()), baseline_success_rate=rate, success_rate_change=change)


def attach_trends(results: List[AppResult], window: Window, querier: Querier, thresholds: Thresholds,
                  lang: str = "en") -> List[str]:
    """Set `trend` on every app that answered; returns the ids that got a baseline."""
    from sms_receipt_stats.jobs import query_apps  # jobs imports this module lazily, never at load

    ok = [r for r in results if r.error is None and r.stats is not None]
    if not ok:
        return []
    base = baseline_window(window)
    apps: Sequence[App] = [App(app_id=r.app_id, name=r.app_name) for r in ok]
    baselines: Dict[str, AppResult] = {b.app_id: b for b in query_apps(apps, base, "day", querier, lang)}
    covered: List[str] = []
    for result in ok:
        baseline = baselines.get(result.app_id)
        if baseline is None or baseline.error is not None:
            continue
        result.trend = trend_of(result, baseline, base, thresholds)
        covered.append(result.app_id)
    return covered

"""Each app against its own baseline: the success rate of the 7 days before the window's day.

Seven day buckets per app are cheap with the settled cache: all but the last few days come
from the store, and the pooled baseline itself is kept for a few hours. The baseline pools
the seven days (successes / receipts), so a quiet day does
not weigh like a busy one; with fewer receipts than `ALERT_MIN_VOLUME` there is no baseline.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict, List, Sequence

from sms_receipt_stats.config import App, Thresholds
from sms_receipt_stats.documents import AppResult, Trend, WindowDoc
from sms_receipt_stats.query import Querier
from sms_receipt_stats.stats import Stats, compute_rates, sum_stats
from sms_receipt_stats.windows import Window, parse_hour

BASELINE_DAYS = 7
KEY_PREFIX = "baseline:"
#: how long a computed baseline is reused (its last days are not settled, but move slowly)
BASELINE_TTL = 6 * 3600.0


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


def _key(app_id: str, base: Window) -> str:
    return f"{KEY_PREFIX}{app_id}:{base.begin_str}:{base.end_str}:{base.tz}"


def attach_trends(results: List[AppResult], window: Window, querier: Querier, thresholds: Thresholds,
                  store: Any, lang: str = "en") -> List[str]:
    """Set `trend` on every app that answered; returns the ids that got a baseline.

    A baseline is kept for BASELINE_TTL: an hourly check asks the API for the unsettled days
    of a baseline a few times a day, not every hour.
    """
    from sms_receipt_stats.measure import query_apps

    ok = [r for r in results if r.error is None and r.stats is not None]
    if not ok:
        return []
    base = baseline_window(window)
    kept = store.get_many([_key(r.app_id, base) for r in ok])
    totals: Dict[str, AppResult] = {}
    for result, raw in zip(ok, kept):
        if raw is not None:
            try:
                totals[result.app_id] = AppResult(app_id=result.app_id, window=WindowDoc(**base.to_doc()),
                                                  stats=Stats.model_validate_json(raw))
            except (ValueError, TypeError, RecursionError):  # unreadable: dropped, computed afresh below
                reject = getattr(store, "reject", None)
                if reject is not None:
                    reject("baseline", _key(result.app_id, base))
    missing: Sequence[App] = [App(app_id=r.app_id, name=r.app_name) for r in ok if r.app_id not in totals]
    if missing:  # the settled days of the baselines to compute, read from the cache in one command
        from sms_receipt_stats.state.cache import SettledCache
        from sms_receipt_stats.windows import buckets, split_for_api

        ahead = getattr(store, "read_ahead", None)
        if ahead is not None:
            ahead([SettledCache.key(app.app_id, part.begin_time, part.end_time) for app in missing
                   for day in buckets(base, "day") for part in split_for_api(day.counted())])
    for fetched in query_apps(missing, base, "day", querier, lang) if missing else []:
        if fetched.error is None and fetched.stats is not None:
            totals[fetched.app_id] = fetched
            store.set(_key(fetched.app_id, base), fetched.stats.model_dump_json(), BASELINE_TTL)
    covered: List[str] = []
    for result in ok:
        baseline = totals.get(result.app_id)
        if baseline is None:
            continue
        result.trend = trend_of(result, baseline, base, thresholds)
        covered.append(result.app_id)
    return covered

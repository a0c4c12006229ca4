"""Measuring apps over a window: buckets, the API calls that count them, and the AppResult of each app.

Below `jobs`, so that every job (reports, lookups, the dashboard, doctor, trends) builds its
numbers the same way and none of them imports `jobs`. Hours: docs/hour-rule.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Callable, List, Optional, Protocol, Sequence

from sms_receipt_stats.config import App, Settings
from sms_receipt_stats.documents import AppResult, ErrorInfo, SeriesPoint, WindowDoc
from sms_receipt_stats.query import Querier, QueryOutcome, QueryTask, StatsFetcher
from sms_receipt_stats.stats import compute_rates, sum_stats
from sms_receipt_stats.windows import Window, buckets, split_for_api

if TYPE_CHECKING:
    from sms_receipt_stats.state.store import GuardedStore


class QueryDeps(Protocol):
    """What building a querier needs of a job's edges (`jobs.JobDeps` has it)."""

    @property
    def fetcher_factory(self) -> Callable[[Settings], StatsFetcher]: ...

    @property
    def now(self) -> Callable[[], datetime]: ...

    @property
    def monotonic(self) -> Callable[[], float]: ...

    @property
    def sleep(self) -> Callable[[float], None]: ...


def generated_at(now: datetime, tz: str) -> str:
    """A document's `generated_at`: `now` in the report zone, to the second."""
    from zoneinfo import ZoneInfo

    return now.astimezone(ZoneInfo(tz)).replace(microsecond=0).isoformat()


def _error_of(outcomes: Sequence[QueryOutcome], lang: str, secrets: Sequence[str]) -> Optional[ErrorInfo]:
    for outcome in outcomes:
        if outcome.error is not None:
            from sms_receipt_stats.catalogue import error_info  # the catalogue loads on the first failure only

            err = outcome.error
            return error_info(err.code, err.message, err.request_id, lang, secrets=secrets)
    return None


def query_apps(apps: Sequence[App], window: Window, granularity: str, querier: Querier,
               lang: str = "en", secrets: Sequence[str] = ()) -> List[AppResult]:
    """One AppResult per app, in order; a failing app never hides the others.

    `secrets` (the configured ones) are scrubbed from upstream messages in any form.
    """
    bucket_windows = buckets(window, granularity)
    # per bucket, the API calls that count it (a bucket longer than 32 days is split; an empty
    # one needs none): the same for every app. Buckets and calls share no hour.
    api_ranges = [split_for_api(b.counted()) for b in bucket_windows]
    tasks = [QueryTask(app.app_id, r.begin_time, r.end_time) for app in apps for ranges in api_ranges for r in ranges]
    outcomes = iter(querier.run(tasks))
    window_doc = WindowDoc(**window.to_doc())
    results: List[AppResult] = []
    for app in apps:
        per_bucket = [[next(outcomes) for _ in ranges] for ranges in api_ranges]
        flat = [o for bucket in per_bucket for o in bucket]
        request_ids = [rid for o in flat for rid in o.request_ids]
        error = _error_of(flat, lang, secrets)
        if error is not None:
            results.append(AppResult(app_id=app.app_id, app_name=app.name, window=window_doc,
                                     request_ids=request_ids, error=error))
            continue
        bucket_stats = [sum_stats(o.stats for o in bucket if o.stats is not None) for bucket in per_bucket]
        total = sum_stats(bucket_stats)
        series = None
        if granularity != "total":
            series = [
                SeriesPoint(begin=b.begin_str, end=b.end_str, stats=s, rates=compute_rates(s),
                            counted=None if b.exact else b.counted().to_doc(exact=False))
                for b, s in zip(bucket_windows, bucket_stats)
            ]
        results.append(AppResult(app_id=app.app_id, app_name=app.name, window=window_doc,
                                 stats=total, rates=compute_rates(total), series=series,
                                 request_ids=request_ids))
    return results


def make_querier(settings: Settings, deps: QueryDeps, deadline: Optional[float],
                 state: Optional[GuardedStore] = None) -> Querier:
    """The querier of a job; with a working state store, settled spans come from its cache."""
    fetcher = deps.fetcher_factory(settings)
    if state is not None and state.available:
        from sms_receipt_stats.state.cache import SettledCache

        fetcher = SettledCache(fetcher, state, now=deps.now, settle_hours=settings.settle_hours)
    return Querier(fetcher, rps=settings.api_rps, clock=deps.monotonic, sleep=deps.sleep, deadline=deadline)



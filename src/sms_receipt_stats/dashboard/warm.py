"""Keep the settled cache full for the dashboard's default window, after the daily report.

A 30-day page of 20 apps is 600 API calls, a minute at the API's 10 calls/s: more than a
function may run. Settled days (older than SETTLE_HOURS) never change, so they are cached
(`state/cache.py`); this step asks, within a budget, for the settled days of `last_30d`
that are not cached yet, newest first. After the first night that is one day per app (the
one that settled since), and a page asks the API only for the last few unsettled days
(docs/http-api.md, *Dashboard*).

    summary = warm_settled_days(settings, deps, store, deadline, now)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, List, Optional

from sms_receipt_stats.config import Settings
from sms_receipt_stats.query import Querier, QueryTask
from sms_receipt_stats.windows import buckets, named_window, split_for_api

logger = logging.getLogger("sms_receipt_stats.dashboard")

#: the window the dashboard opens with (route.DEFAULT_WINDOW; kept here so a timer never loads the route)
WARM_WINDOW = "last_30d"


@dataclass(frozen=True)
class WarmSummary:
    """What one warm-up did: calls planned and made, spans stored, calls that failed or found no time."""

    planned: int = 0
    stored: int = 0
    failed: int = 0
    skipped: str = ""  # why nothing was done ("" when it ran)


def dashboard_app_ids(settings: Settings) -> List[str]:
    """The apps a default page shows (API_ALLOWED_APP_IDS) and the apps the reports link to."""
    return list(dict.fromkeys([*settings.api_allowed_app_ids, *(a.app_id for a in settings.apps)]))


def warm_settled_days(settings: Settings, deps: Any, store: Any, deadline: Optional[float],
                      now: datetime) -> WarmSummary:
    """Fetch and cache each app's settled, not yet cached days of `last_30d`, newest first,
    at most until `deadline` (monotonic seconds of `deps.monotonic`). Never raises for an API
    failure: a day that failed is simply asked again by the next page or the next warm-up."""
    if store is None or not getattr(store, "available", False):
        return WarmSummary(skipped="no state store")
    from sms_receipt_stats.state.cache import SettledCache, is_settled

    app_ids = dashboard_app_ids(settings)
    if not app_ids:
        return WarmSummary(skipped="no apps")
    cache = SettledCache(deps.fetcher_factory(settings), store, now=lambda: now, settle_hours=settings.settle_hours)
    spans = [(app_id, part.begin_time, part.end_time)
             for day in reversed(buckets(named_window(WARM_WINDOW, now, settings.timezone), "day"))
             for part in split_for_api(day.counted()) if is_settled(part.end_time, now, settings.settle_hours)
             for app_id in app_ids]  # newest day of every app first, so a short budget still helps all
    cache.read_ahead(spans)  # one store command for the lot, not one per span
    tasks = [QueryTask(*span) for span in spans if cache.cached(*span) is None]
    if not store.available:  # the store failed on the way: nothing fetched could be kept
        return WarmSummary(skipped="state store unavailable")
    if not tasks:
        return WarmSummary()
    querier = Querier(cache, rps=settings.api_rps, clock=deps.monotonic, sleep=deps.sleep, deadline=deadline,
                      fail_fast=True)
    outcomes = querier.run(tasks)
    summary = WarmSummary(planned=len(tasks), stored=cache.stored,
                          failed=sum(1 for o in outcomes if o.error is not None))
    logger.info("dashboard cache warmed", extra={"planned": summary.planned, "stored": summary.stored,
                                                 "failed": summary.failed})
    return summary


def warm_after_report(settings: Settings, deps: Any, deadline: Optional[float], now: datetime) -> WarmSummary:
    """The step the daily report ends with: its own store connection, and never an exception
    (the report is already delivered; a cold cache only makes the next page slower)."""
    if settings.state_url is None:
        return WarmSummary(skipped="no state store")
    left = deadline - deps.monotonic() if deadline is not None else None
    if left is not None and left <= 0:
        return WarmSummary(skipped="no time left")
    store = None
    try:
        store = deps.open_state(settings)
        if store is not None and left is not None:
            store.limit(left)  # its store time is a share of what is left of the invocation
        return warm_settled_days(settings, deps, store, deadline, now)
    except Exception as exc:
        logger.warning("dashboard cache warm-up failed", extra={"code": type(exc).__name__})
        return WarmSummary(skipped=f"failed: {type(exc).__name__}")
    finally:
        if store is not None:
            store.close()

"""What one dashboard page can ask the API for within the function's time limit (pure).

A page of 20 apps × 30 days is 600 API calls; at the API's 10 calls/s that is a minute, the
whole time SCF gives the function. With a state store the settled days come from the cache
(and `warm.py` keeps it full), so only the last few days cost calls. Without one, or with a
cold cache, the page plans its calls against the time left: it shows the newest days that
fit for every app (the same days for all, so the charts line up), and if not even one day
per app fits, the first apps only. The page says what it left out (docs/http-api.md, *Dashboard*).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple

from sms_receipt_stats.config import App
from sms_receipt_stats.windows import Window, buckets, split_for_api

#: seconds kept for everything but the API calls: state store reads, rendering, the answer
RESERVE_SECONDS = 3.0
#: share of the rate cap the plan counts on (the limiter keeps a margin; calls take time in flight)
RATE_SHARE = 0.85
#: under a short time limit, the share of the time left kept back from the calls instead
RESERVE_SHARE = 0.25

#: `cached(app_id, begin_time, end_time)` of the querier's fetcher, or None: is a call free?
Cached = Optional[Callable[[str, str, str], object]]


@dataclass(frozen=True)
class Plan:
    """The window and apps to query; `cut` when that is less than asked for."""

    window: Window
    apps: Sequence[App]
    asked_buckets: int
    shown_buckets: int
    calls_needed: int  # calls the whole request would have taken
    left_out: List[App] = field(default_factory=list)

    @property
    def cut(self) -> bool:
        return self.shown_buckets < self.asked_buckets or bool(self.left_out)


def call_budget(seconds_left: Optional[float], rps: float) -> Optional[int]:
    """API calls that fit in the time left (None: no limit is known, e.g. a local run)."""
    if seconds_left is None:
        return None
    return max(0, math.floor((seconds_left - RESERVE_SECONDS) * rps * RATE_SHARE))


def calls_deadline(deadline: Optional[float], now: float) -> Optional[float]:
    """When the page's API calls must end (monotonic seconds): RESERVE_SECONDS before `deadline`,
    or RESERVE_SHARE of the time left when that is less, so that an endpoint answering too slowly
    still leaves the time to read the store, render the page and answer."""
    if deadline is None:
        return None
    return deadline - min(RESERVE_SECONDS, RESERVE_SHARE * max(0.0, deadline - now))


def bucket_costs(app_id: str, parts: Sequence[Sequence[Tuple[str, str]]], cached: Cached) -> List[int]:
    """Per bucket, the API calls it costs this app: its API ranges not answered by the cache."""
    costs = []
    for ranges in parts:
        costs.append(sum(1 for begin, end in ranges if cached is None or cached(app_id, begin, end) is None))
    return costs


def plan_page(apps: Sequence[App], window: Window, granularity: str, budget: Optional[int],
              cached: Cached = None) -> Plan:
    """The most of the page that fits `budget` calls: every app with the newest k buckets, k as
    large as fits; when not even one bucket each fits, the first apps with their newest bucket."""
    all_buckets = buckets(window, granularity)
    n = len(all_buckets)
    parts = [[(r.begin_time, r.end_time) for r in split_for_api(b.counted())] for b in all_buckets]
    costs = [bucket_costs(app.app_id, parts, cached) if budget is not None else [len(p) for p in parts]
             for app in apps]
    needed = sum(sum(c) for c in costs)
    if budget is None or needed <= budget:
        return Plan(window, list(apps), n, n, needed)

    def cost_of_newest(k: int) -> int:
        return sum(sum(c[n - k:]) for c in costs)

    k = n
    while k > 0 and cost_of_newest(k) > budget:
        k -= 1
    if k > 0:
        newest = Window(all_buckets[n - k].begin, window.end, window.tz)
        return Plan(newest, list(apps), n, k, needed)
    kept: List[App] = []
    spent = 0
    for app, c in zip(apps, costs):
        if spent + c[-1] > budget:
            break
        kept.append(app)
        spent += c[-1]
    left_out = [a for a in apps if a not in kept]
    return Plan(Window(all_buckets[-1].begin, window.end, window.tz), kept, n, 1 if kept else 0, needed, left_out)

"""The settled cache: settled API spans come from the store; the API is asked for the rest only.

Expectations are computed from the windows module and the cache's own settle rule (EndTime's
hour is counted whole), never hard-coded, so they follow any change of the hour rule.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List

import pytest

from sms_receipt_stats.config import App, load_settings
from sms_receipt_stats.jobs import JobDeps, make_querier, query_apps
from sms_receipt_stats.state.cache import SettledCache, is_settled, span_end
from sms_receipt_stats.state.store import GuardedStore
from sms_receipt_stats.windows import buckets, named_window, split_for_api
from support import NOW, FakeClock, FakeFetcher, base_env, read_event

APP = "1400006874"
TZ = "Asia/Shanghai"


@pytest.fixture()
def store(sqlite_store: GuardedStore) -> GuardedStore:
    return sqlite_store


def test_a_span_ends_an_hour_after_its_end_time_in_beijing() -> None:
    assert span_end("2026112120") == datetime(2026, 11, 21, 13, 0, tzinfo=timezone.utc)  # 21:00 +08:00
    end = span_end("2026112120")
    assert not is_settled("2026112120", end + timedelta(hours=72) - timedelta(seconds=1), 72)
    assert is_settled("2026112120", end + timedelta(hours=72), 72)
    assert is_settled("2026112120", end + timedelta(hours=5), 5)
    assert not is_settled("not-an-hour", NOW, 72)


def api_ranges(window_name: str, granularity: str) -> List[tuple]:
    window = named_window(window_name, NOW, TZ)
    return [(p.begin_time, p.end_time) for b in buckets(window, granularity) for p in split_for_api(b.counted())]


def lookup(store: GuardedStore, fetcher: FakeFetcher, clock: FakeClock, window_name: str = "last_30d",
           granularity: str = "day", settle: str = "72"):
    settings, _ = load_settings(base_env(SETTLE_HOURS=settle, SMS_API_RPS="10"))
    deps = JobDeps(fetcher_factory=lambda s: fetcher, now=lambda: NOW, monotonic=clock.monotonic, sleep=clock.sleep)
    querier = make_querier(settings, deps, None, store)
    return query_apps([App(app_id=APP)], named_window(window_name, NOW, TZ), granularity, querier)[0]


def test_a_repeated_last_30d_lookup_asks_only_for_unsettled_days(store: GuardedStore, fetcher: FakeFetcher,
                                                                 clock: FakeClock) -> None:
    ranges = api_ranges("last_30d", "day")
    unsettled = [r for r in ranges if not is_settled(r[1], NOW, 72)]
    assert 0 < len(unsettled) < len(ranges) / 5
    first = lookup(store, fetcher, clock)
    assert sorted(c[1:] for c in fetcher.calls) == sorted(ranges)
    fetcher.calls.clear()
    sleeps_before = len(clock.sleeps)
    second = lookup(store, fetcher, clock)
    assert sorted(c[1:] for c in fetcher.calls) == sorted(unsettled)
    assert second.series == first.series and second.stats == first.stats
    # a hit takes no rate-limit slot: only the API calls were spaced
    assert len(clock.sleeps) - sleeps_before <= len(unsettled)
    assert second.request_ids and len(second.request_ids) == len(unsettled)


def test_unsettled_spans_are_never_cached(store: GuardedStore, fetcher: FakeFetcher, clock: FakeClock) -> None:
    lookup(store, fetcher, clock, "last_24h", "total")
    lookup(store, fetcher, clock, "last_24h", "total")
    assert len(fetcher.calls) == 2


def test_settle_hours_moves_the_line(store: GuardedStore, fetcher: FakeFetcher, clock: FakeClock) -> None:
    lookup(store, fetcher, clock, "last_7d", "day", settle="1")
    fetcher.calls.clear()
    lookup(store, fetcher, clock, "last_7d", "day", settle="1")
    assert fetcher.calls == []  # every day of last_7d ended more than an hour ago


def test_a_failed_call_is_not_cached(store: GuardedStore, fetcher: FakeFetcher, clock: FakeClock) -> None:
    fetcher.fail(APP, "InvalidParameterValue.SdkAppIdNotExist", times=1)
    assert lookup(store, fetcher, clock, "yesterday", "total").error is not None
    assert lookup(store, fetcher, clock, "yesterday", "total").error is None


def test_with_the_store_down_the_cache_passes_through(fetcher: FakeFetcher, clock: FakeClock) -> None:
    def broken() -> Any:
        raise ConnectionError("refused")

    down = GuardedStore(opener=broken)
    cache = SettledCache(fetcher, down, now=lambda: NOW, settle_hours=72)
    stats, request_id = cache.fetch(APP, "2026110100", "2026110123")
    assert request_id and stats.RequestSuccessCount > 0 and down.problem == "get: ConnectionError"
    assert cache.cached(APP, "2026110100", "2026110123") is None
    assert len(fetcher.calls) == 1


def test_the_stats_lookup_over_http_uses_the_cache(invoke: Callable[..., Dict[str, Any]], fetcher: FakeFetcher,
                                                   tmp_path) -> None:
    env = base_env(STATE_URL=f"sqlite:///{tmp_path}/s.db")
    event = read_event("apigw_get_stats")
    event["queryString"] = event["queryStringParameters"] = {"app_id": APP, "window": "last_30d",
                                                              "granularity": "day"}
    first = invoke(event, env=env)
    calls = len(fetcher.calls)
    second = invoke(event, env=env)
    assert first["statusCode"] == second["statusCode"] == 200
    assert first["body"].split('"request_ids"')[0] == second["body"].split('"request_ids"')[0]
    assert len(fetcher.calls) - calls == len([r for r in api_ranges("last_30d", "day")
                                              if not is_settled(r[1], NOW, 72)])

"""The nightly warm-up of the dashboard's settled days (`dashboard/warm.py`), on a real SQLite store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict

from sms_receipt_stats.app import handle
from sms_receipt_stats.config import load_settings
from sms_receipt_stats.dashboard.warm import warm_after_report, warm_settled_days
from sms_receipt_stats.state.cache import SettledCache
from support import APP_MARKETING, APP_PROD, APP_STAGING, NOW, FakeClock, FakeFetcher, base_env

APPS = (APP_PROD, APP_STAGING, APP_MARKETING)


def settings_of(**over: str) -> Any:
    settings, issues = load_settings(base_env(**over))
    assert not issues
    return settings


def test_a_cold_cache_gets_every_settled_day_newest_first(make_deps, fetcher: FakeFetcher, sqlite_store) -> None:
    summary = warm_settled_days(settings_of(), make_deps(), sqlite_store, None, NOW)
    # last_30d ends 2026-11-25 00:00 (Shanghai); with SETTLE_HOURS=72 the days up to 11-21 are final
    assert summary.planned == summary.stored == 3 * 27 and summary.failed == 0
    days = sorted({begin for _, begin, _ in fetcher.calls})
    assert len(days) == 27 and days[-1] == "2026112100" and days[0] == "2026102600"
    assert {app for app, _, _ in fetcher.calls} == set(APPS)
    again = warm_settled_days(settings_of(), make_deps(), sqlite_store, None, NOW)
    assert again.planned == 0 and len(fetcher.calls) == 3 * 27


def test_the_next_night_asks_for_the_one_day_that_settled(make_deps, fetcher: FakeFetcher, sqlite_store) -> None:
    warm_settled_days(settings_of(), make_deps(), sqlite_store, None, NOW)
    fetcher.calls.clear()
    tomorrow = NOW + timedelta(days=1)
    summary = warm_settled_days(settings_of(), make_deps(now=tomorrow), sqlite_store, None, tomorrow)
    assert summary.planned == 3 and sorted(fetcher.calls) == sorted(
        (app, "2026112200", "2026112223") for app in APPS)


def test_a_short_budget_fills_the_newest_days(make_deps, clock: FakeClock, fetcher: FakeFetcher,
                                              sqlite_store) -> None:
    summary = warm_settled_days(settings_of(), make_deps(), sqlite_store, clock.monotonic() + 2.0, NOW)
    assert 0 < summary.stored < 3 * 27
    assert summary.failed == summary.planned - summary.stored  # the rest found no time, and is not cached
    cache = SettledCache(FakeFetcher(), sqlite_store, now=lambda: NOW, settle_hours=72)
    for app in APPS:  # the newest settled day is there for every app, the oldest was not reached
        assert cache.cached(app, "2026112100", "2026112123") is not None
        assert cache.cached(app, "2026102600", "2026102623") is None


def test_without_a_store_nothing_happens(make_deps, fetcher: FakeFetcher) -> None:
    assert warm_settled_days(settings_of(), make_deps(), None, None, NOW).skipped == "no state store"
    assert warm_after_report(settings_of(), make_deps(), None, NOW).skipped == "no state store"
    assert fetcher.calls == []


def test_an_unreachable_endpoint_costs_one_call(make_deps, fetcher: FakeFetcher, sqlite_store) -> None:
    from sms_receipt_stats.sdk import network_error

    def refuse(app_id: str, begin: str, end: str) -> None:
        raise network_error("gaierror: Temporary failure in name resolution")

    fetcher.on_fetch = refuse
    summary = warm_settled_days(settings_of(), make_deps(), sqlite_store, None, NOW)
    assert summary.stored == 0 and summary.failed == summary.planned and len(fetcher.calls) <= 16


def test_the_daily_report_ends_by_warming_the_cache(make_deps, fetcher: FakeFetcher, tmp_path) -> None:
    env: Dict[str, str] = base_env(STATE_URL=f"sqlite:///{tmp_path}/state.db")
    doc = handle({"Type": "Timer", "TriggerName": "daily", "Time": NOW.isoformat(), "Message": ""}, None,
                 env=env, deps=make_deps())
    assert doc["kind"] == "report" and not doc["errors"]
    # yesterday per app, the 7-day baselines of the trend rule, then the warm-up: each day asked once
    assert len(fetcher.calls) == len(set(fetcher.calls)) <= 3 + 3 * 7 + 3 * 27
    settings = settings_of(STATE_URL=f"sqlite:///{tmp_path}/state.db")
    from sms_receipt_stats.state.flow import open_state

    store = open_state(settings)
    assert store is not None
    try:
        cache = SettledCache(FakeFetcher(), store, now=lambda: NOW, settle_hours=72)
        for day in range(27):  # every settled day of last_30d, for every app
            begin = (NOW - timedelta(days=4 + day)).strftime("%Y%m%d")
            for app in APPS:
                assert cache.cached(app, f"{begin}00", f"{begin}23") is not None, (app, begin)
    finally:
        store.close()


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_report_with_a_dead_store_asks_only_for_its_own_numbers(make_deps, fetcher: FakeFetcher) -> None:
    """It used to warm the cache anyway: 84 API calls for a 3-app report that needed 3, none kept."""
    env = base_env(STATE_URL=f"redis://127.0.0.1:{closed_port()}/0")
    doc = handle({"Type": "Timer", "TriggerName": "daily", "Time": NOW.isoformat(), "Message": ""}, None,
                 env=env, deps=make_deps())
    assert [a["rule"] for a in doc["alerts"]].count("state_unavailable") == 1
    assert len(fetcher.calls) == 3  # yesterday, once per app


def test_a_store_that_fails_on_the_way_stops_the_warm_up(make_deps, fetcher: FakeFetcher, sqlite_store) -> None:
    sqlite_store.fail("get: TimeoutError")
    summary = warm_settled_days(settings_of(), make_deps(), sqlite_store, None, NOW)
    assert summary.skipped and fetcher.calls == []


def test_the_warm_up_gets_no_store_time_once_the_invocation_has_none(make_deps, clock: FakeClock,
                                                                      fetcher: FakeFetcher, tmp_path) -> None:
    settings = settings_of(STATE_URL=f"sqlite:///{tmp_path}/state.db")
    assert warm_after_report(settings, make_deps(), clock.monotonic() - 1, NOW).skipped == "no time left"
    assert fetcher.calls == []

"""Named windows come from the timer event's `Time` when it is a recent past: retries report the same window."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict

import pytest

from sms_receipt_stats.app import RETRY_HORIZON_SECONDS, scheduled_time
from sms_receipt_stats.events import TimerEvent
from support import APP_PROD, NOW, FakeFetcher


def _event(time: Any) -> Dict[str, Any]:
    return {"Type": "Timer", "TriggerName": "daily-report", "Time": time,
            "Message": {"job": "report", "window": "yesterday", "app_ids": [APP_PROD]}}


def _timer(time: Any) -> TimerEvent:
    return TimerEvent.parse(_event(time))


def test_a_report_retried_after_midnight_still_reports_the_day_it_was_scheduled_for(
        invoke: Callable[..., Dict[str, Any]], make_deps: Callable[..., Any], fetcher: FakeFetcher) -> None:
    scheduled = datetime(2026, 11, 24, 15, 55, tzinfo=timezone.utc)  # 23:55 Beijing, 24 Nov
    retried = scheduled + timedelta(minutes=10)  # 00:05 Beijing, 25 Nov
    doc = invoke(_event("2026-11-24T15:55:00Z"), deps=make_deps(now=retried))
    assert doc["results"][0]["window"]["begin"] == "2026112300"  # 23 Nov: yesterday of the 24th
    assert fetcher.calls == [(APP_PROD, "2026112300", "2026112323")]


@pytest.mark.parametrize("time", [None, "", "yesterday", "2026-11-25T01:00:00", "2019-02-21T11:49:00Z",
                                  "2026-11-25T03:00:00Z", 42, "9" * 100])
def test_a_missing_malformed_future_or_old_time_means_now(time: Any) -> None:
    assert scheduled_time(_timer(time), NOW) == NOW


def test_a_recent_past_time_is_the_schedule() -> None:
    recent = NOW - timedelta(seconds=RETRY_HORIZON_SECONDS)
    assert scheduled_time(_timer(recent.isoformat()), NOW) == recent
    assert scheduled_time(_timer("2026-11-25T01:00:00Z"), NOW) == NOW.replace(tzinfo=timezone.utc)


def test_with_a_state_store_the_retry_after_midnight_replays_the_first_run(
        invoke: Callable[..., Dict[str, Any]], make_deps: Callable[..., Any], fetcher: FakeFetcher,
        tmp_path: Any) -> None:
    from support import base_env

    env = base_env(STATE_URL=f"sqlite:///{tmp_path}/state.db")
    event = _event("2026-11-24T15:55:00Z")
    first = invoke(event, env=env, deps=make_deps(now=datetime(2026, 11, 24, 15, 55, 5, tzinfo=timezone.utc)))
    calls = len(fetcher.calls)
    again = invoke(event, env=env, deps=make_deps(now=datetime(2026, 11, 24, 16, 5, tzinfo=timezone.utc)))
    assert "replayed" not in first and again["replayed"] is True
    assert again["results"] == first["results"] and len(fetcher.calls) == calls  # no API call, nothing sent


# `Time` read two ways (docs/troubleshooting.md, *Timer `Time`*): this firing's scheduled time, or
# the trigger's creation time (constant across firings). Windows must be right under both.

def _check(time: str) -> Dict[str, Any]:
    return {"Type": "Timer", "TriggerName": "hourly-check", "Time": time,
            "Message": {"job": "check", "window": "last_hour", "app_ids": [APP_PROD]}}


def test_a_constant_creation_time_gives_each_hourly_firing_its_own_window(
        invoke: Callable[..., Dict[str, Any]], make_deps: Callable[..., Any], fetcher: FakeFetcher) -> None:
    created = "2026-11-25T00:37:12Z"  # deployed at 08:37 Beijing; Time never changes after
    windows = []
    for hour in range(1, 9):  # firings at 09:00 .. 16:00 Beijing
        fired = datetime(2026, 11, 25, hour, 0, 2, tzinfo=timezone.utc)
        doc = invoke(_check(created), deps=make_deps(now=fired))
        windows.append((doc["results"][0]["window"]["begin"], doc["results"][0]["window"]["end"]))
    assert len(set(windows)) == 8
    assert windows == [(f"20261125{h + 7:02d}", f"20261125{h + 8:02d}") for h in range(1, 9)]


def test_a_retry_minutes_after_a_scheduled_firing_gets_that_firings_window(
        invoke: Callable[..., Dict[str, Any]], make_deps: Callable[..., Any], fetcher: FakeFetcher) -> None:
    scheduled = datetime(2026, 11, 25, 2, 0, 0, tzinfo=timezone.utc)  # 10:00 Beijing
    first = invoke(_check("2026-11-25T02:00:00Z"), deps=make_deps(now=scheduled + timedelta(seconds=3)))
    retry = invoke(_check("2026-11-25T02:00:00Z"), deps=make_deps(now=scheduled + timedelta(minutes=4)))
    assert first["results"][0]["window"] == retry["results"][0]["window"]
    assert first["results"][0]["window"]["begin"] == "2026112509"


def test_a_time_older_than_a_retry_can_be_is_not_this_firing() -> None:
    """Beyond the horizon `Time` cannot be this firing's schedule (retries come within minutes):
    it is a creation time or a saved console event, and the window comes from now."""
    assert RETRY_HORIZON_SECONDS <= 30 * 60
    old = NOW - timedelta(seconds=RETRY_HORIZON_SECONDS + 1)
    assert scheduled_time(_timer(old.isoformat()), NOW) == NOW
    assert scheduled_time(_timer((NOW - timedelta(hours=1)).isoformat()), NOW) == NOW

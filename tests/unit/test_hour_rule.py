"""Every hour counted exactly once, checked from outside the product's window code.

The oracle here knows only the API's documented rule (BeginTime's hour through EndTime's
hour, Beijing time; docs/hour-rule.md, *The hour rule*) and the emulator's per-hour data
(`emulator.hourly_stats`). It computes each window's instants with `zoneinfo` itself and
expands every call the product made into the hours it counts. Whatever the shape (named
windows, explicit, over 32 days, day and hour series, zones with a part-hour offset, DST
changes), the calls must cover the window's hours with no hour twice and none missing, and
the numbers must be the sum of those hours.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Tuple
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sms_receipt_stats.app import handle
from sms_receipt_stats.dev.emulator import STAT_FIELDS, hourly_stats
from sms_receipt_stats.jobs import JobDeps
from support import APP_PROD, APP_STAGING, FakeClock, FakeFetcher, RecordingDeliver, base_env

UTC = timezone.utc
BEIJING = ZoneInfo("Asia/Shanghai")
ZONES = ["Asia/Shanghai", "UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu",
         "Australia/Lord_Howe"]
APPS = [APP_PROD, APP_STAGING]


def _epoch(value: datetime) -> int:
    return int(value.timestamp())


def _local(text: str, zone: ZoneInfo) -> datetime:
    """`yyyymmddhh` in `zone`; a repeated hour means its first occurrence (fold=0)."""
    return datetime.strptime(text, "%Y%m%d%H").replace(tzinfo=zone)


def _api_hours(begin_time: str, end_time: str) -> List[int]:
    """The hours (UTC epochs) one call counts: BeginTime's through EndTime's, Beijing time."""
    first = _epoch(datetime.strptime(begin_time, "%Y%m%d%H").replace(tzinfo=BEIJING))
    last = _epoch(datetime.strptime(end_time, "%Y%m%d%H").replace(tzinfo=BEIJING))
    return list(range(first, last + 3600, 3600))


def _hours_between(begin: datetime, end: datetime) -> List[int]:
    """The whole API hours a window [begin, end) is counted as: both ends on a whole hour.

    A Beijing whole hour is a UTC whole hour (UTC+8), so flooring the epoch is the whole rule;
    where the zone's offset has a part-hour, the window moves back by it.
    """
    return list(range(_epoch(begin) // 3600 * 3600, _epoch(end) // 3600 * 3600, 3600))


def _sum(app_id: str, hours: List[int]) -> Dict[str, int]:
    total = dict.fromkeys(STAT_FIELDS, 0)
    for hour in hours:
        for name, value in hourly_stats(app_id, hour).items():
            total[name] += value
    return total


def _run(message: Dict[str, Any], tz: str, now: datetime) -> Tuple[Dict[str, Any], FakeFetcher]:
    fetcher = FakeFetcher()
    clock = FakeClock()
    deps = JobDeps(fetcher_factory=lambda settings: fetcher, now=lambda: now, monotonic=clock.monotonic,
                   sleep=clock.sleep, deliver=RecordingDeliver())
    event = {"Type": "Timer", "TriggerName": "hour-rule", "Time": now.isoformat(), "Message": message}
    env = base_env(REPORT_TIMEZONE=tz, SMS_SDK_APP_IDS=",".join(APPS))
    return handle(event, None, env=env, deps=deps), fetcher


def _named_bounds(name: str, now: datetime, zone: ZoneInfo) -> Tuple[datetime, datetime]:
    """The named windows, written from their definitions: H the current local whole hour, D today."""
    local = now.astimezone(zone)
    hour = (now - timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond))
    midnight = datetime(local.year, local.month, local.day, tzinfo=zone)
    if name == "last_hour":
        return hour - timedelta(hours=1), hour
    if name == "last_24h":
        return hour - timedelta(hours=24), hour
    if name == "today":
        return midnight, hour
    days = {"yesterday": 1, "last_7d": 7, "last_30d": 30}[name]
    start = (midnight.replace(tzinfo=None) - timedelta(days=days)).replace(tzinfo=zone)
    return start, midnight


def assert_each_hour_once(doc: Dict[str, Any], fetcher: FakeFetcher, expected_hours: List[int],
                          granularity: str) -> None:
    assert doc["errors"] == [], doc["errors"]
    for result in doc["results"]:
        app_id = result["app_id"]
        counted = Counter(h for _, b, e in fetcher.calls_for(app_id) for h in _api_hours(b, e))
        twice = sorted(h for h, n in counted.items() if n > 1)
        assert not twice, f"{len(twice)} hours counted more than once, first {datetime.fromtimestamp(twice[0], UTC)}"
        assert sorted(counted) == expected_hours, "the calls do not cover exactly the window's hours"
        assert result["stats"] == _sum(app_id, expected_hours)
        if granularity != "total":
            for name in STAT_FIELDS:
                assert sum(p["stats"][name] for p in result["series"]) == result["stats"][name]


PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOWS = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC))


@PROPERTY
@given(name=st.sampled_from(["last_hour", "last_24h", "today", "yesterday", "last_7d", "last_30d"]),
       tz=st.sampled_from(ZONES), now=NOWS, granularity=st.sampled_from(["total", "day", "hour"]))
def test_named_windows_count_each_hour_once(name: str, tz: str, now: datetime, granularity: str) -> None:
    begin, end = _named_bounds(name, now, ZoneInfo(tz))
    assume(end > begin)  # 'today' has no complete hour just after midnight
    assume(granularity != "hour" or end - begin <= timedelta(days=7))
    doc, fetcher = _run({"job": "report", "window": name, "granularity": granularity}, tz, now)
    assert_each_hour_once(doc, fetcher, _hours_between(begin, end), granularity)


@PROPERTY
@given(tz=st.sampled_from(ZONES), start=NOWS, hours=st.integers(min_value=1, max_value=366 * 24),
       granularity=st.sampled_from(["total", "day", "hour"]))
def test_explicit_windows_count_each_hour_once(tz: str, start: datetime, hours: int, granularity: str) -> None:
    zone = ZoneInfo(tz)
    if granularity == "hour":
        hours = min(hours, 7 * 24 - 2)
    # begin and end as a user would write them: existing local whole hours
    begin_text = start.astimezone(zone).strftime("%Y%m%d%H")
    end_text = (start + timedelta(hours=hours)).astimezone(zone).strftime("%Y%m%d%H")
    begin, end = _local(begin_text, zone), _local(end_text, zone)
    assume(end > begin)
    now = end.astimezone(UTC) + timedelta(days=3)
    window = {"begin": begin_text, "end": end_text}
    doc, fetcher = _run({"job": "report", "window": window, "granularity": granularity}, tz, now)
    assert_each_hour_once(doc, fetcher, _hours_between(begin, end), granularity)


def test_a_long_window_is_split_at_seams_counted_once() -> None:
    now = datetime(2026, 11, 25, 1, tzinfo=UTC)
    doc, fetcher = _run({"job": "report", "window": {"begin": "2026010100", "end": "2026110100"}},
                        "Asia/Shanghai", now)
    assert len(fetcher.calls_for(APP_PROD)) == 10  # 304 days, 32 per call
    begin, end = _local("2026010100", BEIJING), _local("2026110100", BEIJING)
    assert_each_hour_once(doc, fetcher, _hours_between(begin, end), "total")


def test_yesterday_is_24_hours_not_25() -> None:
    now = datetime(2026, 11, 25, 1, tzinfo=UTC)
    doc, fetcher = _run({"job": "report", "window": "yesterday"}, "Asia/Shanghai", now)
    assert fetcher.calls_for(APP_PROD) == [(APP_PROD, "2026112400", "2026112423")]
    assert doc["results"][0]["stats"] == _sum(APP_PROD, _hours_between(_local("2026112400", BEIJING),
                                                                       _local("2026112500", BEIJING)))


def test_a_seven_day_series_sums_to_the_same_window_as_a_total_in_kolkata() -> None:
    """A 7-day series summed to 7 more hours' worth than its total when buckets overlapped."""
    now = datetime(2026, 11, 25, 1, tzinfo=UTC)
    total, _ = _run({"job": "report", "window": "last_7d"}, "Asia/Kolkata", now)
    series, _ = _run({"job": "report", "window": "last_7d", "granularity": "day"}, "Asia/Kolkata", now)
    assert total["results"][0]["stats"] == series["results"][0]["stats"]
    window = series["results"][0]["window"]
    # the document says which hours were counted, and that they approximate local days
    assert window["counted"] == {"BeginTime": "2026111802", "EndTime": "2026112501", "timezone": "Asia/Shanghai",
                                 "hours": 168, "exact": False}
    assert all(p["counted"]["hours"] == 24 and p["counted"]["exact"] is False for p in series["results"][0]["series"])


def test_lord_howe_half_hour_dst_fold_is_counted_once() -> None:
    # 2026-04-05 02:00 daylight (+11) falls back to 01:30 standard (+10:30): a 24.5 h local day
    tz = "Australia/Lord_Howe"
    zone = ZoneInfo(tz)
    now = datetime(2026, 4, 10, tzinfo=UTC)
    window = {"begin": "2026040400", "end": "2026040700"}
    doc, fetcher = _run({"job": "report", "window": window, "granularity": "hour"}, tz, now)
    assert_each_hour_once(doc, fetcher, _hours_between(_local("2026040400", zone), _local("2026040700", zone)), "hour")
    doc, fetcher = _run({"job": "report", "window": window, "granularity": "day"}, tz, now)
    assert_each_hour_once(doc, fetcher, _hours_between(_local("2026040400", zone), _local("2026040700", zone)), "day")

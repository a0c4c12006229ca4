"""Alerts through the shipped schedule (docs/alerts.md): hourly checks and the daily report with a state
store, via `app.handle` and fake edges. One notice per episode, no resolved on thin evidence, one
lifecycle across jobs, one message for an account-wide failure."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import pytest

from sms_receipt_stats.sdk import CloudError
from sms_receipt_stats.stats import Stats
from support import APP_MARKETING, APP_PROD, APP_STAGING, RecordingDeliver, base_env, read_event

Invoke = Callable[..., Dict[str, Any]]
Answer = Union[Stats, str]  # stats, or an error code the API answers
START = datetime(2026, 11, 25, 1, 5, tzinfo=timezone.utc)  # 09:05 Beijing: the check of 08:00-09:00


def counts(submitted: int, successes: int) -> Stats:
    return Stats(RequestSuccessCount=submitted, CallbackCount=submitted, CallbackSuccessCount=successes,
                 CallbackFailCount=submitted - successes)


HEALTHY, BAD, QUIET_BAD = counts(1000, 980), counts(1000, 600), counts(20, 5)


class HourlyFetcher:
    """Answers per app and API hour from `plan(app_id, begin_time, end_time)`: stats, or an error code."""

    def __init__(self, plan: Callable[[str, str, str], Answer]) -> None:
        self.plan = plan
        self.calls: List[Tuple[str, str, str]] = []

    def fetch(self, app_id: str, begin_time: str, end_time: str,
              timeout: Optional[float] = None) -> Tuple[Stats, Optional[str]]:
        self.calls.append((app_id, begin_time, end_time))
        answer = self.plan(app_id, begin_time, end_time)
        if isinstance(answer, str):
            raise CloudError(answer, "injected", "req-e")
        return answer, "req-1"


class Schedule:
    """Runs timer events at chosen instants against one SQLite state store."""

    def __init__(self, invoke: Invoke, make_deps: Callable[..., Any], tmp_path: Any,
                 plan: Callable[[str, str, str], Answer], apps: str = APP_PROD, db: str = "state") -> None:
        self.invoke, self.make_deps = invoke, make_deps
        self.env = base_env(STATE_URL=f"sqlite:///{tmp_path}/{db}.db", SMS_SDK_APP_IDS=apps)
        self.fetcher = HourlyFetcher(plan)
        self.delivered = RecordingDeliver()

    def run(self, at: datetime, job: str = "check", window: str = "last_hour") -> Dict[str, Any]:
        event = dict(read_event("timer_check_last_hour"), Time=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                     TriggerName=f"{job}-trigger", Message=json.dumps({"job": job, "window": window}))
        return self.invoke(event, env=self.env, deps=self.make_deps(now=at, fetcher=self.fetcher,
                                                                  deliver=self.delivered))

    def hourly(self, hours: int, start: datetime = START) -> List[Dict[str, Any]]:
        return [self.run(start + timedelta(hours=h)) for h in range(hours)]


def notices(doc: Dict[str, Any]) -> List[Tuple[Optional[str], str, str]]:
    return [(a.get("app_id"), a["rule"], a["status"]) for a in doc["alerts"] if a.get("notified")]


def by_hour(bad: Dict[str, Answer], default: Answer = HEALTHY) -> Callable[[str, str, str], Answer]:
    """An app whose Beijing hours (`yyyymmddhh`) in `bad` answer that; every other hour `default`."""
    return lambda app_id, begin, end: bad.get(begin, default) if begin == end else default


def test_an_incident_is_one_notice_and_one_resolved_despite_a_quiet_hour(invoke: Invoke, make_deps: Any,
                                                                          tmp_path: Any) -> None:
    plan = by_hour({"2026112508": BAD, "2026112509": QUIET_BAD, "2026112510": BAD})
    docs = Schedule(invoke, make_deps, tmp_path, plan).hourly(6)
    assert [notices(d) for d in docs] == [
        [(APP_PROD, "success_rate_below", "firing")],  # 08:00-09:00 is bad
        [],  # 20 receipts: no evidence either way, the alert is held, no "resolved"
        [],  # bad again: the same episode, not a new notice
        [],  # healthy once: not proof yet
        [(APP_PROD, "success_rate_below", "resolved")],  # healthy twice: resolved
        [],
    ]
    held = [a for a in docs[1]["alerts"] if a["rule"] == "success_rate_below"]
    assert [(a["status"], a["notified"], a["since"]) for a in held] == [
        ("firing", False, "2026-11-25T09:05:00+08:00")]


def test_the_daily_report_lists_the_checks_alerts_and_never_resolves_them(invoke: Invoke, make_deps: Any,
                                                                          tmp_path: Any) -> None:
    night = datetime(2026, 11, 24, 18, 5, tzinfo=timezone.utc)  # 02:05 Beijing, the check of 01:00-02:00
    schedule = Schedule(invoke, make_deps, tmp_path, by_hour({"2026112501": BAD, "2026112502": BAD}))
    first = schedule.run(night)
    assert notices(first) == [(APP_PROD, "success_rate_below", "firing")]
    report = schedule.run(night + timedelta(minutes=55), job="report", window="yesterday")  # 03:00
    listed = [a for a in report["alerts"] if a["rule"] == "success_rate_below"]
    assert [(a["status"], a["notified"]) for a in listed] == [("firing", False)]  # yesterday was fine
    again = schedule.run(night + timedelta(hours=1))  # 03:05, the check of 02:00-03:00
    assert notices(again) == []
    [alert] = [a for a in again["alerts"] if a["rule"] == "success_rate_below"]
    assert alert["since"] == first["alerts"][0]["since"]  # one episode: `since` never reset


def test_a_report_without_an_hourly_check_judges_the_hourly_rules_itself(invoke: Invoke, make_deps: Any,
                                                                        tmp_path: Any) -> None:
    """A deployment with the daily report alone (and a state store) still hears of a bad day."""
    bad_day = counts(24000, 14400)  # 60 % success
    schedule = Schedule(invoke, make_deps, tmp_path, lambda app, begin, end: bad_day if begin != end else HEALTHY)
    report = schedule.run(datetime(2026, 11, 24, 19, 0, tzinfo=timezone.utc), job="report", window="yesterday")
    assert notices(report) == [(APP_PROD, "success_rate_below", "firing")]


def test_an_account_wide_failure_is_one_notice_per_run(invoke: Invoke, make_deps: Any, tmp_path: Any) -> None:
    apps = ",".join((APP_PROD, APP_STAGING, APP_MARKETING))
    schedule = Schedule(invoke, make_deps, tmp_path,
                        lambda app, begin, end: "UnauthorizedOperation.ServiceSuspendDueToArrears", apps=apps)
    docs = schedule.hourly(3)
    assert [notices(d) for d in docs] == [[(None, "api_error", "firing")], [], []]
    assert [len([a for a in d["alerts"] if a.get("notified")]) for d in schedule.delivered.docs] == [1, 0, 0]
    schedule.fetcher.plan = by_hour({})
    after = schedule.hourly(2, START + timedelta(hours=3))
    assert [notices(d) for d in after] == [[], [(None, "api_error", "resolved")]]


def test_one_timeout_is_not_notified_two_in_a_row_are(invoke: Invoke, make_deps: Any, tmp_path: Any) -> None:
    schedule = Schedule(invoke, make_deps, tmp_path, by_hour({"2026112508": "InternalError.Timeout"}))
    assert [notices(d) for d in schedule.hourly(4)] == [[], [], [], []]
    schedule = Schedule(invoke, make_deps, tmp_path,
                        by_hour({"2026112508": "InternalError.Timeout", "2026112509": "InternalError.Timeout"}),
                        db="second")
    assert [notices(d) for d in schedule.hourly(2)] == [[], [(APP_PROD, "api_error", "firing")]]


def test_an_app_that_stops_sending_raises_volume_drop(invoke: Invoke, make_deps: Any, tmp_path: Any) -> None:
    """Four days of checks at 09:05 build the same-hour baseline; then 08:00-09:00 has no message."""
    def plan(app: str, begin: str, end: str) -> Answer:
        return counts(0, 0) if begin == "2026112908" else counts(800, 790)

    schedule = Schedule(invoke, make_deps, tmp_path, plan)
    days = [schedule.run(START + timedelta(days=d)) for d in range(5)]
    assert [notices(d) for d in days] == [[], [], [], [], [(APP_PROD, "volume_drop", "firing")]]
    [alert] = [a for a in days[-1]["alerts"] if a["rule"] == "volume_drop"]
    assert alert["value"] == 0 and "usually 800" in alert["message"]


@pytest.mark.parametrize("lang, word", [("en", "all 3 apps"), ("zh", "全部 3 个应用")])
def test_the_account_wide_alert_names_the_apps(invoke: Invoke, make_deps: Any, tmp_path: Any, lang: str,
                                               word: str) -> None:
    apps = ",".join((APP_PROD, APP_STAGING, APP_MARKETING))
    schedule = Schedule(invoke, make_deps, tmp_path, lambda *_: "AuthFailure.SecretIdNotFound", apps=apps)
    schedule.env["REPORT_LANG"] = lang
    [alert] = schedule.run(START)["alerts"]
    assert word in alert["message"] and APP_STAGING in alert["message"]

"""How rules decide (docs/alerts.md): confidence bounds, pooled hours, verdicts of each rule, pure."""

from __future__ import annotations

import random
from typing import Dict, Optional

import pytest

from sms_receipt_stats.config import Thresholds
from sms_receipt_stats.documents import AppResult, ErrorInfo, WindowDoc
from sms_receipt_stats.rules import Context, Evidence, assess, registry
from sms_receipt_stats.rules._evidence import (
    Seen,
    poisson_lower,
    poisson_upper,
    pool_back,
    same_hour_history,
    wilson_bounds,
    z_of,
)
from sms_receipt_stats.stats import Stats, compute_rates

APP, OTHER, THIRD = "1400006874", "1400000002", "1400000003"
NEWEST = 493_000  # an hour index (UTC epoch hours)
WINDOW = WindowDoc(begin="2026112508", end="2026112509", timezone="Asia/Shanghai")


def counts(submitted: int, receipts: int, successes: int) -> Stats:
    return Stats(RequestSuccessCount=submitted, CallbackCount=receipts, CallbackSuccessCount=successes,
                 CallbackFailCount=receipts - successes, ShutdownErrorCount=receipts - successes)


def result(stats: Optional[Stats], app_id: str = APP, error: Optional[ErrorInfo] = None) -> AppResult:
    return AppResult(app_id=app_id, window=WINDOW, stats=stats, rates=compute_rates(stats) if stats else None,
                     error=error)


def ctx(job: str = "check", stateful: bool = True, **values: float) -> Context:
    return Context(values=Thresholds(**values).values(), job=job, stateful=stateful)


def hourly(history: Dict[int, Stats], lag: float = 300.0) -> Dict[int, Seen]:
    return {NEWEST - back: Seen(stats, lag) for back, stats in history.items()}


def verdict(rule: str, evidence: Evidence, context: Optional[Context] = None):
    spec = registry().by_name[rule]
    assert spec.judge is not None
    return spec.judge(evidence, context or ctx())


def latest(stats: Stats, older: Optional[Dict[int, Stats]] = None, lag: float = 300.0) -> Evidence:
    hours = hourly({0: stats, **(older or {})}, lag)
    return Evidence(result=result(stats), hours=hours, newest=NEWEST, window_lag=lag)


# -- bounds ---------------------------------------------------------------------------------------


def test_wilson_bounds_match_the_textbook_interval() -> None:
    low, high = wilson_bounds(50, 100, 1.959964)  # 95 % two-sided Wilson interval of 50/100
    assert (round(low, 4), round(high, 4)) == (0.4038, 0.5962)
    assert wilson_bounds(0, 0, 2.0) == (0.0, 1.0)  # no data: anything is possible
    low, high = wilson_bounds(10, 10, 1.959964)
    assert round(low, 4) == 0.7225 and high == pytest.approx(1.0)


def test_poisson_bounds_are_close_to_the_exact_ones() -> None:
    z = z_of(0.99)
    assert round(z, 3) == 2.326
    assert poisson_upper(0, z) == pytest.approx(4.605, abs=0.01)  # exact: -ln(0.01)
    assert poisson_upper(100, z) == pytest.approx(125.9, abs=0.3)
    assert poisson_lower(100, z) == pytest.approx(78.2, abs=0.3)  # exact: chi2(0.01; 200) / 2
    assert poisson_lower(0, z) == 0.0


# -- pooling --------------------------------------------------------------------------------------


def test_pooling_goes_back_until_the_volume_is_there() -> None:
    hours = hourly({0: counts(40, 40, 10), 1: counts(40, 40, 10), 2: counts(40, 40, 10), 3: counts(40, 40, 40)})
    pool = pool_back(hours, NEWEST, lambda s: s.CallbackCount, 100, 6)
    assert pool.hours == 3 and pool.stats.CallbackCount == 120 and pool.stats.CallbackSuccessCount == 30


def test_pooling_stops_at_a_gap_at_the_limit_and_at_unusable_hours() -> None:
    thin = counts(10, 10, 5)
    gap = hourly({0: thin, 1: thin, 3: thin})
    assert pool_back(gap, NEWEST, lambda s: s.CallbackCount, 100, 6).hours == 2
    many = hourly({back: thin for back in range(10)})
    assert pool_back(many, NEWEST, lambda s: s.CallbackCount, 100, 4).hours == 4
    assert pool_back(many, NEWEST, lambda s: s.CallbackCount, 100, 6, usable=lambda seen: seen.lag > 1e9).hours == 0
    assert pool_back({}, NEWEST, lambda s: s.CallbackCount, 100, 6).hours == 0


def test_same_hour_history_reads_whole_days_back() -> None:
    hours = hourly({24: counts(500, 0, 0), 48: counts(700, 0, 0), 23: counts(9, 0, 0)})
    assert same_hour_history(hours, NEWEST, 7) == [500, 700]


# -- success_rate_below ---------------------------------------------------------------------------


def test_a_healthy_app_just_above_its_threshold_does_not_fire_on_noise() -> None:
    """91.5 % true rate, 90 % threshold, 1,000 receipts an hour: a point threshold fires on about
    1 hour in 20; the confidence bound on next to none."""
    rng = random.Random(7)
    fired = naive = 0
    for _ in range(2000):
        successes = sum(rng.random() < 0.915 for _ in range(1000))
        answer = verdict("success_rate_below", latest(counts(1000, 1000, successes)))
        fired += answer.state == "firing"
        naive += successes / 1000 < 0.9
    assert naive > 50  # the noise is really there
    assert fired <= 1


def test_a_real_drop_fires_in_one_hour_with_the_pooled_rate() -> None:
    answer = verdict("success_rate_below", latest(counts(1000, 1000, 800)))
    assert answer.state == "firing" and answer.alert is not None
    assert (answer.alert.severity, answer.alert.value, answer.alert.threshold) == ("warning", 0.8, 0.9)
    critical = verdict("success_rate_below", latest(counts(1000, 1000, 400)))
    assert critical.alert is not None and critical.alert.severity == "critical"


def test_thin_hours_are_pooled_and_fire_only_together() -> None:
    thin = counts(30, 30, 9)  # 30 % success, 30 receipts an hour
    alone = verdict("success_rate_below", latest(thin))
    assert alone.state == "unknown"  # 30 receipts are below ALERT_MIN_VOLUME
    pooled = verdict("success_rate_below", latest(thin, {1: thin, 2: thin, 3: thin}))
    assert pooled.state == "firing" and pooled.alert is not None
    assert "120 receipts over 4 h" in pooled.alert.message


def test_a_quiet_hour_is_not_a_recovery() -> None:
    assert verdict("success_rate_below", latest(counts(20, 20, 20))).state == "unknown"


def test_between_the_bounds_nothing_changes_and_confident_recovery_clears() -> None:
    assert verdict("success_rate_below", latest(counts(1000, 1000, 895))).state == "unknown"
    assert verdict("success_rate_below", latest(counts(1000, 1000, 960))).state == "clear"


def test_a_failed_query_is_never_clear() -> None:
    failed = Evidence(result=result(None, error=ErrorInfo(code="InternalError.Timeout", message="x",
                                                           severity="warning", category="transient",
                                                           retryable=True, hint="h")))
    assert verdict("success_rate_below", failed).state == "unknown"
    assert verdict("receipt_rate_below", failed).state == "unknown"
    assert verdict("volume_drop", failed).state == "unknown"


# -- receipt_rate_below: late receipts ------------------------------------------------------------


def test_receipts_that_can_still_arrive_are_not_judged() -> None:
    """At minute 5 most receipts of the last hour are not in yet: 50 % looks like an outage."""
    early = counts(1000, 500, 490)
    assert verdict("receipt_rate_below", latest(early)).state == "unknown"
    stateless = Evidence(result=result(early), window_lag=300)
    assert verdict("receipt_rate_below", stateless, ctx(stateful=False)).state == "unknown"


def test_hours_read_again_after_the_delay_are_judged() -> None:
    hours = {NEWEST: Seen(counts(1000, 500, 490), 300),  # this hour: too early
             NEWEST - 1: Seen(counts(1000, 700, 690), 3900),  # an hour later: still too early
             NEWEST - 2: Seen(counts(1000, 400, 390), 7500)}  # read again 2 h after its end: judged
    evidence = Evidence(result=result(counts(1000, 500, 490)), hours=hours, newest=NEWEST, window_lag=300)
    answer = verdict("receipt_rate_below", evidence)
    assert answer.state == "firing" and answer.alert is not None and answer.alert.value == 0.4
    assert answer.pending_runs == 2  # the next run must agree: a reading is never quite complete
    hours[NEWEST - 2] = Seen(counts(1000, 950, 940), 7500)
    assert verdict("receipt_rate_below", evidence).state == "clear"


def test_a_stateless_report_of_a_finished_day_judges_receipts() -> None:
    day = Evidence(result=result(counts(10000, 6000, 5900)), window_lag=3 * 3600)
    assert verdict("receipt_rate_below", day, ctx("report", stateful=False)).state == "firing"


# -- volume_drop ----------------------------------------------------------------------------------


def usual(volume: int, days: int = 7) -> Dict[int, Stats]:
    return {24 * day: counts(volume, volume, volume) for day in range(1, days + 1)}


def test_an_app_that_stops_sending_fires() -> None:
    answer = verdict("volume_drop", latest(counts(0, 0, 0), usual(800)))
    assert answer.state == "firing" and answer.alert is not None
    assert answer.alert.value == 0 and answer.alert.threshold == 160.0 and "usually 800" in answer.alert.message


def test_volume_drop_needs_a_baseline_big_enough_to_tell() -> None:
    assert verdict("volume_drop", latest(counts(0, 0, 0), usual(60))).state == "unknown"  # a night hour
    assert verdict("volume_drop", latest(counts(0, 0, 0), usual(800, days=2))).state == "unknown"  # 2 days
    assert verdict("volume_drop", Evidence(result=result(counts(0, 0, 0)))).state == "unknown"  # stateless


def test_a_quieter_day_is_not_a_drop() -> None:
    assert verdict("volume_drop", latest(counts(400, 400, 400), usual(800))).state == "clear"
    assert verdict("volume_drop", latest(counts(800, 800, 800), usual(800))).state == "clear"
    assert verdict("volume_drop", latest(counts(150, 150, 150), usual(800))).state == "unknown"


# -- api_error: transient errors wait, account-wide failures are one alert -------------------------


def error(code: str, category: str = "billing", severity: str = "critical") -> ErrorInfo:
    return ErrorInfo(code=code, message="m", severity=severity, category=category, retryable=False, hint="h")


def test_a_transient_error_waits_for_a_second_run() -> None:
    answer = verdict("api_error", Evidence(result=result(None, error=error("InternalError.Timeout", "transient",
                                                                           "warning"))))
    assert answer.state == "firing" and answer.pending_runs == 2
    arrears = verdict("api_error", Evidence(result=result(None, error=error("UnauthorizedOperation."
                                                                            "ServiceSuspendDueToArrears"))))
    assert arrears.pending_runs == 1


def test_every_app_failing_alike_is_one_account_wide_alert() -> None:
    code = "AuthFailure.SecretIdNotFound"
    results = [result(None, app, error(code, "auth")) for app in (APP, OTHER, THIRD)]
    out = assess(results, ctx())
    [alert] = [a for a in out.alerts if a.rule == "api_error"]
    assert alert.app_id is None and alert.code == code and "all 3 apps" in alert.message
    mixed = [result(None, APP, error(code, "auth")), result(counts(100, 100, 100), OTHER)]
    assert sorted(a.app_id for a in assess(mixed, ctx()).alerts if a.rule == "api_error") == [APP]
    healthy = assess([result(counts(100, 100, 100), app) for app in (APP, OTHER)], ctx())
    assert (None, "api_error") in healthy.clear and (APP, "api_error") in healthy.clear


# -- who judges what ------------------------------------------------------------------------------


def test_with_a_state_store_each_job_judges_only_its_rules() -> None:
    bad = [result(counts(1000, 1000, 500))]
    assert {a.rule for a in assess(bad, ctx("check")).alerts} == {"success_rate_below"}
    assert assess(bad, ctx("report")).alerts == []  # the report lists the check's alerts, never judges them
    assert {a.rule for a in assess(bad, ctx("report", stateful=False)).alerts} == {"success_rate_below"}
    assert "success_rate_drop" in assess(bad, ctx("report")).judged
    # the drop below the app's normal is judged by both: hour by hour, and the whole day
    assert "success_rate_drop" in assess(bad, ctx("check")).judged


def test_the_report_judges_the_hourly_rules_of_an_app_no_check_watches() -> None:
    bad = result(counts(1000, 1000, 500))
    unwatched = {APP: Evidence(result=bad, window_lag=3 * 3600, watched=False)}
    assert {a.rule for a in assess([bad], ctx("report"), unwatched).alerts} == {"success_rate_below"}
    watched = {APP: Evidence(result=bad, window_lag=3 * 3600, watched=True)}
    assert assess([bad], ctx("report"), watched).alerts == []

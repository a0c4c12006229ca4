"""`delivery_failures`, the rule of the recent minutes (docs/alerts.md, *Alerts in minutes*): its
verdicts on pure evidence, the receipts job's minutes and the app's own hours."""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from sms_receipt_stats.config import Thresholds
from sms_receipt_stats.documents import AppResult, WindowDoc
from sms_receipt_stats.rules import Context, Evidence, Verdict, registry
from sms_receipt_stats.rules._evidence import Seen
from sms_receipt_stats.rules.delivery_failures import (
    CLEAR_JUDGMENTS,
    PENDING_JUDGMENTS,
    POOL_MINUTES,
    Minute,
    baseline,
    pool_minutes,
)
from sms_receipt_stats.stats import Stats

APP = "1400006874"
NEWEST = 493_000
WINDOW = WindowDoc(begin="2026112509", end="2026112509", timezone="Asia/Shanghai")


def minutes(per_minute: int, fail_share: float, count: int = POOL_MINUTES, code: str = "MK:0005") -> List[Minute]:
    failed = round(per_minute * fail_share)
    return [Minute(per_minute - failed, failed, {code: failed} if failed else {}) for _ in range(count)]


def day(fail_share: float, receipts: int = 500) -> Dict[int, Seen]:
    """The app's hours of the last day at `fail_share`."""
    failed = round(receipts * fail_share)
    stats = Stats(CallbackCount=receipts, CallbackSuccessCount=receipts - failed, CallbackFailCount=failed)
    return {NEWEST - back: Seen(stats, back * 3600.0) for back in range(1, 25)}


def evidence(recent: Optional[Sequence[Minute]], hours: Optional[Dict[int, Seen]] = None) -> Evidence:
    return Evidence(result=AppResult(app_id=APP, app_name="otp", window=WINDOW, stats=Stats()), hours=hours or {},
                    newest=NEWEST, recent=None if recent is None else list(recent))


def judge(found: Evidence, job: str = "receipts", lang: str = "en", **values: float) -> Verdict:
    spec = registry().by_name["delivery_failures"]
    assert spec.judge is not None
    return spec.judge(found, Context(values=Thresholds(**values).values(), lang=lang, job=job, stateful=True))


def test_a_confident_failure_share_above_the_ceiling_fires_critical_and_names_the_codes() -> None:
    verdict = judge(evidence(minutes(30, 0.6)))
    assert verdict.state == "firing" and verdict.alert is not None
    alert = verdict.alert
    assert (alert.rule, alert.severity, alert.app_id) == ("delivery_failures", "critical", APP)
    assert alert.value == 0.6 and alert.threshold == 0.3 and alert.volume == 300  # the 10-minute window
    assert verdict.pending_runs == PENDING_JUDGMENTS == 2
    assert "60.0% of the last 10 min's 300 receipts failed" in alert.message and "MK:0005 180" in alert.message
    zh = judge(evidence(minutes(30, 0.6)), lang="zh").alert
    assert zh is not None and "最近 10 分钟" in zh.message


def test_far_above_the_apps_own_share_fires_a_warning_below_the_ceiling() -> None:
    found = evidence(minutes(60, 0.22), day(0.03))
    verdict = judge(found)
    assert verdict.state == "firing" and verdict.alert is not None
    assert verdict.alert.severity == "warning" and verdict.alert.threshold == 0.13
    assert "(usually 3.0%)" in verdict.alert.message
    # without a baseline the same share is under the ceiling: no alert
    assert judge(evidence(minutes(60, 0.22))).state == "clear"


def test_the_apps_normal_share_is_clear_even_when_high() -> None:
    # an app that always fails 12 %: 12 % now is its normal (threshold 22 %), not an incident
    assert judge(evidence(minutes(60, 0.12), day(0.12))).state == "clear"
    # 30 % over 600 receipts is confidently above its normal plus 10 points (a warning)
    verdict = judge(evidence(minutes(60, 0.30), day(0.12)))
    assert verdict.state == "firing" and verdict.alert is not None and verdict.alert.severity == "warning"


def test_thin_minutes_give_no_verdict_even_all_failed() -> None:
    # 1 receipt a minute, all failed: 60 in the pool's hour, under ALERT_MIN_VOLUME (100)
    assert judge(evidence(minutes(1, 1.0))).state == "unknown"
    assert judge(evidence([])).state == "unknown"


def test_a_thin_app_is_pooled_back_until_the_volume_is_reached() -> None:
    pooled = pool_minutes(minutes(4, 0.5), window=10, min_volume=100)
    assert pooled[:3] == (25, 100, 50) and pooled[3] == {"MK:0005": 50}
    verdict = judge(evidence(minutes(4, 0.5)))
    assert verdict.state == "firing" and verdict.alert is not None and "last 25 min" in verdict.alert.message
    # a busy app's window is the last 10 minutes, whatever the volume
    assert pool_minutes(minutes(500, 0.5), window=10, min_volume=100)[:2] == (10, 5000)


def test_an_outage_that_began_minutes_ago_shows_in_the_window() -> None:
    recent = minutes(50, 0.7, count=4) + minutes(50, 0.02, count=POOL_MINUTES - 4)
    assert judge(evidence(recent, day(0.02))).state == "firing"  # 4 bad minutes of 10: 29 % > 12 %


def test_a_share_near_the_threshold_is_unknown_not_clear() -> None:
    assert judge(evidence(minutes(12, 0.3), day(0.2))).state == "unknown"


def test_the_baseline_is_the_median_of_the_last_days_hours_without_the_last_two() -> None:
    hours = day(0.03)
    hours[NEWEST - 1] = Seen(Stats(CallbackCount=1000, CallbackFailCount=900, CallbackSuccessCount=100), 10.0)
    assert baseline(evidence([], hours)) == 0.03
    thin = {k: Seen(Stats(CallbackCount=10, CallbackFailCount=1, CallbackSuccessCount=9), 0.0) for k in hours}
    assert baseline(evidence([], thin)) is None  # hours under 20 receipts say nothing


def test_a_timer_run_never_judges_it() -> None:
    assert judge(evidence(minutes(30, 0.9)), job="check").state == "unknown"
    assert judge(evidence(None)).state == "unknown"


def test_it_is_judged_by_the_receipts_job_only_and_resolves_after_an_hour_of_clear_minutes() -> None:
    spec = registry().by_name["delivery_failures"]
    assert spec.jobs == ("receipts",) and spec.clear_runs == CLEAR_JUDGMENTS == 60


def test_chat_and_the_dashboard_word_it_by_its_own_sentence_not_a_less_than() -> None:
    from sms_receipt_stats.render.report import alert_facts

    alert = judge(evidence(minutes(30, 0.6))).alert
    assert alert is not None
    _, what = alert_facts(alert, "en", Thresholds())
    assert what.startswith("messages failing now: ") and "above 30.0%" in what and "<" not in what

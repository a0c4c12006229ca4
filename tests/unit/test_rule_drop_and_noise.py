"""The hourly drop below an app's own normal (`success_rate_drop` in the check) and the app's own
noise widening the rate bounds (`_evidence.dispersion`, ALERT_DISPERSION_MAX): docs/alerts.md."""

from __future__ import annotations

import random
from typing import Dict, Optional, Tuple

from sms_receipt_stats.config import Thresholds
from sms_receipt_stats.documents import AppResult, Trend, WindowDoc
from sms_receipt_stats.rules import Context, Evidence, registry
from sms_receipt_stats.rules._evidence import Seen, dispersion, inflation, same_hour_rates
from sms_receipt_stats.stats import Stats, compute_rates

APP = "1400006874"
NEWEST = 493_000
WINDOW = WindowDoc(begin="2026112508", end="2026112509", timezone="Asia/Shanghai")


def counts(receipts: int, successes: int) -> Stats:
    return Stats(RequestSuccessCount=receipts, CallbackCount=receipts, CallbackSuccessCount=successes,
                 CallbackFailCount=receipts - successes)


def result(stats: Stats, trend: Optional[Trend] = None) -> AppResult:
    return AppResult(app_id=APP, window=WINDOW, stats=stats, rates=compute_rates(stats), trend=trend)


def ctx(job: str = "check", **values: float) -> Context:
    return Context(values=Thresholds(**values).values(), job=job, stateful=True)


def judge(rule: str, evidence: Evidence, context: Optional[Context] = None):
    spec = registry().by_name[rule]
    assert spec.judge is not None
    return spec.judge(evidence, context or ctx())


def week(rate: float, volume: int, *, recent: Optional[Dict[int, Stats]] = None, seed: int = 1,
         day_sd: float = 0.0) -> Dict[int, Seen]:
    """8 days of hours at `rate` (binomial, plus a day-to-day wobble of `day_sd`), `recent` on top
    (hours back from NEWEST)."""
    rng = random.Random(seed)
    hours: Dict[int, Seen] = {}
    day_rate = rate
    for back in range(8 * 24, 0, -1):
        if back % 24 == 0:
            day_rate = min(0.999, rate + rng.gauss(0, day_sd))
        spread = (volume * day_rate * (1 - day_rate)) ** 0.5  # binomial, by its normal approximation
        ok = min(volume, max(0, round(rng.gauss(volume * day_rate, spread))))
        hours[NEWEST - back] = Seen(counts(volume, ok), 7200.0)
    for back, stats in (recent or {}).items():
        hours[NEWEST - back] = Seen(stats, 300.0)
    return hours


def latest(hours: Dict[int, Seen], stats: Stats) -> Evidence:
    return Evidence(result=result(stats), hours={**hours, NEWEST: Seen(stats, 300.0)}, newest=NEWEST,
                    window_lag=300.0)


# -- the hourly drop -------------------------------------------------------------------------------


def test_same_hour_rates_read_the_same_hours_of_each_day() -> None:
    hours = {NEWEST - 24: Seen(counts(100, 90), 0), NEWEST - 25: Seen(counts(100, 70), 0),
             NEWEST - 48: Seen(counts(100, 50), 0)}
    assert same_hour_rates(hours, NEWEST, 2, 7, lambda s: s.CallbackSuccessCount, lambda s: s.CallbackCount) == [0.8]
    assert same_hour_rates(hours, NEWEST, 1, 7, lambda s: s.CallbackSuccessCount,
                           lambda s: s.CallbackCount) == [0.9, 0.5]


def test_a_six_point_drop_above_the_threshold_fires_in_the_hour() -> None:
    normal = week(0.975, 10000)
    answer = judge("success_rate_drop", latest(normal, counts(10000, 9150)))
    assert answer.state == "firing" and answer.alert is not None
    assert answer.alert.rule == "success_rate_drop" and answer.alert.app_id == APP
    assert 0.92 <= answer.alert.threshold <= 0.93 and answer.alert.value == 0.915
    assert "same hours of the last 7 days" in answer.alert.message
    # the threshold rule stays quiet: 91.5 % is above 90 %
    assert judge("success_rate_below", latest(normal, counts(10000, 9150))).state != "firing"
    # a thin hour is not enough to tell 91.5 % from 92.5 %: it waits for more
    assert judge("success_rate_drop", latest(week(0.975, 1000), counts(1000, 915))).state == "unknown"


def test_a_one_point_wobble_is_not_a_drop() -> None:
    assert judge("success_rate_drop", latest(week(0.975, 10000), counts(10000, 9650))).state != "firing"


def test_a_rate_below_the_absolute_threshold_is_the_threshold_rules_alert() -> None:
    normal = week(0.975, 1000)
    assert judge("success_rate_drop", latest(normal, counts(1000, 500))).state == "unknown"
    assert judge("success_rate_below", latest(normal, counts(1000, 500))).state == "firing"


def test_the_hourly_drop_needs_three_days_of_the_same_hours() -> None:
    hours = {i: s for i, s in week(0.975, 1000).items() if i > NEWEST - 48}  # 1 day back
    assert judge("success_rate_drop", latest(hours, counts(1000, 915))).state == "unknown"


def test_a_thin_app_is_judged_on_more_hours_when_one_cannot_tell() -> None:
    hours = week(0.975, 400)
    for back in range(1, 4):
        hours[NEWEST - back] = Seen(counts(400, 364), 300.0)  # 91 %
    answer = judge("success_rate_drop", latest(hours, counts(400, 364)))
    assert answer.state == "firing" and answer.alert is not None and answer.alert.hours is not None
    assert answer.alert.hours > 1


def test_recovery_needs_two_hours_back_to_normal() -> None:
    normal = week(0.975, 1000)
    still_low = {**normal, NEWEST - 1: Seen(counts(1000, 915), 300.0)}
    assert judge("success_rate_drop", latest(still_low, counts(1000, 975))).state == "unknown"
    recovered = {**normal, NEWEST - 1: Seen(counts(1000, 976), 300.0)}
    assert judge("success_rate_drop", latest(recovered, counts(1000, 975))).state == "clear"


def test_the_daily_report_never_resolves_what_a_check_watches() -> None:
    trend = Trend(baseline=WINDOW, baseline_success_rate=0.975)
    fine_day = Evidence(result=result(counts(20000, 19500), trend), window_lag=3 * 3600, watched=True)
    assert judge("success_rate_drop", fine_day, ctx("report")).state == "unknown"
    unwatched = Evidence(result=result(counts(20000, 19500), trend), window_lag=3 * 3600, watched=False)
    assert judge("success_rate_drop", unwatched, ctx("report")).state == "clear"
    # a busy app's hours were judged one by one: the day would only say it again, a day later
    bad_day = Evidence(result=result(counts(20000, 18000), trend), window_lag=3 * 3600, watched=True)
    assert judge("success_rate_drop", bad_day, ctx("report")).state == "unknown"
    # a thin app (its hours pooled, a 5-point drop lost in their noise) is judged on its whole day
    thin_day = Evidence(result=result(counts(2000, 1800), trend), window_lag=3 * 3600, watched=True)
    verdict = judge("success_rate_drop", thin_day, ctx("report"))
    assert verdict.state == "firing" and verdict.alert is not None and "whole day" in verdict.alert.message


# -- the app's own noise ---------------------------------------------------------------------------


def successes(stats: Stats) -> int:
    return stats.CallbackSuccessCount


def receipts(stats: Stats) -> int:
    return stats.CallbackCount


def test_a_binomial_app_has_no_extra_noise() -> None:
    assert dispersion(week(0.95, 500), successes, receipts, NEWEST) < 1.3


def test_day_to_day_wobble_is_measured() -> None:
    phi = dispersion(week(0.95, 2000, day_sd=0.015), successes, receipts, NEWEST)
    assert phi > 3  # about 1 + n sd² / (p q) = 1 + 2000 × 2.2e-4 / 0.0475 = 10


def test_a_past_outage_is_not_taken_for_noise() -> None:
    outage = {back: counts(2000, 800) for back in range(30, 34)}  # four hours at 40 % yesterday
    assert dispersion(week(0.95, 2000, recent=outage), successes, receipts, NEWEST) < 1.3


def test_too_little_history_falls_back_to_the_binomial() -> None:
    hours = {i: s for i, s in week(0.95, 2000, day_sd=0.02).items() if i > NEWEST - 40}
    assert dispersion(hours, successes, receipts, NEWEST) == 1.0


def test_the_factor_is_bounded() -> None:
    assert inflation(0.5, 4.0) == 1.0
    assert inflation(2.0, 4.0) == 2.0
    assert inflation(30.0, 4.0) == 4.0
    assert inflation(30.0, 1.0) == 1.0


def test_a_noisy_app_near_its_threshold_stays_quiet_a_steady_one_fires() -> None:
    """An hour 2 points under a 90 % threshold: news for an app whose rate never moves, an
    ordinary hour for one whose rate wanders 2 points from day to day."""
    hour = counts(3000, 2640)  # 88 %
    steady = latest(week(0.915, 3000, seed=4), hour)
    noisy = latest(week(0.915, 3000, seed=4, day_sd=0.02), hour)
    assert judge("success_rate_below", steady).state == "firing"
    assert judge("success_rate_below", noisy).state == "unknown"
    assert judge("success_rate_below", noisy, ctx(dispersion_max=1.0)).state == "firing"


def test_a_real_outage_fires_however_noisy_the_app() -> None:
    noisy = latest(week(0.915, 3000, seed=4, day_sd=0.02), counts(3000, 1500))
    answer = judge("success_rate_below", noisy)
    assert answer.state == "firing" and answer.alert is not None and answer.alert.severity == "critical"


# -- a provider-wide receipt stall ------------------------------------------------------------------

APPS = [f"14000000{i:02d}" for i in range(1, 7)]


def fresh(app_id: str, submitted: int, receipts: int, successes: int) -> Evidence:
    stats = Stats(RequestSuccessCount=submitted, CallbackCount=receipts, CallbackSuccessCount=successes,
                  CallbackFailCount=receipts - successes)
    res = AppResult(app_id=app_id, window=WINDOW, stats=stats, rates=compute_rates(stats))
    return Evidence(result=res, window_lag=300.0)


def receipt_alerts(evidence: Dict[str, Evidence], job: str = "check"):
    from sms_receipt_stats.rules import assess

    out = assess([e.result for e in evidence.values()], ctx(job), evidence)
    return [a for a in out.alerts if a.rule == "receipt_rate_below"], out.clear


def test_receipts_stalled_on_most_apps_are_one_provider_warning() -> None:
    stalled = {app: fresh(app, 1000, 20, 19) for app in APPS[:4]}
    normal = {app: fresh(app, 1000, 870, 850) for app in APPS[4:]}
    alerts, _ = receipt_alerts({**stalled, **normal})
    [alert] = alerts
    assert alert.app_id is None and alert.severity == "warning"
    assert "late at the provider" in alert.message and "4 of 6 apps" in alert.message
    assert all(app in alert.message for app in APPS[:4]) and APPS[5] not in alert.message


def test_one_app_without_receipts_is_that_apps_not_the_providers() -> None:
    evidence = {APPS[0]: fresh(APPS[0], 1000, 20, 19), **{a: fresh(a, 1000, 870, 850) for a in APPS[1:]}}
    alerts, clear = receipt_alerts(evidence)
    assert [a for a in alerts if a.app_id is None] == []
    assert (None, "receipt_rate_below") in clear  # the provider-wide alert, if any, is over


def test_receipts_that_say_messages_fail_are_an_outage_not_a_delay() -> None:
    failing = {app: fresh(app, 1000, 300, 100) for app in APPS[:4]}  # few receipts, and those say failed
    normal = {app: fresh(app, 1000, 870, 850) for app in APPS[4:]}
    alerts, _ = receipt_alerts({**failing, **normal})
    assert [a for a in alerts if a.app_id is None] == []


def test_a_night_too_quiet_to_tell_neither_raises_nor_resolves_the_provider_warning() -> None:
    quiet = {app: fresh(app, 20, 0, 0) for app in APPS}
    alerts, clear = receipt_alerts(quiet)
    assert alerts == [] and (None, "receipt_rate_below") not in clear


def test_a_day_without_receipts_on_every_app_is_the_providers_in_the_report_too() -> None:
    """The report judges the receipt rule for apps no check watches, on the finished day."""
    day = {app: Evidence(result=fresh(app, 5000, 100, 95).result, window_lag=3 * 3600.0, watched=False)
           for app in APPS}
    alerts, _ = receipt_alerts(day, job="report")
    assert [a.app_id for a in alerts] == [None]


def ledger(per_hour: Dict[int, Tuple[int, int]]) -> Dict[int, Seen]:
    """Hours back from NEWEST → (submitted, receipts), all successes; re-read (2 h on) but the fresh two."""
    return {NEWEST - back: Seen(Stats(RequestSuccessCount=n, CallbackCount=r, CallbackSuccessCount=r),
                                300.0 if back < 2 else 7200.0 + 3600 * back)
            for back, (n, r) in per_hour.items()}


def with_ledger(app_id: str, hours: Dict[int, Seen]) -> Evidence:
    stats = hours[NEWEST].stats
    res = AppResult(app_id=app_id, window=WINDOW, stats=stats, rates=compute_rates(stats))
    return Evidence(result=res, hours=hours, newest=NEWEST, window_lag=300.0)


def test_a_thin_apps_pool_over_the_stall_hours_is_the_providers_not_its_own() -> None:
    stall = range(4, 7)
    big = {back: (1000, 10 if back in stall else 970) for back in range(13)}
    thin = {back: (30, 0 if back in stall else 29) for back in range(13)}
    evidence = {APPS[0]: with_ledger(APPS[0], ledger(thin)),
                **{app: with_ledger(app, ledger(big)) for app in APPS[1:4]}}
    alerts, clear = receipt_alerts(evidence)
    assert alerts == [] and (None, "receipt_rate_below") not in clear  # quiet, and the provider's stays open
    healthy = {back: (1000, 970) for back in range(13)}
    evidence = {APPS[0]: with_ledger(APPS[0], ledger(thin)),
                **{app: with_ledger(app, ledger(healthy)) for app in APPS[1:4]}}
    alerts, _ = receipt_alerts(evidence)
    assert [a.app_id for a in alerts] == [APPS[0]]  # only this app lost its receipts: its own alert


def test_the_provider_warning_reads_as_one_line_naming_the_apps() -> None:
    from sms_receipt_stats.documents import ResultDocument
    from sms_receipt_stats.render import render_message

    evidence = {**{app: fresh(app, 1000, 20, 19) for app in APPS[:4]},
                **{app: fresh(app, 1000, 870, 850) for app in APPS[4:]}}
    [alert], _ = receipt_alerts(evidence)
    shown = alert.model_copy(update={"status": "firing", "notified": True, "fingerprint": "f"})
    doc = ResultDocument(kind="check", generated_at="2026-11-25T09:05:03+08:00",
                         results=[e.result for e in evidence.values()], alerts=[shown])
    message = render_message(doc, "plain", min_severity="warning")
    assert message is not None
    [line] = [line for line in message.text.splitlines() if "late at the provider" in line]
    assert all(app in line for app in APPS[:4]) and "%" not in line



def test_a_drop_seen_only_on_a_longer_pool_waits_for_the_next_check() -> None:
    """The shortest pool decides at once (a busy app's drop is notified at the first check that
    sees it); a drop found only on a longer pool, after the shortest could not tell, is one more
    look at thin hours: it is notified when a second check finds it too (pending_runs 2)."""
    busy = judge("success_rate_drop", latest(week(0.975, 10000), counts(10000, 9150)))
    assert busy.state == "firing" and busy.alert is not None and busy.alert.hours == 1 and busy.pending_runs == 1
    hours = week(0.975, 400)
    for back in range(1, 4):
        hours[NEWEST - back] = Seen(counts(400, 364), 300.0)  # 91 %
    thin = judge("success_rate_drop", latest(hours, counts(400, 364)))
    assert thin.state == "firing" and thin.alert is not None and thin.alert.hours is not None
    assert thin.alert.hours > 1 and thin.pending_runs == 2


def _thin_nights(per_hour: int, successes: Tuple[int, ...]) -> Dict[int, Seen]:
    """7 days on which the same night hour had `per_hour` receipts, with these successes."""
    return {NEWEST - 24 * day: Seen(counts(per_hour, ok), 7200.0) for day, ok in enumerate(successes, 1)}


def test_a_baseline_of_thin_night_hours_is_no_normal_to_fall_below() -> None:
    """An app at 91 %: its night hour held 30 receipts on each of the last days, and a median of
    such hours came out at 96.7 % by chance (29 of 30 on four days). Tonight's busier hour, 262
    of 300 (87.3 %), is ordinary for the app, not a drop: each baseline day needs
    ALERT_MIN_VOLUME receipts in those hours, as the pool does."""
    chance = (29, 29, 26, 29, 25, 29, 27)
    answer = judge("success_rate_drop", latest(_thin_nights(30, chance), counts(300, 262)))
    assert answer.state == "unknown"
    # the same rates on days with enough receipts in that hour are a normal: the drop fires
    thick = _thin_nights(120, tuple(ok * 4 for ok in chance))
    assert judge("success_rate_drop", latest(thick, counts(300, 262))).state == "firing"


def test_thin_baseline_hours_are_judged_over_a_longer_span_when_it_has_enough_on_each_day() -> None:
    """The newest hour alone has enough receipts but the same hour on earlier days does not: the
    same two hours on each day do, and they are the baseline of the pool of two hours."""
    hours = week(0.985, 80)
    hours[NEWEST - 1] = Seen(counts(400, 362), 300.0)
    answer = judge("success_rate_drop", latest(hours, counts(400, 362)))  # 90.5 % over 800
    assert answer.state == "firing" and answer.alert is not None and answer.alert.hours == 2

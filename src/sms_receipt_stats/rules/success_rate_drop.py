"""`success_rate_drop`: the success rate is ALERT_DROP_POINTS below the app's own normal, with
confidence, while it may still be above the absolute threshold (an OTP app at 97.5 % falling to
91.5 % is broken for its users long before it reaches 90 %).

One alert identity (rule, app), judged two ways (docs/alerts.md, *The rules*):
- the hourly `check` compares the hours it pools with the same Beijing hours on the last 7 days
  of the evidence ledger (the median day, at least 3 days), widened by the app's own noise, so a
  sustained drop is notified within two checks. It clears only when the last two checks' hours
  are both back (one hour of recovery), and stays out of the way of `success_rate_below`: a rate
  confidently below the absolute threshold is that rule's alert.
- the daily `report` compares the whole day with the 7-day baseline (`state/baseline.py`), for
  the apps no hourly check watches and for those too thin to be judged hour by hour (fewer than
  ALERT_MIN_VOLUME receipts an hour on average): there the day is the evidence. For a watched
  app it never resolves the alert: a fine day's average says nothing about the hour now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Tuple

from sms_receipt_stats.rules import (
    CLEAR,
    UNKNOWN,
    Context,
    Evidence,
    RuleSpec,
    Variable,
    Verdict,
    app_label,
    evidence_hours,
    receipt_codes_note,
    span_text,
)
from sms_receipt_stats.vocabulary import RULE_JOBS

if TYPE_CHECKING:
    from sms_receipt_stats.rules._evidence import Pool
    from sms_receipt_stats.stats import Stats

BASELINE_DAYS = 7
#: firing checks in a row a drop seen only on a longer pool needs before it is notified
LONGER_POOL_RUNS = 2
MIN_DAYS = 3
HOURS_A_DAY = 24


def successes_of(stats: Stats) -> int:
    return stats.CallbackSuccessCount


def receipts_of(stats: Stats) -> int:
    return stats.CallbackCount


def judge(evidence: Evidence, ctx: Context) -> Verdict:
    if not evidence.answered:
        return UNKNOWN
    if evidence.newest is not None and evidence.hours:
        return judge_hours(evidence, ctx)
    return judge_day(evidence, ctx)


def baseline_rates(evidence: Evidence, newest: int, span: int, min_volume: int) -> List[float]:
    """The success rate of the same `span` Beijing hours on each of the last BASELINE_DAYS days,
    leaving out the days on which those hours had fewer than ALERT_MIN_VOLUME receipts: a rate
    needs that denominator in the baseline as in the pool. A median of a few thin night hours
    is no normal to fall below (the quiet quarter's night-time false drop on an app at 91 %:
    its 02:00-05:00 pool against a 97 % median of thin night hours)."""
    from sms_receipt_stats.stats import sum_stats

    rates = []
    for day in range(1, BASELINE_DAYS + 1):
        found = [evidence.hours.get(newest - HOURS_A_DAY * day - k) for k in range(span)]
        if any(seen is None for seen in found):
            continue
        total = sum_stats([seen.stats for seen in found if seen is not None])
        if receipts_of(total) >= max(1, min_volume):
            rates.append(successes_of(total) / receipts_of(total))
    return rates


def _hourly(evidence: Evidence, ctx: Context, newest: int, phi: float
            ) -> Tuple[Optional[bool], Optional[Pool], float, bool]:
    """(below the app's normal?, the pool, its baseline, found on a longer pool?) for the hours
    pooled back from `newest`.

    The pool that reaches ALERT_MIN_VOLUME decides; when it cannot tell, longer pools (up to
    ALERT_POOL_HOURS) may still show a drop that a thin hour hides. Clearing rests on the
    shortest pool only: the freshest hours say whether it is over."""
    from sms_receipt_stats.rules._evidence import median, pool_back

    min_volume, most = ctx.value("min_volume"), ctx.value("pool_hours")
    shortest = pool_back(evidence.hours, newest, receipts_of, min_volume, most)
    if not shortest.hours or shortest.stats.CallbackCount < min_volume:
        return None, None, 0.0, False
    longest = pool_back(evidence.hours, newest, receipts_of, 10**12, most)
    for span in range(shortest.hours, longest.hours + 1):
        pool = pool_back(evidence.hours, newest, receipts_of, 10**12, span)
        rates = baseline_rates(evidence, newest, span, min_volume)
        if len(rates) < MIN_DAYS:
            if span < longest.hours:
                continue  # thin days: the same longer span may have enough on each of them
            return None, None, 0.0, False
        baseline = median(rates)
        floor = baseline - ctx.value("drop_points")
        below = ctx.below(pool.stats.CallbackSuccessCount, pool.stats.CallbackCount, floor, phi)
        if below is not None or span == longest.hours:
            if below is False and span > shortest.hours:
                return None, None, 0.0, False  # only the freshest hours can say it is over
            return below, pool, baseline, span > shortest.hours
    return None, None, 0.0, False


def judge_hours(evidence: Evidence, ctx: Context) -> Verdict:
    """The freshest hours against the same hours of the last days. An app whose carriers report
    failures late looks better in fresh hours than it is: its drop shows later, and smaller."""
    assert evidence.newest is not None
    phi = ctx.spread(evidence, successes_of, receipts_of)
    below, pool, baseline, longer = _hourly(evidence, ctx, evidence.newest, phi)
    if below is None or pool is None:
        return UNKNOWN
    n, successes = pool.stats.CallbackCount, pool.stats.CallbackSuccessCount
    if ctx.below(successes, n, ctx.value("success_rate_min"), phi):
        return UNKNOWN  # below the absolute threshold: success_rate_below's alert, not a second one
    if not below:
        before, _, _, _ = _hourly(evidence, ctx, evidence.newest - 1, phi)
        return CLEAR if before is False else UNKNOWN
    hours = evidence_hours(pool, evidence.result)
    found = _firing(evidence, ctx, successes, n, baseline,
                    RULE.text(ctx.lang, "hourly", n=f"{n:,}", span=span_text(ctx.lang, hours)), hours)
    if longer:
        # Seen only on a longer pool, after the shortest could not tell (or had too few receipts
        # on its baseline days): one more look at thin hours, so one more chance of a false drop
        # (in the quiet quarter, a fourth-hour pool of the app at 91 % came 0.07 points past its
        # bound and was back to normal at the next check). It is notified when a second check
        # finds it too (a check that cannot tell in between does not start the count again; a
        # clear one resolves it); the shortest pool, which decides for every app with
        # ALERT_MIN_VOLUME receipts an hour, is notified at once.
        return Verdict.firing(found.alert, pending_runs=LONGER_POOL_RUNS) if found.alert is not None else found
    return found


def judge_day(evidence: Evidence, ctx: Context) -> Verdict:
    result = evidence.result
    trend, stats = result.trend, result.stats
    if trend is None or stats is None or trend.baseline_success_rate is None:
        return UNKNOWN
    n, successes = stats.CallbackCount, stats.CallbackSuccessCount
    if n < ctx.value("min_volume"):
        return UNKNOWN
    if ctx.stateful and ctx.job == "report" and evidence.watched and n >= HOURS_A_DAY * ctx.value("min_volume"):
        return UNKNOWN  # a check judges each of its hours on its own: the day would only say it again
    baseline = trend.baseline_success_rate
    floor = round(baseline - ctx.value("drop_points"), 4)
    below = ctx.below(successes, n, floor)
    if below is None:
        return UNKNOWN
    if not below:
        # an app a check watches recovers hour by hour: a fine day does not resolve its alert
        return UNKNOWN if ctx.stateful and evidence.watched and ctx.job == "report" else CLEAR
    return _firing(evidence, ctx, successes, n, baseline, RULE.text(ctx.lang, "daily"), None)


def _firing(evidence: Evidence, ctx: Context, successes: int, n: int, baseline: float, over: str,
            hours: Optional[int]) -> Verdict:
    from sms_receipt_stats.documents import Alert

    result = evidence.result
    rate = round(successes / n, 4)
    floor = round(baseline - ctx.value("drop_points"), 4)
    text = RULE.text(ctx.lang, app=app_label(result), value=rate, baseline=baseline, points=(baseline - rate) * 100,
                     over=over) + receipt_codes_note(RULE, result, ctx.lang)
    return Verdict.firing(Alert(rule=RULE.name, severity="warning", app_id=result.app_id, value=rate,
                                threshold=floor, volume=n, hours=hours, message=text))


RULE = RuleSpec(
    name="success_rate_drop",
    texts={
        "en": {"title": "success rate drop",
               "message": "{app}: success rate {value:.2%} is {points:.1f} points below its usual {baseline:.2%} "
                          "({over})",
               "hourly": "{n} receipts over {span}, against the same hours of the last 7 days",
               "daily": "the whole day, against its 7-day average",
               "codes": "; top failing receipt codes: {codes}"},
        "zh": {"title": "成功率下降",
               "message": "{app}：回执成功率 {value:.2%} 比平时的 {baseline:.2%} 低 {points:.1f} 个百分点（{over}）",
               "hourly": "{span}内回执 {n} 条，对比近 7 日同一时段",
               "daily": "全天，对比近 7 日均值",
               "codes": "；主要失败回执码：{codes}"},
    },
    variables=(
        Variable("ALERT_DROP_POINTS", "drop_points", "fraction", 0.05,
                 "success_rate_drop: warn when the success rate is this far below the app's own normal "
                 "(the same hours of the last 7 days; the daily report: its 7-day average)"),
    ),
    jobs=RULE_JOBS,  # the hourly check and the daily report
    judge=judge,
    clear_runs=1,
)

"""`success_rate_drop`: the day's success rate is ALERT_DROP_POINTS below the app's own 7-day
baseline (`state/baseline.py`), with confidence. Judged by the daily report: a day against days."""

from __future__ import annotations

from sms_receipt_stats.rules import CLEAR, UNKNOWN, Context, Evidence, RuleSpec, Variable, Verdict, app_label


def judge(evidence: Evidence, ctx: Context) -> Verdict:
    result = evidence.result
    trend, stats = result.trend, result.stats
    if not evidence.answered or trend is None or stats is None or trend.baseline_success_rate is None:
        return UNKNOWN
    n, successes = stats.CallbackCount, stats.CallbackSuccessCount
    if n < ctx.value("min_volume"):
        return UNKNOWN
    baseline = trend.baseline_success_rate
    floor = round(baseline - ctx.value("drop_points"), 4)
    below = ctx.below(successes, n, floor)
    if below is None:
        return UNKNOWN
    if not below:
        return CLEAR
    from sms_receipt_stats.documents import Alert

    rate = round(successes / n, 4)
    text = RULE.text(ctx.lang, app=app_label(result), value=rate, baseline=baseline, points=(baseline - rate) * 100)
    return Verdict.firing(Alert(rule=RULE.name, severity="warning", app_id=result.app_id, value=rate,
                                threshold=floor, message=text))


RULE = RuleSpec(
    name="success_rate_drop",
    texts={
        "en": {"title": "success rate drop",
               "message": "{app}: success rate {value:.2%} is {points:.1f} points below its 7-day average "
                          "{baseline:.2%}"},
        "zh": {"title": "成功率下降",
               "message": "{app}：回执成功率 {value:.2%} 比近 7 日均值 {baseline:.2%} 低 {points:.1f} 个百分点"},
    },
    variables=(
        Variable("ALERT_DROP_POINTS", "drop_points", "fraction", 0.05,
                 "success_rate_drop: warn when the success rate is this far below its trailing 7-day baseline"),
    ),
    jobs=("report",),
    judge=judge,
    clear_runs=1,
)

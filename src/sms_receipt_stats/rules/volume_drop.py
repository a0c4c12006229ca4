"""`volume_drop`: the app submits far fewer messages than it does at this hour on other days.

The baseline is the median of the same Beijing hour on the last 7 days a state store saw (at
least 3 of them); an hour whose baseline is below ALERT_MIN_VOLUME is not judged, since a
quiet hour cannot tell a broken sender from a quiet night (docs/alerts.md)."""

from __future__ import annotations

from sms_receipt_stats.rules import CLEAR, UNKNOWN, Context, Evidence, RuleSpec, Variable, Verdict, app_label

BASELINE_DAYS = 7
MIN_DAYS = 3


def judge(evidence: Evidence, ctx: Context) -> Verdict:
    if not evidence.answered or evidence.newest is None:
        return UNKNOWN
    from sms_receipt_stats.rules._evidence import median, poisson_lower, poisson_upper, same_hour_history

    seen = evidence.hours.get(evidence.newest)
    history = same_hour_history(evidence.hours, evidence.newest, BASELINE_DAYS)
    if seen is None or len(history) < MIN_DAYS:
        return UNKNOWN
    baseline = median(history)
    if baseline < ctx.value("min_volume"):
        return UNKNOWN
    floor = baseline * (1 - ctx.value("volume_drop"))
    observed = seen.stats.RequestSuccessCount
    if poisson_upper(observed, ctx.z_fire) < floor:
        from sms_receipt_stats.documents import Alert

        text = RULE.text(ctx.lang, app=app_label(evidence.result), value=observed, baseline=baseline,
                         days=len(history))
        return Verdict.firing(Alert(rule=RULE.name, severity="warning", app_id=evidence.result.app_id,
                                    value=observed, threshold=round(floor, 1), message=text))
    if poisson_lower(observed, ctx.z_clear) >= floor:
        return CLEAR
    return UNKNOWN


RULE = RuleSpec(
    name="volume_drop",
    texts={
        "en": {"title": "volume drop",
               "message": "{app}: {value} messages submitted in the last hour, usually {baseline:.0f} at this hour "
                          "(median of {days} days)"},
        "zh": {"title": "发送量下降",
               "message": "{app}：最近一小时提交 {value} 条，平时此时段约 {baseline:.0f} 条（{days} 天中位数）"},
    },
    variables=(
        Variable("ALERT_VOLUME_DROP", "volume_drop", "fraction", 0.8,
                 "volume_drop: warn when an hour's submitted count is this fraction below its usual"),
    ),
    jobs=("check",),
    judge=judge,
)

"""`receipt_rate_below`: submitted messages get no receipt. Receipts arrive late, so only hours
read at least ALERT_RECEIPT_DELAY after their end are judged, and a first firing verdict waits
for the next run to agree: the receipts still missing make every reading a little low
(docs/alerts.md, *Late receipts*)."""

from __future__ import annotations

import math

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
    span_text,
)


def delay_hours(ctx: Context) -> int:
    return max(0, math.ceil(ctx.value("receipt_delay") / 3600))


def judge(evidence: Evidence, ctx: Context) -> Verdict:
    if not evidence.answered:
        return UNKNOWN
    pool = ctx.pool(evidence, lambda s: s.RequestSuccessCount, delay_hours=delay_hours(ctx))
    if pool is None or pool.stats.RequestSuccessCount < ctx.value("min_volume"):
        return UNKNOWN
    n, receipts = pool.stats.RequestSuccessCount, pool.stats.CallbackCount
    threshold = ctx.value("receipt_rate_min")
    below = ctx.below(receipts, n, threshold)
    if below is None:
        return UNKNOWN
    if not below:
        return CLEAR
    from sms_receipt_stats.documents import Alert

    rate = round(receipts / n, 4)
    hours = evidence_hours(pool, evidence.result)
    text = RULE.text(ctx.lang, app=app_label(evidence.result), value=rate, threshold=threshold,
                     evidence=RULE.text(ctx.lang, "evidence", n=f"{n:,}", span=span_text(ctx.lang, hours)))
    return Verdict.firing(Alert(rule=RULE.name, severity="warning", app_id=evidence.result.app_id,
                                value=rate, threshold=threshold, volume=n, hours=hours, message=text),
                          pending_runs=2)


RULE = RuleSpec(
    name="receipt_rate_below",
    texts={
        "en": {"title": "receipt rate below threshold",
               "message": "{app}: receipt rate {value:.2%} is below {threshold:.0%} ({evidence})",
               "evidence": "{n} submitted over {span}"},
        "zh": {"title": "回执率低于阈值",
               "message": "{app}：回执率 {value:.2%} 低于 {threshold:.0%}（{evidence}）",
               "evidence": "{span}内提交成功 {n} 条"},
    },
    variables=(
        Variable("ALERT_RECEIPT_RATE_MIN", "receipt_rate_min", "fraction", 0.80, "warn when receipt_rate is below"),
        # days, not more: the evidence ledger keeps 8 days of hours (state/evidence.py)
        Variable("ALERT_RECEIPT_DELAY", "receipt_delay", "duration", 7200.0,
                 "receipts of an hour are judged only once this long has passed since it ended", high=7 * 86400),
    ),
    jobs=("check",),
    judge=judge,
)

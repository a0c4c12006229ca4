"""`submit_rejected`: the API refuses a share of the messages submitted to it.

SendStatusStatistics counts the messages submitted (RequestCount) and those the API accepted
(RequestSuccessCount); a refused one is never sent and never has a receipt, so the receipt rates
cannot see it. Warning when the accept rate is below ALERT_ACCEPT_RATE_MIN with confidence
(`Context.below`, over at least ALERT_MIN_VOLUME submitted). Judged by the daily report, which
makes the call (`account.py`). docs/alerts.md, *submit_rejected*.
"""

from __future__ import annotations

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


def judge(evidence: Evidence, ctx: Context) -> Verdict:
    send = evidence.result.send
    if send is None or send.submitted < ctx.value("min_volume"):
        return UNKNOWN
    threshold = ctx.value("accept_rate_min")
    below = ctx.below(send.accepted, send.submitted, threshold)
    if below is None:
        return UNKNOWN
    if not below:
        return CLEAR
    from sms_receipt_stats.documents import Alert
    from sms_receipt_stats.rules._evidence import Pool

    rate = round(send.accepted / send.submitted, 4)
    hours = evidence_hours(Pool(evidence.result.stats, hours=0), evidence.result)  # type: ignore[arg-type]
    text = RULE.text(ctx.lang, app=app_label(evidence.result), value=rate, threshold=threshold,
                     rejected=f"{send.rejected:,}", n=f"{send.submitted:,}", span=span_text(ctx.lang, hours))
    return Verdict.firing(Alert(rule=RULE.name, severity="warning", app_id=evidence.result.app_id, value=rate,
                                threshold=threshold, volume=send.submitted, hours=hours, message=text,
                                hint=RULE.text(ctx.lang, "hint")))


RULE = RuleSpec(
    name="submit_rejected",
    texts={
        "en": {"title": "submissions rejected",
               "message": "{app}: the API accepted {value:.2%} of the messages submitted, below {threshold:.0%} "
                          "({rejected} of {n} rejected over {span})",
               "hint": "Rejected messages are never sent: look up the error codes SendSms answered in the "
                       "sender's logs (template, signature, frequency limits, invalid numbers, arrears)."},
        "zh": {"title": "提交被拒",
               "message": "{app}：接口受理了提交短信的 {value:.2%}，低于 {threshold:.0%}"
                          "（{span}内提交 {n} 条，被拒 {rejected} 条）",
               "hint": "被拒的短信不会下发：请在发送方日志中查看 SendSms 返回的错误码"
                       "（模板、签名、频率限制、号码无效、欠费）。"},
    },
    variables=(
        Variable("ALERT_ACCEPT_RATE_MIN", "accept_rate_min", "fraction", 0.95,
                 "submit_rejected: warn when the API accepts less than this share of the messages submitted"),
    ),
    jobs=("report",),
    judge=judge,
    clear_runs=1,
)

"""`success_rate_below`: receipts say messages fail; warning under ALERT_SUCCESS_RATE_MIN,
critical under ALERT_SUCCESS_RATE_CRITICAL, once the data are confident (docs/alerts.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Tuple

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

if TYPE_CHECKING:
    from sms_receipt_stats.stats import Stats


def judge(evidence: Evidence, ctx: Context) -> Verdict:
    if not evidence.answered:
        return UNKNOWN
    pool = ctx.pool(evidence, lambda s: s.CallbackCount)
    if pool is None or pool.stats.CallbackCount < ctx.value("min_volume"):
        return UNKNOWN
    n, successes = pool.stats.CallbackCount, pool.stats.CallbackSuccessCount
    warning, critical = ctx.value("success_rate_min"), ctx.value("success_rate_critical")
    phi = ctx.spread(evidence, successes_of, receipts_of)
    below = ctx.below(successes, n, warning, phi)
    if below is None:
        return UNKNOWN
    if not below:
        return CLEAR
    from sms_receipt_stats.documents import Alert

    severity, threshold = ("critical", critical) if ctx.below(successes, n, critical, phi) else ("warning", warning)
    rate = round(successes / n, 4)
    hours = evidence_hours(pool, evidence.result)
    lang = ctx.lang
    text = RULE.text(lang, app=app_label(evidence.result), value=rate, threshold=threshold,
                     evidence=RULE.text(lang, "evidence", n=f"{n:,}", span=span_text(lang, hours)),
                     unsure=unsure(lang, severity, rate, critical))
    text += receipt_codes_note(RULE, evidence.result, lang)
    return Verdict.firing(Alert(rule=RULE.name, severity=severity, app_id=evidence.result.app_id,
                                value=rate, threshold=threshold, volume=n, hours=hours, message=text))


def successes_of(stats: Stats) -> int:
    return stats.CallbackSuccessCount


def receipts_of(stats: Stats) -> int:
    return stats.CallbackCount


def unsure(lang: str, severity: str, rate: float, critical: float) -> str:
    """Why a rate under the critical threshold is only a warning: the evidence is not strong
    enough for critical yet (empty when there is nothing to explain)."""
    if severity != "warning" or rate >= critical:
        return ""
    return RULE.text(lang, "unsure", critical=f"{critical:.0%}")


def check(values: Dict[str, Any]) -> List[Tuple[str, str]]:
    """A critical threshold above the warning one would make a low rate critical at once."""
    if values["success_rate_critical"] > values["success_rate_min"]:
        problem = (f"{values['success_rate_critical']:g} is above ALERT_SUCCESS_RATE_MIN "
                   f"({values['success_rate_min']:g}): a low rate would be critical without ever being a "
                   f"warning; using {values['success_rate_min']:g}")
        values["success_rate_critical"] = values["success_rate_min"]
        return [("ALERT_SUCCESS_RATE_CRITICAL", problem)]
    return []


RULE = RuleSpec(
    name="success_rate_below",
    texts={
        "en": {"title": "success rate below threshold",
               "message": "{app}: success rate {value:.2%} is below {threshold:.0%} ({evidence}){unsure}",
               "evidence": "{n} receipts over {span}",
               "unsure": "; below {critical} but not yet with confidence: warning",
               "codes": "; top failing receipt codes: {codes}"},
        "zh": {"title": "成功率低于阈值",
               "message": "{app}：回执成功率 {value:.2%} 低于 {threshold:.0%}（{evidence}）{unsure}",
               "evidence": "{span}内回执 {n} 条",
               "unsure": "；已低于 {critical}，但把握尚不足：记为警告",
               "codes": "；主要失败回执码：{codes}"},
    },
    variables=(
        Variable("ALERT_SUCCESS_RATE_MIN", "success_rate_min", "fraction", 0.90, "warn when success_rate is below"),
        Variable("ALERT_SUCCESS_RATE_CRITICAL", "success_rate_critical", "fraction", 0.70,
                 "critical when success_rate is below"),
    ),
    jobs=("check",),
    judge=judge,
    check=check,
)

"""`api_error`: the statistics query failed; severity from the error catalogue.

A transient or rate-limit error must fail two runs in a row before it is notified (one timeout
is not an incident); a failure of every app with the same code is the account's, not each
app's: one alert for all of them (`combine`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Tuple

from sms_receipt_stats.rules import CLEAR, UNKNOWN, Context, Evidence, RuleSpec, Verdict, app_label

if TYPE_CHECKING:
    from sms_receipt_stats.documents import AppResult

#: catalogue categories that pass on their own: notified only when the next run fails too
PASSING_CATEGORIES = ("transient", "rate_limit")


def judge(evidence: Evidence, ctx: Context) -> Verdict:
    result = evidence.result
    if result.error is None:
        return CLEAR if result.stats is not None else UNKNOWN
    from sms_receipt_stats.documents import Alert

    err = result.error
    alert = Alert(rule=RULE.name, severity=err.severity, app_id=result.app_id, value=err.code,
                  message=RULE.text(ctx.lang, app=app_label(result), code=err.code), code=err.code, hint=err.hint)
    return Verdict.firing(alert, pending_runs=2 if err.category in PASSING_CATEGORIES else 1)


def combine(verdicts: List[Tuple[AppResult, Verdict]], ctx: Context) -> List[Tuple[Optional[str], Verdict]]:
    """Every app failing with one code → one account-wide alert (app_id None); every app
    answering → the account-wide alert is clear too."""
    codes = {r.error.code if r.error is not None else None for r, _ in verdicts}
    if len(verdicts) >= 2 and len(codes) == 1 and None not in codes:
        first = verdicts[0][0]
        assert first.error is not None
        lead = verdicts[0][1]
        assert lead.alert is not None
        apps = RULE.text(ctx.lang, "list_separator").join(app_label(r) for r, _ in verdicts)  # names and ids
        message = RULE.text(ctx.lang, "account", n=len(verdicts), apps=apps, code=first.error.code)
        alert = lead.alert.model_copy(update={"app_id": None, "message": message})
        return [(None, Verdict.firing(alert, lead.pending_runs))] + [(r.app_id, UNKNOWN) for r, _ in verdicts]
    kept: List[Tuple[Optional[str], Verdict]] = [(r.app_id, v) for r, v in verdicts]
    if verdicts and all(v.state == "clear" for _, v in verdicts):
        kept.append((None, CLEAR))
    return kept


RULE = RuleSpec(
    name="api_error",
    texts={
        "en": {"title": "API error", "message": "{app}: the statistics query failed with {code}",
               "account": "all {n} apps ({apps}): the statistics query failed with {code}",
               "all_apps": "all {n} apps: {apps}", "list_separator": ", "},
        "zh": {"title": "接口错误", "message": "{app}：统计查询失败，错误码 {code}",
               "account": "全部 {n} 个应用（{apps}）：统计查询失败，错误码 {code}",
               "all_apps": "全部 {n} 个应用：{apps}", "list_separator": "、"},
    },
    judge=judge,
    combine=combine,
)

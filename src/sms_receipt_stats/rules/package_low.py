"""`package_low`: the account's SMS packages run out soon, and sending stops when they do.

Judged by the daily report, which reads the balance once a day (`account.py`): warning when the
balance lasts PACKAGE_WARN_DAYS or fewer at the recent billed rate (the last 7 days' FeeCount per
day), critical at PACKAGE_CRIT_DAYS or fewer, or when nothing is left. With a report a day, a
warning comes at least PACKAGE_WARN_DAYS - 1 days before the balance reaches zero at that rate
(so PACKAGE_WARN_DAYS is at least 3: two days' notice). PACKAGE_MIN_MESSAGES, when set, warns on
a balance below that many messages whatever the rate (a bursty sender). An account without any
package (postpaid) is not judged. docs/alerts.md, *package_low*.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from sms_receipt_stats.rules import CLEAR, UNKNOWN, Context, Evidence, RuleSpec, Variable, Verdict


def judge(evidence: Evidence, ctx: Context) -> Verdict:
    account = ctx.account
    if account is None or account.error is not None or account.remaining is None:
        return UNKNOWN
    remaining, left = account.remaining, account.days_left
    warn, crit = ctx.value("package_warn_days"), ctx.value("package_crit_days")
    floor = ctx.value("package_min_messages")
    severity: Optional[str] = None
    threshold: float = warn
    if remaining == 0 or (left is not None and left <= crit):
        severity, threshold = "critical", crit
    elif left is not None and left <= warn:
        severity = "warning"
    elif floor and remaining < floor:
        severity, threshold = "warning", floor
    if severity is None:
        return CLEAR
    from sms_receipt_stats.documents import Alert

    lang = ctx.lang
    if remaining == 0:
        text = RULE.text(lang, "empty")
    elif left is None or (floor and remaining < floor and left > warn):
        text = RULE.text(lang, "floor", remaining=f"{remaining:,}", floor=f"{floor:,}")
    else:
        text = RULE.text(lang, remaining=f"{remaining:,}", days=f"{left:g}",
                         rate=f"{account.daily_billed:,.0f}", rate_days=account.rate_days)
    return Verdict.firing(Alert(rule=RULE.name, severity=severity, app_id=None,
                                value=left if left is not None else remaining, threshold=threshold,
                                message=text, hint=RULE.text(lang, "hint")))


def combine(verdicts: List[Tuple[Any, Verdict]], ctx: Context) -> List[Tuple[Optional[str], Verdict]]:
    """The balance is the account's: one verdict for the run (`app_id` null), not one per app."""
    return [(None, verdicts[0][1])] if verdicts else []


def check(values: Dict[str, Any]) -> List[Tuple[str, str]]:
    """A critical horizon beyond the warning one would make a low balance critical at once."""
    if values["package_crit_days"] > values["package_warn_days"]:
        problem = (f"{values['package_crit_days']:g} is above PACKAGE_WARN_DAYS ({values['package_warn_days']:g}): "
                   f"a low balance would be critical without ever being a warning; using "
                   f"{values['package_warn_days']:g}")
        values["package_crit_days"] = values["package_warn_days"]
        return [("PACKAGE_CRIT_DAYS", problem)]
    return []


RULE = RuleSpec(
    name="package_low",
    texts={
        "en": {"title": "SMS balance low",
               "message": "SMS packages: {remaining} messages left, about {days} days at {rate} billed a day "
                          "(last {rate_days} days); sending stops when they run out",
               "floor": "SMS packages: {remaining} messages left, below {floor}; sending stops when they run out",
               "empty": "SMS packages: nothing left; sending stops (arrears) until a package is bought",
               "hint": "Buy an SMS package (SMS console, Packages) before the balance reaches zero, or lower "
                       "the traffic that uses it."},
        "zh": {"title": "短信余量不足",
               "message": "短信套餐包剩余 {remaining} 条，按近 {rate_days} 天每天计费 {rate} 条计约可用 {days} 天；"
                          "用完即停止发送",
               "floor": "短信套餐包剩余 {remaining} 条，低于 {floor} 条；用完即停止发送",
               "empty": "短信套餐包已用完：在购买新套餐包前将停止发送（欠费）",
               "hint": "请在余量用完前于短信控制台购买套餐包，或减少消耗余量的发送。"},
    },
    variables=(
        Variable("PACKAGE_WARN_DAYS", "package_warn_days", "number", 7.0,
                 "package_low: warn when the SMS packages last this many days or fewer at the recent rate",
                 low=3, high=90),
        Variable("PACKAGE_CRIT_DAYS", "package_crit_days", "number", 2.0,
                 "package_low: critical when they last this many days or fewer", low=0, high=30),
        Variable("PACKAGE_MIN_MESSAGES", "package_min_messages", "count", 0,
                 "package_low: also warn when fewer messages than this are left (0: off)"),
    ),
    jobs=("report",),
    judge=judge,
    clear_runs=1,
    combine=combine,
    check=check,
)

"""`delivery_failures`: the receipts Tencent pushes say messages fail right now, judged in minutes
(docs/alerts.md, *Alerts in minutes*).

Judged by the receipts callback after it stores a batch (job `receipts`, at most once a minute
per app: `receipts/alerting.py`), never by a timer run. The evidence is the app's receipts by
arrival minute: the last ALERT_RECEIPT_WINDOW, pooled further back a minute at a time (at most
POOL_MINUTES) until ALERT_MIN_VOLUME receipts are in it. It fires when the failure share of that
pool is, at ALERT_CONFIDENCE, above ALERT_RECEIPT_FAIL_MAX (critical), or above the app's own
usual failure share plus ALERT_RECEIPT_FAIL_RISE (warning): the median share of its hours of the
last day (hourly receipt counters, the hour just ended and the running one left out so an
outage is not its own baseline). Clear when the pessimistic bound is back under the threshold;
resolved after CLEAR_JUDGMENTS clear judgments in a row (about an hour of recovery, like the
hourly rules), and notified only when two judgments in a row fire (PENDING_JUDGMENTS).

It is its own alert (fingerprint), not `success_rate_below`'s: the two judge different
evidence on different schedules, and sharing one identity would let the hourly check's verdict
on a pooled hour resolve what the minutes still show, or the reverse (docs/alerts.md).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Sequence, Tuple

from sms_receipt_stats.rules import CLEAR, UNKNOWN, Context, Evidence, RuleSpec, Variable, Verdict, app_label
from sms_receipt_stats.vocabulary import RECEIPT_JOB

#: the most minutes pooled back to reach ALERT_MIN_VOLUME (the recent counters keep 2 h)
POOL_MINUTES = 60
#: the hours of the app's own baseline: the last day, without the hour just ended and the running one
BASELINE_HOURS = 24
BASELINE_SKIP_HOURS = 2
#: an hour with fewer receipts says little about the usual share; a baseline needs this many hours
BASELINE_MIN_RECEIPTS = 20
BASELINE_MIN_HOURS = 6
#: consecutive firing judgments before the first notice (a single odd minute is not an outage)
PENDING_JUDGMENTS = 2
#: consecutive clear judgments (at least a minute apart) before the alert is resolved
CLEAR_JUDGMENTS = 60
#: failure codes named in the message
TOP_CODES = 2


@dataclass(frozen=True)
class Minute:
    """One arrival minute of one app's receipts."""

    success: int = 0
    fail: int = 0
    #: failed receipts by errmsg code
    codes: Mapping[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.success + self.fail


def pool_minutes(recent: Sequence[Minute], window: int, min_volume: int) -> Tuple[int, int, int, Dict[str, int]]:
    """(minutes, receipts, failed, failed by code): the last `window` minutes, and older ones
    one at a time (at most POOL_MINUTES) until `min_volume` receipts are pooled."""
    minutes = total = failed = 0
    codes: Dict[str, int] = {}
    for minute in recent[:max(window, POOL_MINUTES)]:
        if minutes >= window and total >= min_volume:
            break
        minutes, total, failed = minutes + 1, total + minute.total, failed + minute.fail
        for code, n in minute.codes.items():
            codes[code] = codes.get(code, 0) + n
    return minutes, total, failed, codes


def baseline(evidence: Evidence) -> Optional[float]:
    """The app's usual failure share: the median of its hours of the last day (None: too little)."""
    if evidence.newest is None:
        return None
    shares = []
    for index in range(evidence.newest - BASELINE_HOURS, evidence.newest - BASELINE_SKIP_HOURS + 1):
        seen = evidence.hours.get(index)
        if seen is not None and seen.stats.CallbackCount >= BASELINE_MIN_RECEIPTS:
            shares.append(seen.stats.CallbackFailCount / seen.stats.CallbackCount)
    return statistics.median(shares) if len(shares) >= BASELINE_MIN_HOURS else None


def judge(evidence: Evidence, ctx: Context) -> Verdict:
    if ctx.job != RECEIPT_JOB or evidence.recent is None:
        return UNKNOWN  # a timer run has no minutes: this rule is the receipts callback's
    window = max(1, int(ctx.value("receipt_window") // 60))
    minutes, n, failed, codes = pool_minutes(list(evidence.recent), window, ctx.value("min_volume"))
    if n < ctx.value("min_volume"):
        return UNKNOWN
    most, rise = ctx.value("receipt_fail_max"), ctx.value("receipt_fail_rise")
    usual = baseline(evidence)
    threshold = most if usual is None else min(most, usual + rise)
    above = ctx.below(n - failed, n, 1.0 - threshold)  # failures above t: successes below 1 - t
    if above is None:
        return UNKNOWN
    if not above:
        return CLEAR
    from sms_receipt_stats.documents import Alert

    critical = threshold >= most or ctx.below(n - failed, n, 1.0 - most) is True
    share = round(failed / n, 4)
    lang = ctx.lang
    top = sorted(codes.items(), key=lambda item: (-item[1], item[0]))[:TOP_CODES]
    said = RULE.text(lang, "codes", codes=", ".join(f"{code} {count:,}" for code, count in top)) if top else ""
    usual_text = "" if usual is None or critical else RULE.text(lang, "usual", usual=f"{usual:.1%}")
    text = RULE.text(lang, app=app_label(evidence.result), value=share, threshold=threshold, minutes=minutes,
                     n=f"{n:,}", usual=usual_text, codes=said)
    alert = Alert(rule=RULE.name, severity="critical" if critical else "warning", app_id=evidence.result.app_id,
                  value=share, threshold=round(threshold, 4), volume=n, message=text)
    return Verdict.firing(alert, PENDING_JUDGMENTS)


RULE = RuleSpec(
    name="delivery_failures",
    texts={
        "en": {"title": "messages failing now",
               "message": "{app}: {value:.1%} of the last {minutes} min's {n} receipts failed, above "
                          "{threshold:.1%}{usual}{codes}",
               "usual": " (usually {usual})",
               "codes": "; mostly {codes}"},
        "zh": {"title": "短信正在大量失败",
               "message": "{app}：最近 {minutes} 分钟的 {n} 条回执中 {value:.1%} 失败，"
                          "高于 {threshold:.1%}{usual}{codes}",
               "usual": "（平时 {usual}）",
               "codes": "；主要为 {codes}"},
    },
    variables=(
        Variable("ALERT_RECEIPT_WINDOW", "receipt_window", "duration", 600.0,
                 "the recent receipts the minute rule judges (pooled further back, up to 1 h, to reach "
                 "ALERT_MIN_VOLUME)", low=60, high=3600),
        Variable("ALERT_RECEIPT_FAIL_MAX", "receipt_fail_max", "fraction", 0.30,
                 "critical when the recent failure share of pushed receipts is above", low=0.01, high=0.99),
        Variable("ALERT_RECEIPT_FAIL_RISE", "receipt_fail_rise", "fraction", 0.10,
                 "warning when the recent failure share is this far above the app's usual share", low=0.01,
                 high=0.99),
    ),
    jobs=(RECEIPT_JOB,),
    judge=judge,
    clear_runs=CLEAR_JUDGMENTS,
)

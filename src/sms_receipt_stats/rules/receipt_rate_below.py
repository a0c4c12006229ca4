"""`receipt_rate_below`: submitted messages get no receipt. Receipts arrive late, so only hours
read at least ALERT_RECEIPT_DELAY after their end are judged, and a first firing verdict waits
for the next run to agree: the receipts still missing make every reading a little low
(docs/alerts.md, *Late receipts*).

Receipts late on most apps at once while the receipts that do arrive say messages succeed is the
provider's receipt pipeline stalling, not each app's: one account-wide warning naming the apps
(`combine`). The hourly check sees it in the hour it has just read, hours before the re-read
ones: a fresh hour normally shows most of its receipts within minutes, and a stalled one almost
none, on every app.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Dict, List, Optional, Set, Tuple

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

if TYPE_CHECKING:
    from sms_receipt_stats.documents import AppResult

#: a fresh hour whose receipt rate is confidently below this share of ALERT_RECEIPT_RATE_MIN has
#: stalled (a fresh hour normally shows most of its receipts within minutes)
STALLED_SHARE = 0.5
#: fewest apps late at once for the account-wide verdict (one app late is that app's)
ACCOUNT_MIN_APPS = 2


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
    phi = ctx.spread(evidence, lambda s: s.CallbackCount, lambda s: s.RequestSuccessCount,
                     delay_hours=delay_hours(ctx))
    below = ctx.below(receipts, n, threshold, phi)
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


def fresh_stall(result: AppResult, ctx: Context) -> Optional[bool]:
    """Has the hour the check has just read (minutes after its end) stalled: confidently under
    STALLED_SHARE of the threshold? None when it cannot tell (another job, too few messages)."""
    stats = result.stats
    if ctx.job != "check" or stats is None or result.error is not None:
        return None
    n = stats.RequestSuccessCount
    if n < ctx.value("min_volume"):
        return None
    return ctx.below(stats.CallbackCount, n, ctx.value("receipt_rate_min") * STALLED_SHARE)


def success_low(result: AppResult, ctx: Context) -> bool:
    """Do the receipts that arrived say messages fail (then it is an outage, not a delay)?"""
    stats = result.stats
    if stats is None or stats.CallbackCount < ctx.value("min_volume"):
        return False
    return ctx.below(stats.CallbackSuccessCount, stats.CallbackCount, ctx.value("success_rate_min")) is True


#: how far back the ledgers are read for hours the provider held receipts back (a pool's reach)
STALL_LOOKBACK_HOURS = 12


def stalled_hours(ctx: Context) -> Set[int]:
    """The recent hours whose receipts were late on most apps at once, from every app's ledger:
    an hour re-read ALERT_RECEIPT_DELAY after its end is late below the threshold, a fresh one
    below STALLED_SHARE of it. A thin app's pool reaches back over such hours after the stall
    is over; its alert would be the provider's again."""
    wait = delay_hours(ctx) * 3600
    low: Dict[int, int] = {}
    fine: Dict[int, int] = {}
    threshold = ctx.value("receipt_rate_min")
    for evidence in ctx.evidence.values():
        if evidence.newest is None or not evidence.answered:
            continue
        for index in range(evidence.newest - STALL_LOOKBACK_HOURS, evidence.newest + 1):
            seen = evidence.hours.get(index)
            if seen is None or seen.stats.RequestSuccessCount < ctx.value("min_volume"):
                continue
            share = 1.0 if seen.lag >= wait else STALLED_SHARE
            below = ctx.below(seen.stats.CallbackCount, seen.stats.RequestSuccessCount, threshold * share)
            if below is not None:
                counted = low if below else fine
                counted[index] = counted.get(index, 0) + 1
    return {i for i, n in low.items() if n >= ACCOUNT_MIN_APPS and n > fine.get(i, 0)}


def _pool_overlaps(result: AppResult, verdict: Verdict, ctx: Context, stalled: Set[int]) -> bool:
    evidence = ctx.evidence.get(result.app_id)
    if not stalled or evidence is None or evidence.newest is None or verdict.alert is None:
        return False
    newest = evidence.newest - delay_hours(ctx)
    return any(newest - back in stalled for back in range(verdict.alert.hours or 1))


def combine(verdicts: List[Tuple[AppResult, Verdict]], ctx: Context) -> List[Tuple[Optional[str], Verdict]]:
    """Receipts late on most apps while success is normal → one account-wide warning (app_id
    None, naming the apps) instead of one per app. An app's own alert whose evidence reaches
    back over hours the provider held receipts back stays quiet (it is the provider's), and
    keeps the account-wide one open; otherwise each app's own verdict, and the account-wide
    alert is clear once at most one app is late."""
    late, fine = [], 0
    for result, verdict in verdicts:
        stalled = fresh_stall(result, ctx)
        if verdict.state == "firing" or stalled:
            late.append(result)
        elif verdict.state == "clear" or stalled is False:
            fine += 1
    failing = sum(1 for r in late if success_low(r, ctx))
    if len(late) >= ACCOUNT_MIN_APPS and len(late) > fine and failing * 2 < len(late):
        from sms_receipt_stats.documents import Alert

        separator = RULE.text(ctx.lang, "list_separator")
        apps = separator.join(app_label(r) for r in late)
        # no value/threshold: the renderer would read them as one app's rate; the message says it all
        alert = Alert(rule=RULE.name, severity="warning", app_id=None,
                      message=RULE.text(ctx.lang, "account", n=len(late), total=len(verdicts), apps=apps))
        kept: List[Tuple[Optional[str], Verdict]] = [(None, Verdict.firing(alert))]
        return kept + [(r.app_id, UNKNOWN if v.state == "firing" else v) for r, v in verdicts]
    firing = [(r, v) for r, v in verdicts if v.state == "firing"]
    held_back = stalled_hours(ctx) if firing and ctx.evidence else set()
    covered = {r.app_id for r, v in firing if _pool_overlaps(r, v, ctx, held_back)}
    own: List[Tuple[Optional[str], Verdict]] = [(r.app_id, UNKNOWN if r.app_id in covered else v)
                                                for r, v in verdicts]
    # over when at most one app is late; a night with most apps too quiet to tell changes nothing
    return [*own, (None, CLEAR)] if len(late) < ACCOUNT_MIN_APPS and fine and not covered else own


RULE = RuleSpec(
    name="receipt_rate_below",
    texts={
        "en": {"title": "receipt rate below threshold",
               "message": "{app}: receipt rate {value:.2%} is below {threshold:.0%} ({evidence})",
               "evidence": "{n} submitted over {span}",
               "account": "receipts are late at the provider: {n} of {total} apps get few receipts while the "
                          "receipts that arrive say messages are delivered ({apps})",
               "list_separator": ", "},
        "zh": {"title": "回执率低于阈值",
               "message": "{app}：回执率 {value:.2%} 低于 {threshold:.0%}（{evidence}）",
               "evidence": "{span}内提交成功 {n} 条",
               "account": "运营商回执延迟：{total} 个应用中有 {n} 个几乎收不到回执，"
                          "而已到达的回执显示发送成功（{apps}）",
               "list_separator": "、"},
    },
    variables=(
        Variable("ALERT_RECEIPT_RATE_MIN", "receipt_rate_min", "fraction", 0.80, "warn when receipt_rate is below"),
        # days, not more: the evidence ledger keeps 8 days of hours (state/evidence.py)
        Variable("ALERT_RECEIPT_DELAY", "receipt_delay", "duration", 7200.0,
                 "receipts of an hour are judged only once this long has passed since it ended", high=7 * 86400),
    ),
    jobs=("check",),
    judge=judge,
    combine=combine,
)

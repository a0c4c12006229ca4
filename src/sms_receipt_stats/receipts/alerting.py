"""The `receipts` job: after the callback stored a batch, judge the rules of the recent minutes
for that app (docs/alerts.md, *Alerts in minutes*).

At most once a minute per app: the judgment first claims `receipts:{app}:judged` in the state
store for THROTTLE_SECONDS (an atomic set-if-absent with an expiry), so a burst of pushes costs
one judgment, and concurrent invocations do not judge twice. The verdicts go through the same
lifecycle as a timer run's (`state/alerts.py`: fingerprints, pending, repeat, clear runs, one
resolved, silences) and the notified ones to the configured sinks through the outbox, rendered
like every alert and routed by severity. The batch is counted before this runs and its answer
does not depend on it: the route calls `judge_after_batch`, which never raises.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from sms_receipt_stats.state.receipts import KEY_PREFIX

if TYPE_CHECKING:
    from sms_receipt_stats.config import Settings
    from sms_receipt_stats.documents import Alert, Delivery
    from sms_receipt_stats.rules import Evidence
    from sms_receipt_stats.state.store import GuardedStore

log = logging.getLogger("sms_receipt_stats.receipts")

#: one judgment per app per this many seconds (the claim's expiry)
THROTTLE_SECONDS = 60.0
#: the most the judgment and its delivery may add to the answer Tencent waits for (seconds)
JUDGE_SECONDS = 5.0


def judged_key(app_id: str) -> str:
    return f"{KEY_PREFIX}{{{app_id}}}:judged"


@dataclass
class Judgment:
    """What one judgment did (for the log line, the backtest and tests)."""

    #: False: throttled (judged less than a minute ago) or no store to judge with
    judged: bool = False
    alerts: List[Alert] = field(default_factory=list)
    deliveries: List[Delivery] = field(default_factory=list)
    problem: Optional[str] = None

    @property
    def notified(self) -> List[Alert]:
        return [a for a in self.alerts if a.notified]


def gather(state: GuardedStore, settings: Settings, app_id: str, now: datetime) -> Optional[Evidence]:
    """The app's recent minutes (newest first) and the hours of its baseline, in one store call."""
    from sms_receipt_stats.documents import AppResult, WindowDoc
    from sms_receipt_stats.rules import Evidence
    from sms_receipt_stats.rules._evidence import Seen
    from sms_receipt_stats.rules.delivery_failures import BASELINE_HOURS, POOL_MINUTES, Minute
    from sms_receipt_stats.state.receipts import read_recent
    from sms_receipt_stats.stats import Stats

    stamp = now.timestamp()
    minute, hour = int(stamp // 60), int(stamp // 3600)
    hours = list(range(hour - BASELINE_HOURS, hour + 1))
    found = read_recent(state, app_id, [minute - k for k in range(POOL_MINUTES)], hours)
    if found is None:
        return None
    minutes, by_hour = found
    recent = [Minute(t.by_status["S"], t.by_status["F"], {c: n for (s, c), n in t.codes.items() if s == "F"})
              for t in minutes]
    seen = {index: Seen(Stats(CallbackCount=t.total, CallbackSuccessCount=t.by_status["S"],
                              CallbackFailCount=t.by_status["F"]), lag=stamp - (index + 1) * 3600)
            for index, t in zip(hours, by_hour) if t.total}
    beijing = timezone(timedelta(hours=8))  # the API's hours: the window the minutes fall in
    window = WindowDoc(begin=datetime.fromtimestamp(hour * 3600, beijing).strftime("%Y%m%d%H"),
                       end=datetime.fromtimestamp(hour * 3600, beijing).strftime("%Y%m%d%H"),
                       timezone=settings.timezone)
    names = {a.app_id: a.name for a in settings.apps}
    failed = sum(m.fail for m in recent[:POOL_MINUTES])
    total = sum(m.total for m in recent[:POOL_MINUTES])
    result = AppResult(app_id=app_id, app_name=names.get(app_id) or None, window=window,
                       stats=Stats(CallbackCount=total, CallbackSuccessCount=total - failed, CallbackFailCount=failed))
    return Evidence(result=result, hours=seen, newest=hour, recent=recent)


def judge_recent(state: GuardedStore, settings: Settings, app_id: str, now: datetime, deps: Any,
                 deadline: Optional[float]) -> Judgment:
    """Throttle, judge, track, deliver (module docstring). Store failures end it quietly."""
    from sms_receipt_stats.rules import assess, context_of
    from sms_receipt_stats.vocabulary import RECEIPT_JOB

    out = Judgment()
    if not state.available or state.claim(judged_key(app_id), now.isoformat(), THROTTLE_SECONDS) is not True:
        out.problem = state.problem
        return out
    out.judged = True
    evidence = gather(state, settings, app_id, now)
    if evidence is None:
        out.problem = state.problem
        return out
    ctx = context_of(settings.thresholds, settings.lang, RECEIPT_JOB, stateful=True)
    assessment = assess([evidence.result], ctx, {app_id: evidence})
    if not assessment.judged:
        return out
    from sms_receipt_stats.state.alerts import track_alerts

    tracked = track_alerts(state, assessment.alerts, assessment.clear, now,
                           repeat=timedelta(seconds=settings.repeat_interval), tz=settings.timezone,
                           lang=settings.lang, pending=assessment.pending)
    if tracked is None:
        out.problem = state.problem
        return out
    out.alerts = [a for a in tracked if a.rule in assessment.judged and a.app_id == app_id]
    if out.notified and settings.sinks:
        out.deliveries = _deliver(state, settings, out.alerts, now, deps, deadline)
    return out


def _deliver(state: GuardedStore, settings: Settings, alerts: List[Alert], now: datetime, deps: Any,
             deadline: Optional[float]) -> List[Delivery]:
    """The notices as a `check` document, through the outbox like a timer run's."""
    from sms_receipt_stats.documents import ResultDocument
    from sms_receipt_stats.measure import generated_at
    from sms_receipt_stats.notify.base import new_message_id
    from sms_receipt_stats.redaction import prepare, redact
    from sms_receipt_stats.state.flow import StatefulRun
    from sms_receipt_stats.vocabulary import VOCABULARY

    doc = ResultDocument(kind="check", trigger="apigw", generated_at=generated_at(now, settings.timezone),
                         alerts=alerts)
    doc.message_id = new_message_id()  # kept by every retry of this notice (the outbox)
    secrets = prepare(settings.secret_values())  # as `jobs.finish`: the sinks get secrets masked
    outgoing = ResultDocument.model_validate(redact(doc.to_json_dict(), secrets, keep=VOCABULARY)) if secrets else doc
    return StatefulRun(state, settings, now).deliver(outgoing, doc, deps.deliver, deadline)


def judge_after_batch(state: GuardedStore, settings: Settings, app_id: str, deps: Any,
                      deadline: Optional[float]) -> Optional[Judgment]:
    """`judge_recent` for the receipts route: bounded by JUDGE_SECONDS (and the request's own
    deadline), logged, and never raising: the batch is stored whatever happens here."""
    try:
        start = deps.monotonic()
        bound = start + JUDGE_SECONDS if deadline is None else min(deadline, start + JUDGE_SECONDS)
        judgment = judge_recent(state, settings, app_id, deps.now(), deps, bound)
    except Exception as exc:  # a bug or a sink must never turn a stored batch into an error answer
        log.warning("receipts: judging the recent minutes failed (%s)", type(exc).__name__,
                    extra={"app_id": app_id})
        return None
    if judgment.judged:
        failed = [d for d in judgment.deliveries if not d.ok]
        extra: Dict[str, Any] = {"app_id": app_id}
        log.info(f"receipts: judged, {len(judgment.alerts)} alert(s), {len(judgment.notified)} notified, "
                 f"{len(failed)} delivery failure(s)", extra=extra)
    return judgment

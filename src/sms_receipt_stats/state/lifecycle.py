"""Alert lifecycle, Alertmanager's way (pure: the clock comes in as `now`).

An alert is identified by its fingerprint (app_id, rule, code). It is notified when it
starts firing (after `pending_runs` firing runs in a row: a transient error must repeat),
when its severity rises above what was last notified, and again once it has kept firing for
the repeat interval since its last notice; otherwise it stays in the document, quiet
(`notified: false`). It is resolved only on evidence: when the rule's verdict is *clear* for
as many runs in a row as the rule asks (`RuleSpec.clear_runs`); a run that cannot tell (too
little volume, a failed query, a job that does not judge the rule) leaves it firing. Then one
`resolved` notice goes out, if the firing alert was ever notified. A silenced alert is never
notified (nor is its resolution). How rules decide: docs/alerts.md.

`AlertRecord` is what the store keeps per fingerprint between runs (see `state.alerts`).
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from sms_receipt_stats.documents import Alert
from sms_receipt_stats.rules import rule
from sms_receipt_stats.state.silences import Silence, silenced_by
from sms_receipt_stats.vocabulary import SEVERITY_RANK

_RESOLVED = {"en": "Resolved: {message}", "zh": "已恢复：{message}"}

#: stored times stay far from datetime's edges (as silences' do)
_EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
_LATEST = datetime(9000, 1, 1, tzinfo=timezone.utc)

#: the (app_id, rule) pairs a run found clear: only those can be resolved
Clear = Set[Tuple[Optional[str], str]]


class AlertRecord(BaseModel):
    """One fingerprint's state between runs; times are ISO 8601 in UTC.

    Read back from the store like any input: a record whose times do not parse, whose
    severity is unknown, whose counters are out of range or whose fingerprint is not its own
    (app_id, rule, code) does not load (`loads` answers None and the caller drops it)."""

    model_config = ConfigDict(extra="ignore")

    fingerprint: str
    app_id: Optional[str] = None
    rule: str
    code: Optional[str] = None
    severity: str
    message: str = ""
    since: str
    last_notified: Optional[str] = None
    notified_severity: Optional[str] = None
    #: firing runs in a row (a pending alert waits for its rule's `pending_runs`)
    fired_runs: int = 1
    #: clear runs in a row since it last fired (resolved at its rule's `clear_runs`)
    clear_runs: int = 0
    #: the evidence of its last firing run, so a page in another language words it anew
    value: Optional[float] = None
    threshold: Optional[float] = None
    volume: Optional[int] = None
    hours: Optional[int] = None

    def evidence(self) -> Dict[str, Any]:
        """The alert fields this record keeps beside its message (`value`, `threshold`, `volume`, `hours`)."""
        return {"value": self.value, "threshold": self.threshold, "volume": self.volume, "hours": self.hours}

    @field_validator("since", "last_notified")
    @classmethod
    def _time(cls, value: Optional[str]) -> Optional[str]:
        if value is not None:
            moment = datetime.fromisoformat(value)  # a ValueError: not a time
            if moment.tzinfo is None or not _EARLIEST <= moment.astimezone(timezone.utc) < _LATEST:
                raise ValueError("not an aware time between 1970 and 9000")
        return value

    @field_validator("severity", "notified_severity")
    @classmethod
    def _severity(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and value not in SEVERITY_RANK:
            raise ValueError("unknown severity")
        return value

    @field_validator("fired_runs", "clear_runs")
    @classmethod
    def _runs(cls, value: int) -> int:
        if not 0 <= value <= 1_000_000:
            raise ValueError("out of range")
        return value

    @model_validator(mode="after")
    def _own_fingerprint(self) -> AlertRecord:
        if self.fingerprint != fingerprint(self.app_id, self.rule, self.code):
            raise ValueError("fingerprint does not match (app_id, rule, code)")
        return self

    def dumps(self) -> str:
        return self.model_dump_json()

    @classmethod
    def loads(cls, raw: Optional[str]) -> Optional[AlertRecord]:
        if raw is None:
            return None
        try:
            return cls.model_validate_json(raw)
        except (ValueError, TypeError, OverflowError):  # another version, a bad write: start afresh
            return None


def fingerprint(app_id: Optional[str], rule: str, code: Optional[str]) -> str:
    """Stable id of (app_id, rule, code): 16 hex digits of a SHA-256."""
    text = json.dumps([app_id, rule, code], separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def alert_fingerprint(alert: Alert) -> str:
    return fingerprint(alert.app_id, alert.rule, alert.code)


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def local_iso(value: str, tz: str) -> str:
    """A stored UTC time as shown in documents: ISO 8601 in REPORT_TIMEZONE."""
    return datetime.fromisoformat(value).astimezone(ZoneInfo(tz)).replace(microsecond=0).isoformat()


def _rank(severity: Optional[str]) -> int:
    return SEVERITY_RANK.get(severity or "", -1)


def fire(alert: Alert, record: Optional[AlertRecord], now: datetime, repeat: timedelta,
         silences: Sequence[Silence], tz: str, pending_runs: int = 1) -> Tuple[Alert, AlertRecord]:
    """The firing alert with its lifecycle fields, and the record to keep for it."""
    fp = alert_fingerprint(alert)
    silenced = silenced_by(silences, alert.app_id, alert.rule, alert.code, now)
    fired_runs = 1 if record is None else record.fired_runs + 1
    ready = fired_runs >= pending_runs
    if record is None:
        since = utc_iso(now)
        notify = ready and not silenced
    else:
        since = record.since
        last = datetime.fromisoformat(record.last_notified) if record.last_notified else None
        due = last is None or now - last >= repeat or _rank(alert.severity) > _rank(record.notified_severity)
        notify = ready and due and not silenced
    last_notified: Optional[str]
    notified_severity: Optional[str]
    if notify:
        last_notified, notified_severity = utc_iso(now), alert.severity
    else:
        last_notified = record.last_notified if record else None
        notified_severity = record.notified_severity if record else None
        if notified_severity is not None and _rank(alert.severity) < _rank(notified_severity):
            notified_severity = alert.severity  # it calmed down: a later rise is news again
    kept = AlertRecord(fingerprint=fp, app_id=alert.app_id, rule=alert.rule, code=alert.code,
                       severity=alert.severity, message=alert.message, since=since,
                       last_notified=last_notified, notified_severity=notified_severity,
                       fired_runs=min(fired_runs, 1000), clear_runs=0, **_evidence(alert))
    shown = alert.model_copy(update={"fingerprint": fp, "status": "firing", "since": local_iso(since, tz),
                                     "silenced": silenced, "notified": notify})
    return shown, kept


def _evidence(alert: Alert) -> Dict[str, Any]:
    """What of `alert`'s evidence a record keeps: finite numbers only (a value may be anything)."""
    def number(value: Any, kind: type) -> Any:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return kind(value) if ok else None

    return {"value": number(alert.value, float), "threshold": number(alert.threshold, float),
            "volume": number(alert.volume, int), "hours": number(alert.hours, int)}


def resolve(record: AlertRecord, now: datetime, silences: Sequence[Silence], tz: str, lang: str = "en") -> Alert:
    """The one `resolved` notice of a record whose alert no longer fires.

    It keeps the severity it fired with, so it reaches the sinks that heard it firing; it is
    sent only when the firing alert was notified at least once and no silence matches now.
    """
    silenced = silenced_by(silences, record.app_id, record.rule, record.code, now)
    text = _RESOLVED.get(lang, _RESOLVED["en"])
    severity = record.notified_severity or record.severity
    return Alert(rule=record.rule, severity=severity if severity in SEVERITY_RANK else "warning",  # type: ignore[arg-type]
                 app_id=record.app_id, code=record.code, message=text.format(message=record.message),
                 fingerprint=record.fingerprint, status="resolved", since=local_iso(record.since, tz),
                 silenced=silenced, notified=record.last_notified is not None and not silenced)


def is_tracked(alert: Alert) -> bool:
    spec = rule(alert.rule)
    return spec is None or spec.tracked


def held(record: AlertRecord, now: datetime, silences: Sequence[Silence], tz: str) -> Alert:
    """A recorded alert this run could not judge: still firing, not notified again."""
    return Alert(rule=record.rule, severity=record.severity if record.severity in SEVERITY_RANK else "warning",  # type: ignore[arg-type]
                 app_id=record.app_id, code=record.code, message=record.message, fingerprint=record.fingerprint,
                 status="firing", since=local_iso(record.since, tz), **record.evidence(),
                 silenced=silenced_by(silences, record.app_id, record.rule, record.code, now), notified=False)


def clear_runs_needed(rule_name: str) -> int:
    spec = rule(rule_name)
    return spec.clear_runs if spec is not None else 1


def group_by_fingerprint(alerts: Sequence[Alert]) -> List[Tuple[str, List[int]]]:
    """Indexes of `alerts` per fingerprint, in first-seen order (several config issues share one)."""
    groups: dict = {}
    for index, alert in enumerate(alerts):
        if is_tracked(alert):
            groups.setdefault(alert_fingerprint(alert), []).append(index)
    return list(groups.items())

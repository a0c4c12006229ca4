"""The alert lifecycle against the store: read the records, decide (`lifecycle`), write back.

Each fingerprint's record is written with a compare-and-set *before* anything is sent, so two
runs at once (an hourly check and the daily report) cannot both notify the same alert: the
loser re-reads the record the winner wrote and decides again. Records expire when an alert
has not been seen firing for `record_ttl` (an app removed from the configuration, a check
that no longer runs), so nothing grows without bound.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from sms_receipt_stats.documents import Alert
from sms_receipt_stats.grouping import DEFAULT_GROUP_BY
from sms_receipt_stats.state.groups import settle_groups
from sms_receipt_stats.state.lifecycle import (
    AlertRecord,
    Clear,
    clear_runs_needed,
    fire,
    group_by_fingerprint,
    held,
    is_tracked,
    local_iso,
    resolve,
)
from sms_receipt_stats.state.silences import COLLECTION as SILENCES
from sms_receipt_stats.state.silences import Silence, load_all, silenced_by

COLLECTION = "alerts"
CAS_ATTEMPTS = 3


def record_ttl(repeat: timedelta) -> float:
    """How long a record outlives the last run that saw its alert firing."""
    return max(timedelta(days=7), 2 * repeat).total_seconds()


def track_alerts(store: Any, alerts: Sequence[Alert], clear: Clear, now: datetime, *, repeat: timedelta,
                 tz: str, lang: str = "en",
                 pending: Optional[Mapping[Tuple[Optional[str], str, Optional[str]], int]] = None,
                 group_by: Sequence[str] = DEFAULT_GROUP_BY) -> Optional[List[Alert]]:
    """The run's alerts with lifecycle fields, then the recorded alerts it could not judge (held,
    quiet), then its resolved notices; None when the store failed on the way (the caller goes on
    with the stateless alerts). Then groups (`state/groups.py`, `ALERT_GROUP_BY`'s labels
    `group_by`): a member's resolved waits for its group's last member.

    A recorded alert found clear counts one more clear run; at its rule's `clear_runs` it is
    resolved. One found neither firing nor clear stays as it is: no evidence, no change.
    """
    records = store.items(COLLECTION)
    raw_silences = store.items(SILENCES)
    if records is None or raw_silences is None:
        return None
    silences = [s for s in load_all(raw_silences, store) if s.active_at(now)]
    pending = pending or {}
    ttl = record_ttl(repeat)
    out: List[Optional[Alert]] = [a if not is_tracked(a) else None for a in alerts]
    seen = set()
    for fp, indexes in group_by_fingerprint(alerts):
        seen.add(fp)
        lead = alerts[indexes[0]]
        runs = pending.get((lead.app_id, lead.rule, lead.code), 1)
        raw = records.get(fp)
        for _ in range(CAS_ATTEMPTS):
            record = AlertRecord.loads(raw)
            if raw is not None and (record is None or record.fingerprint != fp):
                _reject(store, fp, raw, drop=False)  # replaced below, compare-and-set, by a fresh record
                record = None
            shown, kept = fire(lead, record, now, repeat, silences, tz, runs)
            won = store.replace(COLLECTION, fp, raw, kept.dumps(), ttl)
            if won is None:
                return None
            if won:
                break
            raw = store.get_item(COLLECTION, fp)
        else:  # another run keeps writing this record: it is the one notifying
            shown = shown.model_copy(update={"notified": False})
        fields = {k: getattr(shown, k) for k in ("fingerprint", "status", "since", "silenced", "notified")}
        for index in indexes:
            out[index] = alerts[index].model_copy(update=fields)
    kept_firing: List[Alert] = []
    resolved: List[Alert] = []
    for fp, raw in sorted(records.items()):
        if fp in seen:
            continue
        record = AlertRecord.loads(raw)
        if record is None or record.fingerprint != fp:
            _reject(store, fp, raw)
            continue
        if (record.app_id, record.rule) not in clear:
            kept_firing.append(held(record, now, silences, tz))
            continue
        runs = record.clear_runs + 1
        done = runs >= clear_runs_needed(record.rule)
        update = None if done else record.model_copy(update={"clear_runs": runs, "fired_runs": 0}).dumps()
        won = store.replace(COLLECTION, fp, raw, update, ttl)
        if won is None:
            return None
        if not won:  # another run changed it first: it fired again, or was already resolved
            continue
        if done:
            resolved.append(resolve(record, now, silences, tz, lang))
        else:
            kept_firing.append(held(record, now, silences, tz))
    return settle_groups(store, [a for a in out if a is not None] + kept_firing + resolved, group_by, now,
                         silences, tz, lang, ttl)


def _reject(store: Any, fp: str, raw: str, drop: bool = True) -> None:
    """An alert record that does not validate: logged once, dropped (it starts afresh)."""
    reject = getattr(store, "reject", None)
    if reject is not None:
        reject("alert record", fp, collection=COLLECTION, raw=raw, drop=drop)


def current_alerts(store: Any, now: datetime, tz: str = "Asia/Shanghai") -> List[Dict[str, Any]]:
    """Every alert firing as of the last runs, as alert dicts of the result document (for the
    dashboard): `notified` says whether it was ever notified, `silenced` is as of `now`."""
    records = store.items(COLLECTION) or {}
    silences: List[Silence] = load_all(store.items(SILENCES) or {}, store)
    out = []
    for fp, raw in records.items():
        record = AlertRecord.loads(raw)
        if record is None or record.fingerprint != fp:
            _reject(store, fp, raw)
            continue
        alert = Alert(rule=record.rule, severity=record.severity, app_id=record.app_id,  # type: ignore[arg-type]
                      code=record.code, message=record.message, fingerprint=record.fingerprint,
                      status="firing", since=local_iso(record.since, tz), **record.evidence(),
                      silenced=silenced_by(silences, record.app_id, record.rule, record.code, now),
                      notified=record.last_notified is not None)
        out.append(alert.model_dump(mode="json"))
    return sorted(out, key=lambda a: (a["since"], a["fingerprint"]))


def active_silences(store: Any, now: datetime) -> List[Dict[str, Any]]:
    """The silences in force at `now`, as the HTTP API shows them (for the dashboard)."""
    return [s.to_doc(now) for s in load_all(store.items(SILENCES) or {}, store) if s.active_at(now)]

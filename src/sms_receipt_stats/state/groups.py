"""Notified groups in the store, so a group resolves as one (docs/alerts.md, *Grouping*).

A group (`grouping.group_key` of `ALERT_GROUP_BY`'s labels) holds the alerts that went out in
its notices: an alert joins when it is notified firing (silenced alerts never are, so never
join). While one member still fires, a member that recovers stays in the document as
`resolved`, `notified: false`, and is kept here; when the last one recovers, its run sends one
resolved naming every member (the earlier ones' resolved alerts are added to that document,
notified). A member whose alert record is gone without a resolution (expired, its app removed)
leaves the group quietly.

One record per group (`alert_groups/<16 hex digits of the key>`), both back ends alike, written
with a compare-and-set and validated when read like every record (`lifecycle.AlertRecord`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sms_receipt_stats.documents import Alert
from sms_receipt_stats.grouping import group_key
from sms_receipt_stats.state.lifecycle import AlertRecord, resolve, utc_iso
from sms_receipt_stats.state.silences import Silence

COLLECTION = "alert_groups"
CAS_ATTEMPTS = 3
#: most members a group keeps (a group of every app of a large account stays well below)
MAX_MEMBERS = 1000


class Member(AlertRecord):
    """A notified member: its alert as last notified, and whether it has recovered since."""

    resolved: bool = False


class GroupRecord(BaseModel):
    """One group's members; read back like any input (`loads` answers None when it does not validate)."""

    model_config = ConfigDict(extra="ignore")

    key: str = Field(min_length=1, max_length=512)
    members: List[Member] = Field(default_factory=list, max_length=MAX_MEMBERS)

    @model_validator(mode="after")
    def _unique(self) -> GroupRecord:
        if len({m.fingerprint for m in self.members}) != len(self.members):
            raise ValueError("a member listed twice")
        return self

    def dumps(self) -> str:
        return self.model_dump_json()

    @classmethod
    def loads(cls, raw: Optional[str]) -> Optional[GroupRecord]:
        if raw is None:
            return None
        try:
            return cls.model_validate_json(raw)
        except (ValueError, TypeError, OverflowError):
            return None


def group_id(key: str) -> str:
    """The record's id: 16 hex digits of the key's SHA-256 (a key may hold any app id)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _member(alert: Alert, now: datetime) -> Member:
    """A member from an alert notified firing this run (its `since` is shown in the report zone)."""
    since = datetime.fromisoformat(alert.since) if alert.since else now
    value = alert.value if isinstance(alert.value, (int, float)) and not isinstance(alert.value, bool) else None
    return Member(fingerprint=alert.fingerprint or "", app_id=alert.app_id, rule=alert.rule, code=alert.code,
                  severity=alert.severity, message=alert.message, since=utc_iso(since),
                  last_notified=utc_iso(now), notified_severity=alert.severity,
                  value=value, threshold=alert.threshold, volume=alert.volume, hours=alert.hours)


def settle_groups(store: Any, alerts: List[Alert], labels: Sequence[str], now: datetime,
                  silences: Sequence[Silence], tz: str, lang: str, ttl: float) -> Optional[List[Alert]]:
    """`alerts` (a run's tracked alerts: firing, held, resolved) with their groups settled: the
    notified ones labelled with their group, a resolved member of a group that still fires made
    quiet, the resolved notices of a group whose last member recovered added. None when the
    store failed on the way."""
    if not any(a.fingerprint and a.status in ("firing", "resolved") for a in alerts):
        return list(alerts)  # no group can open, grow or close: a quiet run reads nothing (a stale
        # group, whose members vanished unresolved, expires with its TTL)
    raw_groups = store.items(COLLECTION)
    if raw_groups is None:
        return None
    out = list(alerts)
    groups: Dict[str, Tuple[str, GroupRecord]] = {}
    for gid, stored in raw_groups.items():
        loaded = GroupRecord.loads(stored)
        if loaded is None or group_id(loaded.key) != gid:
            _reject(store, gid, stored)
            continue
        groups[gid] = (stored, loaded)

    open_fps = {a.fingerprint for a in out if a.fingerprint and a.status == "firing"}
    resolved_now: Dict[str, int] = {a.fingerprint: i for i, a in enumerate(out)
                                    if a.fingerprint and a.status == "resolved"}
    joins: Dict[str, Tuple[str, List[Member]]] = {}
    joined: Dict[str, str] = {}  # fingerprint -> the group it joined this run
    for index, alert in enumerate(out):
        if alert.fingerprint and alert.status == "firing" and alert.notified:
            key = group_key(alert, labels)
            out[index] = alert.model_copy(update={"group": key})
            gid = group_id(key)
            joins.setdefault(gid, (key, []))[1].append(_member(alert, now))
            joined[alert.fingerprint] = gid

    quiet: Set[str] = set()
    closing: List[Tuple[str, List[Member]]] = []
    for gid in sorted(set(groups) | set(joins)):  # a handful: every open group is rewritten (its TTL too)
        raw: Optional[str] = groups[gid][0] if gid in groups else None
        found: Optional[GroupRecord] = groups[gid][1] if gid in groups else None
        settled: Optional[Tuple[str, List[Member]]] = None
        for _ in range(CAS_ATTEMPTS):
            if found is None and gid not in joins:
                break  # another run closed it meanwhile: that run sent the resolved
            key = found.key if found is not None else joins[gid][0]
            members = _settle(found, joins.get(gid, (key, []))[1], gid, joined, open_fps, resolved_now)
            firing = any(not m.resolved for m in members)
            value = GroupRecord(key=key, members=members[-MAX_MEMBERS:]).dumps() if firing else None
            won = True if value is None and raw is None else store.replace(COLLECTION, gid, raw, value, ttl)
            if won is None:
                return None
            if won:
                settled = (key, members)
                break
            raw = store.get_item(COLLECTION, gid)
            found = GroupRecord.loads(raw)
            if raw is not None and (found is None or group_id(found.key) != gid):
                _reject(store, gid, raw, drop=False)  # replaced by the compare-and-set
                found = None
        if settled is None:  # another run keeps writing this group: it decides
            continue
        key, members = settled
        if any(not m.resolved for m in members):
            quiet.update(m.fingerprint for m in members if m.resolved and m.fingerprint in resolved_now)
        else:
            closing.append((key, [m for m in members if m.resolved]))

    for fp in quiet:
        index = resolved_now[fp]
        out[index] = out[index].model_copy(update={"notified": False})
    for key, members in closing:
        for member in members:
            if member.fingerprint in resolved_now:
                index = resolved_now[member.fingerprint]
                if out[index].notified:
                    out[index] = out[index].model_copy(update={"group": key})
            else:  # recovered earlier, quietly: named now, with the group's resolved
                notice = resolve(AlertRecord.model_validate(member.model_dump(exclude={"resolved"})),
                                 now, silences, tz, lang)
                out.append(notice.model_copy(update={"group": key if notice.notified else None}))
    return out


def _settle(found: Optional[GroupRecord], joining: List[Member], gid: str, joined: Dict[str, str],
            open_fps: Set[str], resolved_now: Dict[str, int]) -> List[Member]:
    """The group's members after this run: the joining ones firing, the recovered ones marked,
    the ones gone without a resolution (or moved to another group) left out."""
    members: Dict[str, Member] = {}
    for member in found.members if found is not None else []:
        fp = member.fingerprint
        if joined.get(fp, gid) != gid:
            continue  # notified in another group this run (its severity changed groups)
        if fp in resolved_now:
            members[fp] = member.model_copy(update={"resolved": True})
        elif member.resolved or fp in open_fps:
            members[fp] = member
        # else: its alert record is gone without a resolution: it leaves quietly
    for member in joining:
        members[member.fingerprint] = member
    return list(members.values())


def _reject(store: Any, gid: str, raw: str, drop: bool = True) -> None:
    reject = getattr(store, "reject", None)
    if reject is not None:
        reject("alert group", gid, collection=COLLECTION, raw=raw, drop=drop)

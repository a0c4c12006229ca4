"""The scorecard of a replay: how the alert notices it sent compare with the known incidents.

Definitions (every time is the run's simulated time; `grace` = GRACE_HOURS after an incident's end,
for data that lag and for the daily report about yesterday):

- A **notice** is what a run sent at once: one alert, or the alerts of one group (the same
  `group` key and status, docs/alerts.md *Grouping*), which count as ONE notice naming several apps.
- An incident is **relevant** to a notice when it affects one of the notice's apps (an account-wide
  incident affects every app; a notice without `app_id`, e.g. an account-wide notice or a
  configuration alert, is matched against every incident) and its span [onset, end + grace)
  overlaps what the run looked at, [window begin, run time].
- **false_firing**: firing notices with no relevant incident, in total and per app the notice names
  (`*` for no app); `firing_by_app` / `resolved_by_app` count all notices per app they name.
- **detected**: an incident with at least one firing notice relevant to it, of a rule about what
  it broke (the rule families below), sent before its end + grace; counted among the
  `detectable` ones (the scenario's flag, from the true data). A noisy receipt alert during a
  success-rate outage does not detect it.
- **delay**: first such notice's run time minus the onset, in hours; the median over detected
  incidents, and over the outage kinds (`scenario.OUTAGE_KINDS`).
- **flaps**: a resolved notice followed by a firing notice of the same fingerprint (a grouped
  notice: of one of its fingerprints), both inside the same incident's [onset, end + grace) (its
  lead excluded: the alerts an earlier incident left resolving there are not this one's flaps).
- **false_resolved**: resolved notices sent while an incident of that app is still going on
  (onset <= run time < end) whose rule family matches the incident's kind.
- **rule families** (`rule_matches`), by words in the rule's name, so renamed rules still count:
  `success`/`delivery` for rate incidents, `receipt` for a receipt outage, `api_error`/`account`/
  `error` for API errors, `volume`/`sending`/`traffic` for stopped sending.
- **resolved_per_incident**: per incident, the notified fingerprints (the firing notices that detect it)
  and the resolved notices of those fingerprints up to RESOLVE_HORIZON_HOURS after its end (or
  until the same alert fires again after the incident: that later alert is another story);
  `extra_resolved` / `missing_resolved` add up where it is not exactly one per fingerprint.
- **messages**: check runs that sent at least one notice (one chat message per sink each);
  `reports` is the number of report runs, `report_notices` the notices they carried.
- **max_notices_account_wide**: the most notices one run sent during an account-wide incident.
- **package leads** (`package_empty`, whose span starts `lead_hours` before the balance reaches
  zero): per incident, the days from its first firing notice (`warning_lead_days`) and its first
  critical one (`critical_lead_days`) to the onset; `package_warning_lead_days` /
  `package_critical_lead_days` are the shortest over the incidents (None: one was never warned
  about). These incidents stay out of the median delays (notices are due before their onset).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from sms_receipt_stats.dev.backtest.replay import Notice, RunRecord
from sms_receipt_stats.dev.backtest.scenario import HOUR, OUTAGE_KINDS, Incident

GRACE_HOURS = 3
DAY = 24 * HOUR
RESOLVE_HORIZON_HOURS = 30

_FAMILY = {"receipt_outage": ("receipt",), "receipt_delay": ("receipt",),
           "sending_stopped": ("volume", "sending", "traffic"),
           "api_error": ("api_error", "account", "error"), "account_error": ("api_error", "account", "error"),
           "package_empty": ("package",)}
_RATE_FAMILY = ("success", "delivery")


def rule_matches(incident: Incident, rule: str) -> bool:
    """Whether `rule` is about what `incident` broke (see the module docstring)."""
    words = _FAMILY.get(incident.kind, _RATE_FAMILY)
    return any(word in rule for word in words)


@dataclass
class IncidentScore:
    id: str
    kind: str
    detectable: bool
    detected: bool = False
    delay_hours: Optional[float] = None
    fingerprints: int = 0
    resolved: int = 0
    flaps: int = 0
    false_resolved: int = 0
    warning_lead_days: Optional[float] = None
    critical_lead_days: Optional[float] = None


@dataclass
class Scorecard:
    policy: str
    notices: int = 0
    firing: int = 0
    resolved: int = 0
    messages: int = 0
    reports: int = 0
    report_notices: int = 0
    false_firing: int = 0
    false_firing_by_app: Dict[str, int] = field(default_factory=dict)
    firing_by_app: Dict[str, int] = field(default_factory=dict)
    resolved_by_app: Dict[str, int] = field(default_factory=dict)
    detectable: int = 0
    detected: int = 0
    detected_undetectable: int = 0
    median_delay_hours: Optional[float] = None
    median_outage_delay_hours: Optional[float] = None
    flaps: int = 0
    false_resolved: int = 0
    extra_resolved: int = 0
    missing_resolved: int = 0
    max_notices_account_wide: Optional[int] = None
    package_warning_lead_days: Optional[float] = None
    package_critical_lead_days: Optional[float] = None
    incidents: List[IncidentScore] = field(default_factory=list)

    def to_dict(self) -> Dict[str, object]:
        from dataclasses import asdict

        return asdict(self)


def _span(incident: Incident, grace: int) -> Tuple[int, int]:
    return incident.onset - int(incident.lead_hours * HOUR), incident.end + grace


def relevant(incident: Incident, notice: Notice, looked_from: int, grace: int) -> bool:
    """Whether `incident` explains a notice of a run that looked at [looked_from, notice.at]."""
    if not any(incident.affects(app) for app in notice.targets):
        return False
    begin, end = _span(incident, grace)
    return begin <= notice.at and looked_from < end


def _affected_keys(incident: Incident, notice: Notice) -> List[str]:
    """The identities of a notice's alerts that concern `incident`'s apps (all of them for an
    account-wide incident or a notice without apps)."""
    if len(notice.keys) == len(notice.apps) and notice.apps:
        return [key for key, app in zip(notice.keys, notice.apps) if incident.affects(app)]
    return list(notice.keys)


def score(policy: str, notices: Sequence[Notice], runs: Sequence[RunRecord], incidents: Sequence[Incident],
          detectable: Dict[str, bool], *, grace_hours: float = GRACE_HOURS) -> Scorecard:
    """The scorecard (module docstring) of one replay's notices and runs against the incidents."""
    grace = int(grace_hours * HOUR)
    card = Scorecard(policy=policy)
    looked: Dict[Tuple[int, str], int] = {(r.at, r.job): r.window_begin for r in runs}
    ordered = sorted(notices, key=lambda n: n.at)
    card.notices = len(ordered)
    card.firing = sum(1 for n in ordered if n.status == "firing")
    card.resolved = card.notices - card.firing
    card.messages = sum(1 for r in runs if r.job != "report" and r.notices > 0)
    card.reports = sum(1 for r in runs if r.job == "report")
    card.report_notices = sum(r.notices for r in runs if r.job == "report")

    for notice in ordered:
        names = [app or "*" for app in notice.targets]
        counts = card.firing_by_app if notice.status == "firing" else card.resolved_by_app
        for key in names:
            counts[key] = counts.get(key, 0) + 1
        if notice.status != "firing":
            continue
        since = looked.get((notice.at, notice.job), notice.at - HOUR)
        if not any(relevant(i, notice, since, grace) for i in incidents):
            card.false_firing += 1
            for key in names:
                card.false_firing_by_app[key] = card.false_firing_by_app.get(key, 0) + 1

    delays: List[float] = []
    outage_delays: List[float] = []
    leads: Dict[str, List[Optional[float]]] = {"warning": [], "critical": []}
    for incident in incidents:
        mine = IncidentScore(id=incident.id, kind=incident.kind, detectable=bool(detectable.get(incident.id)))
        _, end = _span(incident, grace)
        firing = [n for n in ordered if n.status == "firing" and n.at < end and rule_matches(incident, n.rule)
                  and relevant(incident, n, looked.get((n.at, n.job), n.at - HOUR), grace)]
        if firing:
            mine.detected = True
            mine.delay_hours = round((firing[0].at - incident.onset) / HOUR, 2)
        if incident.kind == "package_empty":
            critical = [n for n in firing if n.severity == "critical"]
            mine.warning_lead_days = round((incident.onset - firing[0].at) / DAY, 2) if firing else None
            mine.critical_lead_days = round((incident.onset - critical[0].at) / DAY, 2) if critical else None
            leads["warning"].append(mine.warning_lead_days)
            leads["critical"].append(mine.critical_lead_days)
        elif firing and mine.delay_hours is not None:
            delays.append(mine.delay_hours)
            if incident.kind in OUTAGE_KINDS:
                outage_delays.append(mine.delay_hours)
        prints = {key for n in firing for key in _affected_keys(incident, n)}
        mine.fingerprints = len(prints)
        horizon = incident.end + RESOLVE_HORIZON_HOURS * HOUR
        for fp in prints:  # its resolved notices, until the same alert fires again after the incident
            for n in ordered:
                if fp not in n.keys or n.at < firing[0].at:
                    continue
                if n.at >= horizon or (n.status == "firing" and n.at >= end):
                    break
                mine.resolved += n.status == "resolved"
        last_resolved: Dict[str, bool] = {}
        for n in ordered:
            if not incident.onset <= n.at < end or not any(incident.affects(app) for app in n.targets):
                continue
            if n.status == "resolved":
                for fp in n.keys:
                    last_resolved[fp] = True
                if n.at < incident.end and rule_matches(incident, n.rule):
                    mine.false_resolved += 1
            elif any([last_resolved.pop(fp, False) for fp in n.keys]):
                mine.flaps += 1
        card.incidents.append(mine)
        card.flaps += mine.flaps
        card.false_resolved += mine.false_resolved
        card.extra_resolved += max(0, mine.resolved - mine.fingerprints)
        card.missing_resolved += max(0, mine.fingerprints - mine.resolved)
        if mine.detectable:
            card.detectable += 1
            card.detected += mine.detected
        else:
            card.detected_undetectable += mine.detected
        if incident.account_wide:
            during = [r.notices for r in runs if incident.onset <= r.at < end]
            most = max(during, default=0)
            card.max_notices_account_wide = max(card.max_notices_account_wide or 0, most)
    for kind, found in leads.items():
        if found:
            known = [lead for lead in found if lead is not None]
            setattr(card, f"package_{kind}_lead_days", min(known) if len(known) == len(found) else None)
    card.median_delay_hours = round(statistics.median(delays), 2) if delays else None
    card.median_outage_delay_hours = round(statistics.median(outage_delays), 2) if outage_delays else None
    return card

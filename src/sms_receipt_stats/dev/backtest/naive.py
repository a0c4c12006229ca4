"""A naive threshold policy on the same visible data, for comparison: what a plain Prometheus
rule with Alertmanager would send (the product's behaviour before its lifecycle rules).

At every hourly check of the schedule, per app, on `last_hour` as visible then:
`success_rate_below` when the success rate is below ALERT_SUCCESS_RATE_MIN with at least
ALERT_MIN_VOLUME receipts (critical below ALERT_SUCCESS_RATE_CRITICAL), `receipt_rate_below`
likewise for the receipt rate, `api_error` (per code) when the query fails. A condition fires
when the previous hourly evaluation found it too (`for: 1h`), is repeated every 4 h while it
fires (Alertmanager's repeat_interval), and resolves (one notice) when it has been found clear
at two evaluations an hour apart (`keep_firing_for: 1h`). No daily report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from sms_receipt_stats.config import Thresholds
from sms_receipt_stats.dev.backtest.replay import (
    DEFAULT_SCHEDULE,
    Notice,
    ReplayResult,
    RunRecord,
    Scheduled,
    SimClock,
    replay_env,
    run_times,
)
from sms_receipt_stats.dev.backtest.scenario import HOUR, ScenarioSource, Truth
from sms_receipt_stats.sdk import CloudError

FOR = HOUR
KEEP_FIRING_FOR = HOUR
REPEAT = 4 * HOUR

Key = Tuple[str, str, Optional[str]]


@dataclass
class _Alert:
    active_since: int
    firing: bool = False
    last_notified: Optional[int] = None
    clear_since: Optional[int] = None
    severity: str = "warning"


def conditions(source: ScenarioSource, app_id: str, begin_time: str, end_time: str, thresholds: Thresholds
               ) -> Dict[Key, str]:
    """The conditions true for one app's window: {(app, rule, code): severity}."""
    try:
        stats, _ = source.fetch(app_id, begin_time, end_time)
    except CloudError as err:
        return {(app_id, "api_error", err.code): "critical"}
    found: Dict[Key, str] = {}
    min_volume = thresholds.min_volume
    if stats.CallbackCount >= min_volume and stats.CallbackCount > 0:
        rate = stats.CallbackSuccessCount / stats.CallbackCount
        if rate < thresholds.success_rate_min:
            critical = rate < thresholds.success_rate_critical
            found[(app_id, "success_rate_below", None)] = "critical" if critical else "warning"
    submitted = stats.RequestSuccessCount
    if submitted >= min_volume and submitted > 0 and stats.CallbackCount / submitted < thresholds.receipt_rate_min:
        found[(app_id, "receipt_rate_below", None)] = "warning"
    return found


def naive_replay(truth: Truth, user_env: Mapping[str, str], *, begin: Optional[int] = None,
                 end: Optional[int] = None, schedule: Sequence[Scheduled] = DEFAULT_SCHEDULE) -> ReplayResult:
    """The naive policy over the hourly checks of `schedule` in [begin, end)."""
    from sms_receipt_stats.config import load_settings
    from sms_receipt_stats.windows import named_window

    begin = truth.start if begin is None else begin
    end = truth.start + truth.hours * HOUR if end is None else end
    settings, issues = load_settings(replay_env(truth, user_env))
    thresholds = settings.thresholds
    result = ReplayResult(policy="naive", begin=begin, end=end, config_issues=[str(i) for i in issues])
    clock = SimClock()
    source = ScenarioSource(truth, clock.now)
    alerts: Dict[Key, _Alert] = {}
    started = time.perf_counter()
    for moment, entry in run_times(begin, end, schedule):
        if entry.job != "check":
            continue
        clock.set(float(moment))
        window = named_window(entry.window, clock.now(), settings.timezone)
        counted = window.counted()
        found: Dict[Key, str] = {}
        for app in settings.apps:
            found.update(conditions(source, app.app_id, counted.begin_time, counted.end_time, thresholds))
        run = RunRecord(at=moment, job=entry.job, window_begin=int(window.begin.timestamp()),
                        window_end=int(window.end.timestamp()))
        sent: List[Notice] = []
        for key, severity in found.items():
            alert = alerts.get(key)
            if alert is None:
                alerts[key] = _Alert(active_since=moment, severity=severity)
                continue
            alert.clear_since, alert.severity = None, severity
            due = (not alert.firing and moment - alert.active_since >= FOR) or (
                alert.firing and alert.last_notified is not None and moment - alert.last_notified >= REPEAT)
            if due:
                alert.firing, alert.last_notified = True, moment
                sent.append(Notice(at=moment, job=entry.job, app_id=key[0], rule=key[1], code=key[2],
                                   severity=severity, status="firing", fingerprint="|".join(map(str, key))))
        for key in [k for k in alerts if k not in found]:
            alert = alerts[key]
            if not alert.firing:
                del alerts[key]  # pending only: it never fired
            elif alert.clear_since is None:
                alert.clear_since = moment
            elif moment - alert.clear_since >= KEEP_FIRING_FOR:
                del alerts[key]
                sent.append(Notice(at=moment, job=entry.job, app_id=key[0], rule=key[1], code=key[2],
                                   severity=alert.severity, status="resolved", fingerprint="|".join(map(str, key))))
        run.notices = len(sent)
        run.firing = sum(1 for n in sent if n.status == "firing")
        result.notices.extend(sent)
        result.runs.append(run)
    result.seconds = time.perf_counter() - started
    result.api_calls = source.calls
    return result

"""The minute rule's backtest: receipts pushed minute by minute through the real callback.

The hourly backtest (`replay.py`) asks the statistics API; the minute rule
(`rules/delivery_failures.py`) never does: it reads what Tencent pushes. So this drives the
product's receipts route (`http/receipts.receive`: token, intake of a JSON body, `count_once`,
then the judgment, the lifecycle and delivery) with a simulated push per app and minute, on a
simulated clock and one real SQLite store for the whole run, and records every notice the
sinks would get. It scores them with `score.py` against the same scenario's incidents.

What is simulated, per app and minute, from the scenario's apps and incidents (`scenario.py`;
the draws are this module's own, so the hourly and the minute backtests see the same apps and
incidents but not the same messages):

- messages: Poisson around the app's hourly profile / 60 (nights and weekends low, a daily wobble);
- receipts and successes: binomial at the day's rates, or the incident's for the minutes it
  covers (`outage`, `degradation`, `gradual`, `intermittent`, `blip`, `drop`, `receipt_outage`);
  `sending_stopped` sends nothing; API errors touch no receipt;
- when each receipt arrives: its latency drawn from `LATENCY` (75 % within a minute, 87 % in 5,
  95 % in an hour, 99 % in 3 h, all in 2 days: the visibility curve of `scenario.VISIBILITY`
  read per message), the late-failure app's failures from `LATE_FAILURE_LATENCY`, a
  `receipt_delay` adding its hours; `user_receive_time` is the send minute, so the intake sees
  each receipt's own lateness;
- Tencent's retries: `REPUSH_SHARE` of the batches is pushed again the next minute (counted once).

One batch per app and arrival minute (split at the intake's 1,000 records), pushed at second 30.
The judgment is throttled by the store's own claim with the simulated clock (SQLite), exactly as
in production.
"""

from __future__ import annotations

import bisect
import json
import random
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from sms_receipt_stats.dev.backtest.replay import KeptOpen, Notice, RunRecord, SimClock, _sqlite_store
from sms_receipt_stats.dev.backtest.scenario import (
    BEIJING_OFFSET,
    HOUR,
    AppSpec,
    Incident,
    Scenario,
    binomial,
    expected_volume,
    poisson,
)
from sms_receipt_stats.documents import Delivery, ResultDocument
from sms_receipt_stats.state.store import CountGroup, GuardedStore

#: (latency in minutes, share of receipts arrived by then): `scenario.VISIBILITY` read per message
LATENCY: Tuple[Tuple[float, float], ...] = ((0.0, 0.0), (1.0, 0.75), (5.0, 0.87), (60.0, 0.95), (180.0, 0.99),
                                            (1440.0, 0.998), (2880.0, 1.0))
#: the failures of an app whose carriers report failures late (`scenario.LATE_FAILURE_VISIBILITY`)
LATE_FAILURE_LATENCY: Tuple[Tuple[float, float], ...] = ((0.0, 0.0), (1.0, 0.30), (5.0, 0.45), (60.0, 0.70),
                                                         (180.0, 0.88), (1440.0, 0.98), (4320.0, 1.0))
#: the share of batches Tencent pushes again (its answer lost, say)
REPUSH_SHARE = 0.01
#: failure codes and their weights
FAIL_CODES = (("MK:0005", 5), ("UNDELIV", 3), ("MI:0013", 1), ("DB:0141", 1))
SUCCESS_CODE = "DELIVRD"
#: the secret of the simulated callback URLs
SECRET = "backtest-receipts-secret-0001"
MINUTE = 60
_RATE_KINDS = ("outage", "degradation", "gradual", "intermittent", "blip", "drop")


class CountingKeptOpen(KeptOpen):
    """The replay's store kept open across invocations, with the receipts' two operations."""

    def count_once(self, seen: str, window: float, groups: Sequence[CountGroup]) -> int:
        return self.inner.count_once(seen, window, groups)

    def read_counters(self, keys: List[str]) -> List[Dict[str, int]]:
        return self.inner.read_counters(keys)


def latency_minutes(rng: random.Random, curve: Sequence[Tuple[float, float]]) -> float:
    """A receipt's latency drawn from a piecewise-linear CDF."""
    u = rng.random()
    shares = [share for _, share in curve]
    i = max(1, bisect.bisect_left(shares, u))
    (x0, y0), (x1, y1) = curve[i - 1], curve[i]
    return x0 + (x1 - x0) * ((u - y0) / (y1 - y0) if y1 > y0 else 0.0)


def _rates(app_incidents: Sequence[Incident], minute: int, success: float, receipt: float
           ) -> Tuple[float, float, float, bool]:
    """(success rate, receipt rate, extra latency in minutes, sending) of one app's minute."""
    delay, sending = 0.0, True
    moment = minute * MINUTE
    for incident in app_incidents:
        if not incident.onset <= moment < incident.end:
            continue
        if incident.kind == "sending_stopped":
            sending = False
        elif incident.kind == "receipt_delay":
            delay = incident.delay_hours * 60
        elif incident.kind == "receipt_outage":
            receipt = incident.rate
        elif incident.kind in _RATE_KINDS:
            if incident.kind == "gradual":
                progress = (moment - incident.onset) / max(1, incident.end - incident.onset)
                success = success + (incident.rate - success) * progress
            elif incident.kind == "intermittent":
                success = incident.rate if ((moment - incident.onset) // HOUR) % 2 == 0 else success
            else:
                success = incident.rate
    return success, receipt, delay, sending


@dataclass
class MinutesResult:
    policy: str
    begin: int
    end: int
    notices: List[Notice] = field(default_factory=list)
    runs: List[RunRecord] = field(default_factory=list)
    seconds: float = 0.0
    receipts: int = 0
    batches: int = 0
    answers_not_ok: int = 0


#: incident kinds the receipts can show (a rate the receipts say), for `incident_spans`
VISIBLE_KINDS = _RATE_KINDS
#: receipts seeded per app and hour of the day before a span (its baseline), at most
SEED_RECEIPTS = 200


def incident_spans(scenario: Scenario, *, before: int = HOUR, after: int = 3 * HOUR,
                   kinds: Sequence[str] = VISIBLE_KINDS) -> List[Tuple[int, int]]:
    """[onset - before, end + after) of each incident of `kinds`, merged where they overlap: the
    minutes worth simulating when a whole quarter minute by minute is too slow."""
    spans = sorted((max(scenario.start, i.onset - before), min(scenario.end, i.end + after))
                   for i in scenario.incidents if i.kind in kinds)
    merged: List[Tuple[int, int]] = []
    for begin, end in spans:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return [(b - b % MINUTE, e - e % MINUTE) for b, e in merged]


def _beijing_text(epoch: int) -> str:
    return datetime.fromtimestamp(epoch + BEIJING_OFFSET, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def simulate(scenario: Scenario, user_env: Optional[Mapping[str, str]] = None, *, days: Optional[float] = None,
             spans: Optional[Sequence[Tuple[int, int]]] = None, seed: Optional[int] = None,
             store_dir: Optional[str] = None) -> MinutesResult:
    """Push the scenario's receipts minute by minute through the callback for its first `days`
    days (all by default), or only over `spans` (`incident_spans`), and collect the minute rule's
    notices (module docstring). Before each span the app's hourly counters of the day before are
    seeded (at most SEED_RECEIPTS receipts an hour at the day's rates: its baseline), as a
    whole day of pushes would have left them."""
    from sms_receipt_stats.config import load_settings
    from sms_receipt_stats.events import ApiGatewayEvent
    from sms_receipt_stats.http.receipts import receive
    from sms_receipt_stats.http.router import Request
    from sms_receipt_stats.jobs import JobDeps
    from sms_receipt_stats.receipts.credential import receipts_token

    apps: List[AppSpec] = scenario.truth.apps
    begin = scenario.start
    end = begin + int((scenario.days if days is None else min(days, scenario.days)) * 86400)
    env = {k: v for k, v in (user_env or {}).items() if k.startswith(("ALERT_", "REPORT_LANG"))}
    env.update({"SMS_SDK_APP_IDS": ",".join(f"{a.app_id}={a.name}" for a in apps), "RECEIPTS_SECRET": SECRET,
                "NOTIFY_URLS": "webhook+https://backtest.invalid/hook"})
    settings, issues = load_settings(env)
    if issues:
        raise ValueError("; ".join(str(i) for i in issues))
    rng = random.Random((scenario.seed if seed is None else seed) * 1_000_003 + 17)
    chosen = [(max(begin, b), min(end, e)) for b, e in (spans or [(begin, end)]) if b < end and e > begin]
    result = MinutesResult(policy="minute rule", begin=begin, end=end)
    clock = SimClock()
    judged_at: Dict[int, List[Notice]] = {}

    def deliver(doc: ResultDocument, _settings: object, _deadline: Optional[float]) -> List[Delivery]:
        at = int(clock.time())
        for alert in doc.alerts:
            if alert.notified is False:
                continue
            judged_at.setdefault(at, []).append(Notice(
                at=at, job="receipts", app_id=alert.app_id, rule=alert.rule, code=alert.code,
                severity=alert.severity, status=alert.status or "firing", fingerprint=alert.fingerprint,
                since=alert.since))
        return [Delivery(sink="webhook", ok=True, attempts=1, error=None)]

    tokens = {a.app_id: receipts_token(SECRET, a.app_id) for a in apps}
    incidents = {a.app_id: [i for i in scenario.incidents if i.affects(a.app_id)] for a in apps}
    late = {a.app_id for a in apps if a.late_failures}
    codes: List[str] = [code for code, _ in FAIL_CODES]
    weights: List[float] = [float(weight) for _, weight in FAIL_CODES]
    #: arrival minute -> app -> [(send minute, status, code)]
    arrivals: Dict[int, Dict[str, List[Tuple[int, str, str]]]] = defaultdict(lambda: defaultdict(list))
    repush: Dict[int, List[Tuple[str, str]]] = defaultdict(list)
    day_rates: Dict[str, Tuple[float, float, float]] = {}
    serial = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sms-minutes-", dir=store_dir) as tmp:
        kept = CountingKeptOpen(_sqlite_store(tmp, clock))
        deps = JobDeps(now=clock.now, monotonic=clock.monotonic, sleep=clock.sleep, deliver=deliver,
                       server_time=lambda _s: None, open_state=lambda _s: GuardedStore(store=kept))

        def push(app_id: str, body: str) -> None:
            event = ApiGatewayEvent(httpMethod="POST", path=f"/receipts/{app_id}",
                                    queryString={"token": tokens[app_id]}, body=body)
            request = Request(event=event, settings=settings, deadline=None, request_id="backtest",
                              path_params={"app_id": app_id}, deps_factory=lambda: deps)
            answer = receive(request)
            result.batches += 1
            if answer.get("statusCode") != 200:
                result.answers_not_ok += 1

        def seed_day(span_begin: int) -> None:
            """The hourly counters of the day before `span_begin`, as its pushes would have left them."""
            from sms_receipt_stats.receipts.intake import Receipt, sid_key
            from sms_receipt_stats.state.receipts import count_batch

            nonlocal serial
            state = GuardedStore(store=kept)
            first = span_begin - span_begin % HOUR - 24 * HOUR
            for app in apps:
                wobble, success, receipt = day_rates[app.app_id]
                items = []
                for hour in range(first, span_begin - span_begin % HOUR, HOUR):
                    n = min(SEED_RECEIPTS, binomial(rng, poisson(rng, expected_volume(app, hour, wobble)), receipt))
                    ok = binomial(rng, n, success)
                    for k in range(n):
                        serial += 1
                        items.append(Receipt(hour=hour // HOUR, status="SUCCESS" if k < ok else "FAIL",
                                             code=SUCCESS_CODE if k < ok else codes[0], nationcode="86",
                                             sid_key=sid_key(f"bt{serial}"), latency="1h"))
                count_batch(state, app.app_id, items, clock.time())

        try:
            for span_begin, span_end in chosen:
                arrivals.clear()
                repush.clear()
                clock.set(float(span_begin))
                day_rates.clear()
                for minute in range(span_begin // MINUTE, span_end // MINUTE):
                    moment = minute * MINUTE
                    if moment % 86400 == (-BEIJING_OFFSET) % 86400 or not day_rates:  # a Beijing day: wobble
                        for app in apps:
                            day_rates[app.app_id] = (
                                rng.uniform(0.85, 1.15),
                                min(0.999, max(0.0, app.success_rate + rng.uniform(-app.success_wobble,
                                                                                    app.success_wobble))),
                                min(0.999, max(0.0, app.receipt_rate + rng.uniform(-app.receipt_wobble,
                                                                                    app.receipt_wobble))))
                    if minute == span_begin // MINUTE and spans is not None:
                        seed_day(span_begin)
                    hour = moment - moment % HOUR
                    for app in apps:
                        wobble, success, receipt = day_rates[app.app_id]
                        success, receipt, delay, sending = _rates(incidents[app.app_id], minute, success, receipt)
                        if not sending:
                            continue
                        sent = poisson(rng, expected_volume(app, hour, wobble) / 60.0)
                        received = binomial(rng, sent, receipt)
                        ok = binomial(rng, received, success)
                        for k in range(received):
                            good = k < ok
                            curve = LATE_FAILURE_LATENCY if (not good and app.app_id in late) else LATENCY
                            arrive = minute + int(delay + latency_minutes(rng, curve))
                            code = SUCCESS_CODE if good else rng.choices(codes, weights)[0]
                            arrivals[arrive][app.app_id].append((minute, "SUCCESS" if good else "FAIL", code))
                    clock.set(float(moment + 30))
                    for app_id, body in repush.pop(minute, []):
                        push(app_id, body)
                    due = arrivals.pop(minute, {})
                    for app_id in sorted(due):
                        items = due[app_id]
                        for start in range(0, len(items), 1000):
                            records = []
                            for sent_minute, status, code in items[start:start + 1000]:
                                serial += 1
                                records.append({"user_receive_time": _beijing_text(sent_minute * MINUTE + 7),
                                                "nationcode": "86", "mobile": "13800000000", "report_status": status,
                                                "errmsg": code, "description": "", "sid": f"bt{serial}"})
                            body = json.dumps(records)
                            result.receipts += len(records)
                            push(app_id, body)
                            if rng.random() < REPUSH_SHARE:
                                repush[minute + 1].append((app_id, body))
                    for at, notices in sorted(judged_at.items()):
                        result.notices.extend(notices)
                        result.runs.append(RunRecord(at=at, job="receipts", window_begin=at - HOUR, window_end=at,
                                                     notices=len(notices),
                                                     firing=sum(n.status == "firing" for n in notices)))
                    judged_at.clear()
        finally:
            kept.really_close()
    result.seconds = time.perf_counter() - started
    return result

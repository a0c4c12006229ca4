"""Drive the product's real timer jobs over simulated time and record every alert notice they send.

For each scheduled run (by default the shipped schedule of `serverless.yml`: the hourly `check` of
`last_hour` at minute 5 and the daily `report` of `yesterday` at 03:00, Beijing time) the driver
calls `jobs.run_timer_job` the way `app.handle_timer` does, with `JobDeps` whose fetcher answers
from the data as visible at the simulated time, fake clocks (sleeping advances them; nothing
really sleeps), a recording `deliver`, and one persistent state store for the whole replay
(SQLite in a temporary directory, its clock the simulated one, so TTLs expire in simulated time).
Nothing here knows the alert rules: it measures whatever the product does.
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from sms_receipt_stats.dev.backtest.fast import memo_codec
from sms_receipt_stats.dev.backtest.scenario import HOUR, ScenarioSource, Truth, beijing
from sms_receipt_stats.documents import Alert, Delivery, ResultDocument
from sms_receipt_stats.state.store import GuardedStore, Store
from sms_receipt_stats.vocabulary import SEVERITY_RANK
from sms_receipt_stats.windows import Window

#: environment variables a replay takes from the user's (thresholds, repeat, settling, language)
KEPT_PREFIXES = ("ALERT_", "SETTLE_HOURS", "REPORT_LANG")

#: told after each simulated day: (days done, days in all, firing notices so far)
ProgressHook = Callable[[int, int, int], None]


DAY = 24 * HOUR


@dataclass(frozen=True)
class Scheduled:
    """One timer trigger: its job and window, at `minute` past every hour (or only at `hour`), Beijing time."""

    name: str
    job: str
    window: str
    minute: int
    hour: Optional[int] = None


#: the shipped schedule (serverless.yml)
DEFAULT_SCHEDULE = (
    Scheduled("daily-report", "report", "yesterday", minute=0, hour=3),
    Scheduled("hourly-check", "check", "last_hour", minute=5),
)


@dataclass(frozen=True)
class Notice:
    """One alert notice a run sent (an alert with `notified` True, or None: stateless, always sent).

    The alerts of one group (their `group` key and status: docs/alerts.md, *Grouping*) are one
    notice: `apps` and `fingerprints` list them all, `app_id` is theirs when there is one app."""

    at: int
    job: str
    app_id: Optional[str]
    rule: str
    code: Optional[str]
    severity: str
    status: str
    fingerprint: Optional[str] = None
    since: Optional[str] = None
    group: Optional[str] = None
    apps: Tuple[Optional[str], ...] = ()
    fingerprints: Tuple[str, ...] = ()

    @property
    def targets(self) -> Tuple[Optional[str], ...]:
        """The apps the notice names (None: no app, an account-wide or configuration alert)."""
        return self.apps or (self.app_id,)

    @property
    def keys(self) -> Tuple[str, ...]:
        """The alerts' identities: their fingerprints, or (app, rule, code) without a store."""
        return self.fingerprints or (self.fingerprint or f"{self.app_id}|{self.rule}|{self.code}",)


@dataclass
class RunRecord:
    """One scheduled run: when, which job, the window it covered (UTC epochs) and what it sent."""

    at: int
    job: str
    window_begin: int
    window_end: int
    notices: int = 0
    firing: int = 0
    errors: List[str] = field(default_factory=list)


@dataclass
class ReplayResult:
    policy: str
    begin: int
    end: int
    notices: List[Notice] = field(default_factory=list)
    runs: List[RunRecord] = field(default_factory=list)
    seconds: float = 0.0
    api_calls: int = 0
    config_issues: List[str] = field(default_factory=list)


def run_times(begin: int, end: int, schedule: Sequence[Scheduled] = DEFAULT_SCHEDULE) -> List[tuple]:
    """(epoch, Scheduled) of every run in [begin, end), in time order."""
    out = []
    first = begin - begin % HOUR
    for hour in range(first, end, HOUR):
        local_hour = beijing(hour).hour
        for entry in schedule:
            moment = hour + entry.minute * 60
            if (entry.hour is None or entry.hour == local_hour) and begin <= moment < end:
                out.append((moment, entry))
    out.sort(key=lambda item: item[0])
    return out


class SimClock:
    """The simulated wall clock and monotonic clock; `sleep` advances both, at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.epoch = 0.0
        self.mono = 1000.0

    def set(self, epoch: float) -> None:
        with self._lock:
            self.epoch = epoch

    def time(self) -> float:
        return self.epoch

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.epoch, timezone.utc)

    def monotonic(self) -> float:
        return self.mono

    def sleep(self, seconds: float) -> None:
        with self._lock:
            step = max(0.0, seconds)
            self.mono += step
            self.epoch += step


class KeptOpen(Store):
    """A store that outlives each run: the job's `close()` is ignored; `really_close` ends it."""

    def __init__(self, inner: Store):
        self.inner = inner

    def get(self, key: str) -> Optional[str]:
        return self.inner.get(key)

    def get_many(self, keys: List[str]) -> List[Optional[str]]:
        return self.inner.get_many(keys)

    def set(self, key: str, value: str, ttl: float) -> None:
        self.inner.set(key, value, ttl)

    def claim(self, key: str, value: str, ttl: float) -> bool:
        return self.inner.claim(key, value, ttl)

    def swap(self, key: str, expected: str, value: str, ttl: float) -> bool:
        return self.inner.swap(key, expected, value, ttl)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def items(self, collection: str) -> Dict[str, str]:
        return self.inner.items(collection)

    def get_item(self, collection: str, item_id: str) -> Optional[str]:
        return self.inner.get_item(collection, item_id)

    def replace(self, collection: str, item_id: str, expected: Optional[str], value: Optional[str],
                ttl: float) -> bool:
        return self.inner.replace(collection, item_id, expected, value, ttl)

    def ping(self) -> None:
        self.inner.ping()

    def close(self) -> None:
        """A run ends; the replay's store stays open."""

    def really_close(self) -> None:
        self.inner.close()


def replay_env(truth: Truth, user_env: Mapping[str, str]) -> Dict[str, str]:
    """The settings of a replay: the truth's apps, and the user's thresholds and repeat interval."""
    env = {k: v for k, v in user_env.items() if k.startswith(KEPT_PREFIXES)}
    env["SMS_SDK_APP_IDS"] = ",".join(f"{a.app_id}={a.name}" if a.name else a.app_id for a in truth.apps)
    return env


def _sqlite_store(directory: str, clock: SimClock) -> Store:
    from sms_receipt_stats.state.sqlite_store import SqliteStore

    store = SqliteStore(f"sqlite:///{directory}/backtest.db", "bt:", clock=clock.time)
    # a throwaway file: durability buys nothing here, and fsyncs would dominate the replay
    store._db.execute("PRAGMA synchronous=OFF")
    return store


def replay(truth: Truth, user_env: Mapping[str, str], *, begin: Optional[int] = None, end: Optional[int] = None,
           schedule: Sequence[Scheduled] = DEFAULT_SCHEDULE, stateful: bool = True,
           store_dir: Optional[str] = None, progress: Optional[ProgressHook] = None) -> ReplayResult:
    """Run every scheduled timer job of [begin, end) (default: the truth's whole period) through
    `jobs.run_timer_job` and collect the notices. `stateful=False` replays without a store;
    `progress` hears after each simulated day."""
    from sms_receipt_stats.config import load_settings
    from sms_receipt_stats.jobs import JobDeps, run_timer_job
    from sms_receipt_stats.windows import resolve_window

    begin = truth.start if begin is None else begin
    end = truth.start + truth.hours * HOUR if end is None else end
    settings, issues = load_settings(replay_env(truth, user_env))
    issue_texts = [str(i) for i in issues]
    result = ReplayResult(policy="product" if stateful else "product (stateless)", begin=begin, end=end,
                          config_issues=issue_texts)
    clock = SimClock()
    source = ScenarioSource(truth, clock.now)
    delivered: List[ResultDocument] = []

    def deliver(doc: ResultDocument, _settings: object, _deadline: Optional[float]) -> List[Delivery]:
        delivered.append(doc)
        return []

    started = time.perf_counter()
    with memo_codec(), tempfile.TemporaryDirectory(prefix="sms-backtest-", dir=store_dir) as tmp:
        kept = KeptOpen(_sqlite_store(tmp, clock)) if stateful else None
        deps = JobDeps(fetcher_factory=lambda _s: source, now=clock.now, monotonic=clock.monotonic,
                       sleep=clock.sleep, deliver=deliver, server_time=lambda _s: None,
                       open_state=lambda _s: GuardedStore(store=kept) if kept is not None else None)
        days = max(1, -(-(end - begin) // DAY))
        done = 0
        firing = 0
        try:
            for moment, entry in run_times(begin, end, schedule):
                if progress is not None and (moment - begin) // DAY > done:
                    done = (moment - begin) // DAY
                    progress(done, days, firing)
                clock.set(float(moment))
                window = resolve_window(entry.window, clock.now(), settings.timezone, "total")
                doc = run_timer_job(job=entry.job, settings=settings, issues=list(issue_texts),
                                    apps=list(settings.apps), window=window, granularity="total", deps=deps,
                                    query_deadline=None, deadline=None, trigger_name=entry.name)
                result.runs.append(_record(doc, moment, entry.job, window, result.notices))
                firing += result.runs[-1].firing
            if progress is not None:
                progress(days, days, firing)
        finally:
            if kept is not None:
                kept.really_close()
    result.seconds = time.perf_counter() - started
    result.api_calls = source.calls
    return result


def _record(doc: ResultDocument, moment: int, job: str, window: Window, notices: List[Notice]) -> RunRecord:
    """The run's notices: each sent alert, the alerts of one group (same `group`, same status) as one."""
    run = RunRecord(at=moment, job=job, window_begin=int(window.begin.timestamp()),
                    window_end=int(window.end.timestamp()), errors=list(doc.errors))
    grouped: Dict[Tuple[str, str], List[Alert]] = {}
    alone: List[List[Alert]] = []
    for alert in doc.alerts:
        if alert.notified is False:
            continue
        status = alert.status or "firing"
        if alert.group is None:
            alone.append([alert])
        else:
            grouped.setdefault((alert.group, status), []).append(alert)
    for members in [*grouped.values(), *alone]:
        lead = members[0]
        status = lead.status or "firing"
        apps = tuple(dict.fromkeys(a.app_id for a in members))
        prints = tuple(dict.fromkeys(a.fingerprint for a in members if a.fingerprint))
        severity = max((a.severity for a in members), key=lambda s: SEVERITY_RANK.get(s, 0))
        notices.append(Notice(at=moment, job=job, app_id=apps[0] if len(apps) == 1 else None, rule=lead.rule,
                              code=lead.code, severity=severity, status=status, fingerprint=lead.fingerprint,
                              since=lead.since, group=lead.group, apps=apps if len(members) > 1 else (),
                              fingerprints=prints if len(members) > 1 else ()))
        run.notices += 1
        run.firing += status == "firing"
    return run

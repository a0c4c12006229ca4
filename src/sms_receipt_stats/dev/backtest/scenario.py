"""Synthetic quarters of SMS traffic with known incidents, and the data source that answers the
product's fetcher protocol from them as the counters would have looked at a simulated time.

Everything is deterministic per seed. Time is kept as UTC epoch seconds; hours are whole UTC
hours, which are whole Beijing hours (UTC+8, no daylight saving), so an API `yyyymmddhh` maps to
one hour here (docs/hour-rule.md: BeginTime's and EndTime's hours both count).

**Late receipts.** An hour's submitted count is final at once; its receipts become visible over
time after the hour ends (`VISIBILITY`, about 87 % 5 minutes after the hour, 95 % after 1 h, 99 %
after 3 h, all after 48 h). An app with `late_failures` sees its failure receipts on a slower
curve (`LATE_FAILURE_VISIBILITY`): carriers report failures late, so its fresh hours look better
than they are.

**Detectable.** Whether an incident could be seen at all is judged on the TRUE counts of the
messages it affected (the minutes of each hour inside it), never on the product's rules:
- rate incidents: a one-sided binomial test at 99.9 % that the true success rate (successes
  among receipts) is below the success threshold, or for a receipt outage that the receipt rate
  (receipts among submitted) is below the receipt threshold: P(X <= observed | n, threshold) < 0.001;
- `sending_stopped`: a one-sided Poisson test at 99.9 % that the submitted volume is below the
  volume the app would have sent (its profile without the incident);
- API errors: every call fails while they last, so they are detectable when they last an hour
  or more (long enough for an hourly check to meet them);
- `drop` (the success rate falls below the app's own normal, maybe still above the threshold):
  the binomial test against the app's true rate minus DROP_POINTS;
- `receipt_delay` (the provider holds every receipt back `delay_hours`, usually account-wide):
  detectable when both the delay and the stall last an hour or more (no receipt is lost);
- `package_empty` (the account's SMS packages run out at `onset`; sending is refused until a
  package is bought at `end`): always detectable, days ahead, from the balance and the billed
  rate; notices about it are expected from `lead_hours` before the onset.

**The bill.** Each ended hour bills its accepted (submitted) messages once, and a long message once
more per extra part (`AppSpec.long_share`). SmsPackagesStatistics and SendStatusStatistics are
answered from those counts (`ScenarioSource.send_status`, `ScenarioSource.packages`) in the shapes
the emulator documents (`sms_receipt_stats.dev.emulator`, product 382, pages 40528 and 55964).
"""

from __future__ import annotations

import calendar
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from sms_receipt_stats.sdk import CloudError
from sms_receipt_stats.stats import Stats

HOUR = 3600
BEIJING_OFFSET = 8 * HOUR
#: the significance of the detectable tests (one-sided)
DETECT_ALPHA = 0.001
#: the thresholds the detectable flag is judged against (the product's defaults)
SUCCESS_THRESHOLD = 0.90
RECEIPT_THRESHOLD = 0.80
#: how far below its own normal a `drop` must go to be detectable (the product's ALERT_DROP_POINTS)
DROP_POINTS = 0.05

#: (minutes after the hour ended, fraction of the hour's receipts visible); linear in between
VISIBILITY: Tuple[Tuple[float, float], ...] = (
    (-60.0, 0.0), (0.0, 0.75), (5.0, 0.87), (60.0, 0.95), (180.0, 0.99), (1440.0, 0.998), (2880.0, 1.0))
#: the failure receipts of an app whose carriers report failures late
LATE_FAILURE_VISIBILITY: Tuple[Tuple[float, float], ...] = (
    (-60.0, 0.0), (0.0, 0.30), (5.0, 0.45), (60.0, 0.70), (180.0, 0.88), (1440.0, 0.98), (4320.0, 1.0))

#: incident kinds; the first group changes success rates, API kinds make calls fail
RATE_KINDS = ("outage", "degradation", "gradual", "intermittent", "blip", "drop")
API_KINDS = ("api_error", "account_error")
KINDS = (*RATE_KINDS, "receipt_outage", "receipt_delay", "sending_stopped", "package_empty", *API_KINDS)
#: kinds an on-call user needs to hear about at once (their detection delay is reported apart)
OUTAGE_KINDS = ("outage", "blip", "receipt_outage", "sending_stopped", "api_error", "account_error")


def visible_fraction(minutes_after: float, curve: Sequence[Tuple[float, float]] = VISIBILITY) -> float:
    """The share of an hour's receipts visible `minutes_after` its end (monotone, 0 to 1)."""
    if minutes_after <= curve[0][0]:
        return curve[0][1]
    for (x0, y0), (x1, y1) in zip(curve, curve[1:]):
        if minutes_after <= x1:
            return y0 + (y1 - y0) * (minutes_after - x0) / (x1 - x0)
    return curve[-1][1]


def api_hour(value: str) -> int:
    """The UTC epoch of a Beijing `yyyymmddhh` (the API's BeginTime/EndTime); ValueError if malformed."""
    if len(value) != 10 or not value.isdigit():
        raise ValueError(f"not a yyyymmddhh hour: {value!r}")
    moment = datetime(int(value[:4]), int(value[4:6]), int(value[6:8]), int(value[8:10]))
    return calendar.timegm(moment.timetuple()) - BEIJING_OFFSET


def beijing(epoch: float) -> datetime:
    """A UTC epoch as a Beijing wall-clock datetime (naive), for hour-of-day and weekday."""
    return datetime.fromtimestamp(epoch + BEIJING_OFFSET, timezone.utc).replace(tzinfo=None)


# -- the truth ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AppSpec:
    """One simulated app: its peak hourly volume and true rates (before daily wobble and noise)."""

    app_id: str
    name: str
    peak: int
    success_rate: float
    receipt_rate: float
    late_failures: bool = False
    #: how far the true success and receipt rates wander from day to day (uniform, +/-)
    success_wobble: float = 0.003
    receipt_wobble: float = 0.005
    #: the share of its accepted messages long enough to bill a second part (FeeCount)
    long_share: float = 0.0


@dataclass(frozen=True)
class Incident:
    """A known incident: what broke, for which apps, from `onset` to `end` (UTC epochs, to the minute).

    `app_ids` empty means every app (account-wide). `rate` is the success rate of the affected
    messages (receipt rate for `receipt_outage`); `code` the API error of the API kinds.
    """

    id: str
    kind: str
    app_ids: Tuple[str, ...]
    onset: int
    end: int
    rate: float = 0.0
    code: Optional[str] = None
    note: str = ""
    #: `receipt_delay`: how late the receipts of the affected messages arrive
    delay_hours: float = 0.0
    #: how long before `onset` a notice about it is expected (a balance warned about days ahead)
    lead_hours: float = 0.0

    @property
    def account_wide(self) -> bool:
        return not self.app_ids

    def affects(self, app_id: Optional[str]) -> bool:
        return self.account_wide or app_id is None or app_id in self.app_ids

    def overlap(self, begin: int, end: int) -> int:
        """Seconds of [begin, end) inside the incident."""
        return max(0, min(end, self.end) - max(begin, self.onset))


@dataclass
class HourCounts:
    """The final counts of one app-hour."""

    submitted: int = 0
    success: int = 0
    fail: int = 0
    #: of `success` and `fail`, the receipts held back `late_minutes` by a `receipt_delay`
    late_success: int = 0
    late_fail: int = 0
    late_minutes: float = 0.0
    #: messages the API refused (no package left): in SendStatusStatistics' RequestCount only
    refused: int = 0


@dataclass(frozen=True)
class Package:
    """One SMS package of the account (UTC epochs), as SmsPackagesStatistics lists it."""

    package_id: int
    amount: int
    created: int
    expires: int
    #: 0 gift, 1 bought (the API's PackageType)
    kind: int = 1

    @property
    def effective(self) -> int:
        return self.created


@dataclass
class Evidence:
    """The true counts of the messages an incident affected, for its `detectable` flag."""

    submitted: int = 0
    receipts: int = 0
    success: int = 0
    expected_submitted: float = 0.0


@dataclass
class Truth:
    """Final hourly counts per app from hour `start` (UTC epoch) on, plus API-error incidents."""

    start: int
    hours: int
    apps: List[AppSpec]
    counts: Dict[str, List[HourCounts]]
    errors: List[Incident] = field(default_factory=list)
    #: the account's SMS packages (none: a postpaid account, nothing to judge)
    packages: List[Package] = field(default_factory=list)
    #: messages billed to the packages before `start` (their usage then)
    billed_before: int = 0

    def hour_counts(self, app_id: str, hour: int) -> Optional[HourCounts]:
        series = self.counts.get(app_id)
        index = (hour - self.start) // HOUR
        if series is None or index < 0 or index >= len(series):
            return None
        return series[index]

    def billed(self, app_id: str, hour: int) -> int:
        """FeeCount of one ended app-hour: each accepted message once, a long one once more."""
        counts = self.hour_counts(app_id, hour)
        if counts is None or not counts.submitted:
            return 0
        share = next((a.long_share for a in self.apps if a.app_id == app_id), 0.0)
        return counts.submitted + int(round(counts.submitted * share))

    def billed_between(self, begin: int, end: int) -> int:
        """FeeCount of every app over the whole hours in [begin, end)."""
        first = max(begin, self.start)
        first += -first % HOUR
        return sum(self.billed(a.app_id, hour) for a in self.apps for hour in range(first, end, HOUR))


@dataclass
class Scenario:
    name: str
    seed: int
    days: int
    truth: Truth
    incidents: List[Incident]
    detectable: Dict[str, bool]
    evidence: Dict[str, Evidence]
    description: str = ""

    @property
    def start(self) -> int:
        return self.truth.start

    @property
    def end(self) -> int:
        return self.truth.start + self.truth.hours * HOUR


# -- the data source -------------------------------------------------------------------------------

class ScenarioSource:
    """The product's `StatsFetcher` over a Truth, as the counters look at `now()` (a UTC datetime).

    `fetch` sums the hours BeginTime..EndTime (both counted) as visible at `now`: submitted counts
    of ended hours are final, the running hour's grow with its minutes, receipts follow the
    visibility curves. An API-error incident makes every call touching its apps fail while it
    lasts, judged by `now`, whatever hours are asked. `calls` counts the fetches.
    """

    def __init__(self, truth: Truth, now: Callable[[], datetime]):
        self.truth = truth
        self.now = now
        self.calls = 0
        self._late = {a.app_id for a in truth.apps if a.late_failures}

    def error_at(self, app_id: str, at: float) -> Optional[Incident]:
        for incident in self.truth.errors:
            if incident.onset <= at < incident.end and incident.affects(app_id):
                return incident
        return None

    def visible(self, app_id: str, hour: int, at: float) -> Tuple[int, int, int]:
        """(submitted, successes, failures) of one hour as visible at `at` (UTC epoch)."""
        counts = self.truth.hour_counts(app_id, hour)
        if counts is None or at <= hour:
            return 0, 0, 0
        minutes_after = (at - hour - HOUR) / 60.0
        submitted = counts.submitted if minutes_after >= 0 else int(counts.submitted * (at - hour) / HOUR)
        seen = visible_fraction(minutes_after)
        seen_fail = visible_fraction(minutes_after, LATE_FAILURE_VISIBILITY) if app_id in self._late else seen
        if not counts.late_success and not counts.late_fail:
            return submitted, int(counts.success * seen), int(counts.fail * seen_fail)
        held = visible_fraction(minutes_after - counts.late_minutes)
        held_fail = (visible_fraction(minutes_after - counts.late_minutes, LATE_FAILURE_VISIBILITY)
                     if app_id in self._late else held)
        return (submitted, int((counts.success - counts.late_success) * seen + counts.late_success * held),
                int((counts.fail - counts.late_fail) * seen_fail + counts.late_fail * held_fail))

    def stats_at(self, app_id: str, first_hour: int, last_hour: int, at: float) -> Stats:
        submitted = success = fail = 0
        for hour in range(first_hour, last_hour + HOUR, HOUR):
            s, ok, bad = self.visible(app_id, hour, at)
            submitted, success, fail = submitted + s, success + ok, fail + bad
        invalid = fail // 3
        return Stats(RequestSuccessCount=submitted, CallbackCount=success + fail, CallbackSuccessCount=success,
                     CallbackFailCount=fail, InvalidNumberCount=invalid, InternalErrorCount=fail - invalid)

    def fetch(self, app_id: str, begin_time: str, end_time: str,
              timeout: Optional[float] = None) -> Tuple[Stats, Optional[str]]:
        first, last, at, request_id = self._call(app_id, begin_time, end_time)
        return self.stats_at(app_id, first, last, at), request_id

    def _call(self, app_id: str, begin_time: str, end_time: str) -> Tuple[int, int, float, str]:
        """(first hour, last hour, now, request id) of one simulated API call (statistics or
        account), failing as the API does: the app's incident error, a malformed or reversed range."""
        self.calls += 1
        at = self.now().timestamp()
        request_id = f"sim-{self.calls}"
        incident = self.error_at(app_id, at)
        if incident is not None:
            raise CloudError(incident.code or "InternalError", f"simulated: {incident.note or incident.kind}",
                             request_id)
        try:
            first, last = api_hour(begin_time), api_hour(end_time)
        except ValueError:
            raise CloudError("InvalidParameterValue.BeginTimeVerifyFail", "malformed hour", request_id) from None
        if last < first:
            raise CloudError("InvalidParameterValue.EndTimeVerifyFail", "EndTime before BeginTime", request_id)
        return first, last, at, request_id

    def send_status(self, app_id: str, begin_time: str, end_time: str,
                    timeout: Optional[float] = None) -> Tuple[Any, Optional[str]]:
        """SendStatusStatistics (the emulator's `_send_status_statistics`): over BeginTime..EndTime,
        both hours counted, the hours ended by now: RequestCount (accepted and refused),
        RequestSuccessCount (accepted: the receipts' RequestSuccessCount), FeeCount (billed)."""
        from sms_receipt_stats.account import send_doc

        first, last, at, request_id = self._call(app_id, begin_time, end_time)
        submitted = accepted = billed = 0
        for hour in range(first, min(last + HOUR, int(at) // HOUR * HOUR), HOUR):
            counts = self.truth.hour_counts(app_id, hour)
            if counts is None:
                continue
            accepted += counts.submitted
            submitted += counts.submitted + counts.refused
            billed += self.truth.billed(app_id, hour)
        return send_doc(submitted, accepted, billed), request_id

    def packages(self, app_id: str, begin_time: str, end_time: str, limit: int, offset: int,
                 timeout: Optional[float] = None) -> Tuple[List[Dict[str, Any]], Optional[str]]:
        """SmsPackagesStatistics (the emulator's `_sms_packages_statistics`): the packages created
        in BeginTime..EndTime, newest first, `limit` from `offset`; CurrentUsage is what the
        account's apps billed until now, taken from the package that expires first, each up to
        its amount."""
        first, last, at, request_id = self._call(app_id, begin_time, end_time)
        usage = self.truth.billed_before + self.truth.billed_between(self.truth.start, int(at) // HOUR * HOUR)
        rows: List[Dict[str, Any]] = []
        for package in sorted(self.truth.packages, key=lambda p: (p.expires, p.package_id)):
            if package.created > at:
                continue  # not bought yet
            used = min(usage, package.amount)
            usage -= used
            rows.append({"PackageId": package.package_id, "PackageType": package.kind,
                         "PackageAmount": package.amount, "CurrentUsage": used,
                         "PackageCreateTime": package.created, "PackageEffectiveTime": package.effective,
                         "PackageExpiredTime": package.expires})
        created = [r for r in rows if first <= r["PackageCreateTime"] < last + HOUR]
        created.sort(key=lambda r: (-r["PackageCreateTime"], r["PackageId"]))
        return created[offset:offset + limit], request_id


# -- generation ------------------------------------------------------------------------------------

def binomial(rng: random.Random, n: int, p: float) -> int:
    """A binomial draw, exact for small n, Poisson or normal approximations beyond."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if p > 0.5:
        return n - binomial(rng, n, 1.0 - p)
    mean = n * p
    if n <= 60:
        return sum(1 for _ in range(n) if rng.random() < p)
    if mean < 25:
        return min(n, poisson(rng, mean))
    return max(0, min(n, int(round(rng.gauss(mean, math.sqrt(mean * (1.0 - p)))))))


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean >= 25:
        return max(0, int(round(rng.gauss(mean, math.sqrt(mean)))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


#: share of the peak volume per Beijing hour of day: nights low, business hours high
DAY_SHAPE = (0.06, 0.04, 0.03, 0.03, 0.03, 0.05, 0.12, 0.30, 0.65, 0.90, 1.0, 1.0,
             0.85, 0.90, 1.0, 1.0, 0.95, 0.85, 0.70, 0.60, 0.50, 0.35, 0.20, 0.10)
WEEKEND_FACTOR = 0.55


def expected_volume(app: AppSpec, hour: int, day_wobble: float) -> float:
    local = beijing(hour)
    weekend = WEEKEND_FACTOR if local.weekday() >= 5 else 1.0
    return app.peak * DAY_SHAPE[local.hour] * weekend * day_wobble


def _incident_rate(incident: Incident, hour: int, base: float) -> float:
    """The success rate (receipt rate for a receipt outage) of the affected messages of `hour`."""
    if incident.kind == "gradual":  # from the normal rate down to `rate` over the incident
        middle = hour + HOUR / 2
        progress = min(1.0, max(0.0, (middle - incident.onset) / max(1, incident.end - incident.onset)))
        return base + (incident.rate - base) * progress
    if incident.kind == "intermittent":  # bad and ok hours alternate
        return incident.rate if ((hour - incident.onset) // HOUR) % 2 == 0 else base
    return incident.rate


def generate(apps: Sequence[AppSpec], incidents: Sequence[Incident], start: int, days: int, seed: int
             ) -> Tuple[Truth, Dict[str, Evidence]]:
    """Hourly final counts of every app, with the incidents applied to the minutes they cover."""
    rng = random.Random(seed)
    hours = days * 24
    counts: Dict[str, List[HourCounts]] = {}
    evidence = {i.id: Evidence() for i in incidents}
    for app in apps:
        series: List[HourCounts] = []
        mine = [i for i in incidents if i.kind not in API_KINDS and i.affects(app.app_id)
                and (not i.account_wide or i.kind == "receipt_delay")]
        wobble = 1.0
        success_day = app.success_rate
        receipt_day = app.receipt_rate
        for index in range(hours):
            hour = start + index * HOUR
            if index % 24 == 0:  # a new day: volume, success and receipt rates wobble a little
                wobble = rng.uniform(0.85, 1.15)
                success_day = min(0.999, max(0.0, app.success_rate
                                             + rng.uniform(-app.success_wobble, app.success_wobble)))
                receipt_day = min(0.999, max(0.0, app.receipt_rate
                                             + rng.uniform(-app.receipt_wobble, app.receipt_wobble)))
            expected = expected_volume(app, hour, wobble)
            submitted = poisson(rng, expected)
            total = HourCounts(submitted=submitted)
            rest = submitted
            for incident in mine:
                share = incident.overlap(hour, hour + HOUR) / HOUR
                if share <= 0:
                    continue
                part = min(rest, int(round(submitted * share)))
                rest -= part
                found = evidence[incident.id]
                if incident.kind == "sending_stopped":
                    total.submitted -= part
                    found.expected_submitted += expected * share
                    continue
                receipt_rate, success_rate = receipt_day, success_day
                if incident.kind == "receipt_delay":
                    receipts = binomial(rng, part, receipt_rate)
                    ok = binomial(rng, receipts, success_rate)
                    total.success += ok
                    total.fail += receipts - ok
                    total.late_success += ok
                    total.late_fail += receipts - ok
                    total.late_minutes = incident.delay_hours * 60
                    found.submitted += part
                    found.receipts += receipts
                    found.success += ok
                    found.expected_submitted += expected * share
                    continue
                if incident.kind == "receipt_outage":
                    receipt_rate = _incident_rate(incident, hour, receipt_day)
                else:
                    success_rate = _incident_rate(incident, hour, success_day)
                receipts = binomial(rng, part, receipt_rate)
                ok = binomial(rng, receipts, success_rate)
                total.success += ok
                total.fail += receipts - ok
                found.submitted += part
                found.receipts += receipts
                found.success += ok
                found.expected_submitted += expected * share
            receipts = binomial(rng, rest, receipt_day)
            ok = binomial(rng, receipts, success_day)
            total.success += ok
            total.fail += receipts - ok
            series.append(total)
        counts[app.app_id] = series
    errors = [i for i in incidents if i.kind in API_KINDS]
    return Truth(start=start, hours=hours, apps=list(apps), counts=counts, errors=errors), evidence


# -- the detectable flag -----------------------------------------------------------------------------

def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), summed from k downwards until the terms vanish."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    log_p, log_q = math.log(p), math.log(1.0 - p)
    total = 0.0
    for x in range(k, -1, -1):
        term = math.exp(math.lgamma(n + 1) - math.lgamma(x + 1) - math.lgamma(n - x + 1) + x * log_p
                        + (n - x) * log_q)
        total += term
        if term < total * 1e-17:
            break
    return min(1.0, total)


def poisson_cdf(k: int, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean)."""
    if k < 0:
        return 0.0
    if mean <= 0:
        return 1.0
    total = 0.0
    for x in range(k, -1, -1):
        term = math.exp(-mean + x * math.log(mean) - math.lgamma(x + 1))
        total += term
        if term < total * 1e-17:
            break
    return min(1.0, total)


def is_detectable(incident: Incident, found: Evidence, success_threshold: float = SUCCESS_THRESHOLD,
                  receipt_threshold: float = RECEIPT_THRESHOLD) -> bool:
    """The module docstring's definition, on the true counts of the affected messages."""
    if incident.kind in API_KINDS:
        return incident.end - incident.onset >= HOUR
    if incident.kind == "package_empty":
        return True
    if incident.kind == "receipt_delay":
        return incident.end - incident.onset >= HOUR and incident.delay_hours >= 1
    if incident.kind == "sending_stopped":
        return poisson_cdf(found.submitted, found.expected_submitted) < DETECT_ALPHA
    if incident.kind == "receipt_outage":
        return binomial_cdf(found.receipts, found.submitted, receipt_threshold) < DETECT_ALPHA
    return binomial_cdf(found.success, found.receipts, success_threshold) < DETECT_ALPHA


# -- built-in scenarios ------------------------------------------------------------------------------

#: 2026-01-05 00:00 Beijing, a Monday
DEFAULT_START = calendar.timegm((2026, 1, 5, 0, 0, 0, 0, 0, 0)) - BEIJING_OFFSET

_APP_NAMES = ("otp", "login", "marketing", "orders", "notify", "billing", "promo", "alerts",
              "delivery", "support", "survey", "partner")
_PEAKS = (20000, 8000, 12000, 3000, 1500, 600, 5000, 30, 250, 120, 60, 900)


def default_apps(seed: int, *, near_threshold: int = 1) -> List[AppSpec]:
    """Twelve apps from 30 to 20,000 submitted/hour at peak; `near_threshold` of them sit just
    above a threshold (the first at 91.5 % success), one has late failure receipts."""
    rng = random.Random(seed * 7919 + 1)
    apps = []
    for index, (name, peak) in enumerate(zip(_APP_NAMES, _PEAKS)):
        success = rng.uniform(0.955, 0.99)
        receipt = rng.uniform(0.96, 0.99)
        apps.append(AppSpec(app_id=f"14000000{index + 1:02d}", name=name, peak=peak, success_rate=round(success, 4),
                            receipt_rate=round(receipt, 4), late_failures=(index == 3)))
    # (app index, true success rate, true receipt rate); 0 keeps the app's own
    near = [(2, 0.915, 0.0), (4, 0.91, 0.0), (1, 0.0, 0.83), (6, 0.92, 0.0)][:near_threshold]
    for index, success_rate, receipt_rate in near:
        app = apps[index]
        apps[index] = AppSpec(app.app_id, app.name, app.peak, success_rate or app.success_rate,
                              receipt_rate or app.receipt_rate, app.late_failures)
    return apps


def at(start: int, day: int, hour: int, minute: int = 0) -> int:
    """The UTC epoch of Beijing `hour:minute` on day `day` of a scenario starting at `start`."""
    return start + day * 86400 + hour * HOUR + minute * 60


def _quarter_incidents(start: int, apps: List[AppSpec], layout: Sequence[Tuple], rng: random.Random
                       ) -> List[Incident]:
    out = []
    for number, (kind, app_index, day, hour, minutes, rate, code, note) in enumerate(layout, 1):
        minute = rng.randrange(0, 60) if kind not in ("intermittent",) else 0
        onset = at(start, day, hour, minute)
        ids: Tuple[str, ...] = () if app_index is None else (apps[app_index].app_id,)
        out.append(Incident(id=f"I{number:02d}", kind=kind, app_ids=ids, onset=onset, end=onset + minutes * 60,
                            rate=rate, code=code, note=note))
    return out


# (kind, app index or None = account-wide, day, Beijing hour, minutes, rate, code, note)
_QUARTER = (
    ("outage", 0, 9, 10, 150, 0.40, None, "carrier outage on the busiest app"),
    ("degradation", 1, 16, 13, 300, 0.82, None, "moderate degradation"),
    ("receipt_outage", 2, 23, 9, 240, 0.05, None, "receipts stop arriving"),
    ("api_error", 5, 30, 11, 360, 0.0, "UnauthorizedOperation.SdkAppIdIsDisabled", "app disabled"),
    ("account_error", None, 37, 14, 180, 0.0, "UnauthorizedOperation.ServiceSuspendDueToArrears", "arrears"),
    ("sending_stopped", 3, 44, 9, 240, 0.0, None, "the app's own sending broke"),
    ("outage", 9, 51, 10, 240, 0.35, None, "incident on a low-volume app"),
    ("intermittent", 6, 58, 9, 480, 0.60, None, "bad and ok hours alternate"),
    ("outage", 8, 65, 22, 420, 0.50, None, "over quiet night hours"),
    ("outage", 4, 72, 2, 120, 0.45, None, "02:00-04:00, across the daily report"),
    ("blip", 0, 79, 15, 60, 0.20, None, "short severe blip"),
    ("gradual", 11, 84, 8, 600, 0.72, None, "gradual degradation"),
)
_QUARTER_B = (
    ("degradation", 0, 12, 20, 240, 0.85, None, "moderate degradation in the evening"),
    ("account_error", None, 18, 10, 120, 0.0, "AuthFailure.SecretIdNotFound", "the key was deleted"),
    ("outage", 3, 25, 9, 180, 0.30, None, "outage on the late-receipt app"),
    ("gradual", 1, 33, 9, 720, 0.70, None, "gradual degradation over a day"),
    ("receipt_outage", 6, 40, 14, 300, 0.02, None, "receipts stop arriving"),
    ("api_error", 11, 47, 8, 480, 0.0, "UnauthorizedOperation.ServiceSuspendDueToArrears", "app in arrears"),
    ("blip", 2, 52, 11, 60, 0.25, None, "short severe blip"),
    ("intermittent", 0, 59, 13, 360, 0.55, None, "bad and ok hours alternate"),
    ("outage", 10, 63, 9, 300, 0.40, None, "incident on a low-volume app"),
    ("outage", 5, 70, 1, 300, 0.50, None, "across the daily report and the night"),
    ("sending_stopped", 0, 77, 10, 180, 0.0, None, "the app's own sending broke"),
    ("degradation", 7, 86, 13, 360, 0.86, None, "mild degradation on the smallest app (too few messages)"),
)

SCENARIOS = {
    "quarter": "91 days, 12 apps, 12 incidents of every kind (seed 1)",
    "quarter-b": "91 days, 12 apps, another mix and timing of 12 incidents (seed 2)",
    "quiet": "91 days, 12 healthy apps, four of them just above a threshold, no incidents (seed 3)",
    "drop": "28 days, 12 apps: success 6 points below the app's normal, above the threshold, 3 to 6 hours "
            "on three apps; two 1-point wobbles that are no incident (seed 4)",
    "stall": "28 days, 12 apps: the provider holds every receipt back 3 hours, 2 to 3 hours long, "
             "four times, account-wide (seed 5)",
    "noisy": "91 days, 12 healthy apps whose true success rates wander +/-1.5 points from day to day, three "
             "of them 1.5 points above the threshold, one at 83 % receipts, no incidents (seed 6)",
    "package": "28 days, 12 apps: the account's SMS package runs out twice at the apps' billed rate; sending "
               "is refused until a package is bought the next morning (seed 7)",
}
_DEFAULT_SEEDS = {"quarter": 1, "quarter-b": 2, "quiet": 3, "drop": 4, "stall": 5, "noisy": 6, "package": 7}
_DEFAULT_DAYS = {"drop": 28, "stall": 28, "package": 28}

# (app index, day, Beijing hour, minutes, points below the app's true rate); 1 point: a wobble
_DROPS = ((0, 9, 10, 360, 0.06), (1, 13, 14, 240, 0.06), (3, 17, 9, 180, 0.06), (5, 22, 10, 300, 0.065),
          (0, 20, 10, 360, 0.01), (2, 25, 14, 360, 0.01))
# (day, Beijing hour, minutes) of the account-wide receipt stalls, each holding receipts 3 h
_STALLS = ((9, 10, 180), (15, 15, 120), (21, 20, 180), (26, 9, 150))
STALL_DELAY_HOURS = 3.0


def _drop_incidents(start: int, apps: List[AppSpec], rng: random.Random) -> List[Incident]:
    out = []
    for number, (index, day, hour, minutes, points) in enumerate(_DROPS, 1):
        onset = at(start, day, hour, rng.randrange(0, 60))
        app = apps[index]
        note = "a wobble, no incident" if points < DROP_POINTS else "below the app's normal, above the threshold"
        out.append(Incident(id=f"D{number:02d}", kind="drop", app_ids=(app.app_id,), onset=onset,
                            end=onset + minutes * 60, rate=round(app.success_rate - points, 4), note=note))
    return out


def _stall_incidents(start: int, rng: random.Random) -> List[Incident]:
    out = []
    for number, (day, hour, minutes) in enumerate(_STALLS, 1):
        onset = at(start, day, hour, rng.randrange(0, 60))
        out.append(Incident(id=f"S{number:02d}", kind="receipt_delay", app_ids=(), onset=onset,
                            end=onset + minutes * 60, delay_hours=STALL_DELAY_HOURS,
                            note="the provider holds receipts back"))
    return out


#: (app index, true success rate) of the noisy scenario's apps 1.5 points above the success threshold
_NOISY_NEAR = ((2, 0.915), (4, 0.915), (6, 0.915))


def _noisy(apps: List[AppSpec]) -> List[AppSpec]:
    """Every app's true success rate wanders +/-1.5 points from day to day; three sit 1.5 points
    above the threshold (on their worst days right at it, never below); the fourth near one is
    `quiet`'s receipt app at 83 % (its receipts wobble as usual: read 2 h after the hour, 97 % of
    them are in, so 1.5 points lower would read under 80 %)."""
    near = dict(_NOISY_NEAR)
    return [AppSpec(a.app_id, a.name, a.peak, near.get(index, a.success_rate), a.receipt_rate, a.late_failures,
                    success_wobble=0.015) for index, a in enumerate(apps)]


#: (day, Beijing hour) at which the balance reaches zero; a package is bought at TOP_UP_HOUR the next day
_RUN_OUTS = ((12, 15), (24, 11))
TOP_UP_HOUR = 10
#: a notice about a package running out is expected up to this long before it does
PACKAGE_LEAD_HOURS = 10 * 24
#: the bought package's life, and what it had billed before the scenario starts
PACKAGE_DAYS = 365
_BILLED_BEFORE = 1_000_000


def _billing(apps: List[AppSpec], rng: random.Random) -> List[AppSpec]:
    """Some messages are long (two parts, billed twice): 5 to 30 % of each app's."""
    return [AppSpec(a.app_id, a.name, a.peak, a.success_rate, a.receipt_rate, a.late_failures,
                    a.success_wobble, a.receipt_wobble, long_share=round(rng.uniform(0.05, 0.3), 3)) for a in apps]


def run_out(truth: Truth, start: int, layout: Sequence[Tuple[int, int]] = _RUN_OUTS) -> List[Incident]:
    """Give the account packages that run out at each (day, hour) of `layout`, at the apps'
    billed rate: each package's amount is what the apps bill from its purchase to that moment.
    Sending is refused from then until the next one is bought (TOP_UP_HOUR the next day): those
    hours' messages move to `refused` (no receipt, not billed). The last package bought lasts.
    Run-outs after the truth's end are left out."""
    incidents: List[Incident] = []
    bought, billed_before = start - 30 * 86400, _BILLED_BEFORE
    truth.billed_before = billed_before
    for number, (day, hour) in enumerate(layout, 1):
        empty = at(start, day, hour)
        top_up = at(start, day + 1, TOP_UP_HOUR)
        if empty >= truth.start + truth.hours * HOUR:
            break
        amount = billed_before + truth.billed_between(max(bought, truth.start), empty)
        truth.packages.append(Package(package_id=1000790000 + number, amount=amount, created=bought,
                                      expires=bought + PACKAGE_DAYS * 86400))
        for series in truth.counts.values():
            for index in range((empty - truth.start) // HOUR, min(len(series), (top_up - truth.start) // HOUR)):
                counts = series[index]
                series[index] = HourCounts(refused=counts.submitted + counts.refused)
        incidents.append(Incident(id=f"P{number:02d}", kind="package_empty", app_ids=(), onset=empty, end=top_up,
                                  lead_hours=PACKAGE_LEAD_HOURS,
                                  note="the SMS packages run out; sending is refused until one is bought"))
        bought, billed_before = top_up, 0
    amount = max(1, truth.billed_between(truth.start, truth.start + truth.hours * HOUR)) * 10
    truth.packages.append(Package(package_id=1000790000 + len(incidents) + 1, amount=amount, created=bought,
                                  expires=bought + PACKAGE_DAYS * 86400))
    return incidents


class ScenarioError(ValueError):
    """An unknown scenario name or a bad length."""


def build(apps: Sequence[AppSpec], incidents: Sequence[Incident], *, days: int, seed: int,
          start: int = DEFAULT_START, name: str = "custom", description: str = "") -> Scenario:
    """A scenario from explicit apps and incidents (tests use short ones)."""
    if days < 1:
        raise ScenarioError("days must be at least 1")
    end = start + days * 86400
    kept = [i for i in incidents if i.onset < end]
    truth, evidence = generate(apps, kept, start, days, seed)
    usual = {a.app_id: a.success_rate for a in apps}
    detectable = {i.id: is_detectable(i, evidence[i.id]) if i.kind != "drop" else
                  is_detectable(i, evidence[i.id], success_threshold=usual[i.app_ids[0]] - DROP_POINTS)
                  for i in kept}
    return Scenario(name=name, seed=seed, days=days, truth=truth, incidents=kept, detectable=detectable,
                    evidence=evidence, description=description)


def builtin(name: str, *, seed: Optional[int] = None, days: Optional[int] = None) -> Scenario:
    """One of SCENARIOS; `days` cuts it short (incidents after the end are dropped)."""
    if name not in SCENARIOS:
        raise ScenarioError(f"unknown scenario {name!r}; expected one of: {', '.join(SCENARIOS)}")
    seed = _DEFAULT_SEEDS[name] if seed is None else seed
    days = _DEFAULT_DAYS.get(name, 91) if days is None else days
    if not 1 <= days <= 366:
        raise ScenarioError("--days must be between 1 and 366")
    rng = random.Random(seed)
    if name in ("quiet", "noisy"):
        apps = default_apps(seed, near_threshold=4)
        apps = _noisy(apps) if name == "noisy" else apps
        incidents: List[Incident] = []
    elif name == "drop":
        apps = default_apps(seed)
        incidents = _drop_incidents(DEFAULT_START, apps, rng)
    elif name == "stall":
        apps = default_apps(seed)
        incidents = _stall_incidents(DEFAULT_START, rng)
    elif name == "package":
        scenario = build(_billing(default_apps(seed), rng), [], days=days, seed=seed, name=name,
                         description=SCENARIOS[name])
        for incident in run_out(scenario.truth, DEFAULT_START):
            scenario.incidents.append(incident)
            scenario.detectable[incident.id] = True
            scenario.evidence[incident.id] = Evidence()
        return scenario
    else:
        apps = default_apps(seed)
        incidents = _quarter_incidents(DEFAULT_START, apps, _QUARTER if name == "quarter" else _QUARTER_B, rng)
    return build(apps, incidents, days=days, seed=seed, name=name, description=SCENARIOS[name])


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)

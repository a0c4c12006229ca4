"""The documents the product emits (docs/http-api.md and *Timer jobs*): app results and the result document.

They are the one shape every consumer sees: the HTTP body, the timer's return value, the
body of webhook and queue sinks, and the input of every renderer.
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from sms_receipt_stats import SCHEMA
from sms_receipt_stats.stats import Rates, Stats
from sms_receipt_stats.vocabulary import SEVERITY_RANK, Category, Kind, Rule, Severity, Trigger


class CountedDoc(BaseModel):
    """The hours the API actually counted, in its own terms (docs/hour-rule.md).

    Present only where they differ from the window: in a report zone whose offset is not a
    whole number of hours from Beijing the API counts whole Beijing hours only, so the local
    window is approximated by the same number of hours, shifted back by the part-hour.
    ``BeginTime``..``EndTime`` are those Beijing hours, both included.
    """

    BeginTime: Optional[str] = None
    EndTime: Optional[str] = None
    timezone: str = "Asia/Shanghai"
    hours: int = 0
    exact: bool = True


def _without_exact_counted(data: Dict[str, Any]) -> Dict[str, Any]:
    if data.get("counted") is None:
        data.pop("counted", None)
    return data


class WindowDoc(BaseModel):
    begin: str
    end: str
    timezone: str
    counted: Optional[CountedDoc] = None

    @model_serializer(mode="wrap")
    def _drop_exact(self, handler: Any) -> Dict[str, Any]:
        return _without_exact_counted(handler(self))


class ErrorInfo(BaseModel):
    """An error as users see it: the code plus what the catalogue knows about it."""

    code: str
    message: str
    request_id: Optional[str] = None
    severity: Severity = "warning"
    category: Category = "upstream"
    retryable: bool = False
    hint: str = ""


class SeriesPoint(BaseModel):
    begin: str
    end: str
    stats: Stats
    rates: Rates
    counted: Optional[CountedDoc] = None

    @model_serializer(mode="wrap")
    def _drop_exact(self, handler: Any) -> Dict[str, Any]:
        return _without_exact_counted(handler(self))


def _without_unset(data: Any, keys: tuple) -> Any:
    """Drop the optional keys a stateless run never sets, so its documents keep their old shape."""
    if isinstance(data, dict):
        for key in keys:
            if data.get(key) is None:
                data.pop(key, None)
    return data


class Trend(BaseModel):
    """An app's success rate against its own trailing 7-day baseline (with a state store)."""

    baseline: WindowDoc
    baseline_success_rate: Optional[float] = None
    #: current success rate minus the baseline, in rate units (-0.05 = five points lower)
    success_rate_change: Optional[float] = None


class ReceiptCodeCount(BaseModel):
    """A receipt status code with at least one failed receipt in the window (receipts pushed by Tencent)."""

    code: str
    #: failed receipts with this code
    count: int
    category: str
    #: from the receipt-code catalogue in the run's language; None for a code it does not know
    meaning: Optional[str] = None


class CountryCount(BaseModel):
    """Receipts of one country/region code in the window, and how many of them failed."""

    nationcode: str
    count: int
    failed: int
class SendDoc(BaseModel):
    """SendStatusStatistics over the app's window (docs/http-api.md, *Send counts*): messages
    submitted to the API, accepted by it (its RequestSuccessCount, the receipts' denominator),
    and billed (a long message splits into several billed parts)."""

    submitted: int = Field(ge=0)
    accepted: int = Field(ge=0)
    billed: int = Field(ge=0)
    #: accepted / submitted, rounded to 4 places; null when nothing was submitted
    accept_rate: Optional[float] = None

    @property
    def rejected(self) -> int:
        return max(0, self.submitted - self.accepted)


class PackageDoc(BaseModel):
    """One SMS package (SmsPackagesStatistics): its size, its use and its validity."""

    package_id: int
    #: the API's PackageType: 0 a gift, 1 bought
    type: Literal["gift", "purchased", "other"] = "purchased"
    amount: int = Field(ge=0)
    used: int = Field(ge=0)
    remaining: int = Field(ge=0)
    #: when it takes effect and when it expires, in REPORT_TIMEZONE (ISO 8601)
    effective: str
    expires: str


class PackagesDoc(BaseModel):
    """The account's SMS balance (docs/alerts.md, *package_low*): its packages still valid, what
    is left of them, and how long that lasts at the recent billed rate."""

    #: the SmsSdkAppId the account was asked through (packages belong to the account)
    app_id: str
    amount: Optional[int] = None
    used: Optional[int] = None
    remaining: Optional[int] = None
    #: billed messages per day over the last `rate_days` days, summed over the configured apps
    daily_billed: Optional[float] = None
    rate_days: int = 7
    #: days until the packages run out at `daily_billed` (packages that expire first used first);
    #: null when nothing was billed lately (or the packages could not be read)
    days_left: Optional[float] = None
    packages: List[PackageDoc] = Field(default_factory=list)
    request_ids: List[str] = Field(default_factory=list)
    #: the packages call failed: the receipt stats are complete all the same
    error: Optional[ErrorInfo] = None


class AppResult(BaseModel):
    app_id: str
    app_name: Optional[str] = None
    window: WindowDoc
    stats: Optional[Stats] = None
    rates: Optional[Rates] = None
    series: Optional[List[SeriesPoint]] = None
    request_ids: List[str] = Field(default_factory=list)
    error: Optional[ErrorInfo] = None
    trend: Optional[Trend] = None
    #: with a state store and the receipts callback (docs/http-api.md, *Receipts*): failed receipts by code
    receipt_codes: Optional[List[ReceiptCodeCount]] = None
    #: with a state store and the receipts callback: receipts by country/region code
    countries: Optional[List[CountryCount]] = None
    #: the daily report's send counts (SendStatusStatistics); absent elsewhere
    send: Optional[SendDoc] = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> Any:
        return _without_unset(handler(self), ("trend", "receipt_codes", "countries", "send"))

#: lifecycle fields: set only with a state store (docs/alerts.md, *The lifecycle*)
LIFECYCLE_FIELDS = ("fingerprint", "status", "since", "silenced", "notified")
#: the evidence of a rate verdict: set by the rate rules only
EVIDENCE_FIELDS = ("volume", "hours")


class Alert(BaseModel):
    rule: Rule
    severity: Severity
    app_id: Optional[str] = None
    value: Optional[Any] = None
    threshold: Optional[float] = None
    #: a rate rule's denominator (receipts, or submitted messages) the verdict rests on
    volume: Optional[int] = None
    #: how many hours that denominator spans: the hours pooled, or the whole window's
    hours: Optional[int] = None
    message: str
    code: Optional[str] = None
    hint: Optional[str] = None
    fingerprint: Optional[str] = None
    status: Optional[Literal["firing", "resolved"]] = None
    since: Optional[str] = None
    silenced: Optional[bool] = None
    #: whether this run sent it; None (stateless) means every alert is sent
    notified: Optional[bool] = None
    #: on an alert this run sends: the key of its notice (`ALERT_GROUP_BY`'s labels, e.g.
    #: `success_rate_below`); the alerts sharing it went out as one (docs/alerts.md, *Grouping*)
    group: Optional[str] = None

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> Any:
        return _without_unset(handler(self), LIFECYCLE_FIELDS + EVIDENCE_FIELDS + ("group",))

    @property
    def resolved(self) -> bool:
        return self.status == "resolved"

    @property
    def sent(self) -> bool:
        """Does this alert go to the sinks that route by severity?"""
        return self.notified is not False


class Delivery(BaseModel):
    sink: str
    ok: bool
    attempts: int = 0
    error: Optional[str] = None


class PendingDelivery(BaseModel):
    """A notice kept in the state store's outbox for a sink that has not received it yet
    (docs/state.md "Outbox"); retried by the next runs, oldest first, until delivered or 24 h old."""

    sink: str  # kind, index and host, as in delivery errors: never the URL
    message_id: str
    since: str  # when the notice was first due, in REPORT_TIMEZONE
    attempts: int = 0
    error: Optional[str] = None


class ResultDocument(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    schema_: str = Field(SCHEMA, alias="schema")
    kind: Kind = "report"
    trigger: Trigger = "timer"
    generated_at: str
    results: List[AppResult] = Field(default_factory=list)
    alerts: List[Alert] = Field(default_factory=list)
    deliveries: List[Delivery] = Field(default_factory=list)
    errors: List[str] = Field(default_factory=list)
    #: the `doctor` job's checklist (see `doctor.Check`); absent from other documents
    checks: Optional[List[Dict[str, Any]]] = None
    #: True when an idempotent timer run answered with its stored document (sent nothing)
    replayed: Optional[bool] = None
    #: with a state store: the id receivers dedupe on (the webhook's `webhook-id`), the same on every retry
    message_id: Optional[str] = None
    #: with a state store and sinks: notices not yet delivered, kept in the outbox and retried
    pending: Optional[List[PendingDelivery]] = None
    #: what a queue message left out to fit the queue's size cap (docs/sinks.md, *Queues*): e.g.
    #: ["series", "request_ids"]; absent when the document is whole
    omitted: Optional[List[str]] = None
    #: the daily report's account balance (SmsPackagesStatistics); absent elsewhere
    packages: Optional[PackagesDoc] = None

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> Any:
        return _without_unset(handler(self), ("replayed", "checks", "message_id", "pending", "omitted", "packages"))

    def to_json_dict(self) -> Dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    def alerts_at_least(self, min_severity: str) -> List[Alert]:
        """Alerts this run notifies at or above `min_severity`, most severe first (document order
        within a level). With a state store that leaves out the alerts it did not notify (already
        sent, silenced); firing before resolved at the same level."""
        floor = SEVERITY_RANK.get(min_severity, 0)
        alerts = [a for a in self.alerts if a.sent and SEVERITY_RANK.get(a.severity, 0) >= floor]
        return sorted(alerts, key=lambda a: (a.resolved, -SEVERITY_RANK.get(a.severity, 0)))

    def report_alerts(self) -> List[Alert]:
        """What a whole report lists: every alert still firing (notified this run or not) and the
        resolved notices this run sends; most severe first, firing before resolved."""
        alerts = [a for a in self.alerts if not a.resolved or a.sent]
        return sorted(alerts, key=lambda a: (a.resolved, -SEVERITY_RANK.get(a.severity, 0)))

    def shown_whole_at(self, min_severity: str) -> bool:
        """Routing (docs/sinks.md): a report (or lookup) goes whole to `info` sinks; any other
        sink, or any other kind, gets only the alerts at or above its level, if there are any."""
        return self.kind in ("report", "lookup") and min_severity == "info"


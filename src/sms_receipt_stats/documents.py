"""The documents the product emits (SPEC section 7): app results and the result document.

They are the one shape every consumer sees: the HTTP body, the timer's return value, the
body of webhook and queue sinks, and the input of every renderer.
"""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, List, Literal, Optional, get_args

from pydantic import BaseModel, ConfigDict, Field, model_serializer

from sms_receipt_stats import SCHEMA
from sms_receipt_stats.stats import STAT_FIELDS, Rates, Stats

Severity = Literal["info", "warning", "critical"]
SEVERITY_ORDER: Dict[str, int] = {"info": 0, "warning": 1, "critical": 2}
Category = Literal["input", "auth", "permission", "billing", "rate_limit", "transient", "clock", "upstream"]
Rule = Literal["success_rate_below", "receipt_rate_below", "api_error", "config_error"]
Kind = Literal["report", "check", "lookup", "doctor", "error"]
Trigger = Literal["timer", "apigw", "cli", "unknown"]


class CountedDoc(BaseModel):
    """The hours the API actually counted, in its own terms (README, *Time windows*).

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


class AppResult(BaseModel):
    app_id: str
    app_name: Optional[str] = None
    window: WindowDoc
    stats: Optional[Stats] = None
    rates: Optional[Rates] = None
    series: Optional[List[SeriesPoint]] = None
    request_ids: List[str] = Field(default_factory=list)
    error: Optional[ErrorInfo] = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Alert(BaseModel):
    rule: Rule
    severity: Severity
    app_id: Optional[str] = None
    value: Optional[Any] = None
    threshold: Optional[float] = None
    message: str
    code: Optional[str] = None
    hint: Optional[str] = None


class Delivery(BaseModel):
    sink: str
    ok: bool
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

    def to_json_dict(self) -> Dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=False,
                               exclude={"checks"} if self.checks is None else None)

    def alerts_at_least(self, min_severity: str) -> List[Alert]:
        """Alerts at or above `min_severity`, most severe first (document order within a level)."""
        floor = SEVERITY_ORDER.get(min_severity, 0)
        alerts = [a for a in self.alerts if SEVERITY_ORDER.get(a.severity, 0) >= floor]
        return sorted(alerts, key=lambda a: -SEVERITY_ORDER.get(a.severity, 0))

    def shown_whole_at(self, min_severity: str) -> bool:
        """Routing (SPEC section 6): a report (or lookup) goes whole to `info` sinks; any other
        sink, or any other kind, gets only the alerts at or above its level, if there are any."""
        return self.kind in ("report", "lookup") and min_severity == "info"


#: the documents' own words: kept as they are when a document is redacted (a secret that starts
#: like `success_rate_below` must not turn a rule into `***`, which no consumer could read)
VOCABULARY: FrozenSet[str] = frozenset({SCHEMA, *STAT_FIELDS, *(w for t in (Severity, Category, Rule, Kind, Trigger)
                                                                  for w in get_args(t))})

"""SCF trigger events as typed models, and the integration response HTTP callers get.

Only the fields we use are modelled; everything else in an event is ignored, so a platform
that adds fields never breaks the function.

HTTP reaches an event function in one shape with two documented variants, all parsed by
`ApiGatewayEvent` (examples in tests/events/):

* function URL (SCF docs, "函数 URL 概述", product 583 doc 96099): "compatible with the API
  Gateway protocol, without headerParameters, isBase64Encoded, pathParameters,
  queryStringParameters and requestContext", i.e. `body`, `headers` (lower-case names),
  `httpMethod`, `path`, `queryString` only (`url_*.json`);
* the legacy API Gateway trigger's integration request (SCF docs, "触发器事件消息结构汇总",
  583/31927), with `requestContext.requestId` and a stage prefix in `path` (`apigw_*.json`);
* the TSE cloud-native gateway with a service of type SCF (TSE API `KongUpstreamInfo`:
  `ScfType`, `ScfNamespace`, `ScfLambdaName`, `ScfLambdaQualifier`) invokes the function
  itself; its docs do not print the event, and SCF defines no third HTTP shape for event
  functions, so it is one of the two above, behind Kong's `x-forwarded-*` headers and with
  the route prefix kept unless the route strips it (`tse_*.json`). Routing matches path
  suffixes, so any prefix works.

The answer is the integration response both document: `statusCode`, `headers`, `body`,
`isBase64Encoded`.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Literal, Mapping, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sms_receipt_stats import jsonlimits
from sms_receipt_stats.vocabulary import GRANULARITIES, TIMER_JOBS, one_of

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
MAX_BODY_BYTES = 16 * 1024
#: what an API Gateway request id looks like; anything else is not echoed into a body
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")


class EventError(ValueError):
    """An event or timer Message we cannot use; the message names the field."""


class ExplicitWindow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    begin: str
    end: str


class TimerMessage(BaseModel):
    """The timer trigger's custom argument (`Message`)."""

    model_config = ConfigDict(extra="forbid")

    job: str = "report"
    window: Union[str, ExplicitWindow] = "yesterday"
    app_ids: Optional[List[str]] = None
    granularity: str = "total"
    #: `doctor` only: also deliver a test report to every sink
    send_test: bool = False

    @field_validator("job")
    @classmethod
    def _job(cls, value: str) -> str:
        if value not in TIMER_JOBS:
            raise ValueError(f"must be {one_of(TIMER_JOBS)}")
        return value

    @field_validator("app_ids")
    @classmethod
    def _app_ids(cls, value: Optional[List[str]]) -> Optional[List[str]]:
        if value is not None and not value:
            raise ValueError("empty: list at least one id, or leave app_ids out for every configured app")
        return value

    @field_validator("granularity")
    @classmethod
    def _granularity(cls, value: str) -> str:
        if value not in GRANULARITIES:
            raise ValueError(f"must be {one_of(GRANULARITIES)}")
        return value


class TimerEvent(BaseModel):
    """A timer trigger's event (SCF docs, "定时触发器"): `Type` "Timer", `TriggerName`, `Time`, `Message`.

    Lenient on purpose: a timer must always run its job, so a field of an unexpected type reads
    as absent (a non-string `Time` means "now", a non-string `TriggerName` means none) and
    `Message` is kept as given, for `parse_timer_message` to judge and name in its issue.
    """

    model_config = ConfigDict(extra="ignore")

    Type: Literal["Timer"]
    TriggerName: Optional[str] = None
    #: the firing's time as SCF wrote it (ISO 8601); see `app.scheduled_time` for how it is read
    Time: Optional[str] = None
    Message: Any = None

    @field_validator("TriggerName", "Time", mode="before")
    @classmethod
    def _text_or_none(cls, value: Any) -> Optional[str]:
        return value if isinstance(value, str) else None

    @staticmethod
    def matches(raw: Any) -> bool:
        """Whether `raw` is a timer event (its `Type` says so), whatever its other fields hold."""
        return isinstance(raw, Mapping) and raw.get("Type") == "Timer"

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> TimerEvent:
        """The timer event of `raw` (which `matches`); never raises."""
        return cls.model_validate({"Type": "Timer", **{k: raw.get(k) for k in ("TriggerName", "Time", "Message")}})


class ApiGatewayEvent(BaseModel):
    """An HTTP event: function URL, API Gateway integration request or TSE gateway (see above)."""

    # strict: a field we read with another type makes the event malformed (400), never coerced
    model_config = ConfigDict(extra="ignore", strict=True)

    httpMethod: str = ""
    path: str = ""
    headers: Dict[str, Any] = Field(default_factory=dict)
    queryString: Dict[str, Any] = Field(default_factory=dict)
    queryStringParameters: Dict[str, Any] = Field(default_factory=dict)
    body: Optional[str] = None
    isBase64Encoded: bool = False
    requestContext: Dict[str, Any] = Field(default_factory=dict)

    @staticmethod
    def matches(raw: Any) -> bool:
        """Whether `raw` has an HTTP event's shape (a method and a path or a request context),
        well-formed or not: a malformed one is still answered over HTTP (400)."""
        return isinstance(raw, Mapping) and "httpMethod" in raw and ("requestContext" in raw or "path" in raw)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Optional[ApiGatewayEvent]:
        """The event, or None when a field we read has an unexpected type."""
        try:
            return cls.model_validate({k: v for k, v in raw.items() if k in cls.model_fields and v is not None})
        except ValidationError:
            return None

    def header(self, name: str) -> Optional[str]:
        """Case-insensitive header lookup (API Gateway may lower-case names)."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if isinstance(key, str) and key.lower() == lowered:
                return value if isinstance(value, str) else None
        return None

    @property
    def request_id(self) -> Optional[str]:
        """API Gateway's request id; a function URL event has no requestContext (None)."""
        return safe_request_id(self.requestContext.get("requestId") if isinstance(self.requestContext, dict) else None)


def safe_request_id(value: Any) -> Optional[str]:
    """`value` when it looks like a request id, else None: nothing else is echoed into a body."""
    return value if isinstance(value, str) and _REQUEST_ID.fullmatch(value) else None


def event_kind(event: Any) -> Optional[str]:
    """'timer', 'apigw' (any HTTP event: function URL, API Gateway, TSE gateway) or None."""
    if TimerEvent.matches(event):
        return "timer"
    if ApiGatewayEvent.matches(event):
        return "apigw"
    return None


def _field_path(loc: Any) -> str:
    return ".".join(str(p) for p in loc) or "Message"


def parse_timer_message(raw: Any) -> TimerMessage:
    """Empty → the default daily report; else a JSON object (string or already decoded)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return TimerMessage()
    data = raw
    try:
        data = jsonlimits.loads(raw) if isinstance(raw, str) else jsonlimits.check_value(raw)
    except jsonlimits.JsonTooDeep as exc:
        raise EventError(f"Message: {exc}") from None
    except ValueError:
        raise EventError("Message: not valid JSON (expected an object like "
                         '{"job": "report", "window": "yesterday"})') from None
    if not isinstance(data, dict):
        raise EventError("Message: expected a JSON object")
    try:
        return TimerMessage.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _field_path(first.get("loc", ()))
        reason = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        if first.get("type") == "extra_forbidden":
            reason = "unknown field (known: job, window, app_ids, granularity)"
        raise EventError(f"Message.{where}: {reason}") from None


def http_response(status: int, payload: Any, headers: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    all_headers = {"Content-Type": JSON_CONTENT_TYPE}
    if headers:
        all_headers.update(headers)
    return {
        "isBase64Encoded": False,
        "statusCode": status,
        "headers": all_headers,
        "body": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
    }

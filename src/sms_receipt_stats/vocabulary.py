"""The documents' fixed words: their literal types, the counters' names, and the set of them all.

No pydantic here: the handler loads this at cold start (every answer is redacted with
`VOCABULARY` kept intact) while the document models load only on the paths that build one.
"""

from __future__ import annotations

from typing import FrozenSet, Literal, get_args

from sms_receipt_stats import SCHEMA

Severity = Literal["info", "warning", "critical"]
Category = Literal["input", "auth", "permission", "billing", "rate_limit", "transient", "clock", "upstream"]
Rule = Literal["success_rate_below", "receipt_rate_below", "success_rate_drop", "api_error", "config_error",
               "state_unavailable"]
Kind = Literal["report", "check", "lookup", "doctor", "error"]
Trigger = Literal["timer", "apigw", "cli", "unknown"]

#: the counters of CallbackStatusStatistics, in the API's order
STAT_FIELDS = (
    "RequestSuccessCount",
    "CallbackCount",
    "CallbackSuccessCount",
    "CallbackFailCount",
    "InternalErrorCount",
    "InvalidNumberCount",
    "ShutdownErrorCount",
    "BlackListCount",
    "FrequencyLimitCount",
)

#: the documents' own words: kept as they are when a document is redacted (a secret that starts
#: like `success_rate_below` must not turn a rule into `***`, which no consumer could read)
VOCABULARY: FrozenSet[str] = frozenset({SCHEMA, *STAT_FIELDS, *(w for t in (Severity, Category, Rule, Kind, Trigger)
                                                                  for w in get_args(t))})

"""The documents' fixed words: their literal types, the counters' names, and the set of them all.

No pydantic here: the handler loads this at cold start (every answer is redacted with
`VOCABULARY` kept intact) while the document models load only on the paths that build one.
"""

from __future__ import annotations

import os
from typing import FrozenSet, Literal, Optional, Sequence, Tuple, get_args

from sms_receipt_stats import SCHEMA

Severity = Literal["info", "warning", "critical"]
Category = Literal["input", "auth", "permission", "billing", "rate_limit", "transient", "clock", "upstream"]
#: a rule's name: one module of `rules/` each, named after it
Rule = str


def rule_names(paths: Optional[Sequence[str]] = None) -> Tuple[str, ...]:
    """The rules' names without importing them (a listing of `rules/`): cheap enough for every
    answer's redaction to keep them intact."""
    import pkgutil

    where = list(paths) if paths is not None else [os.path.join(os.path.dirname(__file__), "rules")]
    return tuple(sorted(m.name for m in pkgutil.iter_modules(where) if not m.name.startswith("_")))
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
VOCABULARY: FrozenSet[str] = frozenset({SCHEMA, *STAT_FIELDS, *rule_names(),
                                        *(w for t in (Severity, Category, Kind, Trigger) for w in get_args(t))})

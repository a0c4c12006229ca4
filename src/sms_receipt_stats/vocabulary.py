"""The product's fixed words, each written once: severities (and their order), languages,
granularities, job names, the documents' literal types, the counters' names, and the set of them all.

Every other module takes these from here (the configuration's checks, the renderers, the
NOTIFY_URLS parser, the API's and the timer's checks). No pydantic here: the handler loads this at
cold start (every answer is redacted with `VOCABULARY` kept intact) while the document models load
only on the paths that build one.
"""

from __future__ import annotations

import os
from typing import Dict, FrozenSet, Literal, Optional, Sequence, Tuple, get_args

from sms_receipt_stats import SCHEMA
from sms_receipt_stats.variables import Variable, VariableError

Severity = Literal["info", "warning", "critical"]
#: the severities, lowest first
SEVERITIES: Tuple[str, ...] = get_args(Severity)
#: a severity's rank (higher is worse), for ordering and `min_severity` floors
SEVERITY_RANK: Dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}

Category = Literal["input", "auth", "permission", "billing", "rate_limit", "transient", "clock", "upstream"]
CATEGORIES: Tuple[str, ...] = get_args(Category)

#: the languages of messages, pages and alerts (REPORT_LANG); the first is the default
Lang = Literal["en", "zh"]
LANGS: Tuple[str, ...] = get_args(Lang)
DEFAULT_LANG = LANGS[0]

#: how a window is split into series points (`granularity` of a lookup or a timer Message)
Granularity = Literal["total", "day", "hour"]
GRANULARITIES: Tuple[str, ...] = get_args(Granularity)

#: the jobs a timer Message may name
TIMER_JOBS: Tuple[str, ...] = ("report", "check", "doctor")
#: the timer jobs an alert rule may be judged by
RULE_JOBS: Tuple[str, ...] = ("check", "report")
#: not a timer job: the judgment the receipts callback makes after it stores a batch (at most once
#: a minute per app; `receipts/alerting.py`), for the rules judged in minutes
RECEIPT_JOB = "receipts"
#: every job a rule may name in `RuleSpec.jobs`
JUDGING_JOBS: Tuple[str, ...] = (*RULE_JOBS, RECEIPT_JOB)


def one_of(words: Sequence[str]) -> str:
    """`'report', 'check' or 'doctor'`: the accepted words, for messages."""
    quoted = [f"'{w}'" for w in words]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


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


def _lang(raw: str, variable: Variable, notes: list) -> str:
    lang = raw.lower()
    if lang not in LANGS:  # never quoted: a secret pasted here must not reach a chat
        raise VariableError(f"not {one_of(LANGS)}")
    return lang


VARIABLES = (
    Variable("REPORT_LANG", "lang", "text", DEFAULT_LANG, "language of chat messages and hints", parse=_lang),
)

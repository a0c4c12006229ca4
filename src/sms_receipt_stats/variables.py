"""Environment variables, declared where they are read (CONTRIBUTING.md, *Adding an environment variable*).

A module that reads a variable declares it: `VARIABLES = (Variable("SETTLE_HOURS", "settle_hours",
"hours", 72, "...", low=1, high=8784),)` (rule modules declare theirs in their `RuleSpec`). The
declaration says how the value parses (its `kind`), its default, its bounds and whether it is a
secret; `config.load_settings` walks every declaration, so a new variable is a line in the module
that reads it and no edit of `config`.

Every kind is bounded: a duration of days, not millennia; a count below a billion; text of a few
kilobytes. A refused value is a `VariableError` whose message quotes it only when it reads as a
number (`shown`): anything else may be a secret pasted into the wrong variable.

`DECLARING` names the modules walked. Each one loads with the configuration on every event (a
`/health` probe included), so it must be cheap to import: the standard library, pydantic, nothing
of the query layer, the SDK, the state back ends or the renderer. Standard library only here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from sms_receipt_stats.discovery import Lazy

#: the modules whose `VARIABLES` the configuration reads (rule modules: `rules.registry().variables`)
DECLARING: Tuple[str, ...] = (
    "sms_receipt_stats.config",
    "sms_receipt_stats.endpoint",
    "sms_receipt_stats.windows",
    "sms_receipt_stats.vocabulary",
    "sms_receipt_stats.notify.urls",
    "sms_receipt_stats.http",
    "sms_receipt_stats.links",
    "sms_receipt_stats.state",
    "sms_receipt_stats.grouping",
)

#: longest value read at all: a longer one is refused before any parsing (a pasted file, a runaway template)
MAX_CHARS = 65536
#: longest value a number kind reads (a 5,000-digit string must not reach int())
MAX_NUMBER_CHARS = 32

_NUMBER_LIKE = re.compile(r"^[-+]?[0-9.][0-9.eE+-]{0,23}$")
_DURATION = re.compile(r"^([0-9]{1,6})([smhd])$")
_DURATION_LIKE = re.compile(r"^[-+]?[0-9]{1,12}[a-z]?$", re.IGNORECASE)
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def number_like(raw: str) -> bool:
    return bool(_NUMBER_LIKE.match(raw))


def shown(raw: str) -> str:
    """`raw` quoted when it is number-like (safe to echo), else "the value"."""
    return repr(raw) if number_like(raw) else "the value"


class VariableError(ValueError):
    """A value refused: the message says what was expected, quoting only number-like values."""


#: a kind's parser or a declaration's own: (stripped raw value, the declaration, notes) → value.
#: A note is a problem that leaves the rest of the value usable (one bad app id of three).
Parser = Callable[[str, "Variable", List[str]], Any]


@dataclass(frozen=True)
class Variable:
    """One environment variable: how it parses, its default and bounds, whether it is a secret."""

    env: str
    #: the `Settings` (or, for a rule, `Thresholds`) field it fills; None when `config` combines it
    #: with others (credentials, region)
    field: Optional[str]
    #: how it parses (`KINDS`): "duration" (90s, 30m, 2h, 1d), "hours", "count", "fraction",
    #: "confidence", "number", "url", "secret", "text"; or the declaration's own `parse`
    kind: str
    default: Any = None
    meaning: str = ""
    #: bounds, in the kind's unit (seconds for a duration, characters for text and secrets);
    #: None: the kind's own (`KINDS`)
    low: Optional[float] = None
    high: Optional[float] = None
    #: never quoted, never logged, masked in every output (`Settings.secret_values`)
    secret: bool = False
    #: what the function does instead when the value is refused; default "using <default>"
    fallback: Optional[str] = None
    #: what every refusal says is expected ("a whole number of hours between 1 and 8784")
    expected: Optional[str] = None
    #: a parser of its own, for a value no kind describes (an endpoint, a list of sinks)
    parse: Optional[Parser] = None

    def bounds(self) -> Tuple[float, float]:
        low, high = KIND_BOUNDS.get(self.kind, (-math.inf, math.inf))
        return (low if self.low is None else self.low, high if self.high is None else self.high)

    def fallback_text(self) -> str:
        return self.fallback if self.fallback is not None else f"using {describe(self.kind, self.default)}"


def describe(kind: str, value: Any) -> str:
    """A default as a person writes it: 4h for a duration, 0.9 for a fraction."""
    if kind == "duration" and isinstance(value, (int, float)):
        return duration_text(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def duration_text(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_duration(value: str) -> float:
    """`90s`, `30m`, `4h`, `1d` as seconds; ValueError otherwise (no bound: see the "duration" kind)."""
    match = _DURATION.match(value.strip().lower())
    if not match or int(match.group(1)) <= 0:
        raise ValueError("expected a positive whole number and a unit, like 90s, 30m, 4h or 1d")
    return float(int(match.group(1)) * DURATION_UNITS[match.group(2)])


def _range(low: float, high: float, kind: str) -> str:
    if kind == "duration":
        return f"{duration_text(low)}..{duration_text(high)}"
    return f"{low:g}..{high:g}"


def _duration(raw: str, variable: Variable, notes: List[str]) -> float:
    low, high = variable.bounds()
    quoted = repr(raw) if _DURATION_LIKE.match(raw) else shown(raw)  # 999999d is no secret either
    try:
        seconds = parse_duration(raw)
    except ValueError:
        raise VariableError(f"{quoted} is not {variable.expected or 'a duration like 90s, 30m, 4h or 1d'}") from None
    if not low <= seconds <= high:
        raise VariableError(f"{quoted} is not {variable.expected}" if variable.expected
                            else f"{quoted} is outside {_range(low, high, 'duration')}")
    return seconds


def _number(whole: bool) -> Parser:
    def parse(raw: str, variable: Variable, notes: List[str]) -> Any:
        low, high = variable.bounds()
        expected = variable.expected or (f"a whole number from {low:g} to {high:g}" if whole
                                         else f"a number between {low:g} and {high:g}")
        value: Any = None
        if raw.isascii() and len(raw) <= MAX_NUMBER_CHARS:  # float() reads ١٢ and ＋１ too
            try:
                value = int(raw) if whole and raw.isdigit() else float(raw)
            except ValueError:
                value = None
        if value is None or (whole and not isinstance(value, int)) or not math.isfinite(value):
            raise VariableError(f"{shown(raw)} is not {expected}")
        if not low <= value <= high:
            raise VariableError(f"{shown(raw)} is not {expected}" if variable.expected
                                else f"{shown(raw)} is outside {low:g}..{high:g}")
        return value
    return parse


def _text(raw: str, variable: Variable, notes: List[str]) -> str:
    low, high = variable.bounds()
    if len(raw) < low:
        raise VariableError(f"shorter than {low:g} characters")
    if len(raw) > high:
        raise VariableError(f"longer than {high:g} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        raise VariableError("contains a control character")
    return raw


_URL_CHARS = re.compile(r"^[A-Za-z0-9._~%/:@!$&'*+,;=?#\[\]-]+$")


def _url(raw: str, variable: Variable, notes: List[str]) -> str:
    """An http(s) URL with a host; the message never quotes it (a URL may carry a token)."""
    from urllib.parse import urlsplit

    _text(raw, variable, notes)
    expected = "an http(s) URL such as https://hc-ping.com/<uuid>"
    if not _URL_CHARS.match(raw):
        raise VariableError(f"is not {expected} (no spaces, quotes or brackets)")
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise VariableError(f"is not {expected}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise VariableError(f"is not {expected}")
    return raw


#: each kind's parser and bounds
KINDS: Dict[str, Parser] = {
    "duration": _duration,
    "hours": _number(whole=True),
    "count": _number(whole=True),
    "fraction": _number(whole=False),
    "confidence": _number(whole=False),
    "number": _number(whole=False),
    "text": _text,
    "secret": _text,
    "url": _url,
}
KIND_BOUNDS: Dict[str, Tuple[float, float]] = {
    "duration": (1.0, 30 * 86400.0),
    "hours": (1, 48),
    "count": (0, 10**9),
    "fraction": (0.0, 1.0),
    "confidence": (0.5, 0.9999),
    "number": (-1e9, 1e9),
    "text": (1, 4096),
    "secret": (1, 4096),
    "url": (1, 2048),
}


def read(variable: Variable, raw: str, notes: List[str]) -> Any:
    """The value of `raw` (stripped, not empty) for `variable`; VariableError when refused.
    Anything else a parser raises is a refusal too: no value makes configuration raise."""
    if len(raw) > MAX_CHARS:
        raise VariableError(f"is longer than {MAX_CHARS} characters")
    parse = variable.parse or KINDS.get(variable.kind)
    if parse is None:
        raise VariableError(f"has an unknown kind {variable.kind!r} (a bug of its declaration)")
    try:
        return parse(raw, variable, notes)
    except VariableError:
        raise
    except Exception as exc:  # a parser's bug must not silence the rest of the configuration
        message = str(exc) if isinstance(exc, ValueError) and not variable.secret and number_like(raw) else ""
        raise VariableError(message or f"could not be read ({type(exc).__name__})") from None


@dataclass(frozen=True)
class Registry:
    variables: Tuple[Variable, ...]
    by_env: Dict[str, Variable]


def discover(modules: Optional[Sequence[str]] = None) -> Registry:
    """Every `VARIABLES` of the declaring modules; a name declared twice is a bug that fails loudly."""
    from importlib import import_module

    found: Dict[str, Variable] = {}
    for name in DECLARING if modules is None else modules:
        for variable in getattr(import_module(name), "VARIABLES", ()):
            if not isinstance(variable, Variable):
                raise RuntimeError(f"module {name}: VARIABLES holds {type(variable).__name__}, not Variable")
            if found.setdefault(variable.env, variable) is not variable:
                raise RuntimeError(f"variable {variable.env} is declared twice (module {name})")
    return Registry(tuple(found.values()), found)


_registry: Lazy[Registry] = Lazy(lambda: discover())


def registry() -> Registry:
    """The declarations of `DECLARING`, read on first use (never when `handler` is imported)."""
    return _registry.get()


def reset() -> None:
    """Forget the registry, so the next `registry()` reads `DECLARING` again (tests)."""
    _registry.reset()

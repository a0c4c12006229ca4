"""Receipt statistics and the rates derived from them (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, List, Optional

from pydantic import BaseModel, ConfigDict, Field

from sms_receipt_stats.vocabulary import STAT_FIELDS

#: failure breakdown shown next to CallbackFailCount, in display order
FAILURE_FIELDS = STAT_FIELDS[4:]


class Stats(BaseModel):
    """The nine counters of CallbackStatusStatistics, under the API's own names."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    RequestSuccessCount: int = Field(0, ge=0)
    CallbackCount: int = Field(0, ge=0)
    CallbackSuccessCount: int = Field(0, ge=0)
    CallbackFailCount: int = Field(0, ge=0)
    InternalErrorCount: int = Field(0, ge=0)
    InvalidNumberCount: int = Field(0, ge=0)
    ShutdownErrorCount: int = Field(0, ge=0)
    BlackListCount: int = Field(0, ge=0)
    FrequencyLimitCount: int = Field(0, ge=0)

    def __add__(self, other: Stats) -> Stats:
        return Stats(**{f: getattr(self, f) + getattr(other, f) for f in STAT_FIELDS})


class CounterError(ValueError):
    """Counters that cannot be right; the message names the fields (never quotes a value)."""


def counter_problems(stats: Stats) -> List[str]:
    """Why these counters cannot describe real traffic (empty when they can).

    Receipts come only for submitted messages and are either successes or failures, so
    CallbackCount <= RequestSuccessCount and CallbackSuccessCount + CallbackFailCount <=
    CallbackCount. A breach would turn into a rate above 1 that reads as healthy.
    """
    problems: List[str] = []
    if stats.CallbackCount > stats.RequestSuccessCount:
        problems.append(f"CallbackCount ({stats.CallbackCount}) exceeds RequestSuccessCount "
                        f"({stats.RequestSuccessCount})")
    if stats.CallbackSuccessCount > stats.CallbackCount:
        problems.append(f"CallbackSuccessCount ({stats.CallbackSuccessCount}) exceeds CallbackCount "
                        f"({stats.CallbackCount})")
    elif stats.CallbackSuccessCount + stats.CallbackFailCount > stats.CallbackCount:
        problems.append(f"CallbackSuccessCount + CallbackFailCount "
                        f"({stats.CallbackSuccessCount + stats.CallbackFailCount}) exceed CallbackCount "
                        f"({stats.CallbackCount})")
    return problems


def parse_counters(raw: Mapping[str, Any]) -> Stats:
    """The nine counters as the API answered them, checked: present, non-negative integers, and
    consistent (`counter_problems`). Raises CounterError naming every problem; a float is not
    truncated, a missing counter is not zero, a string is not converted."""
    problems: List[str] = []
    values = {}
    for name in STAT_FIELDS:
        value = raw.get(name)
        if value is None:
            problems.append(f"{name} is missing")
        elif isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{name} is not an integer ({type(value).__name__})")
        elif value < 0:
            problems.append(f"{name} is negative")
        else:
            values[name] = value
    if not problems:
        stats = Stats(**values)
        problems = counter_problems(stats)
        if not problems:
            return stats
    raise CounterError("; ".join(problems))


class Rates(BaseModel):
    """Ratios rounded to 4 places; None when the denominator is 0."""

    model_config = ConfigDict(frozen=True)

    receipt_rate: Optional[float] = None
    success_rate: Optional[float] = None
    delivery_rate: Optional[float] = None


def sum_stats(parts: Iterable[Stats]) -> Stats:
    total = Stats()
    for part in parts:
        total = total + part
    return total


def _ratio(numerator: int, denominator: int) -> Optional[float]:
    if denominator <= 0:
        return None
    return round(numerator / denominator, 4)


def compute_rates(stats: Stats) -> Rates:
    return Rates(
        receipt_rate=_ratio(stats.CallbackCount, stats.RequestSuccessCount),
        success_rate=_ratio(stats.CallbackSuccessCount, stats.CallbackCount),
        delivery_rate=_ratio(stats.CallbackSuccessCount, stats.RequestSuccessCount),
    )

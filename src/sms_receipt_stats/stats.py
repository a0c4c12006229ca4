"""Receipt statistics and the rates derived from them (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field

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

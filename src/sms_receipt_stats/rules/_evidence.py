"""How much the data say: confidence bounds and the pooling of consecutive hours (pure).

An alert must rest on evidence (docs/alerts.md, *How a rule decides*): a rate fires when even
the optimistic end of its confidence interval is below the threshold, and clears when the
pessimistic end is back above it. Between the two the data cannot tell, and nothing changes.
Thin hours are pooled with the hours before them until the denominator is big enough.

Bounds are one-sided. Rates use the Wilson score interval (good at small n and near 0 or 1,
unlike the normal approximation); counts use Byar's approximation of the exact Poisson bounds.
Both come from `z`, the standard normal quantile of the wanted confidence
(`statistics.NormalDist`, so no SciPy in the function package).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from sms_receipt_stats.stats import Stats, sum_stats

HOUR = 3600


def z_of(confidence: float) -> float:
    """The one-sided normal quantile: 0.99 → 2.326, 0.84 → 0.994."""
    return NormalDist().inv_cdf(confidence)


def wilson_bounds(successes: float, n: float, z: float) -> Tuple[float, float]:
    """(lower, upper) Wilson bounds of a proportion; (0, 1) when there is no data. Counts may be
    fractional: an overdispersed rate is judged on its effective sample size (`inflation`)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def poisson_upper(count: int, z: float) -> float:
    """Byar's upper bound of a Poisson mean given one observed count."""
    k = count + 1
    return k * (1 - 1 / (9 * k) + z / (3 * math.sqrt(k))) ** 3


def poisson_lower(count: int, z: float) -> float:
    """Byar's lower bound of a Poisson mean given one observed count (0 for a count of 0)."""
    if count <= 0:
        return 0.0
    return max(0.0, count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3)


@dataclass(frozen=True)
class Seen:
    """One Beijing hour of one app as a run saw it: its counters and how long after its end."""

    stats: Stats
    #: seconds between the hour's end and the moment these counters were read
    lag: float


#: an app's hours as last seen, by hour index (UTC epoch seconds // 3600, a whole Beijing hour)
Hours = Mapping[int, Seen]


@dataclass(frozen=True)
class Pool:
    """Consecutive hours summed: the evidence one verdict rests on."""

    stats: Stats
    hours: int  # how many hours were pooled (0: none available)
    newest: Optional[int] = None  # index of the newest hour pooled


def pool_back(hours: Hours, newest: int, size: Callable[[Stats], int], min_size: int, max_hours: int,
              usable: Callable[[Seen], bool] = lambda seen: True) -> Pool:
    """Sum hours from `newest` backwards until `size` reaches `min_size` or `max_hours` are taken.

    A missing or unusable hour ends the pool (evidence comes from consecutive hours only). The
    newest hour itself must be there: a pool never rests on old hours alone.
    """
    parts: List[Stats] = []
    for index in range(newest, newest - max_hours, -1):
        seen = hours.get(index)
        if seen is None or not usable(seen):
            break
        parts.append(seen.stats)
        if size(sum_stats(parts)) >= min_size:
            break
    return Pool(sum_stats(parts), len(parts), newest if parts else None)


def same_hour_history(hours: Hours, newest: int, days: int) -> List[int]:
    """Submitted counts of the same Beijing hour on each of the `days` days before (those seen)."""
    found = (hours.get(newest - 24 * day) for day in range(1, days + 1))
    return [seen.stats.RequestSuccessCount for seen in found if seen is not None]


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def merge(old: Mapping[int, Seen], new: Iterable[Tuple[int, Seen]]) -> Dict[int, Seen]:
    """The later reading of an hour wins (receipts only grow as they arrive)."""
    merged = dict(old)
    for index, seen in new:
        kept = merged.get(index)
        if kept is None or seen.lag >= kept.lag:
            merged[index] = seen
    return merged


# -- the app's own noise ----------------------------------------------------------------------------

#: hours of history a dispersion estimate needs (two days), else the binomial model (factor 1)
DISPERSION_MIN_HOURS = 48
#: hours fewer than this many trials say little about the spread: left out of the estimate
DISPERSION_MIN_TRIALS = 20
#: share of the most deviant hours left out (past incidents must not pass for everyday noise)
DISPERSION_TRIM = 0.1
#: the mean of a chi-square(1) below its 90 % quantile (2.706): P(chi2(3) < 2.706) / 0.9, what a
#: binomial app's trimmed mean of squared residuals comes to, so the estimate is 1 for it
_TRIMMED_MEAN = (math.erf(math.sqrt(2.706 / 2)) - math.sqrt(2 * 2.706 / math.pi) * math.exp(-2.706 / 2)) / 0.9


def dispersion(hours: Hours, hits: Callable[[Stats], int], size: Callable[[Stats], int], before: int,
               usable: Callable[[Seen], bool] = lambda seen: True) -> float:
    """The app's quasi-binomial dispersion factor of a rate, from its own hours older than
    `before`: how many times the variance of its hourly rate exceeds a binomial's (day-to-day
    wobble, carriers' moods), at least 1.

    The mean squared Pearson residual of its hours around their typical (median) rate, after
    leaving out the most deviant tenth (an outage last Tuesday is not noise) and scaled so a
    binomial app comes to 1; 1 with fewer than DISPERSION_MIN_HOURS hours of history.
    """
    kept = [(hits(seen.stats), size(seen.stats)) for index, seen in hours.items()
            if index < before and usable(seen) and size(seen.stats) >= DISPERSION_MIN_TRIALS]
    if len(kept) < DISPERSION_MIN_HOURS:
        return 1.0
    p = median([k / n for k, n in kept])
    pq = p * (1 - p)
    if pq <= 0:
        return 1.0
    residuals = sorted((k - n * p) ** 2 / (n * pq) for k, n in kept)
    residuals = residuals[:len(residuals) - math.ceil(len(residuals) * DISPERSION_TRIM)]
    return max(1.0, sum(residuals) / len(residuals) / _TRIMMED_MEAN)


def inflation(phi: float, most: float) -> float:
    """The dispersion factor a verdict uses: between 1 and `most` (ALERT_DISPERSION_MAX)."""
    return min(max(1.0, most), max(1.0, phi))


def same_hour_rates(hours: Hours, newest: int, span: int, days: int, hits: Callable[[Stats], int],
                    size: Callable[[Stats], int]) -> List[float]:
    """The rate of the same `span` Beijing hours ending at `newest` on each of the `days` days
    before (the days on which all of them were seen and had trials)."""
    rates = []
    for day in range(1, days + 1):
        found = [hours.get(newest - 24 * day - k) for k in range(span)]
        if any(seen is None for seen in found):
            continue
        total = sum_stats([seen.stats for seen in found if seen is not None])
        if size(total) > 0:
            rates.append(hits(total) / size(total))
    return rates

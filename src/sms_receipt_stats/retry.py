"""The one retry helper of the API queries and the sinks: how long to wait, and whether it fits.

Both retry loops (`query.Querier.run_one`, `notify.delivery`) ask the same two questions after a
failed attempt: how long to wait (`RetryPolicy.delay`: an exponential ceiling, jittered, capped,
a server's Retry-After honoured up to a bound) and whether that wait plus one more request
still ends before the deadline (`Deadline.allows`). Deadlines are values of a monotonic clock
(`time.monotonic` unless injected): a wall clock can jump, and the invocation's limit is a
duration. Clock, sleep and randomness are injected so that tests need no real time.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

Clock = Callable[[], float]
Sleep = Callable[[float], None]
#: a source of uniform numbers in [0, 1), like `random.random`
Unit = Callable[[], float]


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, and the wait after failed attempt n (1-based).

    The wait is `ceiling * u`, with `ceiling = min(max_delay, base_delay * 2**(n-1))` and `u`
    uniform in `jitter` (so retries of many callers spread out instead of arriving together),
    then capped at `max_delay`; a Retry-After the other side sent is waited for, up to
    `retry_after_max`.
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: Tuple[float, float] = (0.5, 1.0)
    retry_after_max: float = 5.0

    def delay(self, attempt: int, rng: Unit = random.random, retry_after: Optional[float] = None) -> float:
        """Seconds to wait after failed attempt `attempt` (counted from 1)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        low, high = self.jitter
        wait = min(self.max_delay, ceiling * (low + (high - low) * rng()))
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.retry_after_max))
        return wait

    def exhausted(self, attempts: int) -> bool:
        """True once `attempts` attempts have been made: no more retries."""
        return attempts >= max(1, self.max_attempts)


@dataclass(frozen=True)
class Deadline:
    """A point on a monotonic clock by which the work must end (`at=None`: no deadline)."""

    at: Optional[float] = None
    clock: Clock = time.monotonic

    def left(self) -> float:
        """Seconds until the deadline (infinite without one; negative once passed)."""
        return float("inf") if self.at is None else self.at - self.clock()

    def allows(self, seconds: float) -> bool:
        """Whether `seconds` more (a wait plus the request after it) end before the deadline."""
        return seconds < self.left()

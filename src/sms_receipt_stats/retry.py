"""The one retry helper of the API queries and the sinks: how long to wait, and whether it fits.

Both retry loops (`query.Querier.run_one`, `notify.delivery`) ask the same two questions after a
failed attempt: how long to wait (`RetryPolicy.delay`: an exponential ceiling, jittered, capped,
a server's Retry-After honoured up to a bound) and whether that wait plus one more request
still ends before the deadline (`Deadline.allows`). `call_within` bounds one call itself: its
wall time, whatever the other side does (an answer that drips, a handshake that stalls).
Deadlines are values of a monotonic clock (`time.monotonic` unless injected): a wall clock
can jump, and the invocation's limit is a duration. Clock, sleep and randomness are injected
so that tests need no real time.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple, TypeVar

Clock = Callable[[], float]
Sleep = Callable[[float], None]
#: a source of uniform numbers in [0, 1), like `random.random`
Unit = Callable[[], float]
T = TypeVar("T")


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


class Overrun(Exception):
    """A call did not end within its time: its worker was abandoned (see `call_within`)."""


def call_within(fn: Callable[[], T], seconds: float, name: str = "bounded-call") -> T:
    """`fn()` in a worker thread of its own: its result (or its exception) if it ends within
    `seconds`, else `Overrun`, and the worker is abandoned, never waited for.

    A timeout on each socket read does not bound a call: an answer that drips one byte at a
    time resets it with every byte, and a TLS handshake or DNS lookup has timeouts of its own.
    Only the caller's wall clock does. The worker is a daemon thread, so an abandoned one never
    holds up the interpreter's exit; whoever owns its connection should close it
    (`sdk.BoundedTransport.abort`) so that the worker ends too.
    """
    import threading

    outcome: List[Any] = []
    done = threading.Event()

    def work() -> None:
        try:
            outcome.append((True, fn()))
        except BaseException as exc:  # handed to the caller as it is
            outcome.append((False, exc))
        finally:
            done.set()

    worker = threading.Thread(target=work, name=name, daemon=True)
    worker.start()
    if not done.wait(max(0.0, seconds)):
        raise Overrun(f"no answer within {seconds:.1f} s")
    ok, value = outcome[0]
    if ok:
        return value  # type: ignore[no-any-return]
    raise value

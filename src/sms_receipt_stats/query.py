"""The query layer: the only place that calls CallbackStatusStatistics.

One API call per (app, API window). Calls fan out over a thread pool and pass through a
client-side rate limiter so that many queries finish near `SMS_API_RPS`, never above it.
Retryable codes (rate limit, transient) are retried with exponential backoff and jitter,
within the invocation's deadline; everything else fails fast with the catalogue's verdict.
Each call is bounded as a whole, not per socket read (`SdkStatsFetcher`), and the fan-out
never waits past the deadline for a worker: an endpoint that drips its answer costs the
deadline at most, never the invocation (docs/troubleshooting.md, *An endpoint that answers too slowly*).
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Deque, Generic, List, Optional, Protocol, Sequence, Tuple, TypeVar

from sms_receipt_stats.config import Settings
from sms_receipt_stats.retry import Clock, Deadline, Overrun, RetryPolicy, Sleep, call_within
from sms_receipt_stats.sdk import (
    TOO_SLOW,
    UPSTREAM_DATA_INVALID,
    BoundedTransport,
    CloudError,
    build_credential,
    build_profile,
    to_cloud_error,
    too_slow,
)
from sms_receipt_stats.stats import STAT_FIELDS, CounterError, Stats, counter_problems, parse_counters

T = TypeVar("T")
R = TypeVar("R")


class StatsFetcher(Protocol):
    """Fetches one API range of one app: (stats, request id) or raises CloudError.

    `begin_time`/`end_time` are the API's BeginTime/EndTime (Beijing `yyyymmddhh`; EndTime's
    hour is counted, see `windows.HourRange`). `timeout` (seconds) is what the invocation has
    left: no request may outlive it. A fetcher may also offer
    `cached(app_id, begin_time, end_time) -> (stats, request id) | None`: answers it has without
    a request (the settled cache), which the querier takes before rate limiting.
    """

    def fetch(self, app_id: str, begin_time: str, end_time: str,
              timeout: Optional[float] = None) -> Tuple[Stats, Optional[str]]: ...


#: the longest one API call may take, connection and TLS handshake included, when the time left
#: does not cut it shorter (the SDK's own timeout bounds each socket read only)
CALL_LIMIT = 10.0
#: each socket read may wait this much longer than the whole call's bound (see `fetch`)
READ_TIMEOUT_SLACK = 0.5


class SdkStatsFetcher:
    """CallbackStatusStatistics through tencentcloud-sdk-python-sms.

    Each call runs in a worker thread of its own (`retry.call_within`) and is bounded as a whole
    by the time left (`timeout`) and CALL_LIMIT: an endpoint that drips its answer, stalls after
    the headers or never completes a TLS handshake costs that bound, not the invocation. A call
    cut there is abandoned and its client's connections shut (`sdk.BoundedTransport`); clients
    are reused between calls (keep-alive) but never by two calls at once.
    """

    def __init__(self, settings: Settings, timeout: float = CALL_LIMIT):
        self._settings = settings
        self._timeout = timeout
        self._idle: List[Tuple[object, BoundedTransport]] = []
        self._lock = threading.Lock()
        self._credential = build_credential(settings)  # fail early, before any thread starts

    def _checkout(self) -> Tuple[Any, BoundedTransport]:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        from tencentcloud.sms.v20210111.sms_client import SmsClient

        profile = build_profile(self._settings.endpoint, self._timeout)
        client = SmsClient(self._credential, self._settings.region, profile)
        transport = BoundedTransport()
        transport.install(client)
        return client, transport

    def _checkin(self, client: Any, transport: BoundedTransport) -> None:
        with self._lock:
            self._idle.append((client, transport))

    def _scrubbed(self, error: CloudError) -> CloudError:
        """The upstream message is someone else's text: no part of a configured secret survives it."""
        from dataclasses import replace

        from sms_receipt_stats.redaction import scrub

        return replace(error, message=scrub(error.message, self._settings.secret_values()))

    def invoke(self, action: str, request: Any, timeout: Optional[float] = None) -> Any:
        """One SMS API call (`SmsClient.<action>(request)`), bounded as a whole: its response model,
        or CloudError. Every action of the SMS client goes through here (`account.py` too)."""
        bound = self._timeout if timeout is None else max(0.0, min(self._timeout, timeout))
        cause = "call limit" if timeout is None or timeout >= self._timeout else "deadline"
        client, transport = self._checkout()
        conn = getattr(getattr(client, "request", None), "conn", None)
        if conn is not None and hasattr(conn, "timeout"):
            # each read, too (the SDK reads reqTimeout only when a client is built), a little past
            # the bound: the whole call's bound always ends it first, with one error for every phase
            conn.timeout = bound + READ_TIMEOUT_SLACK
        method = getattr(client, action)
        try:
            response = call_within(lambda: method(request), bound, "sms-call")
        except Overrun:
            connecting = transport.abort()  # the abandoned worker's reads end now; its client is dropped
            raise too_slow(bound, cause, connecting) from None
        except Exception as exc:  # the SDK raises TencentCloudSDKException for everything
            self._checkin(client, transport)
            raise self._scrubbed(to_cloud_error(exc)) from None
        self._checkin(client, transport)
        return response

    def fetch(self, app_id: str, begin_time: str, end_time: str,
              timeout: Optional[float] = None) -> Tuple[Stats, Optional[str]]:
        from tencentcloud.sms.v20210111 import models

        request = models.CallbackStatusStatisticsRequest()
        request.BeginTime = begin_time
        request.EndTime = end_time
        request.SmsSdkAppId = app_id
        request.Limit = 0
        request.Offset = 0
        response = self.invoke("CallbackStatusStatistics", request, timeout)
        raw = response.CallbackStatusStatistics
        if raw is None:  # an answer the SDK did not recognise as an error must not read as zero traffic
            raise CloudError(UPSTREAM_DATA_INVALID, "the answer has no CallbackStatusStatistics", response.RequestId)
        try:  # as answered: a float is not truncated, a missing counter is not zero
            stats = parse_counters({f: getattr(raw, f, None) for f in STAT_FIELDS})
        except CounterError as exc:
            raise CloudError(UPSTREAM_DATA_INVALID, str(exc), response.RequestId) from None
        return stats, response.RequestId


class RateLimiter:
    """At most `rps` request starts in any sliding second, counted on the starts that happened.

    Each start waits until one interval after the previous *actual* start, checked again
    after every sleep. A thread that wakes late (a loaded machine) therefore delays only
    itself: planning slots ahead instead lets the next ones crowd into the same second behind
    a late one, which the API answers with RequestLimitExceeded. The margin covers jitter in
    transit; `slow_down` widens the interval after the API refused a call anyway, and
    `speed_up` narrows it back, one success at a time.

    On a loaded machine a thread can also be descheduled between its start and the moment its
    request leaves, and what counts is when requests reach the API. The limiter sees that load
    in its own sleeps, which then wake late: over the last JITTER_WINDOW seconds, the latest
    wake-up widens the spacing by as much (when it exceeds the margin), so that a request sent
    that late still cannot crowd ten others into one second.
    """

    #: the widest slowdown after repeated refusals, as a multiple of the interval
    MAX_SLOWDOWN = 4.0
    #: how long a late wake-up keeps widening the spacing, and the most it may add (per second)
    JITTER_WINDOW = 10.0
    MAX_JITTER = 0.5

    def __init__(self, rps: float, clock: Clock = time.monotonic, sleep: Sleep = time.sleep, margin: float = 0.05):
        self.base = 1.0 / rps
        self.margin = margin
        self.slowdown = 1.0
        self._late: Deque[Tuple[float, float]] = deque()  # (when, how late) of recent wake-ups
        self._clock = clock
        self._sleep = sleep
        self._last: Optional[float] = None
        self._slowed_at: Optional[float] = None
        self._lock = threading.Lock()

    def acquire(self, not_after: Optional[float] = None) -> Optional[float]:
        """Block until this caller may start; returns its start time.

        With `not_after`, a start later than that is not waited for (None): a caller must
        not sleep past its deadline.
        """
        planned: Optional[float] = None
        while True:
            with self._lock:
                now = self._clock()
                if planned is not None and now - planned > 0.0:
                    self._note_late(now, now - planned)
                ready = now if self._last is None else max(now, self._last + self._spacing(now))
                if ready <= now:
                    self._last = now
                    return now
                if not_after is not None and ready > not_after:
                    return None
            planned = ready
            self._sleep(ready - now)

    def _note_late(self, now: float, late: float) -> None:
        """Keep the latest wake-ups of the window, largest first (a sliding maximum)."""
        late = min(late, self.MAX_JITTER)
        while self._late and self._late[-1][1] <= late:
            self._late.pop()
        self._late.append((now, late))

    def _spacing(self, now: float) -> float:
        """The interval between starts: the margin, or the latest recent wake-up if larger."""
        while self._late and now - self._late[0][0] > self.JITTER_WINDOW:
            self._late.popleft()
        jitter = self._late[0][1] + 0.005 if self._late else 0.0
        return self.base * (1.0 + max(self.margin, jitter)) * self.slowdown

    def slow_down(self) -> None:
        """The API refused a call for its rate: widen the interval (x1.5, at most MAX_SLOWDOWN).

        Refusals of one burst arrive together; they count once per second, so that one crowded
        second does not slow the rest of the run down fourfold.
        """
        with self._lock:
            now = self._clock()
            if self._slowed_at is not None and now - self._slowed_at < 1.0:
                return
            self._slowed_at = now
            self.slowdown = min(self.MAX_SLOWDOWN, self.slowdown * 1.5)

    def speed_up(self) -> None:
        """A call went through: drift back towards the configured rate."""
        with self._lock:
            self.slowdown = max(1.0, self.slowdown * 0.95)


@dataclass(frozen=True)
class QueryTask:
    app_id: str
    begin_time: str  # the API's BeginTime
    end_time: str  # the API's EndTime: the last hour counted


@dataclass
class QueryOutcome:
    task: QueryTask
    stats: Optional[Stats] = None
    request_ids: List[str] = field(default_factory=list)
    error: Optional[CloudError] = None
    attempts: int = 0


@dataclass
class CallOutcome(Generic[T]):
    """What one API call of any action came to: its value, or its error."""

    value: Optional[T] = None
    request_ids: List[str] = field(default_factory=list)
    error: Optional[CloudError] = None
    attempts: int = 0


#: retries of one API call: waits of 0.5-1 s, 1-2 s, 2-4 s (half the exponential ceiling, plus jitter)
API_RETRY = RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=8.0, jitter=(0.5, 1.0))
#: what one more API call needs at least, when deciding to retry
REQUEST_ALLOWANCE = 1.0
#: no call starts with less than this left before the deadline
LAST_START_MARGIN = 0.5
#: a call cut at its bound while the endpoint was still answering (`CloudError.slow`) is retried
#: this many times at most: each try costs the whole bound, and a drip rarely heals in seconds
SLOW_RETRIES = 1
#: how long past the deadline `Querier.run` waits for its workers before abandoning them
DEADLINE_GRACE = 1.0


class Querier:
    """Runs many QueryTasks concurrently under one rate limiter and one deadline."""

    def __init__(
        self,
        fetcher: StatsFetcher,
        *,
        rps: float = 10.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        deadline: Optional[float] = None,
        retry: Optional[RetryPolicy] = None,
        workers: int = 16,
        rng: Optional[random.Random] = None,
        fail_fast: bool = False,
    ):
        self._fetcher = fetcher
        self._sleep = sleep
        self._deadline = Deadline(deadline, clock)
        self._retry = retry or API_RETRY
        self._workers = workers
        self._rng = rng or random.Random()
        self.limiter = RateLimiter(rps, clock=clock, sleep=sleep)
        #: after the first unreachable (or too slow) endpoint error, attempt no more calls (a page
        #: waiting for a person); timers keep retrying each call, a blip there costs a report
        self.fail_fast = fail_fast
        self.unreachable: Optional[CloudError] = None

    @property
    def fetcher(self) -> StatsFetcher:
        """What answers the calls (a cache-wrapped fetcher offers `cached`, used to plan a page)."""
        return self._fetcher

    def _skipped(self) -> Optional[CloudError]:
        """The error of a call not attempted because the endpoint was found unreachable or too slow."""
        first = self.unreachable
        if not self.fail_fast or first is None:
            return None
        after = "the first connection failure" if first.unreachable else "the first call that was too slow"
        return CloudError(first.code, f"{first.message} (not attempted after {after})",
                          unreachable=first.unreachable, slow=first.slow)

    def run_one(self, task: QueryTask) -> QueryOutcome:
        outcome = QueryOutcome(task)
        cached = getattr(self._fetcher, "cached", None)  # a cache hit is no request: it takes no rate slot
        hit = cached(task.app_id, task.begin_time, task.end_time) if cached is not None else None
        if hit is not None:
            outcome.stats = hit[0]
            return outcome
        done = self.call(lambda timeout: self._fetcher.fetch(task.app_id, task.begin_time, task.end_time,
                                                             timeout=timeout), check=counter_problems)
        outcome.stats, outcome.error = done.value, done.error
        outcome.request_ids, outcome.attempts = done.request_ids, done.attempts
        return outcome

    def call(self, fn: Callable[[Optional[float]], Tuple[T, Optional[str]]],
             check: Optional[Callable[[T], List[str]]] = None) -> CallOutcome[T]:
        """One API call under this querier's rate cap, retry policy and deadline; never raises.

        `fn(timeout)` makes the request (bounded by `timeout`, the time left) and answers (value,
        request id) or raises CloudError; `check(value)` names what cannot be right in an answer
        (`UpstreamDataInvalid`, not retried). Every action shares the one rate budget of the run.
        """
        outcome: CallOutcome[T] = CallOutcome()
        deadline = self._deadline
        last_start = None if deadline.at is None else deadline.at - LAST_START_MARGIN
        slow_tries = 0
        while True:
            skipped = self._skipped()
            if skipped is not None:
                outcome.error = skipped
                return outcome
            if not deadline.allows(LAST_START_MARGIN) or self.limiter.acquire(last_start) is None:
                outcome.error = outcome.error or CloudError(
                    "InternalError.Timeout", "the invocation ran out of time before this query could run"
                )
                return outcome
            skipped = self._skipped()  # found unreachable while this call waited for its slot
            if skipped is not None:
                outcome.error = skipped
                return outcome
            outcome.attempts += 1
            try:
                timeout = None if deadline.at is None else deadline.left()  # in flight, too
                value, request_id = fn(timeout)
            except CloudError as err:
                outcome.error = err
                if err.request_id:
                    outcome.request_ids.append(err.request_id)
                if err.code.startswith("RequestLimitExceeded"):
                    self.limiter.slow_down()  # retrying alone would keep hitting the same wall
            except Exception as exc:  # a fetcher bug must not lose the other apps' results
                outcome.error = to_cloud_error(exc)
            else:
                self.limiter.speed_up()
                if request_id:
                    outcome.request_ids.append(request_id)
                problems = check(value) if check is not None else []  # never a rate above 1
                if problems:
                    outcome.error = CloudError(UPSTREAM_DATA_INVALID, "; ".join(problems), request_id)
                    return outcome
                outcome.value, outcome.error = value, None
                return outcome
            if self.fail_fast and (outcome.error.unreachable or outcome.error.slow):
                self.unreachable = self.unreachable or outcome.error
                return outcome
            from sms_receipt_stats.catalogue import is_retryable  # the catalogue loads on the first failure only

            if not is_retryable(outcome.error.code) or self._retry.exhausted(outcome.attempts):
                return outcome
            if outcome.error.slow:
                slow_tries += 1
                if slow_tries > SLOW_RETRIES:
                    return outcome
            delay = self._retry.delay(outcome.attempts, self._rng.random)
            if not deadline.allows(delay + REQUEST_ALLOWANCE):
                return outcome
            self._sleep(delay)

    def run_calls(self, calls: Sequence[Callable[[], CallOutcome[Any]]]) -> List[CallOutcome[Any]]:
        """`calls` (each a `lambda: querier.call(...)`) concurrently, outcomes in order; never raises."""
        return self._fan_out(calls, lambda i: CallOutcome(error=_late()))

    def run(self, tasks: Sequence[QueryTask]) -> List[QueryOutcome]:
        """Outcomes in task order; never raises."""
        work: List[Callable[[], QueryOutcome]] = [partial(self.run_one, t) for t in tasks]
        return self._fan_out(work, lambda i: QueryOutcome(tasks[i], error=_late()))

    def _fan_out(self, work: Sequence[Callable[[], R]], late: Callable[[int], R]) -> List[R]:
        """Run `work` over the pool, results in order; one still running at the deadline is
        abandoned and answered by `late(index)`."""
        if not work:
            return []
        if len(work) == 1 or self._workers <= 1:
            return [w() for w in work]
        from concurrent.futures import ThreadPoolExecutor, wait

        pool = ThreadPoolExecutor(max_workers=min(self._workers, len(work)), thread_name_prefix="sms-query")
        abandoned = False
        try:
            futures = [pool.submit(w) for w in work]
            left = self._deadline.left()
            wait(futures, timeout=None if left == float("inf") else max(0.0, left) + DEADLINE_GRACE)
            outcomes: List[R] = []
            for index, future in enumerate(futures):
                if future.done():
                    outcomes.append(future.result())  # the work never raises
                    continue
                # a fetcher that does not bound its own calls: the run must not wait for it
                abandoned = True
                future.cancel()
                outcomes.append(late(index))
            return outcomes
        finally:
            pool.shutdown(wait=not abandoned, cancel_futures=True)


def _late() -> CloudError:
    return CloudError("ClientNetworkError", f"{TOO_SLOW}: the query was still running at the deadline", slow=True)

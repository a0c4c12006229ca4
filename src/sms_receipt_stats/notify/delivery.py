"""Deliver one result document to every sink: concurrently, retried, bounded by the deadline.

Each sink decides what it sends (`Sink.prepare`, done up front and once); then every sink
runs in its own worker so that a hanging robot costs only its own timeout and retries.
Every outcome becomes a `Delivery` whose error is short and scrubbed of URLs and secrets.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional

from sms_receipt_stats.documents import Delivery, ResultDocument
from sms_receipt_stats.notify.base import (
    MIN_REQUEST_TIMEOUT,
    DeliveryContext,
    DeliveryError,
    QueueSink,
    Sink,
    new_message_id,
    one_line,
)
from sms_receipt_stats.notify.platforms import registry
from sms_receipt_stats.retry import Clock, Deadline, RetryPolicy, Sleep
from sms_receipt_stats.text import shorten

if TYPE_CHECKING:
    import requests

    from sms_receipt_stats.config import Settings
    from sms_receipt_stats.notify.urls import SinkSpec

log = logging.getLogger("sms_receipt_stats.sinks")

MAX_WORKERS = 8
#: waits of 0.5, 1, 2, … s plus up to 25 % jitter, at most 5 s; a platform's Retry-After is honoured up to 5 s
SINK_RETRY = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=5.0, jitter=(1.0, 1.25), retry_after_max=5.0)
REQUEST_ALLOWANCE = 1.0  # what one more request needs at least, when deciding to retry
DEADLINE_GRACE = 1.0  # wait this long past the deadline for workers before giving up on them
ERROR_MAX_CHARS = 200


def build_sinks(specs: Iterable[SinkSpec]) -> List[Sink]:
    """One sink object per spec, in order; each kind's class comes from its platform module."""
    classes = registry().sinks
    sinks: List[Sink] = []
    for spec in specs:
        cls = classes.get(spec.kind)
        if cls is None:
            raise ValueError(f"{spec.label}: no sink for kind {spec.kind!r}")
        sinks.append(cls(spec))
    return sinks


class _Attempts:
    """The retry loop for one sink. Shared with its worker: a delivery abandoned at the deadline
    still reports its attempts and last error."""

    def __init__(self, sink: Sink, prepared: Any, ctx: DeliveryContext, policy: RetryPolicy):
        self.sink = sink
        self.prepared = prepared
        self.ctx = ctx
        self.policy = policy
        self.deadline = Deadline(ctx.deadline, ctx.clock)
        self.attempts = 0
        self.last_error: Optional[str] = None

    def clean(self, text: str, label: str = "") -> str:
        """Scrub the whole text, then shorten: a cut must not leave part of a secret behind.
        `label` (kind and host: ours, safe) goes in front unscrubbed."""
        text = label + self.sink.scrub(one_line(text), self.ctx.settings)
        return shorten(text, ERROR_MAX_CHARS)

    def result(self, ok: bool, error: Optional[str] = None) -> Delivery:
        spec = self.sink.spec
        message = None if ok else self.clean(str(error), f"{spec.label}: ")
        return Delivery(sink=spec.kind, ok=ok, attempts=self.attempts, error=message)

    def run(self) -> Delivery:
        label = self.sink.spec.label
        while True:
            if self.deadline.left() < MIN_REQUEST_TIMEOUT:
                reason = self.last_error or "no time left before the deadline"
                log.warning("sink %s: deadline reached after %d attempt(s)", label, self.attempts)
                return self.result(False, reason)
            self.attempts += 1
            try:
                self.sink.deliver(self.prepared, self.ctx)
            except DeliveryError as exc:
                error = exc
            except Exception as exc:  # a bug in one sink must not cost the other deliveries
                error = DeliveryError(f"unexpected {type(exc).__name__}", transient=False)
            else:
                log.info("sink %s: delivered (attempt %d)", label, self.attempts)
                return self.result(True)
            text = self.clean(error.message)
            self.last_error = text
            if not error.transient:
                log.warning("sink %s: attempt %d failed permanently: %s", label, self.attempts, text)
                return self.result(False, text)
            if self.policy.exhausted(self.attempts):
                log.warning("sink %s: attempt %d failed, giving up: %s", label, self.attempts, text)
                return self.result(False, text)
            delay = self.policy.delay(self.attempts, retry_after=error.retry_after)
            if not self.deadline.allows(delay + REQUEST_ALLOWANCE):
                log.warning("sink %s: attempt %d failed, no time left to retry: %s", label, self.attempts, text)
                return self.result(False, text)
            log.info("sink %s: attempt %d failed (%s), retrying in %.1fs", label, self.attempts, text, delay)
            self.ctx.sleep(delay)


def _worker(attempts: _Attempts, own_session: bool) -> Delivery:
    try:
        if own_session:
            import requests

            with requests.Session() as session:
                attempts.ctx.session = session
                return attempts.run()
        return attempts.run()
    except Exception as exc:  # never let a worker's surprise escape as an exception
        return attempts.result(False, f"unexpected {type(exc).__name__}")


def deliver_all(doc: ResultDocument, settings: Settings, *, session: Optional[requests.Session] = None,
                clock: Clock = time.monotonic, sleep: Sleep = time.sleep,
                deadline: Optional[float] = None, max_attempts: int = SINK_RETRY.max_attempts,
                now: Callable[[], float] = time.time) -> List[Delivery]:
    """Send `doc` to every configured sink; one Delivery per sink that had something to send.

    `deadline` is a value of `clock` (monotonic, like every deadline of a job: `retry.Deadline`);
    `now` is the wall clock that signature timestamps need. Results keep the order of
    NOTIFY_URLS. Never raises.
    """
    policy = replace(SINK_RETRY, max_attempts=max_attempts)
    specs = list(settings.sinks)
    outcomes: Dict[int, Delivery] = {}
    jobs: Dict[int, _Attempts] = {}
    # every queue gets the same message id for this document (a stored one, else one per run), so
    # a consumer reading two queues, or one queue fed by two entries, sees one message
    queued = doc if doc.message_id else doc.model_copy(update={"message_id": new_message_id()})
    for index, spec in enumerate(specs):
        try:
            sink = build_sinks([spec])[0]
            prepared = sink.prepare(queued if isinstance(sink, QueueSink) else doc, settings)
        except Exception as exc:
            log.warning("sink %s: could not build the message (%s)", spec.label, type(exc).__name__)
            outcomes[index] = Delivery(sink=spec.kind, ok=False, attempts=0,
                                       error=f"{spec.label}: could not build the message ({type(exc).__name__})")
            continue
        if prepared is None:
            log.debug("sink %s: nothing to send at min_severity=%s", spec.label, spec.min_severity)
            continue
        ctx = DeliveryContext(session=session, settings=settings, clock=clock, sleep=sleep,  # type: ignore[arg-type]
                              deadline=deadline, now=now)
        jobs[index] = _Attempts(sink, prepared, ctx, policy)
    if jobs:
        outcomes.update(_run_concurrently(jobs, own_session=session is None, clock=clock, deadline=deadline))
    return [outcomes[i] for i in sorted(outcomes)]


def _run_concurrently(jobs: Dict[int, _Attempts], *, own_session: bool, clock: Clock,
                      deadline: Optional[float]) -> Dict[int, Delivery]:
    outcomes: Dict[int, Delivery] = {}
    pool = ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(jobs)), thread_name_prefix="sink")
    abandoned = False
    try:
        futures = {pool.submit(_worker, job, own_session): index for index, job in jobs.items()}
        timeout = None if deadline is None else max(0.0, Deadline(deadline, clock).left()) + DEADLINE_GRACE
        done, pending = wait(futures, timeout=timeout)
        for future in done:
            index = futures[future]
            try:
                outcomes[index] = future.result()
            except Exception as exc:  # _worker already guards; this is the last line
                outcomes[index] = jobs[index].result(False, f"unexpected {type(exc).__name__}")
        for future in pending:
            abandoned = True
            future.cancel()
            job = jobs[futures[future]]
            log.warning("sink %s: still running at the deadline, abandoned", job.sink.spec.label)
            reason = "did not finish before the deadline"
            if job.last_error:
                reason += f" (last error: {job.last_error})"
            outcomes[futures[future]] = job.result(False, reason)
    except Exception as exc:
        for index, job in jobs.items():
            outcomes.setdefault(index, job.result(False, f"unexpected {type(exc).__name__}"))
    finally:
        pool.shutdown(wait=not abandoned, cancel_futures=True)
    return outcomes

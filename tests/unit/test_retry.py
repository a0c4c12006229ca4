"""The one retry helper: jittered exponential waits, Retry-After, and deadlines on a monotonic clock.

The API queries (`query.API_RETRY`) and the sinks (`notify.delivery.SINK_RETRY`) use the same
`RetryPolicy` and `Deadline`; their own loops are tested in test_query.py and test_sinks_delivery.py.
`call_within` bounds one call by the caller's wall clock (a dripping endpoint: test_dripping_upstream.py).
"""

from __future__ import annotations

import random
import threading
import time

import pytest

from sms_receipt_stats.notify.delivery import SINK_RETRY
from sms_receipt_stats.query import API_RETRY
from sms_receipt_stats.retry import Deadline, Overrun, RetryPolicy, call_within
from support import FakeClock


@pytest.mark.parametrize("attempt", range(1, 12))
def test_api_waits_are_half_to_all_of_a_capped_exponential_ceiling(attempt: int) -> None:
    ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
    assert API_RETRY.delay(attempt, rng=lambda: 0.0) == ceiling / 2
    assert API_RETRY.delay(attempt, rng=lambda: 0.999999) == pytest.approx(ceiling, rel=1e-5)
    rng = random.Random(attempt)
    assert all(ceiling / 2 <= API_RETRY.delay(attempt, rng.random) <= ceiling for _ in range(200))


@pytest.mark.parametrize("attempt", range(1, 12))
def test_sink_waits_add_up_to_a_quarter_and_never_pass_the_cap(attempt: int) -> None:
    base = 0.5 * 2 ** (attempt - 1)
    rng = random.Random(attempt)
    for _ in range(200):
        wait = SINK_RETRY.delay(attempt, rng.random)
        assert min(5.0, base) <= wait <= min(5.0, base * 1.25)


def test_retry_after_is_honoured_up_to_its_bound_and_never_shortens_the_wait() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, jitter=(1.0, 1.0), retry_after_max=5.0)
    assert policy.delay(1, retry_after=3.0) == 3.0
    assert policy.delay(1, retry_after=60.0) == 5.0
    assert policy.delay(4, retry_after=0.5) == 8.0  # the backoff is longer than the hint
    assert policy.delay(1, retry_after=None) == 1.0


def test_attempts_are_exhausted_at_max_attempts_and_one_is_always_allowed() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert [policy.exhausted(n) for n in (1, 2, 3, 4)] == [False, False, True, True]
    assert RetryPolicy(max_attempts=0).exhausted(1) and not RetryPolicy(max_attempts=0).exhausted(0)


def test_a_deadline_counts_down_on_its_clock_and_allows_only_what_ends_before_it(clock: FakeClock) -> None:
    deadline = Deadline(clock.monotonic() + 3.0, clock.monotonic)
    assert deadline.left() == 3.0
    assert deadline.allows(2.9) and not deadline.allows(3.0)
    clock.advance(2.5)
    assert deadline.left() == pytest.approx(0.5)
    assert not deadline.allows(1.0)
    clock.advance(1.0)
    assert deadline.left() < 0 and not deadline.allows(0.0)


def test_no_deadline_allows_any_wait() -> None:
    assert Deadline().left() == float("inf") and Deadline().allows(1e9)


def test_deadlines_default_to_the_monotonic_clock() -> None:
    """A deadline computed from time.monotonic() must not be read against the wall clock."""
    deadline = Deadline(time.monotonic() + 60.0)
    assert 59.0 < deadline.left() <= 60.0


# -- call_within: one call bounded by the caller's wall clock ----------------------------------


def test_a_call_that_ends_in_time_gives_its_result_or_its_exception() -> None:
    assert call_within(lambda: 42, 5.0) == 42
    with pytest.raises(KeyError, match="missing"):
        call_within(lambda: {}["missing"], 5.0)


def test_a_call_that_does_not_end_in_time_is_abandoned_not_waited_for() -> None:
    release = threading.Event()
    finished = threading.Event()

    def stuck() -> None:
        release.wait(30)  # a broken bound would wait here and then return None, failing the test
        finished.set()

    try:
        with pytest.raises(Overrun):
            call_within(stuck, 0.05, "stuck-call")
        assert not finished.is_set()  # the caller is back while the worker still blocks
        worker = next(t for t in threading.enumerate() if t.name == "stuck-call")
        assert worker.daemon  # an abandoned worker never holds up the interpreter's exit
    finally:
        release.set()

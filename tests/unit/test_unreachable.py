"""An unreachable endpoint is named as such, and a page stops calling after the first failure.

DNS failures, refused connections and connect timeouts mean no request was answered: the
next call fails the same way. `sdk.to_cloud_error` marks them (`unreachable`, a message that
starts "endpoint unreachable"); a `Querier(fail_fast=True)` (the dashboard's) attempts no
call after the first, so a page with the endpoint down answers at once instead of retrying
every call until the time limit and then blaming `InternalError.Timeout`. An endpoint that
answers too slowly (a call cut at its bound, `sdk.too_slow`) stops a page the same way.
"""

from __future__ import annotations

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from sms_receipt_stats.catalogue import is_retryable
from sms_receipt_stats.query import SLOW_RETRIES, Querier, QueryTask
from sms_receipt_stats.sdk import TOO_SLOW, CloudError, network_error, to_cloud_error, too_slow
from support import FakeClock, FakeFetcher

HOST = "sms.internal.example.com"
POOL = f"HTTPSConnectionPool(host='{HOST}', port=443): Max retries exceeded with url: / (Caused by "


@pytest.mark.parametrize(("text", "reason"), [
    (POOL + "NewConnectionError('<obj>: Failed to establish a new connection: [Errno 111] Connection refused'))",
     "the endpoint refused the connection"),
    (POOL + f"NameResolutionError(\"<obj>: Failed to resolve '{HOST}' ([Errno -2] Name or service not known)\"))",
     "the endpoint's host name could not be resolved (DNS)"),
    (POOL + f"ConnectTimeoutError(<obj>, 'Connection to {HOST} timed out. (connect timeout=10)'))",
     "connecting to the endpoint timed out"),
    (POOL + "NewConnectionError('<obj>: Failed to establish a new connection: [Errno 113] No route to host'))",
     "there is no network route to the endpoint"),
])
def test_connection_failures_say_endpoint_unreachable(text: str, reason: str) -> None:
    error = to_cloud_error(TencentCloudSDKException("ClientNetworkError", text))
    assert error.code == "ClientNetworkError" and error.unreachable
    assert error.message == f"endpoint unreachable: {reason}"
    assert HOST not in str(error)


@pytest.mark.parametrize("text", [
    f"HTTPSConnectionPool(host='{HOST}', port=443): Read timed out. (read timeout=10)",
    POOL + "ProtocolError('Connection aborted.', RemoteDisconnected('Remote end closed connection'))",
    POOL + "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED]')))",
])
def test_failures_after_connecting_are_not_called_unreachable(text: str) -> None:
    """The endpoint answered the connection: a later call may well succeed."""
    error = to_cloud_error(TencentCloudSDKException("ClientNetworkError", text))
    assert error.code == "ClientNetworkError" and not error.unreachable
    assert not error.message.startswith("endpoint unreachable")


def test_a_python_connection_error_without_the_sdk_is_unreachable_too() -> None:
    assert to_cloud_error(ConnectionRefusedError("[Errno 111] Connection refused")).unreachable


class DownFetcher(FakeFetcher):
    """Every call finds the endpoint unreachable."""

    def fetch(self, app_id, begin_time, end_time, timeout=None):  # type: ignore[no-untyped-def]
        super().fetch(app_id, begin_time, end_time, timeout)
        raise network_error("ConnectionRefusedError: [Errno 111] Connection refused")


TASKS = [QueryTask(app, f"20261101{h:02d}", f"20261101{h:02d}") for app in ("1400006874", "1400006879")
         for h in range(24)]


def test_a_fail_fast_querier_attempts_nothing_after_the_first_unreachable_error(clock: FakeClock) -> None:
    fetcher = DownFetcher()
    querier = Querier(fetcher, clock=clock.monotonic, sleep=clock.sleep, workers=1, fail_fast=True)
    outcomes = querier.run(TASKS)
    assert len(fetcher.calls) == 1  # no retry of the first, no attempt of the other 47
    assert all(o.error is not None and o.error.unreachable for o in outcomes)
    assert outcomes[0].error.message == "endpoint unreachable: the endpoint refused the connection"  # type: ignore[union-attr]
    assert all("not attempted" in o.error.message for o in outcomes[1:])  # type: ignore[union-attr]
    assert clock.sleeps == [] or sum(clock.sleeps) < 1.0  # no backoff waits


def test_under_concurrency_at_most_the_calls_already_in_flight_are_made(clock: FakeClock) -> None:
    fetcher = DownFetcher()
    querier = Querier(fetcher, clock=clock.monotonic, sleep=clock.sleep, workers=8, fail_fast=True)
    outcomes = querier.run(TASKS)
    assert len(fetcher.calls) <= 8
    assert all(o.error is not None and o.error.code == "ClientNetworkError" for o in outcomes)


def test_timers_keep_retrying_each_call(clock: FakeClock) -> None:
    """Without fail_fast (reports, checks) a connection blip is retried as before."""
    fetcher = DownFetcher()
    querier = Querier(fetcher, clock=clock.monotonic, sleep=clock.sleep, workers=1)
    outcomes = querier.run(TASKS[:2])
    assert len(fetcher.calls) == 2 * 4  # API_RETRY: 4 attempts each
    assert all(o.error is not None and o.error.unreachable for o in outcomes)


def test_other_errors_do_not_stop_the_page(clock: FakeClock) -> None:
    fetcher = FakeFetcher()
    fetcher.fail("1400006874", "UnauthorizedOperation.ServiceSuspendDueToArrears")
    querier = Querier(fetcher, clock=clock.monotonic, sleep=clock.sleep, workers=1, fail_fast=True)
    outcomes = querier.run(TASKS)
    assert len(fetcher.calls) == len(TASKS)
    assert [o.error is None for o in outcomes] == [False] * 24 + [True] * 24
    assert querier.unreachable is None


def test_cloud_error_equality_and_text_are_unchanged_by_the_flag() -> None:
    error = CloudError("ClientNetworkError", "endpoint unreachable: x", None, unreachable=True)
    assert str(error) == "ClientNetworkError: endpoint unreachable: x"


# -- an endpoint that answers too slowly (the call cut at its bound: sdk.too_slow) ------------------


class SlowFetcher(FakeFetcher):
    """Every call is cut at its bound while the endpoint was still answering (a drip)."""

    def fetch(self, app_id, begin_time, end_time, timeout=None):  # type: ignore[no-untyped-def]
        super().fetch(app_id, begin_time, end_time, timeout)
        raise too_slow(10.0, "call limit", connecting=False)


def test_a_too_slow_answer_is_transient_but_retried_once_only(clock: FakeClock) -> None:
    """Each try of a dripping endpoint costs the call's whole bound: one retry, not four."""
    fetcher = SlowFetcher()
    outcomes = Querier(fetcher, clock=clock.monotonic, sleep=clock.sleep, workers=1).run(TASKS[:2])
    assert len(fetcher.calls) == 2 * (1 + SLOW_RETRIES)
    for outcome in outcomes:
        assert outcome.error is not None and outcome.error.code == "ClientNetworkError" and outcome.error.slow
        assert outcome.error.message == "the endpoint answered too slowly: no complete answer after 10.0 s (call limit)"
        assert is_retryable(outcome.error.code)


def test_a_fail_fast_querier_stops_after_the_first_too_slow_answer(clock: FakeClock) -> None:
    fetcher = SlowFetcher()
    querier = Querier(fetcher, clock=clock.monotonic, sleep=clock.sleep, workers=1, fail_fast=True)
    outcomes = querier.run(TASKS)
    assert len(fetcher.calls) == 1
    assert all(o.error is not None and o.error.message.startswith(TOO_SLOW) for o in outcomes)
    assert all("not attempted after the first call that was too slow" in o.error.message  # type: ignore[union-attr]
               for o in outcomes[1:])


def test_a_connection_that_never_completes_is_unreachable_and_says_the_bound() -> None:
    error = too_slow(3.25, "deadline", connecting=True)
    assert error.unreachable and not error.slow
    assert error.message == ("endpoint unreachable: the endpoint answered too slowly: the connection (TLS "
                             "handshake included) was not complete after 3.2 s (deadline)")

"""The query layer: rate cap, retry, deadline, fan-out, and the SDK seam (HTTP mocked).

Clocks and sleep are fakes: nothing here waits for real time.
"""

from __future__ import annotations

import json
import random
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

import pytest
import requests
import responses
from hypothesis import given, settings
from hypothesis import strategies as st
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from sms_receipt_stats.catalogue import CATALOGUE, classify, is_retryable
from sms_receipt_stats.config import load_settings
from sms_receipt_stats.dev.emulator import max_in_any_second
from sms_receipt_stats.query import Querier, QueryTask, RateLimiter, SdkStatsFetcher
from sms_receipt_stats.retry import RetryPolicy
from sms_receipt_stats.sdk import UPSTREAM_DATA_INVALID, CloudError, MissingCredentials, to_cloud_error
from sms_receipt_stats.stats import Stats
from support import FakeClock, FakeFetcher

APP_A, APP_B, APP_C = "1400000001", "1400000002", "1400000003"
TASK = QueryTask(APP_A, "2026112400", "2026112423")
SMS_URL = "https://sms.tencentcloudapi.com/"


def querier(fetcher: Any, clock: FakeClock, **kw: Any) -> Querier:
    kw.setdefault("rps", 1000.0)
    kw.setdefault("workers", 1)
    kw.setdefault("rng", random.Random(7))
    return Querier(fetcher, clock=clock.monotonic, sleep=clock.sleep, **kw)


# -- rate limiter -------------------------------------------------------------------------------


@pytest.mark.parametrize("rps", [1, 3, 10, 25])
def test_rate_limiter_spaces_a_burst(rps: float, clock: FakeClock) -> None:
    limiter = RateLimiter(rps, clock=clock.monotonic, sleep=clock.sleep)
    starts = []
    for _ in range(int(rps) * 5):
        limiter.acquire()
        starts.append(clock.monotonic())
    assert max_in_any_second(starts) <= rps
    assert max_in_any_second(starts) >= rps - 1  # a ceiling, but not absurdly slow either
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert min(gaps) >= 1.0 / rps - 1e-9


def test_rate_limiter_does_not_wait_when_idle(clock: FakeClock) -> None:
    limiter = RateLimiter(10, clock=clock.monotonic, sleep=clock.sleep)
    limiter.acquire()
    clock.advance(5.0)
    limiter.acquire()
    assert clock.sleeps == []


@settings(max_examples=200, deadline=None)
@given(
    rps=st.sampled_from([1.0, 2.0, 5.0, 10.0, 20.0]),
    arrivals=st.lists(st.floats(min_value=0.0, max_value=3.0, allow_nan=False), min_size=1, max_size=60),
)
def test_rate_limiter_never_exceeds_rps_in_any_second(rps: float, arrivals: List[float]) -> None:
    clock = FakeClock(start=0.0)
    limiter = RateLimiter(rps, clock=clock.monotonic, sleep=clock.sleep)
    starts = []
    t = 0.0
    for gap in arrivals:
        t += gap
        if clock.monotonic() < t:
            clock.advance(t - clock.monotonic())
        slot = limiter.acquire()
        assert clock.monotonic() >= slot - 1e-9  # never before its slot (the fake clock adds floats)
        starts.append(clock.monotonic())
    assert max_in_any_second(starts) <= rps


def test_rate_limiter_starts_are_spaced_under_concurrency(clock: FakeClock) -> None:
    limiter = RateLimiter(10, clock=clock.monotonic, sleep=clock.sleep)
    starts: List[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            start = limiter.acquire()
            with lock:
                starts.append(start)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    starts.sort()
    assert len(starts) == 80
    assert min(b - a for a, b in zip(starts, starts[1:])) >= 0.1 - 1e-9
    assert max_in_any_second(starts) <= 10


class LateClock(FakeClock):
    """A loaded machine: every sleep overshoots by its own lateness (from `lateness`, in turn)."""

    def __init__(self, lateness: List[float]) -> None:
        super().__init__(start=0.0)
        self._late = list(lateness) or [0.0]
        self._turn = 0

    def sleep(self, seconds: float) -> None:
        late = self._late[self._turn % len(self._late)]
        self._turn += 1
        super().sleep(seconds + late)


@settings(max_examples=200, deadline=None)
@given(lateness=st.lists(st.floats(min_value=0.0, max_value=0.3, allow_nan=False), min_size=1, max_size=30))
def test_a_late_wake_up_never_lets_eleven_starts_into_one_second(lateness: List[float]) -> None:
    """Slots planned ahead drift: one late thread, then the next ten crowd into its second."""
    clock = LateClock(lateness)
    limiter = RateLimiter(10, clock=clock.monotonic, sleep=clock.sleep)
    starts = []
    for _ in range(60):
        limiter.acquire()
        starts.append(clock.monotonic())  # when the call really starts
    assert max_in_any_second(starts) <= 10
    assert min(b - a for a, b in zip(starts, starts[1:])) >= 0.1 - 1e-9


def test_a_refusal_slows_the_limiter_down_and_successes_bring_it_back(clock: FakeClock) -> None:
    limiter = RateLimiter(10, clock=clock.monotonic, sleep=clock.sleep, margin=0.0)
    limiter.slow_down()
    first = limiter.acquire()
    second = limiter.acquire()
    assert abs((second - first) - 0.15) < 1e-9  # 1.5 intervals
    for _ in range(100):
        limiter.speed_up()
    assert limiter.slowdown == 1.0
    clock.advance(1.0)
    for _ in range(10):
        limiter.slow_down()  # one burst of refusals counts once
    assert limiter.slowdown == 1.5
    for _ in range(10):
        clock.advance(1.0)
        limiter.slow_down()
    assert limiter.slowdown == RateLimiter.MAX_SLOWDOWN


def test_querier_slows_down_after_request_limit_exceeded(clock: FakeClock) -> None:
    fetcher = FakeFetcher()
    fetcher.fail(APP_A, "RequestLimitExceeded", times=1)
    q = querier(fetcher, clock)
    [outcome] = q.run([TASK])
    assert outcome.error is None and outcome.attempts == 2
    assert q.limiter.slowdown > 1.0  # not only retried: the whole run goes slower now


def test_querier_start_times_respect_rps(clock: FakeClock) -> None:
    starts: List[float] = []
    fetcher = FakeFetcher()
    fetcher.on_fetch = lambda *a: starts.append(clock.monotonic())
    tasks = [QueryTask(f"14000000{i:02d}", "2026112400", "2026112500") for i in range(35)]
    outcomes = querier(fetcher, clock, rps=10).run(tasks)
    assert all(o.error is None for o in outcomes)
    assert len(starts) == 35
    assert max_in_any_second(starts) <= 10


# -- retry ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["RequestLimitExceeded", "RequestLimitExceeded.UinLimitExceeded",
                                  "InternalError.Timeout", "InternalError.SendAndRecvFail", "ClientNetworkError"])
def test_retryable_code_is_retried_transparently(code: str, clock: FakeClock) -> None:
    assert is_retryable(code)
    fetcher = FakeFetcher()
    fetcher.fail(APP_A, code, times=2, request_id="rid-failed")
    outcome = querier(fetcher, clock).run_one(TASK)
    assert outcome.error is None
    assert outcome.stats is not None and outcome.stats.RequestSuccessCount > 0
    assert outcome.attempts == 3
    assert len(fetcher.calls) == 3
    # the failed attempts' request ids are kept next to the successful one
    assert outcome.request_ids[:2] == ["rid-failed", "rid-failed"] and len(outcome.request_ids) == 3


@pytest.mark.parametrize("code", ["AuthFailure.SignatureFailure", "AuthFailure.SecretIdNotFound",
                                  "UnauthorizedOperation.ServiceSuspendDueToArrears",
                                  "InvalidParameterValue.SdkAppIdNotExist", "InternalError.OtherError",
                                  "SomethingNew.NobodyKnows"])
def test_non_retryable_code_fails_fast(code: str, clock: FakeClock) -> None:
    fetcher = FakeFetcher()
    fetcher.fail(APP_A, code, times=1, request_id="rid-0")
    outcome = querier(fetcher, clock).run_one(TASK)
    assert outcome.attempts == 1 and len(fetcher.calls) == 1
    assert outcome.error == CloudError(code, "injected failure", "rid-0")
    assert outcome.stats is None
    assert clock.sleeps == []


def test_attempts_are_bounded_and_backoff_grows(clock: FakeClock) -> None:
    fetcher = FakeFetcher()
    fetcher.fail(APP_A, "RequestLimitExceeded")
    policy = RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=8.0)
    outcome = querier(fetcher, clock, retry=policy).run_one(TASK)
    assert outcome.attempts == 4 and len(fetcher.calls) == 4
    assert outcome.error is not None and outcome.error.code == "RequestLimitExceeded"
    # three backoff waits (the limiter never had to wait: rps is high and time moved on)
    assert len(clock.sleeps) == 3
    for attempt, wait in enumerate(clock.sleeps, start=1):
        ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
        assert ceiling / 2 <= wait <= ceiling


def test_backoff_is_capped(clock: FakeClock) -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=3.0)
    rng = random.Random(1)
    assert all(1.5 <= policy.delay(a, rng.random) <= 3.0 for a in range(3, 10))


def test_deadline_stops_retrying_before_it_passes(clock: FakeClock) -> None:
    fetcher = FakeFetcher()
    fetcher.fail(APP_A, "InternalError.Timeout")
    deadline = clock.monotonic() + 3.0
    outcome = querier(fetcher, clock, deadline=deadline, retry=RetryPolicy(max_attempts=50)).run_one(TASK)
    assert outcome.error is not None and outcome.error.code == "InternalError.Timeout"
    assert 1 <= outcome.attempts < 50
    assert clock.monotonic() < deadline  # no sleep ran past the deadline
    assert sum(clock.sleeps) < 3.0


def test_no_call_when_the_deadline_has_passed(clock: FakeClock) -> None:
    fetcher = FakeFetcher()
    outcome = querier(fetcher, clock, deadline=clock.monotonic() - 1).run_one(TASK)
    assert fetcher.calls == []
    assert outcome.attempts == 0
    assert outcome.error is not None and outcome.error.code == "InternalError.Timeout"


def test_one_failing_app_does_not_affect_the_others(clock: FakeClock) -> None:
    fetcher = FakeFetcher()
    fetcher.fail(APP_B, "AuthFailure.SignatureFailure")
    tasks = [QueryTask(app, "2026112400", "2026112500") for app in (APP_A, APP_B, APP_C)]
    outcomes = querier(fetcher, clock, workers=4).run(tasks)
    assert [o.task.app_id for o in outcomes] == [APP_A, APP_B, APP_C]
    assert outcomes[0].error is None and outcomes[2].error is None
    assert outcomes[0].stats is not None and outcomes[2].stats is not None
    assert outcomes[1].error is not None and outcomes[1].error.code == "AuthFailure.SignatureFailure"


def test_a_fetcher_bug_becomes_an_error_outcome_not_an_exception(clock: FakeClock) -> None:
    class Broken:
        def fetch(self, app_id: str, begin: str, end: str,
                  timeout: Optional[float] = None) -> Tuple[Stats, Optional[str]]:
            if app_id == APP_B:
                raise KeyError("boom")
            return Stats(RequestSuccessCount=1), "rid"

    tasks = [QueryTask(app, "2026112400", "2026112500") for app in (APP_A, APP_B)]
    outcomes = querier(Broken(), clock, workers=2, retry=RetryPolicy(max_attempts=2)).run(tasks)
    assert outcomes[0].stats == Stats(RequestSuccessCount=1)
    assert outcomes[1].error is not None and outcomes[1].stats is None


def test_run_keeps_task_order_with_many_workers(clock: FakeClock) -> None:
    fetcher = FakeFetcher()
    tasks = [QueryTask(f"14000001{i:02d}", "2026112400", "2026112500") for i in range(40)]
    outcomes = querier(fetcher, clock, workers=16).run(tasks)
    assert [o.task for o in outcomes] == tasks
    assert Querier(fetcher).run([]) == []


# -- SdkStatsFetcher: the SDK's real HTTPS POST, mocked with `responses` ----------------------------

STATS_BODY = {"RequestSuccessCount": 1880, "CallbackCount": 1745, "CallbackSuccessCount": 1344,
              "CallbackFailCount": 401, "InternalErrorCount": 0, "InvalidNumberCount": 0,
              "ShutdownErrorCount": 401, "BlackListCount": 0, "FrequencyLimitCount": 0}


def sdk_fetcher(**env: str) -> SdkStatsFetcher:
    base = {"TENCENTCLOUD_SECRETID": "AKIDmockmockmockmockmockmock", "TENCENTCLOUD_SECRETKEY": "mock-secret-key"}
    base.update(env)
    settings_, issues = load_settings(base)
    assert issues == []
    return SdkStatsFetcher(settings_, timeout=2)


def sent(call: Any) -> Tuple[Dict[str, str], Dict[str, Any]]:
    body = call.request.body
    return dict(call.request.headers), json.loads(body.decode() if isinstance(body, bytes) else body)


@responses.activate
def test_sdk_fetcher_success_parses_stats_and_request_id() -> None:
    responses.add(responses.POST, SMS_URL, json={"Response": {"CallbackStatusStatistics": STATS_BODY,
                                                              "RequestId": "3314836f-0b10-45cb-b7be-593e84c1c197"}})
    stats, request_id = sdk_fetcher().fetch("1400006874", "2021050113", "2021050123")
    assert stats == Stats(**STATS_BODY)
    assert request_id == "3314836f-0b10-45cb-b7be-593e84c1c197"
    assert len(responses.calls) == 1
    headers, body = sent(responses.calls[0])
    assert headers["X-TC-Action"] == "CallbackStatusStatistics"
    assert headers["X-TC-Version"] == "2021-01-11"
    assert headers["X-TC-Region"] == "ap-guangzhou"
    assert headers["Authorization"].startswith("TC3-HMAC-SHA256 Credential=AKIDmockmockmockmockmockmock/")
    assert "X-TC-Token" not in headers
    assert body == {"SmsSdkAppId": "1400006874", "BeginTime": "2021050113", "EndTime": "2021050123",
                    "Limit": 0, "Offset": 0}


@responses.activate
def test_sdk_fetcher_sends_the_session_token_and_region() -> None:
    responses.add(responses.POST, SMS_URL, json={"Response": {"CallbackStatusStatistics": STATS_BODY,
                                                              "RequestId": "r-1"}})
    sdk_fetcher(TENCENTCLOUD_SESSIONTOKEN="temporary-session-token", SMS_REGION="ap-beijing").fetch(
        "1400006874", "2021050113", "2021050123")
    headers, _ = sent(responses.calls[0])
    assert headers["X-TC-Token"] == "temporary-session-token"
    assert headers["X-TC-Region"] == "ap-beijing"


@responses.activate
def test_sdk_fetcher_uses_the_endpoint_override() -> None:
    responses.add(responses.POST, "http://sms.internal.example:8080/",
                  json={"Response": {"CallbackStatusStatistics": STATS_BODY, "RequestId": "r-2"}})
    stats, _ = sdk_fetcher(SMS_ENDPOINT="http://sms.internal.example:8080").fetch("1400006874", "2021050113",
                                                                                 "2021050123")
    assert stats.RequestSuccessCount == 1880


@responses.activate
@pytest.mark.parametrize(("change", "field"), [
    ({"CallbackSuccessCount": None, "CallbackFailCount": None}, "CallbackSuccessCount"),
    ({"CallbackCount": 1745.9}, "CallbackCount"),
    ({"CallbackCount": "1745"}, "CallbackCount"),
    ({"CallbackFailCount": -401}, "CallbackFailCount"),
    ({"CallbackCount": 9400}, "CallbackCount"),
    ({"CallbackSuccessCount": 16000}, "CallbackSuccessCount"),
])
def test_sdk_fetcher_refuses_impossible_counters(change: Dict[str, Any], field: str) -> None:
    body = dict(STATS_BODY)
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    responses.add(responses.POST, SMS_URL, json={"Response": {"CallbackStatusStatistics": body, "RequestId": "r-3"}})
    with pytest.raises(CloudError) as info:
        sdk_fetcher().fetch("1400006874", "2021050113", "2021050123")
    assert (info.value.code, info.value.request_id) == (UPSTREAM_DATA_INVALID, "r-3")
    assert field in info.value.message
    assert classify(info.value.code).category == "upstream" and not is_retryable(info.value.code)


def test_querier_refuses_impossible_counters_from_any_fetcher(clock: FakeClock) -> None:
    fetcher = FakeFetcher()
    fetcher.stats_for[APP_A] = Stats(RequestSuccessCount=10, CallbackCount=50, CallbackSuccessCount=45)
    outcome = querier(fetcher, clock).run_one(TASK)
    assert outcome.stats is None and outcome.error is not None
    assert outcome.error.code == UPSTREAM_DATA_INVALID and "CallbackCount" in outcome.error.message
    assert outcome.request_ids == ["req-0001"] and outcome.attempts == 1


@responses.activate
def test_sdk_fetcher_answer_that_is_not_json_is_upstream_data_invalid_not_a_python_name() -> None:
    responses.add(responses.POST, SMS_URL, body="<html>captive portal</html>", content_type="application/json")
    with pytest.raises(CloudError) as info:
        sdk_fetcher().fetch("1400006874", "2021050113", "2021050123")
    assert info.value.code == UPSTREAM_DATA_INVALID
    assert "JSONDecodeError" in info.value.message


@pytest.mark.parametrize(("exc", "code"), [
    (TencentCloudSDKException("JSONDecodeError", "Expecting value"), UPSTREAM_DATA_INVALID),
    (TencentCloudSDKException("KeyError", "'Response'"), UPSTREAM_DATA_INVALID),
    (TencentCloudSDKException("TypeError", "bad"), UPSTREAM_DATA_INVALID),
    (TencentCloudSDKException("ConnectionError", "reset"), "ClientNetworkError"),
    (TencentCloudSDKException("ReadTimeout", "slow"), "ClientNetworkError"),
    (TencentCloudSDKException("InternalError", "x", "rid"), "InternalError"),
    (TencentCloudSDKException("ClientNetworkError", "x"), "ClientNetworkError"),
    (KeyError("CallbackCount"), UPSTREAM_DATA_INVALID),
    (ValueError("x"), UPSTREAM_DATA_INVALID),
    (ConnectionResetError("x"), "ClientNetworkError"),
    (requests.ConnectionError("x"), "ClientNetworkError"),
])
def test_python_exception_names_never_become_error_codes(exc: Exception, code: str) -> None:
    error = to_cloud_error(exc)
    assert error.code == code
    assert error.code in CATALOGUE


@responses.activate
@pytest.mark.parametrize("code", ["AuthFailure.SignatureFailure", "InvalidParameterValue.SdkAppIdNotExist",
                                  "RequestLimitExceeded", "UnauthorizedOperation.ServiceSuspendDueToArrears"])
def test_sdk_fetcher_error_json_becomes_cloud_error(code: str) -> None:
    responses.add(responses.POST, SMS_URL, json={"Response": {
        "Error": {"Code": code, "Message": "the API refused"}, "RequestId": "err-req-0001"}})
    with pytest.raises(CloudError) as info:
        sdk_fetcher().fetch("1400006874", "2021050113", "2021050123")
    assert info.value.code == code
    assert info.value.request_id == "err-req-0001"
    assert info.value.message == "the API refused"


@responses.activate
def test_sdk_fetcher_scrubs_the_upstream_message_where_it_enters() -> None:
    responses.add(responses.POST, SMS_URL, json={"Response": {"Error": {
        "Code": "AuthFailure.SignatureFailure", "Message": "sig for mock-secret-KEY was\nwrong, token tok-Abc1234"},
        "RequestId": "err-req-0003"}})
    with pytest.raises(CloudError) as info:
        sdk_fetcher(API_TOKENS="tok-abc1234").fetch("1400006874", "2021050113", "2021050123")
    message = info.value.message.lower()
    assert "secret-key" not in message and "abc1234" not in message
    assert message.startswith("sig for ") and info.value.request_id == "err-req-0003"


@responses.activate
def test_sdk_fetcher_never_turns_an_unrecognised_answer_into_zero_counts() -> None:
    # the SDK only looks for Response.Error under a bare `application/json`; with a charset it
    # hands back an empty model, which must not read as "nothing was sent"
    responses.add(responses.POST, SMS_URL, content_type="application/json; charset=utf-8",
                  body=json.dumps({"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "x"},
                                                "RequestId": "err-req-0002"}}))
    with pytest.raises(CloudError) as info:
        sdk_fetcher().fetch("1400006874", "2021050113", "2021050123")
    assert info.value.request_id == "err-req-0002"
    assert info.value.code == UPSTREAM_DATA_INVALID and not is_retryable(info.value.code)


@responses.activate
def test_sdk_fetcher_network_error_becomes_client_network_error() -> None:
    responses.add(responses.POST, SMS_URL, body=requests.ConnectionError("connection refused"))
    with pytest.raises(CloudError) as info:
        sdk_fetcher().fetch("1400006874", "2021050113", "2021050123")
    assert info.value.code == "ClientNetworkError"
    assert info.value.request_id is None
    assert is_retryable(info.value.code)


@responses.activate
def test_sdk_fetcher_http_5xx_is_a_retryable_error() -> None:
    responses.add(responses.POST, SMS_URL, status=502, body="bad gateway")
    with pytest.raises(CloudError) as info:
        sdk_fetcher().fetch("1400006874", "2021050113", "2021050123")
    assert info.value.code == "ServerNetworkError"
    assert is_retryable(info.value.code)


@responses.activate
def test_querier_over_the_sdk_retries_a_rate_limit_answer(clock: FakeClock) -> None:
    responses.add(responses.POST, SMS_URL, json={"Response": {
        "Error": {"Code": "RequestLimitExceeded", "Message": "slow down"}, "RequestId": "r-limited"}})
    responses.add(responses.POST, SMS_URL, json={"Response": {"CallbackStatusStatistics": STATS_BODY,
                                                              "RequestId": "r-ok"}})
    outcome = querier(sdk_fetcher(), clock).run_one(QueryTask("1400006874", "2021050113", "2021050123"))
    assert outcome.error is None and outcome.stats == Stats(**STATS_BODY)
    assert outcome.request_ids == ["r-limited", "r-ok"]
    assert len(responses.calls) == 2


def test_sdk_fetcher_without_credentials_fails_before_any_request() -> None:
    settings_, _ = load_settings({})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        with pytest.raises(MissingCredentials):
            SdkStatsFetcher(settings_)
        assert len(mock.calls) == 0


class ThreadClock(FakeClock):
    """Virtual time per thread (threads run in parallel): sleeping advances only the caller's clock."""

    def __init__(self, start: float = 100.0):
        super().__init__(start=start)
        self.start = start
        self._local = threading.local()

    def monotonic(self) -> float:
        return getattr(self._local, "now", self.start)

    def sleep(self, seconds: float) -> None:
        self._local.now = self.monotonic() + max(0.0, seconds)


def test_concurrent_queries_never_start_after_the_deadline() -> None:
    clock = ThreadClock()
    starts: List[float] = []
    lock = threading.Lock()
    fetcher = FakeFetcher()

    def record(*args: Any) -> None:
        with lock:
            starts.append(clock.monotonic())

    fetcher.on_fetch = record
    deadline = clock.start + 5.0
    tasks = [QueryTask(f"14000002{i:02d}", "2026112400", "2026112500") for i in range(20)]
    q = Querier(fetcher, rps=1.0, clock=clock.monotonic, sleep=clock.sleep, deadline=deadline, workers=16,
                rng=random.Random(3))
    outcomes = q.run(tasks)
    assert starts and max(starts) < deadline
    done = [o for o in outcomes if o.error is None]
    late = [o for o in outcomes if o.error is not None]
    assert 1 <= len(done) <= 5
    assert late and all(o.error.code == "InternalError.Timeout" and o.attempts == 0 for o in late)


@pytest.mark.parametrize("late", [0.02, 0.06, 0.08, 0.12])
@pytest.mark.parametrize("late_send", range(0, 11))
def test_on_a_loaded_machine_a_request_sent_late_after_its_start_cannot_crowd_a_second(
        late: float, late_send: int) -> None:
    """Where it counts is the API's clock: on a loaded machine a thread may be descheduled between its
    start and the moment its request leaves, by about as long as its sleeps overshoot. Once the
    limiter has seen its own wake-ups run that late, it spaces starts wider by as much."""
    clock = LateClock([late] + [0.0] * 29)  # one late wake-up in thirty: a busy machine, not a frozen one
    limiter = RateLimiter(10, clock=clock.monotonic, sleep=clock.sleep)
    sent = []
    for n in range(90):
        limiter.acquire()
        start = clock.monotonic()
        # after the first late wake-up, one request in eleven leaves that late after its start
        sent.append(start + (late if n > 1 and n % 11 == late_send else 0.0))
    assert max_in_any_second(sent) <= 10


# -- a fetcher that never returns: the fan-out does not wait past the deadline -----------------------


def test_the_fan_out_abandons_a_fetcher_still_running_at_the_deadline() -> None:
    """`run` waits for its workers until the deadline (and a grace second), never longer: a
    fetcher that does not bound its own calls costs the deadline, not the invocation."""
    release = threading.Event()

    class StuckFetcher(FakeFetcher):
        def fetch(self, app_id, begin_time, end_time, timeout=None):  # type: ignore[no-untyped-def]
            if app_id == APP_B:
                release.wait(30)  # a run that waited for it would get stats here and fail below
            return super().fetch(app_id, begin_time, end_time, timeout)

    tasks = [QueryTask(app, "2026112400", "2026112423") for app in (APP_A, APP_B, APP_C)]
    try:
        outcomes = Querier(StuckFetcher(), rps=1000.0, workers=4, deadline=time.monotonic() + 1.5).run(tasks)
    finally:
        release.set()
    assert [o.task for o in outcomes] == tasks
    assert outcomes[0].stats is not None and outcomes[2].stats is not None
    stuck = outcomes[1]
    assert stuck.stats is None and stuck.error is not None and stuck.error.code == "ClientNetworkError"
    assert stuck.error.message == "the endpoint answered too slowly: the query was still running at the deadline"


# -- any action: Querier.call ---------------------------------------------------------------------


def test_any_action_shares_the_rate_cap_and_retries_like_the_stats_call(clock: FakeClock) -> None:
    starts: List[float] = []
    failures = {"n": 1}

    def action(timeout: Optional[float]) -> Tuple[int, Optional[str]]:
        starts.append(clock.monotonic())
        if failures["n"]:
            failures["n"] -= 1
            raise CloudError("InternalError.Timeout", "slow", "rid-x")
        return 7, "rid-ok"

    fetcher = FakeFetcher()
    fetcher.on_fetch = lambda *a: starts.append(clock.monotonic())
    q = querier(fetcher, clock, rps=10)
    tasks = [QueryTask(f"14000000{i:02d}", "2026112400", "2026112500") for i in range(20)]
    q.run(tasks)
    outcomes = q.run_calls([lambda: q.call(action) for _ in range(15)])
    assert [o.value for o in outcomes] == [7] * 15 and sum(o.attempts for o in outcomes) == 16
    assert outcomes[0].request_ids == ["rid-x", "rid-ok"]
    assert max_in_any_second(starts) <= 10  # the stats calls and the others: one budget


def test_an_answer_its_check_refuses_is_upstream_data_invalid_and_not_retried(clock: FakeClock) -> None:
    calls: List[int] = []

    def action(timeout: Optional[float]) -> Tuple[int, Optional[str]]:
        calls.append(1)
        return -1, "rid-1"

    outcome = querier(FakeFetcher(), clock).call(action, check=lambda v: ["negative"] if v < 0 else [])
    assert outcome.value is None and outcome.error is not None
    assert outcome.error.code == UPSTREAM_DATA_INVALID and len(calls) == 1

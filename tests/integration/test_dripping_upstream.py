"""An SMS endpoint that drips or stalls: every run still ends before its invocation's limit.

The real SDK talks to a loopback server that answers the way a broken middlebox does: the
response one byte at a time (each byte resets a per-read timeout, so only a bound on the
whole call ends it), the headers and then nothing, or nothing at all after accepting the
connection (over https: a TLS handshake that never completes). `SMS_ENDPOINT` points at it and
the fake SCF context carries the time limit (`time_limit_in_ms`). Each run must come back
before that limit, name the endpoint as the cause (host-free), and still deliver the report.

The 60 s case shows the cut does not wait for the deadline: a call is bounded by its own cap
(`query.CALL_LIMIT`) as well, so a drip under a long limit ends long before the limit.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Tuple

import pytest

from sms_receipt_stats.app import handle
from sms_receipt_stats.config import load_settings
from sms_receipt_stats.dev.emulator import Emulator
from sms_receipt_stats.dev.receiver import Receiver
from sms_receipt_stats.doctor import http_server_time
from sms_receipt_stats.query import CALL_LIMIT, SLOW_RETRIES, SdkStatsFetcher
from sms_receipt_stats.sdk import CloudError
from support import (
    API_TOKEN,
    APP_MARKETING,
    APP_PROD,
    APP_STAGING,
    DrippingEndpoint,
    before_the_limit,
    check_http_response,
    check_result_document,
    read_event,
)

pytestmark = pytest.mark.integration

#: how a too-slow endpoint is named in every error (host-free)
TOO_SLOW = "the endpoint answered too slowly"
APPS = (APP_PROD, APP_STAGING, APP_MARKETING)
SECRET_ID, SECRET_KEY = "AKIDdrip0000000000000000000000000", "drip-secret-key-0000"


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def _receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


class Inbox:
    """The module's chat receiver (its shutdown costs half a second); `received` holds what
    arrived during the current test only."""

    def __init__(self, receiver: Receiver):
        self._receiver = receiver
        self._seen = len(receiver.received)
        self.url = receiver.url

    @property
    def received(self) -> List[Any]:
        return self._receiver.received[self._seen:]


@pytest.fixture()
def chat(_receiver: Receiver) -> Inbox:
    return Inbox(_receiver)


def environment(endpoint: str, sinks: Tuple[str, ...] = ()) -> Dict[str, str]:
    return {
        "TENCENTCLOUD_SECRETID": SECRET_ID,
        "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
        "SMS_ENDPOINT": endpoint,
        "SMS_SDK_APP_IDS": ",".join(APPS),
        "NOTIFY_URLS": ",".join(sinks),
        "API_TOKENS": API_TOKEN,
    }


def invoke(event: Dict[str, Any], env: Dict[str, str], limit_ms: int) -> Dict[str, Any]:
    """`app.handle` under a fake SCF context with `limit_ms`, which it must return within."""
    context = {"time_limit_in_ms": limit_ms, "request_id": "drip-test-0001"}
    return before_the_limit(lambda: handle(event, context, env=env), limit_ms)


def timer_event(message: str) -> Dict[str, Any]:
    event = read_event("timer_default")
    event["Message"] = message
    return event


def assert_named_too_slow(error: Dict[str, Any], endpoint_address: str) -> None:
    """The error names the endpoint as the cause, transient, without its host or port."""
    assert error["code"] == "ClientNetworkError", error
    assert TOO_SLOW in error["message"], error
    assert error["retryable"] is True
    assert endpoint_address not in error["message"] and "127.0.0.1" not in error["message"]


# ---------------------------------------------------------------------------------------------
# A 6 s invocation limit: every route and job ends in time, named for the endpoint
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["drip", "drip_head", "stall"])
def test_a_stats_lookup_ends_before_the_limit_with_the_endpoint_named(mode: str) -> None:
    with DrippingEndpoint(mode) as endpoint:
        answer = invoke(read_event("apigw_get_stats"), environment(f"http://{endpoint.address}"), 6000)
    status, body = check_http_response(answer)
    assert status == 503, body
    assert answer["headers"]["Retry-After"].isdigit()
    assert_named_too_slow(body["error"], endpoint.address)


def test_a_tls_handshake_that_never_ends_is_cut_like_a_drip() -> None:
    with DrippingEndpoint("silent") as endpoint:
        answer = invoke(read_event("apigw_get_stats"), environment(f"https://{endpoint.address}"), 6000)
    status, body = check_http_response(answer)
    assert status == 503, body
    assert_named_too_slow(body["error"], endpoint.address)
    assert body["error"]["message"].startswith("endpoint unreachable: ")  # no connection was ever complete
    assert endpoint.connections >= 1  # the handshake was really started, then abandoned


def test_the_dashboard_ends_before_the_limit_with_the_endpoint_named() -> None:
    with DrippingEndpoint("drip") as endpoint:
        answer = invoke(read_event("function_url_get_dashboard"), environment(f"http://{endpoint.address}"), 6000)
    assert answer["statusCode"] == 503, answer["body"][:300]
    body = answer["body"]
    assert body.startswith("<!DOCTYPE html>")
    assert ">ClientNetworkError</code>" in body and TOO_SLOW in body
    assert endpoint.address not in body


@pytest.mark.parametrize("job", ["check", "report"])
def test_a_timer_job_ends_before_the_limit_and_the_report_still_reaches_the_sinks(
        job: str, chat: Inbox) -> None:
    url = chat.url
    with DrippingEndpoint("drip") as endpoint:
        env = environment(f"http://{endpoint.address}", (f"webhook+{url}/hook", f"slack+{url}/slack"))
        doc = invoke(timer_event(f'{{"job": "{job}", "window": "last_hour"}}'), env, 6000)
    check_result_document(doc)
    assert [r["app_id"] for r in doc["results"]] == list(APPS)
    for result in doc["results"]:
        assert result["stats"] is None
        assert_named_too_slow(result["error"], endpoint.address)
    assert [a["rule"] for a in doc["alerts"]] == ["api_error"]  # one account-wide alert names them all
    assert {d["sink"]: d["ok"] for d in doc["deliveries"]} == {"webhook": True, "slack": True}, doc["deliveries"]
    assert len(chat.received) == 2
    assert endpoint.address not in str(doc)


# ---------------------------------------------------------------------------------------------
# A 60 s limit: the call's own bound cuts the drip long before the deadline
# ---------------------------------------------------------------------------------------------
def test_under_a_60_s_limit_the_call_limit_cuts_the_drip_and_the_report_is_delivered(chat: Inbox) -> None:
    """The calls end at CALL_LIMIT (tried twice: SLOW_RETRIES), not at the deadline 48 s away;
    the run is the dearest of this file (about 21 s), hence the only one at this limit."""
    with DrippingEndpoint("drip") as endpoint:
        env = environment(f"http://{endpoint.address}", (f"webhook+{chat.url}/hook",))
        doc = invoke(timer_event('{"job": "report", "window": "last_hour"}'), env, 60_000)
    check_result_document(doc)
    for result in doc["results"]:
        assert_named_too_slow(result["error"], endpoint.address)
        assert result["error"]["message"].endswith(f"after {CALL_LIMIT:.1f} s (call limit)")
    assert endpoint.connections == len(APPS) * (1 + SLOW_RETRIES)  # each call tried twice, no more
    assert {d["sink"]: d["ok"] for d in doc["deliveries"]} == {"webhook": True}
    assert len(chat.received) == 1


# ---------------------------------------------------------------------------------------------
# doctor, and the fetcher's own bound
# ---------------------------------------------------------------------------------------------
def test_the_doctor_job_reports_a_failed_endpoint_check_with_a_hint_before_the_limit(chat: Inbox) -> None:
    with DrippingEndpoint("drip") as endpoint:
        env = environment(f"http://{endpoint.address}", (f"webhook+{chat.url}/hook",))
        doc = invoke(timer_event('{"job": "doctor"}'), env, 10_000)
    checks = {c["name"]: c for c in doc["checks"]}
    endpoint_check = checks["endpoint"]
    assert endpoint_check["status"] == "fail" and endpoint_check["code"] == "ClientNetworkError"
    assert TOO_SLOW in endpoint_check["detail"] and endpoint.address not in endpoint_check["detail"]
    assert endpoint_check["hint"]
    assert {checks[n]["status"] for n in ("clock", f"permission {APP_PROD}", "hour rule")} == {"skip"}
    assert any(a["rule"] == "api_error" and TOO_SLOW in a["message"] for a in doc["alerts"])
    assert {d["sink"]: d["ok"] for d in doc["deliveries"]} == {"webhook": True}


def test_without_a_deadline_a_call_still_ends_at_its_own_bound_and_its_connection_is_shut() -> None:
    """A terminal run (`query`, `doctor` without --time-limit) has no deadline: the fetcher's
    bound ends the call, and the abandoned worker's connection is shut rather than left reading."""
    with DrippingEndpoint("drip") as endpoint:
        settings, issues = load_settings(environment(f"http://{endpoint.address}"))
        assert issues == []
        fetcher = SdkStatsFetcher(settings, timeout=1.0)
        with pytest.raises(CloudError) as caught:
            fetcher.fetch(APP_PROD, "2026112400", "2026112400")
        assert endpoint.peer_gone.wait(10), "the abandoned call kept reading the drip"
    assert caught.value.slow and not caught.value.unreachable
    assert caught.value.message == f"{TOO_SLOW}: no complete answer after 1.0 s (call limit)"


def test_the_doctors_server_clock_probe_gives_up_at_its_bound() -> None:
    with DrippingEndpoint("drip_head") as endpoint:
        settings, _ = load_settings(environment(f"http://{endpoint.address}"))
        assert http_server_time(settings, timeout=0.5) is None


def test_after_an_abandoned_call_the_next_one_gets_a_fresh_client_and_its_answer() -> None:
    """The client of a call cut at its bound is dropped with its shut connections; the fetcher's
    next call (a retry, the next app) builds another and is answered as usual."""
    with Emulator() as emu:
        settings, _ = load_settings({"TENCENTCLOUD_SECRETID": emu.secret_id, "TENCENTCLOUD_SECRETKEY": emu.secret_key,
                                     "SMS_ENDPOINT": emu.endpoint})
        fetcher = SdkStatsFetcher(settings)
        fetcher.fetch(APP_PROD, "2026112400", "2026112400")  # a client with a kept-alive connection
        emu.set_latency(3.0)
        with pytest.raises(CloudError) as caught:
            fetcher.fetch(APP_PROD, "2026112400", "2026112400", timeout=0.5)
        assert caught.value.message == f"{TOO_SLOW}: no complete answer after 0.5 s (deadline)"
        emu.set_latency(0.0)
        stats, request_id = fetcher.fetch(APP_PROD, "2026112400", "2026112400", timeout=5.0)
    assert stats.RequestSuccessCount >= 0 and request_id

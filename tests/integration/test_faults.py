"""Fault injection through the real emulator over loopback: the unattended job must hold.

Every test runs `handler.main_handler`'s doorway with the real SDK, the real sinks and an SCF
context carrying a small `time_limit_in_ms`, then checks that the job finished inside that
limit, that every app has a result (stats or an error), that failures are reported, and
that retries stayed within their budget (at most 4 attempts per API call).
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from sms_receipt_stats.app import handle
from sms_receipt_stats.dev.emulator import Emulator
from sms_receipt_stats.dev.receiver import Receiver
from support import (
    APP_MARKETING,
    APP_PROD,
    APP_STAGING,
    APPS,
    LoopbackServer,
    before_the_limit,
    check_http_response,
    check_result_document,
    read_event,
    strict_stdio,
)

pytestmark = pytest.mark.integration

LIMIT_MS = 4000  # small SCF time limits keep the suite fast
SINK_LIMIT_MS = 3000  # SCF's default: what a hanging sink may cost at most
MAX_ATTEMPTS = 4  # the query layer's retry budget per API call (query.API_RETRY.max_attempts)
MANY_APPS = tuple(f"14000001{i:02d}" for i in range(12))


# ---------------------------------------------------------------------------------------------
# Misbehaving HTTP endpoints for the sinks
# ---------------------------------------------------------------------------------------------
class StallingServer(LoopbackServer):
    """A webhook that accepts the request and then never answers (`mode="hang"`) or answers
    one byte at a time, forever (`mode="drip"`); released when the test ends."""

    block_on_close = False

    def __init__(self, mode: str = "hang"):
        self.mode = mode
        self.release = threading.Event()
        self.requests = 0
        super().__init__()

    def do_post(self, request: BaseHTTPRequestHandler) -> None:
        self.requests += 1
        length = int(request.headers.get("Content-Length") or 0)
        request.rfile.read(length)
        if self.mode == "hang":
            self.release.wait(60)
            return
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", "1000000")
        request.end_headers()
        while not self.release.wait(0.2):  # a byte per 0.2 s resets every read timeout
            try:
                request.wfile.write(b" ")
                request.wfile.flush()
            except OSError:
                return

    def __exit__(self, *exc: Any) -> None:
        self.release.set()
        super().__exit__(*exc)


class BlackHole:
    """A listening socket that never accepts: connections complete in the backlog, nothing reads."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self) -> None:
        self.sock.close()


# ---------------------------------------------------------------------------------------------
# Fixtures and the run helper
# ---------------------------------------------------------------------------------------------
@pytest.fixture()
def emu() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


class Inbox:
    """One chat receiver for the whole module (its shutdown costs half a second); `received`
    holds what arrived during the current test only."""

    def __init__(self, receiver: Receiver):
        self._receiver = receiver
        self._seen = len(receiver.received)
        self.url = receiver.url

    @property
    def received(self) -> List[Any]:
        return self._receiver.received[self._seen:]


@pytest.fixture(scope="module")
def _receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture()
def receiver(_receiver: Receiver) -> Inbox:
    return Inbox(_receiver)


def environment(emu: Emulator, sinks: List[str], apps: Tuple[str, ...] = APPS, **extra: str) -> Dict[str, str]:
    return {
        "TENCENTCLOUD_SECRETID": emu.secret_id,
        "TENCENTCLOUD_SECRETKEY": emu.secret_key,
        "SMS_ENDPOINT": emu.endpoint,
        "SMS_SDK_APP_IDS": ",".join(apps),
        "NOTIFY_URLS": ",".join(sinks),
        "API_TOKENS": "fixture-api-token-7f3c9a1e5b",
        **extra,
    }


def run_timer(env: Dict[str, str], limit_ms: int = LIMIT_MS, message: str = "") -> Dict[str, Any]:
    """The default timer event with `message`, which must return within the SCF limit `limit_ms`."""
    event = read_event("timer_default")
    event["Message"] = message
    context = {"time_limit_in_ms": limit_ms, "request_id": "fault-test-0001"}
    doc = before_the_limit(lambda: handle(event, context, env=env), limit_ms)
    check_result_document(doc)
    return doc


def calls_per_task(emu: Emulator) -> Dict[Tuple[str, str, str], int]:
    """API calls per (app, BeginTime, EndTime): one task of the query layer and its retries."""
    counts: Dict[Tuple[str, str, str], int] = {}
    for call in emu.calls:
        if call.action == "CallbackStatusStatistics":
            key = (call.params.get("SmsSdkAppId"), call.params.get("BeginTime"), call.params.get("EndTime"))
            counts[key] = counts.get(key, 0) + 1
    return counts


def calls_per_app(emu: Emulator) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for call in emu.calls:
        if call.action == "CallbackStatusStatistics":
            app = call.params.get("SmsSdkAppId")
            counts[app] = counts.get(app, 0) + 1
    return counts


def assert_every_app_has_a_result(doc: Dict[str, Any], apps: Tuple[str, ...] = APPS) -> None:
    assert [r["app_id"] for r in doc["results"]] == list(apps), "an app's result was lost"
    for result in doc["results"]:
        assert (result["stats"] is None) != (result["error"] is None)


def assert_failures_alerted(doc: Dict[str, Any]) -> None:
    """Every failed app is alerted: on its own, or (every app failing with one code) in the one
    account-wide alert that names them all (docs/alerts.md, *Grouping*)."""
    failed = {r["app_id"] for r in doc["results"] if r["error"] is not None}
    api = [a for a in doc["alerts"] if a["rule"] == "api_error"]
    alerted = {a["app_id"] for a in api if a["app_id"] is not None}
    for account_wide in (a for a in api if a["app_id"] is None):
        alerted |= {r["app_id"] for r in doc["results"] if r["app_id"] in account_wide["message"]}
    assert failed == alerted


def delivery(doc: Dict[str, Any], kind: str) -> Dict[str, Any]:
    found = [d for d in doc["deliveries"] if d["sink"] == kind]
    assert len(found) == 1, doc["deliveries"]
    return found[0]


# ---------------------------------------------------------------------------------------------
# Latency
# ---------------------------------------------------------------------------------------------
def test_a_latency_spike_longer_than_the_time_limit_still_ends_in_time_and_delivers(
        emu: Emulator, receiver: Inbox, tally: Any) -> None:
    emu.set_latency(8.0)  # every API answer comes after twice the SCF limit
    doc = run_timer(environment(emu, [f"webhook+{receiver.url}/hook"]))
    tally["faults"] += len(emu.calls)
    assert_every_app_has_a_result(doc)
    assert all(r["error"] is not None and r["error"]["retryable"] for r in doc["results"])
    assert_failures_alerted(doc)
    assert delivery(doc, "webhook")["ok"], doc["deliveries"]  # the report of the failure arrives
    assert len(receiver.received) == 1


def test_a_short_latency_spike_is_absorbed(emu: Emulator, receiver: Inbox, tally: Any) -> None:
    emu.set_latency(0.8)
    doc = run_timer(environment(emu, [f"webhook+{receiver.url}/hook"]))
    tally["faults"] += len(emu.calls)
    assert_every_app_has_a_result(doc)
    assert all(r["stats"] is not None for r in doc["results"]), [r["error"] for r in doc["results"]]
    assert delivery(doc, "webhook")["ok"]


# ---------------------------------------------------------------------------------------------
# Error storms and rate-limit bursts
# ---------------------------------------------------------------------------------------------
def test_a_storm_of_timeouts_is_retried_within_budget_and_reported(emu: Emulator, receiver: Inbox,
                                                                   tally: Any) -> None:
    emu.inject_error("*", "InternalError.Timeout")
    doc = run_timer(environment(emu, [f"webhook+{receiver.url}/hook"]), limit_ms=6000)
    tally["faults"] += len(emu.calls)
    assert_every_app_has_a_result(doc)
    assert {r["error"]["code"] for r in doc["results"]} == {"InternalError.Timeout"}
    counts = calls_per_app(emu)
    assert all(1 <= counts.get(app, 0) <= MAX_ATTEMPTS for app in APPS), counts
    assert any(counts[app] > 1 for app in APPS), "a transient error was not retried at all"
    assert_failures_alerted(doc)
    assert delivery(doc, "webhook")["ok"]


def test_a_mixed_error_storm_fails_fast_where_retrying_cannot_help(emu: Emulator, receiver: Inbox,
                                                                   tally: Any) -> None:
    emu.inject_error(APP_PROD, "UnauthorizedOperation.ServiceSuspendDueToArrears")
    emu.inject_error(APP_STAGING, "InternalError.SendAndRecvFail", times=2)
    emu.inject_error(APP_MARKETING, "AuthFailure.SignatureFailure")
    doc = run_timer(environment(emu, [f"webhook+{receiver.url}/hook"]), limit_ms=6000,
                             message='{"job": "check"}')
    counts = calls_per_app(emu)
    tally["faults"] += counts[APP_PROD] + 2 + counts[APP_MARKETING]
    assert_every_app_has_a_result(doc)
    by_app = {r["app_id"]: r for r in doc["results"]}
    assert by_app[APP_PROD]["error"]["code"] == "UnauthorizedOperation.ServiceSuspendDueToArrears"
    assert by_app[APP_PROD]["error"]["severity"] == "critical"
    assert by_app[APP_STAGING]["stats"] is not None  # two transient failures, then an answer
    assert by_app[APP_MARKETING]["error"]["code"] == "AuthFailure.SignatureFailure"
    assert counts == {APP_PROD: 1, APP_STAGING: 3, APP_MARKETING: 1}
    assert_failures_alerted(doc)


def test_a_burst_of_request_limit_exceeded_is_absorbed_by_retries(emu: Emulator, receiver: Inbox,
                                                                  tally: Any) -> None:
    emu.inject_error("*", "RequestLimitExceeded", times=5)
    doc = run_timer(environment(emu, [f"webhook+{receiver.url}/hook"]), limit_ms=6000)
    tally["faults"] += 5
    assert_every_app_has_a_result(doc)
    assert all(r["stats"] is not None for r in doc["results"]), [r["error"] for r in doc["results"]]
    counts = calls_per_app(emu)
    assert sum(counts.values()) == len(APPS) + 5
    assert all(n <= MAX_ATTEMPTS for n in counts.values()), counts


def test_a_server_side_rate_limit_below_the_client_cap_costs_no_result(emu: Emulator, receiver: Inbox,
                                                                       tally: Any) -> None:
    emu.set_rate_limit(4)  # the account's real limit is lower than SMS_API_RPS says
    env = environment(emu, [f"webhook+{receiver.url}/hook"], apps=MANY_APPS, SMS_API_RPS="10")
    doc = run_timer(env)
    tally["faults"] += emu.rejected_by_rate_limit
    assert emu.rejected_by_rate_limit > 0, "the fault was not exercised"
    assert_every_app_has_a_result(doc, MANY_APPS)
    counts = calls_per_app(emu)
    assert all(n <= MAX_ATTEMPTS for n in counts.values()), counts
    for result in doc["results"]:  # an app that still failed says why
        assert result["stats"] is not None or result["error"]["code"] in ("RequestLimitExceeded",
                                                                          "InternalError.Timeout")
    assert_failures_alerted(doc)


# ---------------------------------------------------------------------------------------------
# Sinks that hang
# ---------------------------------------------------------------------------------------------
def test_a_hanging_sink_is_reported_failed_and_costs_no_other_delivery(emu: Emulator, receiver: Inbox,
                                                                       tally: Any) -> None:
    with StallingServer("hang") as stall:
        doc = run_timer(environment(emu, [f"webhook+{stall.url}/hook", f"slack+{receiver.url}/x"]),
                           limit_ms=SINK_LIMIT_MS)
        tally["faults"] += stall.requests
    assert_every_app_has_a_result(doc)
    assert all(r["stats"] is not None for r in doc["results"])
    hung, good = delivery(doc, "webhook"), delivery(doc, "slack")
    assert not hung["ok"] and hung["error"] and hung["attempts"] >= 1
    assert good["ok"] and len(receiver.received) == 1


def test_a_sink_that_drips_its_answer_is_abandoned_at_the_deadline(emu: Emulator, receiver: Inbox,
                                                                   tally: Any) -> None:
    with StallingServer("drip") as stall:
        doc = run_timer(environment(emu, [f"wecom+{stall.url}/cgi-bin/webhook/send?key=k",
                                             f"webhook+{receiver.url}/hook"]), limit_ms=SINK_LIMIT_MS)
        tally["faults"] += stall.requests
    assert_every_app_has_a_result(doc)
    dripping, good = delivery(doc, "wecom"), delivery(doc, "webhook")
    assert not dripping["ok"] and dripping["error"]
    assert good["ok"]


def test_a_sink_that_never_accepts_the_connection(emu: Emulator, receiver: Inbox, tally: Any) -> None:
    hole = BlackHole()
    try:
        doc = run_timer(environment(emu, [f"dingtalk+{hole.url}/robot/send?access_token=t",
                                             f"webhook+{receiver.url}/hook"]), limit_ms=SINK_LIMIT_MS)
        tally["faults"] += 1
    finally:
        hole.close()
    assert_every_app_has_a_result(doc)
    assert not delivery(doc, "dingtalk")["ok"] and delivery(doc, "webhook")["ok"]


# ---------------------------------------------------------------------------------------------
# Everything at once
# ---------------------------------------------------------------------------------------------
def test_everything_at_once(emu: Emulator, receiver: Inbox, tally: Any) -> None:
    emu.set_latency(0.3)
    emu.inject_error("*", "RequestLimitExceeded", times=3)
    emu.inject_error(APP_MARKETING, "InternalError.Timeout")
    emu.set_rate_limit(6)
    with StallingServer("hang") as stall:
        env = environment(emu, [f"webhook+{stall.url}/a", f"feishu+{receiver.url}/open-apis/bot/v2/hook/x",
                                f"cmq+api://queue/sms-stats#endpoint={emu.endpoint}"], apps=(*APPS, *MANY_APPS[:5]))
        doc = run_timer(env, limit_ms=5000, message='{"job": "report", "window": "last_24h", "granularity": "day"}')
        tally["faults"] += len(emu.calls) + stall.requests
    assert_every_app_has_a_result(doc, (*APPS, *MANY_APPS[:5]))
    assert {r["app_id"] for r in doc["results"] if r["error"]} >= {APP_MARKETING}
    assert all(n <= MAX_ATTEMPTS for n in calls_per_task(emu).values())
    assert not delivery(doc, "webhook")["ok"]
    assert delivery(doc, "feishu")["ok"]
    assert delivery(doc, "cmq_api_queue")["ok"] and len(emu.cmq_messages) == 1
    assert_failures_alerted(doc)


# ---------------------------------------------------------------------------------------------
# HTTP lookups under faults: the right status, in time, within the retry budget
# ---------------------------------------------------------------------------------------------
def lookup(env: Dict[str, str], limit_ms: int) -> Tuple[int, Dict[str, Any], Dict[str, str]]:
    """The fixture lookup, which must answer within the SCF limit `limit_ms`."""
    context = {"time_limit_in_ms": limit_ms, "request_id": "r"}
    resp = before_the_limit(lambda: handle(read_event("apigw_get_stats"), context, env=env), limit_ms)
    status, body = check_http_response(resp)
    return status, body, resp["headers"]


@pytest.mark.parametrize("fault, limit_ms, expected_status, code", [
    ("latency", 3000, 503, None),  # SCF's default time limit is 3 s
    ("RequestLimitExceeded", 3000, 429, "RequestLimitExceeded"),
    ("InternalError.Timeout", 3000, 503, "InternalError.Timeout"),
    ("burst", 6000, 200, None),  # room for a retry: the burst is absorbed
])
def test_lookups_under_faults(emu: Emulator, fault: str, limit_ms: int, expected_status: int, code: Optional[str],
                              tally: Any) -> None:
    if fault == "latency":
        emu.set_latency(8.0)
    elif fault == "burst":
        emu.inject_error("*", "RequestLimitExceeded", times=2)
    else:
        emu.inject_error("*", fault)
    status, body, headers = lookup(environment(emu, [], apps=("1400006874",)), limit_ms)
    tally["faults"] += len(emu.calls) if fault != "burst" else 2
    assert status == expected_status, body
    if code:
        assert body["error"]["code"] == code
    if status in (429, 503):
        assert headers["Retry-After"].isdigit()
    assert len(emu.calls) <= MAX_ATTEMPTS


def test_a_client_that_gave_up_leaves_no_traceback_in_the_emulator(emu: Emulator, tally: Any) -> None:
    emu.set_latency(1.0)
    env = environment(emu, [], apps=("1400006874",))
    with strict_stdio() as stdio:
        resp = handle(read_event("apigw_get_stats"), {"time_limit_in_ms": 2300, "request_id": "r"}, env=env)
        time.sleep(1.0)  # the emulator answers after the client timed out and closed the connection
    tally["faults"] += len(emu.calls)
    assert resp["statusCode"] == 503 and len(emu.calls) == 1
    assert stdio.err() == ""

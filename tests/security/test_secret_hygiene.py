"""Secret hygiene: canaries in every secret-bearing variable, every path run, found nowhere.

One environment carries a distinct canary in the SecretId, SecretKey, session token, both
API tokens, and every part of every sink URL that is a secret (robot keys, access tokens,
hook paths, signing secrets). Then every job and error path runs against the real emulator
(which accepts the canary credentials and requires the token) and a local receiver that
echoes what it is sent into its error answers. The canaries must appear in none of:
stdout, stderr, log records, result documents, HTTP bodies, and the messages the sinks
and the queue received. Every stdout line is a JSON record carrying the SCF request id.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from sms_receipt_stats.app import handle
from sms_receipt_stats.dev.cmq_dataflow import CmqDataflowFake
from sms_receipt_stats.dev.emulator import Emulator
from support import (
    APP_MARKETING,
    APP_PROD,
    APP_STAGING,
    CANARY_API_TOKENS,
    CANARY_DINGTALK_TOKEN,
    CANARY_SECRET_ID,
    CANARY_SECRET_KEY,
    CANARY_SESSION_TOKEN,
    CANARY_WECOM_KEY,
    LoopbackServer,
    canary_env,
    check_http_response,
    check_result_document,
    find_canaries,
    log_lines,
    notify_urls,
    read_event,
    stats_event,
    strict_stdio,
)

pytestmark = pytest.mark.integration

REQUEST_ID = "scf-req-canary-0001"


class Echo(LoopbackServer):
    """A chat/webhook endpoint that records every request and, on paths containing `/fail`,
    answers with an error that quotes the whole request line and body back (the worst a
    platform could do with a robot key)."""

    def __init__(self) -> None:
        self.received: List[Tuple[str, Dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        super().__init__()

    def do_post(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        with self.lock:
            self.received.append((request.path, dict(request.headers.items()), body))
        if "/fail" in request.path:
            echo = f"invalid request {request.path} {body[:200].decode('utf-8', 'replace')}"
            status = 400 if "/fail400" in request.path else 200
            answer = json.dumps({"errcode": 93000, "errmsg": echo, "code": 19001, "msg": echo,
                                 "StatusCode": 1, "StatusMessage": echo}).encode()
        else:
            status, answer = 200, json.dumps({"errcode": 0, "errmsg": "ok", "code": 0}).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json" if status == 200 else "text/plain")
        request.send_header("Content-Length", str(len(answer)))
        request.end_headers()
        request.wfile.write(answer)


World = Tuple[Emulator, Echo, CmqDataflowFake]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """The SMS emulator (and `cmq+api://`), the chat echo, and the CMQ data-flow fake (`cmq://`),
    both APIs accepting the canary credentials and requiring the session token."""
    emu = Emulator(secret_id=CANARY_SECRET_ID, secret_key=CANARY_SECRET_KEY, require_token=True)
    cmq = CmqDataflowFake(secret_id=CANARY_SECRET_ID, secret_key=CANARY_SECRET_KEY, token=CANARY_SESSION_TOKEN,
                          queues=("sms-stats",), topics=("sms-alerts",))
    with emu, Echo() as echo, cmq:
        yield emu, echo, cmq


def timer(message: Any = "") -> Dict[str, Any]:
    event = read_event("timer_default")
    event["Message"] = message if isinstance(message, str) else json.dumps(message)
    return event


#: the sinks of `notify_urls`, in NOTIFY_URLS order, and the path each chat/webhook sink posts to
SINKS = ["wecom", "dingtalk", "feishu", "slack", "webhook", "cmq_queue", "cmq_topic", "cmq_api_queue",
         "cmq_api_topic"]
HOOK_PATHS = ("/cgi-bin/webhook/send", "/robot/send", "/open-apis/bot/v2/hook/", "/services/", "/hook?")

# Each path: (name, environment changes, event factory, emulator set-up)
Setup = Callable[[Emulator], None]
LEAKY_MESSAGE = (f"signature mismatch: key {CANARY_SECRET_KEY} token={CANARY_SESSION_TOKEN} "
                 f"id {CANARY_SECRET_ID} Authorization: Bearer {CANARY_API_TOKENS[0]}")


def _inject(app: str, code: str, message: str = "injected", times: Optional[int] = None) -> Setup:
    return lambda emu: emu.inject_error(app, code, message, times)


def _base(echo_url: str, fail: bool = False) -> str:
    return f"{echo_url}/fail400" if fail else echo_url


PATHS: List[Tuple[str, Dict[str, Optional[str]], Callable[[], Dict[str, Any]], Optional[Setup], bool]] = [
    ("timer report, every sink", {}, lambda: timer(), None, False),
    ("timer check with alerts", {}, lambda: timer({"job": "check", "window": "last_24h", "granularity": "total"}),
     None, False),
    ("SDK variable names", {"scf_names": None}, lambda: timer(), None, False),
    ("upstream error quoting the credentials", {}, lambda: timer({"job": "check"}),
     _inject(APP_PROD, "AuthFailure.SignatureFailure", LEAKY_MESSAGE), False),
    ("upstream error storm", {}, lambda: timer(),
     lambda emu: (emu.inject_error("*", "InternalError.Timeout", LEAKY_MESSAGE),
                  emu.inject_error(APP_STAGING, "RequestLimitExceeded", LEAKY_MESSAGE, 2)), False),
    ("sinks answering errors that quote the request", {}, lambda: timer({"job": "check"}), None, True),
    ("bad Message", {}, lambda: timer('{"job": "report", "window": yesterday}'), None, False),
    ("bad Message fields", {}, lambda: timer({"job": "rm -rf", "app_ids": ["1400000003"], "extra": 1}), None, False),
    ("bad sink entries holding secrets", {"NOTIFY_URLS_EXTRA": (
        f"wecom+https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={CANARY_WECOM_KEY}#min_severity=loud,"
        f"https://[::1/robot/send?access_token={CANARY_DINGTALK_TOKEN},"
        f"ftp://user:{CANARY_SECRET_KEY}@example.invalid/x,"
        f"dingtalk+https://oapi.dingtalk.com/robot/send?access_token={CANARY_DINGTALK_TOKEN}#bogus={CANARY_SECRET_KEY}"
    )}, lambda: timer(), None, False),
    ("bad configuration values", {"SMS_REGION": CANARY_SECRET_KEY, "API_AUTH": CANARY_API_TOKENS[1],
                                  "REPORT_LANG": CANARY_SESSION_TOKEN}, lambda: timer(), None, False),
    ("no app ids", {"SMS_SDK_APP_IDS": None}, lambda: timer(), None, False),
    ("unknown event", {}, lambda: {"hello": CANARY_API_TOKENS[0]}, None, False),
    ("lookup ok", {}, lambda: stats_event(token=CANARY_API_TOKENS[1]), None, False),
    ("lookup, wrong token", {}, lambda: stats_event(token=CANARY_API_TOKENS[0] + "x"), None, False),
    ("lookup, token in the query", {}, lambda: stats_event(
        query={"app_id": APP_PROD, "window": "yesterday", "token": CANARY_API_TOKENS[0]}, token=None), None, False),
    ("lookup, secrets as parameter values", {}, lambda: stats_event(
        token=CANARY_API_TOKENS[0], query={"app_id": APP_PROD, "begin": CANARY_SECRET_KEY, "end": CANARY_WECOM_KEY}),
     None, False),
    ("lookup, not allowed", {}, lambda: stats_event(token=CANARY_API_TOKENS[0],
                                                    query={"app_id": "1400000003", "window": "yesterday"}),
     None, False),
    ("lookup, upstream auth failure quoting the credentials", {}, lambda: stats_event(token=CANARY_API_TOKENS[0]),
     _inject(APP_PROD, "AuthFailure.SecretIdNotFound", LEAKY_MESSAGE), False),
    ("lookup, upstream rate limit", {}, lambda: stats_event(token=CANARY_API_TOKENS[0]),
     _inject("*", "RequestLimitExceeded", LEAKY_MESSAGE), False),
    ("lookup, no credentials", {"TENCENTCLOUD_SECRETID": None, "TENCENTCLOUD_SECRETKEY": None},
     lambda: stats_event(token=CANARY_API_TOKENS[0]), None, False),
    ("health", {}, lambda: read_event("apigw_health"), None, False),
    ("timer, no credentials", {"TENCENTCLOUD_SECRETID": None, "TENCENTCLOUD_SECRETKEY": None}, lambda: timer(),
     None, False),
]


def environment(world: World, changes: Dict[str, Optional[str]], failing_sinks: bool) -> Dict[str, str]:
    emu, echo, cmq = world
    changes = dict(changes)
    scf_names = "scf_names" not in changes
    changes.pop("scf_names", None)
    sinks = notify_urls(_base(echo.url, failing_sinks), cmq_endpoint=cmq.address, cmq_api_endpoint=emu.endpoint)
    extra = changes.pop("NOTIFY_URLS_EXTRA", None)
    if extra:
        sinks = f"{sinks},{extra}"
    changes.setdefault("SMS_SDK_APP_IDS", f"{APP_PROD}=prod,{APP_STAGING}=staging,{APP_MARKETING}=marketing")
    return canary_env(endpoint=emu.endpoint, sinks=sinks, scf_names=scf_names, **changes)


@pytest.mark.parametrize("name", [p[0] for p in PATHS])
def test_no_canary_escapes_any_path(name: str, world: World, tally: Any) -> None:
    emu, echo, cmq = world
    _, changes, make_event, setup, failing_sinks = next(p for p in PATHS if p[0] == name)
    emu.reset_faults()
    emu.clear_records()
    cmq.reset()
    seen = len(echo.received)
    if setup:
        setup(emu)
    env = environment(world, changes, failing_sinks)
    with strict_stdio() as stdio:
        result = handle(make_event(), {"request_id": REQUEST_ID, "time_limit_in_ms": 5000}, env=env)
    tally["cases:secrets: job and error paths with canaries"] += 1

    if "statusCode" in result:
        check_http_response(result)
    else:
        check_result_document(result)
    records = log_lines(stdio.out())
    assert records, "every invocation logs at least its outcome"
    assert all(r.get("request_id") == REQUEST_ID for r in records), "a log record without the SCF request id"

    sent = [(path, headers, body) for path, headers, body in echo.received[seen:]]
    places = {
        "result": json.dumps(result, ensure_ascii=False),
        "stdout": stdio.out(),
        "stderr": stdio.err(),
        "sink bodies": "\n".join(body.decode("utf-8", "replace") for _, _, body in sent),
        "sink headers": "\n".join(json.dumps(headers) for _, headers, _ in sent),
        "queue messages": "\n".join(json.dumps(m) for m in [*emu.cmq_messages, *cmq.messages]),
    }
    leaks = {where: find_canaries(text) for where, text in places.items() if find_canaries(text)}
    tally["outputs scanned"] += len(places)
    assert not leaks, f"secrets leaked on path {name!r}: {leaks}"
    assert stdio.err() == "", stdio.err()[:500]
    if "statusCode" in result:
        return
    if name == "unknown event":  # not a timer job: nothing to deliver
        assert result["deliveries"] == [] and sent == []
        return
    # every timer path really exercised the sinks: each configured sink was tried, each hook was posted to
    assert [d["sink"] for d in result["deliveries"]] == SINKS, result["deliveries"]
    assert all(any(hook in path for path, _, _ in sent) for hook in HOOK_PATHS), [p for p, _, _ in sent]


def test_the_paths_exercise_sinks_queue_and_upstream(world: World) -> None:
    """Sanity: the canary environment really delivers everywhere (a hygiene test that sends
    nothing proves nothing)."""
    emu, echo, cmq = world
    emu.reset_faults()
    emu.clear_records()
    cmq.reset()
    seen = len(echo.received)
    env = environment(world, {}, False)
    with strict_stdio():
        doc = handle(timer(), {"request_id": REQUEST_ID, "time_limit_in_ms": 15000}, env=env)
    assert [d["sink"] for d in doc["deliveries"]] == SINKS
    assert all(d["ok"] for d in doc["deliveries"]), doc["deliveries"]
    assert len(echo.received) - seen == 5 and len(emu.cmq_messages) == 2 and len(cmq.messages) == 2
    assert all(c.has_token for c in emu.calls)  # the session token was sent (and required)
    assert all(r.fields.get("Token") == CANARY_SESSION_TOKEN for r in cmq.requests)  # by the data flow too
    assert all(r["stats"] is not None for r in doc["results"])

"""CMQ sinks over loopback: `cmq://` (the HTTP data-flow API, hand-signed) against the data-flow
fake, through `handler.main_handler` too; `cmq+api://` (the management API, test-only) through the
real tencentcloud SDK against the SMS emulator (TC3-signed)."""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from typing import Dict, Iterator, List
from urllib.parse import urlencode

import pytest
import requests

import handler
from sms_receipt_stats.config import Settings, load_settings
from sms_receipt_stats.dev.cmq_dataflow import PATH, CmqDataflowFake, sign
from sms_receipt_stats.dev.emulator import SECRET_ID, SECRET_KEY, Emulator
from sms_receipt_stats.documents import Alert, AppResult, ResultDocument, WindowDoc
from sms_receipt_stats.notify.delivery import deliver_all
from sms_receipt_stats.stats import Stats, compute_rates
from support import read_event

pytestmark = pytest.mark.integration

MANAGEMENT_ACTIONS = ("SendCmqMsg", "PublishCmqMsg")


@pytest.fixture()
def emu() -> Iterator[Emulator]:
    with Emulator(queues={"q"}, topics={"t"}) as running:
        yield running


@pytest.fixture()
def cmq() -> Iterator[CmqDataflowFake]:
    with CmqDataflowFake(queues=("q",), topics=("t",)) as running:
        yield running


def at(endpoint: str, *entries: str) -> str:
    """NOTIFY_URLS whose entries carry `#endpoint=endpoint`."""
    return ",".join(f"{entry}#endpoint={endpoint}" for entry in entries)


def settings(notify: str, **env: str) -> Settings:
    loaded, issues = load_settings({"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
                                    "NOTIFY_URLS": notify, **env})
    assert issues == []
    return loaded


def document() -> ResultDocument:
    stats = Stats(RequestSuccessCount=1880, CallbackCount=1745, CallbackSuccessCount=1344, CallbackFailCount=401,
                  ShutdownErrorCount=401)
    result = AppResult(app_id="1400006874", app_name="生产", window=WindowDoc(begin="2021050113", end="2021050123",
                       timezone="Asia/Shanghai"), stats=stats, rates=compute_rates(stats))
    alert = Alert(rule="success_rate_below", severity="warning", app_id="1400006874", value=0.7702, threshold=0.9,
                  message="success rate 77.02% below 90% & <b>\"quoted\"</b> +plus")
    return ResultDocument(kind="report", generated_at="2026-11-24T09:00:03+08:00", results=[result], alerts=[alert])


class Sleeper:
    def __init__(self) -> None:
        self.waits: List[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


# -- cmq:// : the data-flow API ----------------------------------------------------------------------


def test_queue_and_topic_receive_the_result_document(cmq: CmqDataflowFake) -> None:
    doc = document()
    deliveries = deliver_all(doc, settings(at(cmq.address, "cmq://queue/q", "cmq://topic/t")), sleep=Sleeper())
    assert [d.model_dump() for d in deliveries] == [
        {"sink": "cmq_queue", "ok": True, "attempts": 1, "error": None},
        {"sink": "cmq_topic", "ok": True, "attempts": 1, "error": None},
    ]
    by_action = {m["action"]: m for m in cmq.messages}
    assert set(by_action) == {"SendMessage", "PublishMessage"}
    assert by_action["SendMessage"]["name"] == "q" and by_action["PublishMessage"]["name"] == "t"
    for message in by_action.values():
        body = json.loads(message["body"])  # UTF-8, &, +, quotes survive the form
        assert body == {**doc.to_json_dict(), "message_id": message["client_request_id"]}
        assert body["message_id"].startswith("msg_") and message["signature_method"] == "HmacSHA256"


@pytest.fixture()
def product_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Dict[str, str]]:
    """main_handler reads os.environ: start from none of the product's variables."""
    for name in list(os.environ):
        if name.startswith(("TENCENTCLOUD_", "SMS_", "NOTIFY_", "API_", "STATE_", "REPORT_", "ALERT_")):
            monkeypatch.delenv(name)
    values: Dict[str, str] = {}
    yield values
    for name in values:
        monkeypatch.delenv(name, raising=False)


def use(monkeypatch: pytest.MonkeyPatch, values: Dict[str, str], **env: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
        values[name] = value


def test_main_handler_sends_the_report_on_the_data_flow_only(emu: Emulator, cmq: CmqDataflowFake,
                                                             product_env: Dict[str, str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A timer report through the SCF entry point: the queue gets the document the run returned,
    through SendMessage; the management API (served by the emulator) is never called."""
    use(monkeypatch, product_env, TENCENTCLOUD_SECRETID=SECRET_ID, TENCENTCLOUD_SECRETKEY=SECRET_KEY,
        SMS_ENDPOINT=emu.endpoint, SMS_SDK_APP_IDS="1400006874=prod,1400000002=staging",
        NOTIFY_URLS=f"cmq://queue/q#endpoint={cmq.address}")
    doc = handler.main_handler(read_event("timer_default"), {"request_id": "scf-cmq-1", "time_limit_in_ms": 30000})
    assert doc["deliveries"] == [{"sink": "cmq_queue", "ok": True, "attempts": 1, "error": None}]
    [message] = cmq.messages
    sent = json.loads(message["body"])
    assert sent["message_id"] == message["client_request_id"]
    assert sent["results"] == doc["results"] and sent["generated_at"] == doc["generated_at"]
    assert sent["kind"] == doc["kind"] and sent["alerts"] == doc["alerts"]
    assert [c.action for c in emu.calls if c.action in MANAGEMENT_ACTIONS] == []
    assert {c.service for c in emu.calls} == {"sms"}  # the SMS API's statistics, nothing else


def test_main_handler_reports_a_missing_endpoint_as_a_config_error(product_env: Dict[str, str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, product_env, TENCENTCLOUD_SECRETID=SECRET_ID, TENCENTCLOUD_SECRETKEY=SECRET_KEY,
        SMS_SDK_APP_IDS="1400006874", NOTIFY_URLS="cmq://queue/q", SMS_ENDPOINT="http://127.0.0.1:9")
    doc = handler.main_handler(read_event("timer_default"), {"request_id": "scf-cmq-2", "time_limit_in_ms": 3000})
    text = json.dumps(doc)
    assert "endpoint= is required" in text and "Queue Service > API request address" in text


def test_a_rate_limit_is_retried(cmq: CmqDataflowFake) -> None:
    cmq.fail("q", 4420, "(10250)qps   throttling", times=1)
    sleeper = Sleeper()
    [delivery] = deliver_all(document(), settings(at(cmq.address, "cmq://queue/q")), sleep=sleeper)
    assert delivery.ok and delivery.attempts == 2 and len(sleeper.waits) == 1
    assert len(cmq.messages) == 1


def test_unknown_queue_fails_without_retry_and_the_topic_still_gets_its_message(
    cmq: CmqDataflowFake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sleeper = Sleeper()
    missing, topic = deliver_all(document(), settings(at(cmq.address, "cmq://queue/missing", "cmq://topic/t")),
                                 sleep=sleeper)
    assert not missing.ok and missing.attempts == 1 and "code 4440" in missing.error
    assert "queue is not existed" in missing.error
    assert topic.ok and sleeper.waits == []
    assert [m["name"] for m in cmq.messages] == ["t"]
    assert SECRET_KEY not in caplog.text and SECRET_KEY not in missing.error


def test_wrong_key_is_a_permanent_authentication_failure(cmq: CmqDataflowFake) -> None:
    loaded, _ = load_settings({"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": "not-the-key",
                               "NOTIFY_URLS": at(cmq.address, "cmq://queue/q")})
    [delivery] = deliver_all(document(), loaded, sleep=Sleeper())
    assert not delivery.ok and delivery.attempts == 1 and "code 4100: authentication failed" in delivery.error
    assert "not-the-key" not in delivery.error and cmq.messages == []


def test_a_clock_far_off_is_refused(cmq: CmqDataflowFake) -> None:
    [delivery] = deliver_all(document(), settings(at(cmq.address, "cmq://queue/q")), sleep=Sleeper(),
                             now=lambda: time.time() - 3600)
    assert not delivery.ok and "code 4100" in delivery.error and "clock" in delivery.error


def test_temporary_credentials_send_the_token(cmq: CmqDataflowFake) -> None:
    cmq.token = "session-token-of-the-role"
    conf = settings(at(cmq.address, "cmq://queue/q"), TENCENTCLOUD_SESSIONTOKEN="session-token-of-the-role")
    [delivery] = deliver_all(document(), conf, sleep=Sleeper())
    assert delivery.ok
    [without] = deliver_all(document(), settings(at(cmq.address, "cmq://queue/q")), sleep=Sleeper())
    assert not without.ok and "code 4100" in without.error


def test_a_document_over_the_queues_max_message_size_is_a_named_permanent_failure(cmq: CmqDataflowFake) -> None:
    cmq.add_queue("small", max_msg_size=256)
    [delivery] = deliver_all(document(), settings(at(cmq.address, "cmq://queue/small")), sleep=Sleeper())
    assert not delivery.ok and delivery.attempts == 1
    assert "code 4400" in delivery.error and "max_msg_size=" in delivery.error


def test_latency_past_the_deadline_is_a_timeout(cmq: CmqDataflowFake) -> None:
    cmq.set_latency(1.5)
    [delivery] = deliver_all(document(), settings(at(cmq.address, "cmq://queue/q")), sleep=Sleeper(),
                             deadline=time.monotonic() + 0.5)
    assert not delivery.ok and "timed out" in delivery.error


def test_the_fake_checks_both_signature_methods() -> None:
    """The fake itself: HmacSHA1 (and a missing SignatureMethod) and HmacSHA256 are accepted when
    signed right, refused when a signed field changes."""
    with CmqDataflowFake(queues=("q",)) as fake:
        host = f"127.0.0.1:{fake.port}"
        answers = []
        for method in ("HmacSHA1", "HmacSHA256", None):
            fields = {"Action": "SendMessage", "SecretId": SECRET_ID, "Timestamp": str(int(time.time())),
                      "Nonce": "12345", "queueName": "q", "msgBody": "hello"}
            if method:
                fields["SignatureMethod"] = method
            fields["Signature"] = sign(SECRET_KEY, "POST", host, PATH, fields)
            answers.append(requests.post(fake.address + PATH, data=fields, timeout=5).json()["code"])
            fields["msgBody"] = "tampered"
            answers.append(requests.post(fake.address + PATH, data=fields, timeout=5).json()["code"])
        assert answers == [0, 4100, 0, 4100, 0, 4100]
        assert [m["signature_method"] for m in fake.messages] == ["HmacSHA1", "HmacSHA256", "HmacSHA1"]


def test_the_fake_requires_the_common_parameters() -> None:
    with CmqDataflowFake(queues=("q",)) as fake:
        body = urlencode({"Action": "SendMessage", "queueName": "q", "msgBody": "x"})
        answer = requests.post(fake.address + PATH, data=body, timeout=5,
                               headers={"Content-Type": "application/x-www-form-urlencoded"}).json()
        assert answer["code"] == 4000 and answer["message"] == "(10390)lacked of required parameter SecretId"
        assert set(answer) == {"code", "message", "requestId"}


# -- cmq+api:// : the management API (test-only) ------------------------------------------------------


def test_cmq_api_queue_and_topic_receive_the_result_document(emu: Emulator) -> None:
    doc = document()
    deliveries = deliver_all(doc, settings(at(emu.endpoint, "cmq+api://queue/q", "cmq+api://topic/t")),
                             sleep=Sleeper())
    assert [d.model_dump() for d in deliveries] == [
        {"sink": "cmq_api_queue", "ok": True, "attempts": 1, "error": None},
        {"sink": "cmq_api_topic", "ok": True, "attempts": 1, "error": None},
    ]
    by_action = {m["action"]: m for m in emu.cmq_messages}
    assert set(by_action) == {"SendCmqMsg", "PublishCmqMsg"}
    assert by_action["SendCmqMsg"]["name"] == "q" and by_action["SendCmqMsg"]["delay_seconds"] == 0
    assert by_action["PublishCmqMsg"]["name"] == "t"
    for message in by_action.values():  # the document, with the id a consumer drops duplicates by
        body = json.loads(message["content"])
        assert body.pop("message_id").startswith("msg_") and body == doc.to_json_dict()


def test_cmq_api_endpoint_and_region_options(emu: Emulator) -> None:
    [delivery] = deliver_all(document(), settings(f"cmq+api://queue/q#region=ap-shanghai&endpoint={emu.endpoint}"),
                             sleep=Sleeper())
    assert delivery.ok
    assert [c.region for c in emu.calls if c.action == "SendCmqMsg"] == ["ap-shanghai"]


def test_cmq_api_rate_limit_is_retried(emu: Emulator) -> None:
    emu.inject_error("q", "RequestLimitExceeded", "too many requests", times=1)
    sleeper = Sleeper()
    [delivery] = deliver_all(document(), settings(at(emu.endpoint, "cmq+api://queue/q")), sleep=sleeper)
    assert delivery.ok and delivery.attempts == 2 and len(sleeper.waits) == 1
    assert len(emu.cmq_messages) == 1


def test_cmq_api_unknown_queue_fails_without_retry(emu: Emulator) -> None:
    missing, topic = deliver_all(document(), settings(at(emu.endpoint, "cmq+api://queue/missing",
                                                         "cmq+api://topic/t")), sleep=Sleeper())
    assert not missing.ok and missing.attempts == 1 and "ResourceNotFound" in missing.error
    assert topic.ok and [m["name"] for m in emu.cmq_messages] == ["t"]


def test_cmq_api_wrong_credentials_are_a_permanent_failure(emu: Emulator) -> None:
    loaded, _ = load_settings({"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": "not-the-emulator-key",
                               "NOTIFY_URLS": at(emu.endpoint, "cmq+api://queue/q")})
    [delivery] = deliver_all(document(), loaded, sleep=Sleeper())
    assert not delivery.ok and delivery.attempts == 1 and delivery.error.split(": ", 1)[1].startswith("AuthFailure")
    assert "not-the-emulator-key" not in delivery.error


def test_sms_endpoint_never_carries_the_queue_calls(emu: Emulator) -> None:
    """SMS_ENDPOINT (here the emulator, as a VPC endpoint would be) is the SMS API's host only."""
    conf = settings("cmq+api://queue/q#endpoint=http://127.0.0.1:9,cmq://queue/q#endpoint=http://127.0.0.1:9",
                    SMS_ENDPOINT=emu.endpoint)  # discard port: nothing listens
    deliveries = deliver_all(document(), conf, sleep=Sleeper())
    assert not any(d.ok for d in deliveries)
    assert [c for c in emu.calls if c.action in MANAGEMENT_ACTIONS] == []


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("scheme", ["cmq+api", "cmq"])
def test_unreachable_endpoint_names_no_host_in_results_or_logs(scheme: str, caplog: pytest.LogCaptureFixture,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    loaded = settings(f"{scheme}://queue/q#endpoint=http://127.0.0.1:{port}")
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sms_receipt_stats")
    # an earlier handler run may have cut our logger off from the root (log.configure)
    monkeypatch.setattr(logging.getLogger("sms_receipt_stats"), "propagate", True)
    sleeper = Sleeper()
    [delivery] = deliver_all(document(), loaded, sleep=sleeper)
    assert not delivery.ok and delivery.attempts == 3 and len(sleeper.waits) == 2  # transient: retried
    if scheme == "cmq+api":
        assert delivery.error.endswith("ClientNetworkError: endpoint unreachable: the endpoint refused the connection")
    else:
        assert delivery.error.endswith("network error (ConnectionError)")
    # the product's own lines (urllib3's DEBUG lines name hosts; the handler keeps urllib3 at WARNING)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("sms_receipt_stats"))
    for text in (delivery.error, logged):
        assert "127.0.0.1" not in text and str(port) not in text

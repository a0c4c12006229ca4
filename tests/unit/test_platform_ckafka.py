"""CKafka sink without the network: the SendMessage request, its key, regions, endpoints, the size
cap, each kind of answer, and no secret in what a failure says.

The round trip through the real SDK against the emulator is in tests/integration/test_ckafka_sink.py.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

import pytest
import responses
from sink_support import Sleeper, checked_settings, document

from sms_receipt_stats.config import Settings, load_settings
from sms_receipt_stats.documents import ResultDocument
from sms_receipt_stats.notify.delivery import build_sinks, deliver_all
from sms_receipt_stats.notify.platforms.ckafka import MAX_MESSAGE_BYTES, REGIONS, CkafkaSink
from sms_receipt_stats.notify.urls import parse_notify_urls

SECRET_KEY = "Zq7vR2mXw9LpT4nYb8KcJ1hD"
TOKEN = "Hs3Gk8PwQz5Nx2Vb7Lm4Rt9Yc6Jd"
CREDS = {"TENCENTCLOUD_SECRET_ID": "AKIDunitunitunitunitunit", "TENCENTCLOUD_SECRET_KEY": SECRET_KEY}
DATAHUB = "datahub-meuh9nhn"  # the example id of SendMessage's docs
API = "https://ckafka.tencentcloudapi.com/"


def settings(notify: str = f"ckafka://{DATAHUB}", **env: str) -> Settings:
    return checked_settings({**CREDS, "NOTIFY_URLS": notify, **env})


def answer(*ids: str) -> Dict[str, Any]:
    return {"json": {"Response": {"MessageId": list(ids), "RequestId": "r-1"}}}


def error(code: str, message: str = "failed") -> Dict[str, Any]:
    return {"json": {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "r-2"}}}


def sent(call: Any) -> Dict[str, Any]:
    return json.loads(call.request.body)


def deliver(doc: ResultDocument, conf: Settings, sleeper: Optional[Sleeper] = None) -> Any:
    [delivery] = deliver_all(doc, conf, sleep=sleeper or Sleeper())
    return delivery


def test_send_message_carries_the_document_keyed_by_its_message_id() -> None:
    doc = document("check", "warning")
    with responses.RequestsMock() as mock:
        mock.post(API, **answer("6461746168"))
        delivery = deliver(doc, settings())
        [call] = mock.calls
    assert delivery.ok and delivery.attempts == 1 and delivery.sink == "ckafka"
    headers = call.request.headers
    assert (headers["X-TC-Action"], headers["X-TC-Version"]) == ("SendMessage", "2019-08-19")
    assert headers["Host"] == "ckafka.tencentcloudapi.com" and headers["Authorization"].startswith("TC3-HMAC-SHA256")
    body = sent(call)
    assert set(body) == {"DataHubId", "Message"} and body["DataHubId"] == DATAHUB
    [message] = body["Message"]
    assert set(message) == {"Key", "Body"}
    document_sent = json.loads(message["Body"])
    assert message["Key"] == document_sent["message_id"] and message["Key"].startswith("msg_")
    assert {k: v for k, v in document_sent.items() if k != "message_id"} == doc.to_json_dict()


def test_a_stored_document_keeps_its_message_id_as_the_key() -> None:
    """An outbox resend carries the id of the first send: the consumer drops the copy."""
    doc = document("check", "critical").model_copy(update={"message_id": "msg_kept_for_retries"})
    with responses.RequestsMock() as mock:
        mock.post(API, **answer("id-1"))
        assert deliver(doc, settings()).ok
        [message] = sent(mock.calls[0])["Message"]
    assert message["Key"] == "msg_kept_for_retries" == json.loads(message["Body"])["message_id"]


def test_a_retry_sends_the_same_key() -> None:
    sleeper = Sleeper()
    with responses.RequestsMock() as mock:
        mock.post(API, **error("RequestLimitExceeded", "too many requests"))
        mock.post(API, **answer("id-2"))
        delivery = deliver(document("check", "critical"), settings(), sleeper)
        keys = [sent(c)["Message"][0]["Key"] for c in mock.calls]
    assert delivery.ok and delivery.attempts == 2 and len(sleeper.waits) == 1
    assert keys[0] == keys[1]


def test_routing_by_min_severity() -> None:
    conf = settings(f"ckafka://{DATAHUB}#min_severity=warning")
    [sink] = build_sinks(conf.sinks)
    assert isinstance(sink, CkafkaSink)
    assert sink.prepare(document("report"), conf) is None
    assert sink.prepare(document("check", "info"), conf) is None
    assert sink.prepare(document("check", "warning"), conf) is not None


@pytest.mark.parametrize(("code", "attempts", "ok"), [
    ("RequestLimitExceeded", 2, True),
    ("InternalError", 2, True),
    ("ResourceNotFound", 1, False),
    ("InvalidParameterValue", 1, False),
    ("UnauthorizedOperation", 1, False),
    ("AuthFailure.SignatureFailure", 1, False),
])
def test_api_errors_are_retried_as_the_catalogue_says(code: str, attempts: int, ok: bool) -> None:
    sleeper = Sleeper()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(API, **error(code))
        mock.post(API, **answer("id-3"))
        delivery = deliver(document("check", "critical"), settings(), sleeper)
    assert (delivery.ok, delivery.attempts) == (ok, attempts)
    if not ok:
        assert delivery.error.startswith(f"ckafka#1({DATAHUB}): {code}: ") and sleeper.waits == []


@pytest.mark.parametrize("response", [
    {"MessageId": []},
    {"MessageId": [""]},
    {"MessageId": ["a", "b"]},
    {},
])
def test_an_answer_without_the_message_id_is_a_failed_delivery(response: Dict[str, Any]) -> None:
    """SendMessage answers one id per message sent: none means the message was not taken."""
    with responses.RequestsMock() as mock:
        mock.post(API, json={"Response": {**response, "RequestId": "r-4"}})
        delivery = deliver(document("check", "critical"), settings())
        calls = len(mock.calls)
    assert not delivery.ok and delivery.attempts == calls == 3  # retried: the key makes a copy harmless
    assert delivery.error.endswith("SendMessage answered no message id for the message")


def test_a_document_over_the_cap_fails_permanently_without_a_call() -> None:
    doc = document("check", "critical", message="x" * (MAX_MESSAGE_BYTES + 10))
    sleeper = Sleeper()
    with responses.RequestsMock() as mock:
        delivery = deliver(doc, settings(), sleeper)
        assert len(mock.calls) == 0
    assert not delivery.ok and delivery.attempts == 1 and sleeper.waits == []
    assert f"exceeds the queue's message limit of {MAX_MESSAGE_BYTES} bytes" in delivery.error


def test_a_document_near_the_cap_is_sent_whole() -> None:
    doc = document("check", "critical", message="x" * (MAX_MESSAGE_BYTES - 2000))
    with responses.RequestsMock() as mock:
        mock.post(API, **answer("id-5"))
        assert deliver(doc, settings()).ok
        body = sent(mock.calls[0])["Message"][0]["Body"]
    assert MAX_MESSAGE_BYTES - 2000 < len(body.encode("utf-8")) <= MAX_MESSAGE_BYTES
    assert "omitted" not in json.loads(body)


@pytest.mark.parametrize(("entry", "env", "region"), [
    (f"ckafka://{DATAHUB}", {}, "ap-guangzhou"),
    (f"ckafka://{DATAHUB}", {"SMS_REGION": "ap-beijing"}, "ap-beijing"),
    (f"ckafka://{DATAHUB}#region=ap-shanghai", {"SMS_REGION": "ap-beijing"}, "ap-shanghai"),
])
def test_region_is_the_entrys_else_sms_region(entry: str, env: Dict[str, str], region: str) -> None:
    with responses.RequestsMock() as mock:
        mock.post(API, **answer("id-6"))
        assert deliver(document("check", "critical"), settings(entry, **env)).ok
        assert mock.calls[0].request.headers["X-TC-Region"] == region


def test_an_sms_region_without_send_message_fails_naming_the_option() -> None:
    assert "ap-hongkong" not in REGIONS
    with responses.RequestsMock() as mock:
        delivery = deliver(document("check", "critical"), settings(SMS_REGION="ap-hongkong"))
        assert len(mock.calls) == 0
    assert not delivery.ok and delivery.attempts == 1
    assert "region ap-hongkong has no CKafka SendMessage" in delivery.error and "region=" in delivery.error


@pytest.mark.parametrize("sms_endpoint", [None, "sms.internal.tencentcloudapi.com", "http://127.0.0.1:8080"])
def test_calls_go_to_ckafka_whatever_sms_endpoint_says(sms_endpoint: Optional[str]) -> None:
    env = {"SMS_ENDPOINT": sms_endpoint} if sms_endpoint else {}
    with responses.RequestsMock() as mock:
        mock.post(API, **answer("id-7"))
        assert deliver(document("check", "critical"), settings(**env)).ok
        assert mock.calls[0].request.headers["Host"] == "ckafka.tencentcloudapi.com"


def test_endpoint_option_overrides_the_default() -> None:
    with responses.RequestsMock() as mock:
        mock.post("https://ckafka.internal.tencentcloudapi.com/", **answer("id-8"))
        assert deliver(document("check", "critical"),
                       settings(f"ckafka://{DATAHUB}#endpoint=ckafka.internal.tencentcloudapi.com")).ok


@pytest.mark.parametrize(("entry", "problem"), [
    ("ckafka://datahub-MEUH9NHN", "expected ckafka://datahub-xxxxxxxx"),
    ("ckafka://datahub-abc", "expected ckafka://datahub-xxxxxxxx"),
    ("ckafka://meuh9nhn", "expected ckafka://datahub-xxxxxxxx"),
    (f"ckafka://{DATAHUB}/topic", "expected ckafka://datahub-xxxxxxxx"),
    (f"ckafka://{DATAHUB}#region=eu-frankfurt", "region: CKafka's SendMessage is served in ap-beijing"),
    (f"ckafka://{DATAHUB}#endpoint=ftp://x", "endpoint: scheme must be http or https"),
    (f"ckafka+https://{DATAHUB}", "expected an http(s) URL"),
])
def test_bad_entries_are_refused_naming_the_problem(entry: str, problem: str) -> None:
    specs, problems = parse_notify_urls(entry)
    assert specs == [] and len(problems) == 1 and problem in problems[0]


def test_an_entry_names_its_datahub_and_ignores_chat_options() -> None:
    specs, problems = parse_notify_urls(f"ckafka://{DATAHUB}#mention=all&region=ap-tokyo")
    [spec] = specs
    assert (spec.kind, spec.name, spec.region, spec.label) == ("ckafka", DATAHUB, "ap-tokyo", f"ckafka#1({DATAHUB})")
    assert len(problems) == 1 and "mention= is ignored" in problems[0]


def test_no_secret_in_a_failure_even_when_the_api_echoes_one() -> None:
    conf = settings(TENCENTCLOUD_SESSIONTOKEN=TOKEN)
    with responses.RequestsMock() as mock:
        mock.post(API, **error("AuthFailure.TokenFailure", f"token {TOKEN} for key {SECRET_KEY} is invalid"))
        delivery = deliver(document("check", "critical"), conf)
        assert mock.calls[0].request.headers["X-TC-Token"] == TOKEN  # temporary credentials are sent
    assert not delivery.ok and delivery.error.startswith(f"ckafka#1({DATAHUB}): AuthFailure.TokenFailure")
    assert TOKEN not in delivery.error and SECRET_KEY not in delivery.error


def test_missing_credentials_is_a_permanent_failure() -> None:
    conf, _ = load_settings({"NOTIFY_URLS": f"ckafka://{DATAHUB}"})
    with responses.RequestsMock() as mock:
        delivery = deliver(document("check", "critical"), conf)
        assert len(mock.calls) == 0
    assert not delivery.ok and delivery.attempts == 1 and "credentials" in delivery.error


# -- doctor's DataHub check (DescribeDatahubTasks), without sending ------------------------------------------


def tasks(*datahubs: str, total: Optional[int] = None, status: int = 1) -> Dict[str, Any]:
    listed = [{"TaskId": f"task-{i}", "TaskName": f"http-{i}", "TaskType": "SOURCE", "Status": status,
               "DatahubId": d} for i, d in enumerate(datahubs)]
    return {"json": {"Response": {"Result": {"TotalCount": len(listed) if total is None else total,
                                             "TaskList": listed}, "RequestId": "r-9"}}}


def test_doctor_pages_through_the_tasks_until_it_finds_the_datahub() -> None:
    from sms_receipt_stats.doctor import check_ckafka_datahub

    conf = settings()
    with responses.RequestsMock() as mock:
        mock.post(API, **tasks(*[f"datahub-{i:08d}" for i in range(100)], total=150))
        mock.post(API, **tasks("datahub-aaaaaaaa", DATAHUB, total=150))
        check = check_ckafka_datahub(conf.sinks[0], conf, None)
        offsets = [(sent(c)["Offset"], sent(c)["Limit"], sent(c)["TaskType"]) for c in mock.calls]
        actions = {c.request.headers["X-TC-Action"] for c in mock.calls}
    assert offsets == [(0, 100, "SOURCE"), (100, 100, "SOURCE")] and actions == {"DescribeDatahubTasks"}
    assert check.status == "pass" and "http-1 (task-1) in ap-guangzhou is running" in check.detail


def test_doctor_fails_a_paused_task_and_a_region_without_send_message() -> None:
    from sms_receipt_stats.doctor import check_ckafka_datahub

    conf = settings()
    with responses.RequestsMock() as mock:
        mock.post(API, **tasks(DATAHUB, status=6))
        check = check_ckafka_datahub(conf.sinks[0], conf, None)
    assert check.status == "fail" and "is paused, not running" in check.detail and check.hint
    far = settings(SMS_REGION="ap-hongkong")
    with responses.RequestsMock() as mock:
        check = check_ckafka_datahub(far.sinks[0], far, None)
        assert len(mock.calls) == 0
    assert check.status == "fail" and "add region=" in check.detail

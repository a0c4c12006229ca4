"""The CKafka sink through the real tencentcloud SDK against the emulator (TC3-signed, over loopback):
the handler's timer report as one keyed message, what the emulator's SendMessage refuses as the docs
say, the doctor's DataHub check, and the SCF consumer example reading what was sent."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Dict, Iterator, List

import pytest

import handler
from sms_receipt_stats import sdk
from sms_receipt_stats.config import Settings, load_settings
from sms_receipt_stats.dev.emulator import SECRET_ID, SECRET_KEY, Emulator
from sms_receipt_stats.doctor import check_ckafka_datahub
from sms_receipt_stats.endpoint import parse_endpoint
from sms_receipt_stats.notify.delivery import deliver_all
from support import APP_IDS_ENV, read_event

pytestmark = pytest.mark.integration

DATAHUB = "datahub-meuh9nhn"
OTHER = "datahub-lzxxxxx6"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scf_ckafka_consumer.py"
#: the product's variables that a test's environment replaces (main_handler reads os.environ)
PREFIXES = ("TENCENTCLOUD_", "SMS_", "NOTIFY_", "STATE_", "API_", "ALERT_", "REPORT_", "HEARTBEAT_", "PUBLIC_URL",
            "LINK_SECRET", "RECEIPTS_SECRET", "SETTLE_HOURS")


@pytest.fixture()
def emu() -> Iterator[Emulator]:
    with Emulator(datahubs={DATAHUB}) as running:
        yield running


@pytest.fixture()
def use_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[Dict[str, str]], None]:
    def apply(values: Dict[str, str]) -> None:
        for name in [n for n in os.environ if n.startswith(PREFIXES)]:
            monkeypatch.delenv(name)
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return apply


@pytest.fixture()
def consumer() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("scf_ckafka_consumer", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    module.forget_seen()


def settings(emu: Emulator, notify: str = "", **env: str) -> Settings:
    loaded, issues = load_settings({"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
                                    "NOTIFY_URLS": notify or f"ckafka://{DATAHUB}#endpoint={emu.endpoint}", **env})
    assert issues == []
    return loaded


def report(emu: Emulator, use_env: Callable[[Dict[str, str]], None], notify: str = "") -> Dict[str, Any]:
    """The handler's default timer report of three apps, SMS and CKafka both on the emulator."""
    use_env({"TENCENTCLOUD_SECRETID": SECRET_ID, "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
             "SMS_ENDPOINT": emu.endpoint, "SMS_SDK_APP_IDS": APP_IDS_ENV,
             "NOTIFY_URLS": notify or f"ckafka://{DATAHUB}#endpoint={emu.endpoint}"})
    return handler.main_handler(read_event("timer_default"), {"request_id": "scf-ckafka", "time_limit_in_ms": 30000})


def trigger_event(messages: List[Dict[str, Any]], topic: str = "sms-receipt-stats") -> Dict[str, Any]:
    """Recorded messages as SCF's CKafka trigger passes them (the shape of tests/events/ckafka_trigger.json)."""
    template = read_event("ckafka_trigger")["Records"][0]["Ckafka"]
    return {"Records": [{"Ckafka": {**template, "topic": topic, "partition": 0, "offset": offset,
                                    "msgKey": m["key"], "msgBody": m["body"]}} for offset, m in enumerate(messages)]}


class Sleeper:
    def __init__(self) -> None:
        self.waits: List[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


# -- through the handler --------------------------------------------------------------------------------


def test_a_timer_report_arrives_as_one_message_keyed_by_its_message_id(
        emu: Emulator, use_env: Callable[[Dict[str, str]], None]) -> None:
    doc = report(emu, use_env)
    assert doc["errors"] == [] and len(doc["results"]) == 3
    assert doc["deliveries"] == [{"sink": "ckafka", "ok": True, "attempts": 1, "error": None}]
    [message] = emu.ckafka_messages
    body = json.loads(message["body"])
    assert message["datahub_id"] == DATAHUB and message["region"] == "ap-guangzhou"
    assert message["key"] == body["message_id"] and message["key"].startswith("msg_")
    assert (body["kind"], body["results"], body["alerts"]) == (doc["kind"], doc["results"], doc["alerts"])
    [call] = [c for c in emu.calls if c.action == "SendMessage"]  # passed the emulator's TC3 check
    assert (call.service, call.version) == ("ckafka", "2019-08-19")


def test_the_consumer_example_validates_what_was_sent_and_drops_a_second_copy(
        emu: Emulator, use_env: Callable[[Dict[str, str]], None], consumer: ModuleType) -> None:
    report(emu, use_env)
    report(emu, use_env)  # a second run: another message, another key
    sent = list(emu.ckafka_messages)
    assert len(sent) == 2 and sent[0]["key"] != sent[1]["key"]
    first = consumer.main_handler(trigger_event(sent), None)
    assert first == {"received": 2, "accepted": [m["key"] for m in sent], "duplicates": [], "invalid": []}
    # CKafka delivering the batch again (or the sink's resend with the same key): nothing is processed twice
    again = consumer.main_handler(trigger_event([sent[1], sent[0]]), None)
    assert again == {"received": 2, "accepted": [], "duplicates": [sent[1]["key"], sent[0]["key"]], "invalid": []}


def test_the_consumer_skips_what_is_not_a_message_of_the_contract(consumer: ModuleType,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    documented = read_event("ckafka_trigger")  # the trigger docs' own example: plain text bodies
    result = consumer.main_handler(documented, None)
    assert result["accepted"] == [] and [r["reason"] for r in result["invalid"]] == ["msgBody is not JSON"] * 2
    assert [(r["topic"], r["partition"], r["offset"]) for r in result["invalid"]] == [("test-topic", 1, 36),
                                                                                     ("test-topic", 1, 37)]
    wrong = {"schema": "sms-receipt-stats/v1", "kind": "report", "message_id": "msg_1", "results": "none"}
    event = trigger_event([{"key": "msg_1", "body": json.dumps(wrong)},
                           {"key": "msg_2", "body": json.dumps({**wrong, "message_id": "msg_3"})}])
    result = consumer.main_handler(event, None)
    assert result["accepted"] == [] and len(result["invalid"]) == 2
    assert all(r["reason"] for r in result["invalid"])


# -- delivery, faults ------------------------------------------------------------------------------------


def test_an_unknown_datahub_fails_without_retry_and_the_other_entry_still_gets_its_message(
        emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sleeper = Sleeper()
    notify = f"ckafka://{OTHER}#endpoint={emu.endpoint},ckafka://{DATAHUB}#endpoint={emu.endpoint}"
    missing, found = deliver_all(_doc(), settings(emu, notify), sleep=sleeper)
    assert not missing.ok and missing.attempts == 1 and sleeper.waits == []
    assert missing.error == f"ckafka#1({OTHER}): ResourceNotFound: The DataHub `{OTHER}` does not exist."
    assert found.ok and [m["datahub_id"] for m in emu.ckafka_messages] == [DATAHUB]
    assert SECRET_KEY not in caplog.text


def test_a_rate_limit_is_retried_with_the_same_key(emu: Emulator) -> None:
    emu.inject_error(DATAHUB, "RequestLimitExceeded", "too many requests", times=1)
    sleeper = Sleeper()
    [delivery] = deliver_all(_doc(), settings(emu), sleep=sleeper)
    assert delivery.ok and delivery.attempts == 2 and len(sleeper.waits) == 1
    keys = [c.params["Message"][0]["Key"] for c in emu.calls if c.action == "SendMessage"]
    assert len(keys) == 2 and keys[0] == keys[1] == emu.ckafka_messages[0]["key"]


def test_wrong_credentials_are_a_permanent_failure_naming_no_secret(emu: Emulator) -> None:
    loaded, _ = load_settings({"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": "not-the-emulator-key",
                               "NOTIFY_URLS": f"ckafka://{DATAHUB}#endpoint={emu.endpoint}"})
    [delivery] = deliver_all(_doc(), loaded, sleep=Sleeper())
    assert not delivery.ok and delivery.attempts == 1
    assert delivery.error.startswith(f"ckafka#1({DATAHUB}): AuthFailure.SignatureFailure")
    assert "not-the-emulator-key" not in delivery.error and emu.ckafka_messages == []


def test_the_region_option_reaches_the_api(emu: Emulator) -> None:
    [delivery] = deliver_all(_doc(), settings(emu, f"ckafka://{DATAHUB}#region=ap-tokyo&endpoint={emu.endpoint}",
                                              SMS_REGION="ap-beijing"), sleep=Sleeper())
    assert delivery.ok and [m["region"] for m in emu.ckafka_messages] == ["ap-tokyo"]


def test_sms_endpoint_never_carries_the_ckafka_calls(emu: Emulator) -> None:
    loaded = settings(emu, f"ckafka://{DATAHUB}#endpoint=http://127.0.0.1:9", SMS_ENDPOINT=emu.endpoint)
    [delivery] = deliver_all(_doc(), loaded, sleep=Sleeper())
    assert not delivery.ok and "ClientNetworkError" in delivery.error
    assert [c for c in emu.calls if c.service == "ckafka"] == []


# -- the emulator's SendMessage, as the docs say ----------------------------------------------------------


def _client(emu: Emulator, region: str = "ap-guangzhou") -> Any:
    loaded = settings(emu)
    return sdk.common_client("ckafka", "2019-08-19", loaded, region, parse_endpoint(emu.endpoint))


def _code(emu: Emulator, params: Dict[str, Any], region: str = "ap-guangzhou") -> str:
    with pytest.raises(sdk.CloudError) as caught:
        sdk.call_action(_client(emu, region), "SendMessage", params)
    return caught.value.code


def test_send_message_answers_one_id_per_message_in_order(emu: Emulator) -> None:
    messages = [{"Key": f"k{i}", "Body": f"body {i}"} for i in range(500)]  # the documented most per request
    answer = sdk.call_action(_client(emu), "SendMessage", {"DataHubId": DATAHUB, "Message": messages})
    assert answer["MessageId"] == [m["message_id"] for m in emu.ckafka_messages]
    assert [m["key"] for m in emu.ckafka_messages] == [f"k{i}" for i in range(500)]


def test_send_message_refuses_what_the_docs_do_not_allow(emu: Emulator) -> None:
    one = [{"Key": "k", "Body": "b"}]
    assert _code(emu, {"DataHubId": DATAHUB, "Message": one * 501}) == "InvalidParameterValue"
    assert _code(emu, {"DataHubId": DATAHUB, "Message": [{"Key": "k", "Body": "x" * 1_048_588}]}) == \
        "InvalidParameterValue"
    assert _code(emu, {"DataHubId": DATAHUB, "Message": []}) == "InvalidParameter"
    assert _code(emu, {"DataHubId": DATAHUB}) == "MissingParameter"
    assert _code(emu, {"DataHubId": OTHER, "Message": one}) == "ResourceNotFound"
    assert _code(emu, {"DataHubId": DATAHUB, "Message": one}, region="ap-hongkong") == "UnsupportedRegion"
    assert _code(emu, {"DataHubId": DATAHUB, "Message": one, "Topic": "t"}) == "UnknownParameter"
    assert emu.ckafka_messages == []


# -- doctor --------------------------------------------------------------------------------------------------


def test_doctor_finds_a_running_datahub_without_sending(emu: Emulator) -> None:
    loaded = settings(emu)
    check = check_ckafka_datahub(loaded.sinks[0], loaded, None)
    assert check.status == "pass" and f"http-{DATAHUB}" in check.detail and "ap-guangzhou" in check.detail
    assert [c.action for c in emu.calls] == ["DescribeDatahubTasks"] and emu.ckafka_messages == []
    assert emu.calls[0].params["TaskType"] == "SOURCE"


def test_doctor_fails_an_unknown_datahub_and_refused_credentials(emu: Emulator) -> None:
    loaded = settings(emu, f"ckafka://{OTHER}#endpoint={emu.endpoint}")
    check = check_ckafka_datahub(loaded.sinks[0], loaded, None)
    assert (check.status, check.code) == ("fail", "ResourceNotFound") and "among the 1 listed" in check.detail
    assert check.hint and "region=" in check.hint
    wrong, _ = load_settings({"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": "not-the-emulator-key",
                              "NOTIFY_URLS": f"ckafka://{DATAHUB}#endpoint={emu.endpoint}"})
    check = check_ckafka_datahub(wrong.sinks[0], wrong, None)
    assert (check.status, check.code) == ("fail", "AuthFailure.SignatureFailure") and check.hint
    assert "not-the-emulator-key" not in check.detail


def _doc() -> Any:
    from sms_receipt_stats.documents import Alert, ResultDocument

    alert = Alert(rule="success_rate_below", severity="warning", app_id="1400006874", value=0.7702, threshold=0.9,
                  message="success rate 77.02% below 90%")
    return ResultDocument(kind="check", generated_at="2026-11-24T09:00:03+08:00", alerts=[alert])

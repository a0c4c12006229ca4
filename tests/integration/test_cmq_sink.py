"""CMQ sinks through the real tencentcloud SDK against the local emulator (TC3-signed, over loopback)."""

from __future__ import annotations

import json
import logging
import socket
from typing import Iterator, List

import pytest

from sms_receipt_stats.config import Settings, load_settings
from sms_receipt_stats.dev.emulator import SECRET_ID, SECRET_KEY, Emulator
from sms_receipt_stats.documents import Alert, AppResult, ResultDocument, WindowDoc
from sms_receipt_stats.notify.delivery import deliver_all
from sms_receipt_stats.stats import Stats, compute_rates

pytestmark = pytest.mark.integration


@pytest.fixture()
def emu() -> Iterator[Emulator]:
    with Emulator(queues={"q"}, topics={"t"}) as running:
        yield running


def at(emu: Emulator, *entries: str) -> str:
    """NOTIFY_URLS whose cmq entries point at the emulator with `#endpoint=` (SMS_ENDPOINT never does)."""
    return ",".join(f"{entry}#endpoint={emu.endpoint}" for entry in entries)


def settings(emu: Emulator, notify: str = "") -> Settings:
    loaded, issues = load_settings({
        "TENCENTCLOUD_SECRET_ID": SECRET_ID,
        "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
        "NOTIFY_URLS": notify or at(emu, "cmq://queue/q", "cmq://topic/t"),
    })
    assert issues == []
    return loaded


def document() -> ResultDocument:
    stats = Stats(RequestSuccessCount=1880, CallbackCount=1745, CallbackSuccessCount=1344, CallbackFailCount=401,
                  ShutdownErrorCount=401)
    result = AppResult(app_id="1400006874", app_name="生产", window=WindowDoc(begin="2021050113", end="2021050123",
                       timezone="Asia/Shanghai"), stats=stats, rates=compute_rates(stats))
    alert = Alert(rule="success_rate_below", severity="warning", app_id="1400006874", value=0.7702, threshold=0.9,
                  message="success rate 77.02% below 90%")
    return ResultDocument(kind="report", generated_at="2026-11-24T09:00:03+08:00", results=[result], alerts=[alert])


class Sleeper:
    def __init__(self) -> None:
        self.waits: List[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def test_queue_and_topic_receive_the_result_document(emu: Emulator) -> None:
    doc = document()
    deliveries = deliver_all(doc, settings(emu), sleep=Sleeper())
    assert [d.model_dump() for d in deliveries] == [
        {"sink": "cmq_queue", "ok": True, "attempts": 1, "error": None},
        {"sink": "cmq_topic", "ok": True, "attempts": 1, "error": None},
    ]
    by_action = {m["action"]: m for m in emu.cmq_messages}
    assert set(by_action) == {"SendCmqMsg", "PublishCmqMsg"}
    assert by_action["SendCmqMsg"]["name"] == "q" and by_action["SendCmqMsg"]["delay_seconds"] == 0
    assert by_action["PublishCmqMsg"]["name"] == "t"
    for message in by_action.values():
        assert json.loads(message["content"]) == doc.to_json_dict()


def test_endpoint_and_region_options(emu: Emulator) -> None:
    loaded, issues = load_settings({
        "TENCENTCLOUD_SECRET_ID": SECRET_ID,
        "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
        "NOTIFY_URLS": f"cmq://queue/q#region=ap-shanghai&endpoint={emu.endpoint}",
    })
    assert issues == []
    [delivery] = deliver_all(document(), loaded, sleep=Sleeper())
    assert delivery.ok
    assert [c.region for c in emu.calls if c.action == "SendCmqMsg"] == ["ap-shanghai"]


def test_rate_limit_is_retried(emu: Emulator) -> None:
    emu.inject_error("q", "RequestLimitExceeded", "too many requests", times=1)
    sleeper = Sleeper()
    deliveries = deliver_all(document(), settings(emu, at(emu, "cmq://queue/q")), sleep=sleeper)
    assert deliveries[0].ok and deliveries[0].attempts == 2 and len(sleeper.waits) == 1
    assert len(emu.cmq_messages) == 1


def test_unknown_queue_fails_without_retry_and_the_topic_still_gets_its_message(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sleeper = Sleeper()
    notify = at(emu, "cmq://queue/missing", "cmq://topic/t")
    missing, topic = deliver_all(document(), settings(emu, notify), sleep=sleeper)
    assert not missing.ok and missing.attempts == 1 and "ResourceNotFound" in missing.error
    assert topic.ok
    assert sleeper.waits == []
    assert [m["name"] for m in emu.cmq_messages] == ["t"]
    assert SECRET_KEY not in caplog.text and SECRET_KEY not in missing.error


def test_wrong_credentials_are_a_permanent_failure(emu: Emulator) -> None:
    loaded, _ = load_settings({
        "TENCENTCLOUD_SECRET_ID": SECRET_ID,
        "TENCENTCLOUD_SECRET_KEY": "not-the-emulator-key",
        "NOTIFY_URLS": at(emu, "cmq://queue/q"),
    })
    [delivery] = deliver_all(document(), loaded, sleep=Sleeper())
    assert not delivery.ok and delivery.attempts == 1 and delivery.error.split(": ", 1)[1].startswith("AuthFailure")
    assert "not-the-emulator-key" not in delivery.error


def test_sms_endpoint_never_carries_the_queue_calls(emu: Emulator) -> None:
    """SMS_ENDPOINT (here the emulator, as a VPC endpoint would be) is the SMS API's host only."""
    loaded, issues = load_settings({
        "TENCENTCLOUD_SECRET_ID": SECRET_ID,
        "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
        "SMS_ENDPOINT": emu.endpoint,
        "NOTIFY_URLS": "cmq://queue/q#endpoint=http://127.0.0.1:9",  # discard port: nothing listens
    })
    assert issues == []
    [delivery] = deliver_all(document(), loaded, sleep=Sleeper())
    assert not delivery.ok
    assert [c for c in emu.calls if c.action in ("SendCmqMsg", "PublishCmqMsg")] == []


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_endpoint_names_no_host_in_results_or_logs(caplog: pytest.LogCaptureFixture,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    loaded, _ = load_settings({
        "TENCENTCLOUD_SECRET_ID": SECRET_ID,
        "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
        "NOTIFY_URLS": f"cmq://queue/q#endpoint=http://127.0.0.1:{port}",
    })
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sms_receipt_stats")
    # an earlier handler run may have cut our logger off from the root (log.configure)
    monkeypatch.setattr(logging.getLogger("sms_receipt_stats"), "propagate", True)
    sleeper = Sleeper()
    [delivery] = deliver_all(document(), loaded, sleep=sleeper)
    assert not delivery.ok and delivery.attempts == 3 and len(sleeper.waits) == 2  # transient: retried
    assert delivery.error.endswith("ClientNetworkError: endpoint unreachable: the endpoint refused the connection")
    # the product's own lines (urllib3's DEBUG lines name hosts; the handler keeps urllib3 at WARNING)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("sms_receipt_stats"))
    assert "refused the connection" in logged
    for text in (delivery.error, logged):
        assert "127.0.0.1" not in text and str(port) not in text

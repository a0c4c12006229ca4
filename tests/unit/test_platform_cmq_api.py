"""`cmq+api://` (the management API, test-only) without the network: routing, the 1 MB limit,
credentials, error classes. The round trip through the real SDK is in tests/integration/test_cmq_sink.py.
"""

from __future__ import annotations

from typing import Optional

import pytest
import responses
from sink_support import Sleeper, checked_settings

from sms_receipt_stats.config import Settings, load_settings
from sms_receipt_stats.documents import Alert, ResultDocument
from sms_receipt_stats.notify.base import is_transient
from sms_receipt_stats.notify.delivery import build_sinks, deliver_all
from sms_receipt_stats.notify.platforms.cmq_api import (
    MAX_MESSAGE_BYTES,
    CmqApiQueueSink,
    CmqApiTopicSink,
)

CREDS = {"TENCENTCLOUD_SECRET_ID": "AKIDunitunitunitunitunit", "TENCENTCLOUD_SECRET_KEY": "unit-secret-key"}


def settings(notify: str, **env: str) -> Settings:
    return checked_settings({**CREDS, "NOTIFY_URLS": notify, **env})


def document(kind: str = "report", *severities: str, message: str = "success rate below 90%") -> ResultDocument:
    alerts = [Alert(rule="success_rate_below", severity=s, app_id="1400006874", value=0.5, threshold=0.9,
                    message=message) for s in severities]
    return ResultDocument(kind=kind, generated_at="2026-11-24T09:00:03+08:00", alerts=alerts)


def test_kinds_map_to_queue_and_topic_sinks() -> None:
    queue, topic = build_sinks(settings("cmq+api://queue/alerts,cmq+api://topic/reports").sinks)
    assert isinstance(queue, CmqApiQueueSink) and queue.action == "SendCmqMsg"
    assert isinstance(topic, CmqApiTopicSink) and topic.action == "PublishCmqMsg"
    assert queue.params("{}") == {"QueueName": "alerts", "MsgContent": "{}", "DelaySeconds": 0}
    assert topic.params("{}") == {"TopicName": "reports", "MsgContent": "{}"}


def test_routing_by_min_severity() -> None:
    [sink] = build_sinks(settings("cmq+api://queue/alerts#min_severity=warning").sinks)
    conf = settings("cmq+api://queue/alerts#min_severity=warning")
    assert sink.prepare(document("report"), conf) is None
    assert sink.prepare(document("check", "info"), conf) is None
    message = sink.prepare(document("check", "warning"), conf)
    assert message is not None and '"severity":"warning"' in message.body


def test_document_over_1_mb_fails_clearly_without_a_call() -> None:
    doc = document("check", "critical", message="x" * (MAX_MESSAGE_BYTES + 10))
    sleeper = Sleeper()
    [delivery] = deliver_all(doc, settings("cmq+api://queue/alerts"), sleep=sleeper)
    assert delivery.sink == "cmq_api_queue" and not delivery.ok and delivery.attempts == 1
    assert f"exceeds the queue's message limit of {MAX_MESSAGE_BYTES} bytes" in delivery.error
    assert sleeper.waits == []


def test_missing_credentials_is_a_permanent_failure() -> None:
    conf, _ = load_settings({"NOTIFY_URLS": "cmq+api://topic/reports"})
    [delivery] = deliver_all(document("check", "critical"), conf, sleep=Sleeper())
    assert not delivery.ok and delivery.attempts == 1 and "credentials" in delivery.error


@pytest.mark.parametrize(("code", "transient"), [
    ("RequestLimitExceeded", True),
    ("InternalError.Timeout", True),
    ("ClientNetworkError", True),
    ("ResourceNotFound", False),
    ("AuthFailure.SignatureFailure", False),
    ("InvalidParameter", False),
])
def test_cloud_error_classes(code: str, transient: bool) -> None:
    assert is_transient(code) is transient


@pytest.mark.parametrize("sms_endpoint", [None, "sms.internal.tencentcloudapi.com", "http://127.0.0.1:8080"])
def test_queue_calls_go_to_tdmq_whatever_sms_endpoint_says(sms_endpoint: Optional[str]) -> None:
    """TDMQ's public endpoint by default: the SDK's TdmqClient serves SendCmqMsg there."""
    env = {"SMS_ENDPOINT": sms_endpoint} if sms_endpoint else {}
    with responses.RequestsMock() as mock:
        mock.post("https://tdmq.tencentcloudapi.com/", json={"Response": {"Result": True, "MsgId": "m-1",
                                                                             "RequestId": "r-1"}})
        [delivery] = deliver_all(document("check", "critical"), settings("cmq+api://queue/alerts", **env),
                                 sleep=Sleeper())
        [call] = mock.calls
    assert delivery.ok
    assert call.request.headers["X-TC-Action"] == "SendCmqMsg"
    assert call.request.headers["Host"] == "tdmq.tencentcloudapi.com"


def test_endpoint_option_overrides_the_tdmq_default() -> None:
    with responses.RequestsMock() as mock:
        mock.post("https://tdmq.internal.tencentcloudapi.com/", json={"Response": {"RequestId": "r-2"}})
        [delivery] = deliver_all(document("check", "critical"),
                                 settings("cmq+api://topic/reports#endpoint=tdmq.internal.tencentcloudapi.com"),
                                 sleep=Sleeper())
        [call] = mock.calls
    assert delivery.ok and call.request.headers["X-TC-Action"] == "PublishCmqMsg"

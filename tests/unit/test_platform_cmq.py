"""`cmq://` (TDMQ for CMQ's HTTP data-flow API) without the network: the signer against the
signature page's example, the exact request, the answers' codes, the size caps, secrets.

The round trip against the data-flow fake is in tests/integration/test_cmq_sink.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Dict, List, Optional
from urllib.parse import parse_qsl

import pytest
import requests
import responses
from sink_support import Sleeper, checked_settings, document

from sms_receipt_stats.config import Settings, load_settings
from sms_receipt_stats.documents import ResultDocument
from sms_receipt_stats.notify.delivery import build_sinks, deliver_all
from sms_receipt_stats.notify.platforms.cmq import (
    DEFAULT_MAX_MSG_SIZE,
    MAX_MESSAGE_BYTES,
    MAX_REQUEST_BYTES,
    CmqQueueSink,
    CmqTopicSink,
    signature,
    string_to_sign,
)

SECRET_ID = "AKIDunitunitunitunitunit"
SECRET_KEY = "unit-secret-key-0123456789"
TOKEN = "unit-session-token-abcdefghijklmnop"
CREDS = {"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": SECRET_KEY}
PUBLIC = "https://cmq-gz.public.tencenttdmq.com"
URL = PUBLIC + "/v2/index.php"
NOW = 1_764_000_000.0

#: the example of the signature page (product 406 page 5906): its fields and the string it signs
DOC_FIELDS = {"Action": "SendMessage", "SecretId": "AKIDPcY*****CVYLn3zT", "Timestamp": 1534154812,
              "SignatureMethod": "HmacSHA1", "Nonce": 2889712707386595659, "queueName": "test1",
              "RequestClient": "SDK_Python_1.3", "clientRequestId": "123***1231", "delaySeconds": 0,
              "msgBody": "msg"}
DOC_STRING = ("POSTcmq-queue-gz.api.tencentyun.com/v2/index.php?Action=SendMessage&Nonce=2889712707386595659"
              "&RequestClient=SDK_Python_1.3&SecretId=AKIDPcY*****CVYLn3zT&SignatureMethod=HmacSHA1"
              "&Timestamp=1534154812&clientRequestId=123***1231&delaySeconds=0&msgBody=msg&queueName=test1")
DOC_KEY = "pPgfLip*****aU7UbQyFFx"  # the page masks its example key: these vectors use it as printed


def settings(notify: str, **env: str) -> Settings:
    return checked_settings({**CREDS, "NOTIFY_URLS": notify, **env})


def queue(name: str = "sms-reports", endpoint: str = PUBLIC, options: str = "") -> str:
    return f"cmq://queue/{name}#endpoint={endpoint}" + (f"&{options}" if options else "")


def send(doc: ResultDocument, conf: Settings, answers: List[dict], url: str = URL,
         sleeper: Optional[Sleeper] = None) -> tuple:
    """Deliver `doc`, the API answering `answers` in turn; (delivery, the form fields of each call)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for answer in answers:
            if isinstance(answer, Exception):
                mock.post(url, body=answer)
            elif "status" in answer:
                mock.post(url, status=answer["status"], body=answer.get("body", ""))
            else:
                mock.post(url, json=answer)
        [delivery] = deliver_all(doc, conf, sleep=sleeper or Sleeper(), now=lambda: NOW)
        calls = [(dict(parse_qsl(c.request.body.decode("ascii"), keep_blank_values=True)), c.request)
                 for c in mock.calls]
    return delivery, calls


def ok(msg_id: str = "msg-1") -> dict:
    return {"code": 0, "message": "", "requestId": "req-1", "msgId": msg_id}


def expected_signature(fields: Dict[str, str], host: str, key: str = SECRET_KEY) -> str:
    """406/5906 written again here, with hashlib, for the request the sink sent."""
    text = "POST" + host + "/v2/index.php?" + "&".join(f"{k}={fields[k]}" for k in sorted(fields)
                                                        if k != "Signature")
    digest = hashlib.sha256 if fields.get("SignatureMethod") == "HmacSHA256" else hashlib.sha1
    return base64.b64encode(hmac.new(key.encode(), text.encode(), digest).digest()).decode()


# -- the signer ------------------------------------------------------------------------------


def test_string_to_sign_is_the_signature_pages_example() -> None:
    assert string_to_sign("cmq-queue-gz.api.tencentyun.com", DOC_FIELDS) == DOC_STRING


@pytest.mark.parametrize(("method", "expected"), [
    ("HmacSHA1", "G4MZ5caT/E006mg0r+pGOeSr3zI="),  # openssl dgst -sha1 -hmac … | base64
    ("HmacSHA256", "gH6/p9BrbHsXPnPJNtu9WD4y03aFnbVVa0sYD+idoK8="),  # openssl dgst -sha256 -hmac …
    ("anything else", "G4MZ5caT/E006mg0r+pGOeSr3zI="),  # the page: not HmacSHA256 means SHA1
])
def test_signature_of_the_example(method: str, expected: str) -> None:
    assert signature(DOC_KEY, DOC_STRING, method) == expected


def test_the_signature_field_itself_is_not_signed() -> None:
    assert string_to_sign("h", {**DOC_FIELDS, "Signature": "x"}) == string_to_sign("h", DOC_FIELDS)


# -- the request -----------------------------------------------------------------------------


def test_queue_request_is_a_signed_form_post_of_the_document() -> None:
    doc = document("check", "critical")
    delivery, [(fields, request)] = send(doc, settings(queue()), [ok()])
    assert delivery.ok and delivery.attempts == 1
    assert request.url == URL
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert set(fields) == {"Action", "SecretId", "Timestamp", "Nonce", "SignatureMethod", "Signature",
                           "queueName", "msgBody", "clientRequestId"}
    assert fields["Action"] == "SendMessage" and fields["queueName"] == "sms-reports"
    assert json.loads(fields["msgBody"]) == {**doc.to_json_dict(), "message_id": fields["clientRequestId"]}
    assert fields["clientRequestId"].startswith("msg_")
    assert fields["SecretId"] == SECRET_ID and fields["Timestamp"] == str(int(NOW))
    assert int(fields["Nonce"]) > 0 and fields["SignatureMethod"] == "HmacSHA256"
    assert fields["Signature"] == expected_signature(fields, "cmq-gz.public.tencenttdmq.com")


def test_topic_request_publishes_by_topic_name() -> None:
    conf = settings(f"cmq://topic/sms-alerts#endpoint={PUBLIC}")
    delivery, [(fields, _)] = send(document("check", "critical"), conf, [ok()])
    assert delivery.ok and delivery.sink == "cmq_topic"
    assert fields["Action"] == "PublishMessage" and fields["topicName"] == "sms-alerts"
    assert "queueName" not in fields and "msgBody" in fields


def test_vpc_address_signs_host_with_its_port_and_carries_the_session_token() -> None:
    vpc = "http://gz.mqadapter.cmq.tencentyun.com:8080"
    conf = settings(queue(endpoint=vpc), TENCENTCLOUD_SESSIONTOKEN=TOKEN)
    delivery, [(fields, _)] = send(document("check", "critical"), conf, [ok()], url=vpc + "/v2/index.php")
    assert delivery.ok
    assert fields["Token"] == TOKEN
    assert fields["Signature"] == expected_signature(fields, "gz.mqadapter.cmq.tencentyun.com:8080")


def test_default_port_is_not_part_of_the_signed_host() -> None:
    delivery, [(fields, _)] = send(document("check", "critical"), settings(queue(endpoint=PUBLIC + ":443")),
                                   [ok()], url=PUBLIC + ":443/v2/index.php")
    assert delivery.ok
    assert fields["Signature"] == expected_signature(fields, "cmq-gz.public.tencenttdmq.com")


def test_the_documents_message_id_travels_inside_and_as_client_request_id() -> None:
    doc = document("check", "critical").model_copy(update={"message_id": "msg_2026112409abc"})
    _, [(fields, _)] = send(doc, settings(queue()), [ok()])
    assert fields["clientRequestId"] == "msg_2026112409abc"
    assert json.loads(fields["msgBody"])["message_id"] == "msg_2026112409abc"


def test_never_calls_the_management_api() -> None:
    """cmq:// is the data flow only: no SendCmqMsg to tdmq.tencentcloudapi.com, even when it fails."""
    with responses.RequestsMock() as mock:
        mock.post(URL, json={"code": 6000, "message": "(10090)send message failed", "requestId": "r"})
        deliver_all(document("check", "critical"), settings(queue()), sleep=Sleeper(), now=lambda: NOW)
        hosts = {c.request.url for c in mock.calls}
    assert hosts == {URL}


def test_routing_by_min_severity() -> None:
    conf = settings(queue(options="min_severity=warning"))
    [sink] = build_sinks(conf.sinks)
    assert isinstance(sink, CmqQueueSink)
    assert sink.prepare(document("report"), conf) is None
    assert sink.prepare(document("check", "info"), conf) is None
    assert sink.prepare(document("check", "warning"), conf) is not None


def test_kinds() -> None:
    q, t = build_sinks(settings(f"{queue()},cmq://topic/t#endpoint={PUBLIC}").sinks)
    assert isinstance(q, CmqQueueSink) and isinstance(t, CmqTopicSink)


# -- answers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "transient", "says"), [
    (4420, True, "rate limited"),
    (4480, True, "rate limited"),
    (6000, True, "internal error"),
    (4000, False, "invalid request"),
    (4100, False, "authentication failed"),
    (4300, False, "arrears"),
    (4400, False, "max_msg_size="),
    (4410, False, "queue full"),
    (4440, False, "no such queue/topic"),
    (4470, False, "1 MB"),
    (6030, False, "subscription"),
    (4999, False, "(the service's text)"),
])
def test_codes_are_transient_or_permanent(code: int, transient: bool, says: str) -> None:
    answer = {"code": code, "message": "(the service's text)", "requestId": "req-9"}
    sleeper = Sleeper()
    delivery, calls = send(document("check", "critical"), settings(queue()), [answer] * 3, sleeper=sleeper)
    assert not delivery.ok
    assert delivery.attempts == (3 if transient else 1) and len(calls) == delivery.attempts
    assert f"SendMessage code {code}" in delivery.error and says in delivery.error


@pytest.mark.parametrize(("answer", "transient"), [
    ({"status": 503}, True),
    ({"status": 429}, True),
    (requests.ConnectionError("refused"), True),
    ({"status": 403, "body": "forbidden"}, False),
    ({"status": 200, "body": "<html>not json</html>"}, False),
])
def test_http_and_network_failures(answer: object, transient: bool) -> None:
    delivery, calls = send(document("check", "critical"), settings(queue()), [answer] * 3)  # type: ignore[list-item]
    assert not delivery.ok and delivery.attempts == (3 if transient else 1) == len(calls)


def test_a_retry_after_a_rate_limit_succeeds_with_a_fresh_signature() -> None:
    limited = {"code": 4420, "message": "(10250)qps   throttling", "requestId": "r1"}
    delivery, [(first, _), (second, _)] = send(document("check", "critical"), settings(queue()), [limited, ok()])
    assert delivery.ok and delivery.attempts == 2
    assert first["Nonce"] != second["Nonce"] or first["Signature"] != second["Signature"]
    assert first["clientRequestId"] == second["clientRequestId"] and first["msgBody"] == second["msgBody"]


# -- size caps -------------------------------------------------------------------------------


def test_over_the_queues_default_64_kb_the_document_fails_permanently_without_a_call() -> None:
    doc = document("check", "critical", message="x" * (DEFAULT_MAX_MSG_SIZE + 10))
    delivery, calls = send(doc, settings(queue()), [ok()])
    assert not delivery.ok and delivery.attempts == 1 and calls == []
    assert "exceeds the queue's message limit of 65536 bytes" in delivery.error


def test_max_msg_size_raises_the_cap_to_what_the_queue_allows() -> None:
    doc = document("check", "critical", message="x" * (DEFAULT_MAX_MSG_SIZE + 10))
    delivery, [(fields, _)] = send(doc, settings(queue(options=f"max_msg_size={MAX_MESSAGE_BYTES}")), [ok()])
    assert delivery.ok and len(fields["msgBody"]) > DEFAULT_MAX_MSG_SIZE


def test_over_1_mb_nothing_fits_and_nothing_is_sent() -> None:
    doc = document("check", "critical", message="x" * (MAX_MESSAGE_BYTES + 10))
    delivery, calls = send(doc, settings(queue(options=f"max_msg_size={MAX_MESSAGE_BYTES}")), [ok()])
    assert not delivery.ok and delivery.attempts == 1 and calls == []
    assert "exceeds the queue's message limit of 1048576 bytes" in delivery.error


def test_request_over_1_mb_once_form_encoded_fails_permanently_without_a_call() -> None:
    """300 KB of `"` (escaped `\\"` in JSON) is under the message cap but grows (%5C%22) in the form."""
    doc = document("check", "critical", message='"' * 300_000)
    delivery, calls = send(doc, settings(queue(options=f"max_msg_size={MAX_MESSAGE_BYTES}")), [ok()])
    assert not delivery.ok and delivery.attempts == 1 and calls == []
    assert f"over CMQ's request limit of {MAX_REQUEST_BYTES} bytes" in delivery.error


# -- credentials and secrets -----------------------------------------------------------------


def test_missing_credentials_is_a_permanent_failure() -> None:
    conf, _ = load_settings({"NOTIFY_URLS": queue()})
    delivery, calls = send(document("check", "critical"), conf, [ok()])
    assert not delivery.ok and delivery.attempts == 1 and calls == [] and "credentials" in delivery.error


def test_secrets_echoed_by_the_service_never_reach_the_delivery_error() -> None:
    conf = settings(queue(), TENCENTCLOUD_SESSIONTOKEN=TOKEN)
    echo = {"code": 4100, "message": f"(10030)authentication failed key={SECRET_KEY} token={TOKEN}",
            "requestId": "r"}
    delivery, [(fields, _)] = send(document("check", "critical"), conf, [echo])
    assert not delivery.ok and "authentication failed" in delivery.error
    for secret in (SECRET_KEY, TOKEN, fields["Signature"]):
        assert secret not in delivery.error

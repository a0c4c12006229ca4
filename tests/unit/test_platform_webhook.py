"""Generic webhook: the result document as compact JSON, Standard Webhooks signatures verified independently."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Iterator

import pytest
import requests
import responses
from sink_support import Sleeper, app_result, hook_settings, mocked_hooks
from sink_support import document as support_document

from sms_receipt_stats.config import Settings, load_settings
from sms_receipt_stats.documents import ResultDocument
from sms_receipt_stats.notify.delivery import deliver_all
from sms_receipt_stats.notify.platforms.webhook import sign, signing_key

HOOK = "https://hooks.example.com/sms/receipts"
WHSEC = "whsec_" + base64.b64encode(b"\x00\x9f binary key \xff\xfe").decode()  # decodes to non-UTF-8 bytes
PLAIN = "plain-shared-secret"


def settings(options: str = "", url: str = HOOK) -> Settings:
    return hook_settings(url, options)


def document(kind: str = "report", *severities: str) -> ResultDocument:
    """The shared document with a non-ASCII app name and a request id."""
    result = app_result(name="生产", request_ids=["3314836f-0b10-45cb-b7be-593e84c1c197"])
    return support_document(kind, *severities, result=result)


@pytest.fixture()
def http() -> Iterator[responses.RequestsMock]:
    with mocked_hooks({HOOK: {"status": 204}}) as mock:
        yield mock


def verify_standard_webhook(request: requests.PreparedRequest, secret: str) -> None:
    """The receiver's check from the Standard Webhooks spec, written from the spec."""
    msg_id = request.headers["webhook-id"]
    timestamp = request.headers["webhook-timestamp"]
    assert timestamp.isdigit() and abs(int(timestamp) - time.time()) < 60
    key = base64.b64decode(secret[len("whsec_"):]) if secret.startswith("whsec_") else secret.encode("utf-8")
    body = request.body if isinstance(request.body, bytes) else request.body.encode("utf-8")
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    versions = dict(part.split(",", 1) for part in request.headers["webhook-signature"].split(" "))
    assert hmac.compare_digest(versions["v1"], expected)


def test_body_is_the_result_document_as_compact_json(http: responses.RequestsMock) -> None:
    doc = document("report", "warning")
    [delivery] = deliver_all(doc, settings(), sleep=Sleeper())
    assert delivery.model_dump() == {"sink": "webhook", "ok": True, "attempts": 1, "error": None}
    [call] = http.calls
    assert call.request.url == HOOK
    assert call.request.headers["Content-Type"].split(";")[0] == "application/json"
    raw = call.request.body.decode("utf-8")
    assert json.loads(raw) == doc.to_json_dict()
    assert ", " not in raw and '": ' not in raw  # compact
    assert "生产" in raw  # UTF-8, not \u escapes
    assert "webhook-signature" not in call.request.headers


@pytest.mark.parametrize("secret", [WHSEC, PLAIN])
def test_signed_per_standard_webhooks(http: responses.RequestsMock, secret: str) -> None:
    [delivery] = deliver_all(document("report"), settings(f"secret={secret}"), sleep=Sleeper())
    assert delivery.ok
    request = http.calls[0].request
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["webhook-signature"].startswith("v1,")
    verify_standard_webhook(request, secret)


def test_whsec_secret_with_plus_and_slash_survives_the_url_fragment(http: responses.RequestsMock) -> None:
    secret = "whsec_" + base64.b64encode(bytes([0xFB, 0xFF, 0xBF] * 8)).decode()
    assert "+" in secret and "/" in secret
    assert deliver_all(document("report"), settings(f"secret={secret}"), sleep=Sleeper())[0].ok
    verify_standard_webhook(http.calls[0].request, secret)


def test_signer_matches_the_published_test_vector() -> None:
    key = signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    signature = sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_retries_keep_the_message_id_and_sign_each_attempt(http: responses.RequestsMock) -> None:
    http.replace(responses.POST, HOOK, status=503)
    http.add(responses.POST, HOOK, status=200)
    clock = iter([1_700_000_000.0, 1_700_000_002.0])
    [delivery] = deliver_all(document("report"), settings(f"secret={PLAIN}"), sleep=Sleeper(), now=lambda: next(clock))
    assert delivery.ok and delivery.attempts == 2
    first, second = (c.request for c in http.calls)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert (first.headers["webhook-timestamp"], second.headers["webhook-timestamp"]) == ("1700000000", "1700000002")
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]


def test_bad_whsec_secret_is_a_configuration_error() -> None:
    _, issues = load_settings({"NOTIFY_URLS": f"{HOOK}#secret=whsec_not*base64!"})
    assert len(issues) == 1 and issues[0].variable == "NOTIFY_URLS"
    assert "not*base64" not in str(issues[0])


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_any_2xx_is_success(http: responses.RequestsMock, status: int) -> None:
    http.replace(responses.POST, HOOK, status=status)
    assert deliver_all(document("report"), settings(), sleep=Sleeper())[0].ok


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_429_and_5xx_are_transient(http: responses.RequestsMock, status: int) -> None:
    http.replace(responses.POST, HOOK, status=status)
    sleeper = Sleeper()
    [delivery] = deliver_all(document("report"), settings(), sleep=sleeper)
    assert not delivery.ok and delivery.attempts == 3 and len(sleeper.waits) == 2
    assert str(status) in delivery.error


@pytest.mark.parametrize("status", [301, 400, 401, 403, 404, 413, 422])
def test_other_answers_are_permanent(http: responses.RequestsMock, status: int) -> None:
    http.replace(responses.POST, HOOK, status=status, headers={"Location": "https://elsewhere.example/"})
    sleeper = Sleeper()
    [delivery] = deliver_all(document("report"), settings(), sleep=sleeper)
    assert not delivery.ok and delivery.attempts == 1 and sleeper.waits == []
    assert len(http.calls) == 1  # redirects are not followed


def test_routing_by_min_severity(http: responses.RequestsMock) -> None:
    info, warning, critical = (settings(f"min_severity={s}") for s in ("info", "warning", "critical"))
    healthy_report, healthy_check = document("report"), document("check")
    warned_check = document("check", "warning")
    assert len(deliver_all(healthy_report, info, sleep=Sleeper())) == 1  # a report always goes to info sinks
    assert deliver_all(healthy_report, warning, sleep=Sleeper()) == []
    assert deliver_all(healthy_check, info, sleep=Sleeper()) == []  # a healthy check sends nothing
    assert len(deliver_all(warned_check, warning, sleep=Sleeper())) == 1
    assert deliver_all(warned_check, critical, sleep=Sleeper()) == []
    assert len(deliver_all(document("report", "critical"), critical, sleep=Sleeper())) == 1
    assert len(http.calls) == 3
    assert json.loads(http.calls[2].request.body)["alerts"][0]["severity"] == "critical"  # the whole document


def test_a_notice_sent_again_from_the_outbox_keeps_its_webhook_id(http: responses.RequestsMock) -> None:
    """With a state store the document carries its message id: every run that sends it again
    (the outbox) uses it as `webhook-id`, and the body carries it too, so receivers drop copies."""
    doc = document("report")
    doc.message_id = "msg_0123456789abcdef0123456789abcdef"
    for _ in range(2):
        assert deliver_all(doc, settings(f"secret={PLAIN}"), sleep=Sleeper())[0].ok
    first, second = (c.request for c in http.calls)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == doc.message_id
    assert json.loads(first.body)["message_id"] == doc.message_id
    verify_standard_webhook(second, PLAIN)

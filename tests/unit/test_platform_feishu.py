"""Feishu and Lark custom bots: card payload, body signature (verified independently), code answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Iterator

import pytest
import responses
from sink_support import APP, Sleeper, document, mocked_hooks, sent
from sink_support import hook_settings as settings

from sms_receipt_stats.notify.delivery import deliver_all

FEISHU = "https://open.feishu.cn/open-apis/bot/v2/hook/2f1e7c3a-9d4b-4e8a-b6c5-0a1b2c3d4e5f"
LARK = "https://open.larksuite.com/open-apis/bot/v2/hook/7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"
SECRET = "mAdEuPsEcReT4test"


@pytest.fixture()
def http() -> Iterator[responses.RequestsMock]:
    answer = {"json": {"code": 0, "data": {}, "msg": "success"}}
    with mocked_hooks({FEISHU: answer, LARK: answer}) as mock:
        yield mock


def verify_feishu_signature(body: dict, secret: str) -> None:
    """Feishu's documented check: sign = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=""))."""
    timestamp = body["timestamp"]
    assert isinstance(timestamp, str) and timestamp.isdigit()
    assert abs(int(timestamp) - time.time()) < 60  # seconds, current
    key = (timestamp + "\n" + secret).encode("utf-8")
    assert body["sign"] == base64.b64encode(hmac.new(key, digestmod=hashlib.sha256).digest()).decode()


@pytest.mark.parametrize(("url", "kind"), [(FEISHU, "feishu"), (LARK, "lark")])
def test_card_payload(http: responses.RequestsMock, url: str, kind: str) -> None:
    [delivery] = deliver_all(document("report"), settings(url), sleep=Sleeper())
    assert delivery.sink == kind and delivery.ok and delivery.attempts == 1
    [body] = sent(http)
    assert http.calls[0].request.url == url
    assert set(body) == {"msg_type", "card"}  # no timestamp/sign without a secret
    assert body["msg_type"] == "interactive"
    card = body["card"]
    assert card["header"]["title"]["tag"] == "plain_text" and card["header"]["title"]["content"]
    [element] = card["elements"]
    assert element["tag"] == "div" and element["text"]["tag"] == "lark_md"
    assert APP in element["text"]["content"]
    assert len(http.calls[0].request.body) <= 20 * 1024


@pytest.mark.parametrize("url", [FEISHU, LARK])
def test_signed_bot_gets_timestamp_and_sign_fields(http: responses.RequestsMock, url: str) -> None:
    [delivery] = deliver_all(document("report"), settings(url, f"secret={SECRET}"), sleep=Sleeper())
    assert delivery.ok
    [body] = sent(http)
    verify_feishu_signature(body, SECRET)
    assert body["msg_type"] == "interactive"
    assert SECRET not in http.calls[0].request.body.decode()


def test_header_colour_follows_severity(http: responses.RequestsMock) -> None:
    deliver_all(document("check", "critical"), settings(FEISHU), sleep=Sleeper())
    deliver_all(document("check", "warning"), settings(FEISHU), sleep=Sleeper())
    deliver_all(document("report"), settings(FEISHU), sleep=Sleeper())
    assert [b["card"]["header"]["template"] for b in sent(http)] == ["red", "orange", "blue"]


@pytest.mark.parametrize("severity", ["warning", "critical"])
def test_mention_all_on_warning_and_critical(http: responses.RequestsMock, severity: str) -> None:
    deliver_all(document("check", severity), settings(FEISHU, "mention=all"), sleep=Sleeper())
    assert "<at id=all></at>" in sent(http)[0]["card"]["elements"][0]["text"]["content"]


def test_no_mention_on_info(http: responses.RequestsMock) -> None:
    deliver_all(document("report"), settings(FEISHU, "mention=all"), sleep=Sleeper())
    assert "<at" not in sent(http)[0]["card"]["elements"][0]["text"]["content"]


def test_non_zero_code_is_a_permanent_failure(http: responses.RequestsMock) -> None:
    http.replace(responses.POST, FEISHU, json={"code": 19021, "msg": "sign match fail or timestamp is not within"})
    sleeper = Sleeper()
    [delivery] = deliver_all(document("report"), settings(FEISHU, f"secret={SECRET}"), sleep=sleeper)
    assert not delivery.ok and delivery.attempts == 1 and sleeper.waits == []
    assert "19021" in delivery.error
    assert "2f1e7c3a-9d4b-4e8a-b6c5-0a1b2c3d4e5f" not in delivery.error


@pytest.mark.parametrize("code", [9499, 11232])
def test_rate_limit_codes_are_retried(http: responses.RequestsMock, code: int) -> None:
    http.replace(responses.POST, LARK, json={"code": code, "msg": "too many request"})
    sleeper = Sleeper()
    [delivery] = deliver_all(document("report"), settings(LARK), sleep=sleeper)
    assert not delivery.ok and delivery.attempts == 3 and len(sleeper.waits) == 2


def test_rate_limit_then_success(http: responses.RequestsMock) -> None:
    http.replace(responses.POST, FEISHU, json={"code": 9499, "msg": "too many request"})
    http.add(responses.POST, FEISHU, json={"code": 0, "msg": "success"})
    [delivery] = deliver_all(document("report"), settings(FEISHU, f"secret={SECRET}"), sleep=Sleeper())
    assert delivery.ok and delivery.attempts == 2
    for body in sent(http):
        verify_feishu_signature(body, SECRET)


def test_legacy_status_code_answer(http: responses.RequestsMock) -> None:
    http.replace(responses.POST, FEISHU, json={"Extra": None, "StatusCode": 0, "StatusMessage": "success"})
    assert deliver_all(document("report"), settings(FEISHU), sleep=Sleeper())[0].ok
    http.replace(responses.POST, FEISHU, json={"StatusCode": 19024, "StatusMessage": "Key Words Not Found"})
    [delivery] = deliver_all(document("report"), settings(FEISHU), sleep=Sleeper())
    assert not delivery.ok and "19024" in delivery.error

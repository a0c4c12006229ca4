"""DingTalk custom robot: markdown payload, `at` mentions, and the signed query (verified independently)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Iterator
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import responses
from sink_support import APP, Sleeper, document, hook_settings, mocked_hooks

from sms_receipt_stats.config import Settings
from sms_receipt_stats.notify.delivery import deliver_all

HOOK = "https://oapi.dingtalk.com/robot/send"
TOKEN = "0f8c1d1b5e3a4c2f9b7a6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b"
SECRET = "SEC6a0e4b7b3c9d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f"


def settings(options: str = "", url: str = f"{HOOK}?access_token={TOKEN}") -> Settings:
    return hook_settings(url, options)


@pytest.fixture()
def http() -> Iterator[responses.RequestsMock]:
    with mocked_hooks({HOOK: {"json": {"errcode": 0, "errmsg": "ok"}}}) as mock:
        yield mock


def verify_dingtalk_signature(url: str, secret: str) -> int:
    """DingTalk's documented check: sign = urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")))."""
    raw_query = urlsplit(url).query
    query = parse_qs(raw_query)
    timestamp = query["timestamp"][0]
    expected = base64.b64encode(
        hmac.new(secret.encode("utf-8"), (timestamp + "\n" + secret).encode("utf-8"), hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == [expected]
    assert "sign=" + quote(expected, safe="") in raw_query  # URL-encoded: + / = escaped
    assert abs(int(timestamp) - time.time() * 1000) < 60_000  # milliseconds, current
    return int(timestamp)


def test_markdown_payload_without_mentions(http: responses.RequestsMock) -> None:
    [delivery] = deliver_all(document("report"), settings(), sleep=Sleeper())
    assert delivery.ok and delivery.attempts == 1
    [call] = http.calls
    assert call.request.url == f"{HOOK}?access_token={TOKEN}"  # no signature without a secret
    body = json.loads(call.request.body)
    assert set(body) == {"msgtype", "markdown"}
    assert body["msgtype"] == "markdown"
    assert set(body["markdown"]) == {"title", "text"}
    assert body["markdown"]["title"] and "\n" not in body["markdown"]["title"]
    assert APP in body["markdown"]["text"]


def test_signed_robot_gets_timestamp_and_sign_in_the_query(http: responses.RequestsMock) -> None:
    [delivery] = deliver_all(document("report"), settings(f"secret={SECRET}"), sleep=Sleeper())
    assert delivery.ok
    url = http.calls[0].request.url
    assert parse_qs(urlsplit(url).query)["access_token"] == [TOKEN]
    verify_dingtalk_signature(url, SECRET)
    assert SECRET not in url and SECRET not in http.calls[0].request.body.decode()


def test_each_attempt_is_signed_afresh(http: responses.RequestsMock) -> None:
    http.replace(responses.POST, HOOK, json={"errcode": 130101, "errmsg": "send too fast"})
    http.add(responses.POST, HOOK, json={"errcode": 0, "errmsg": "ok"})
    clock = iter([1_700_000_000.0, 1_700_000_001.5])
    [delivery] = deliver_all(document("report"), settings(f"secret={SECRET}"), sleep=Sleeper(),
                             now=lambda: next(clock))
    assert delivery.ok and delivery.attempts == 2
    first = parse_qs(urlsplit(http.calls[0].request.url).query)
    second = parse_qs(urlsplit(http.calls[1].request.url).query)
    assert first["timestamp"] == ["1700000000000"] and second["timestamp"] == ["1700000001500"]
    assert first["sign"] != second["sign"]


@pytest.mark.parametrize("severity", ["warning", "critical"])
def test_mentions_on_warning_and_critical(http: responses.RequestsMock, severity: str) -> None:
    deliver_all(document("check", severity), settings("mention=13800000000;13900000000"), sleep=Sleeper())
    body = json.loads(http.calls[0].request.body)
    assert body["at"] == {"atMobiles": ["13800000000", "13900000000"], "isAtAll": False}
    assert "@13800000000" in body["markdown"]["text"] and "@13900000000" in body["markdown"]["text"]


def test_mention_all(http: responses.RequestsMock) -> None:
    deliver_all(document("check", "critical"), settings("mention=all"), sleep=Sleeper())
    body = json.loads(http.calls[0].request.body)
    assert body["at"] == {"atMobiles": [], "isAtAll": True}


def test_no_mention_on_info(http: responses.RequestsMock) -> None:
    deliver_all(document("report"), settings("mention=all"), sleep=Sleeper())
    body = json.loads(http.calls[0].request.body)
    assert "at" not in body


def test_prefix_forces_the_kind_for_a_local_robot() -> None:
    local = "http://127.0.0.1:8001/robot/send"
    with responses.RequestsMock() as mock:
        mock.post(local, json={"errcode": 0, "errmsg": "ok"})
        [delivery] = deliver_all(document("report"), settings(url=f"dingtalk+{local}?access_token=t"),
                                 sleep=Sleeper())
        assert delivery.sink == "dingtalk" and delivery.ok
        assert json.loads(mock.calls[0].request.body)["msgtype"] == "markdown"


def test_errcode_is_a_permanent_failure(http: responses.RequestsMock) -> None:
    http.replace(responses.POST, HOOK, json={"errcode": 310000, "errmsg": "sign not match"})
    sleeper = Sleeper()
    [delivery] = deliver_all(document("report"), settings(f"secret={SECRET}"), sleep=sleeper)
    assert not delivery.ok and delivery.attempts == 1 and sleeper.waits == []
    assert "310000" in delivery.error
    assert TOKEN not in delivery.error and SECRET not in delivery.error


def test_send_too_fast_is_retried_three_times(http: responses.RequestsMock) -> None:
    http.replace(responses.POST, HOOK, json={"errcode": 130101, "errmsg": "send too fast"})
    sleeper = Sleeper()
    [delivery] = deliver_all(document("report"), settings(), sleep=sleeper)
    assert not delivery.ok and delivery.attempts == 3 and len(sleeper.waits) == 2
    assert "130101" in delivery.error

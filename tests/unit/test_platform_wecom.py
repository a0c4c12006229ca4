"""WeCom group robot: payload shape, mentions, size limit and how errcode answers are treated."""

from __future__ import annotations

from typing import Iterator

import pytest
import responses
from sink_support import ALERT_MESSAGE, APP, Sleeper, app_result, hook_settings, mocked_hooks
from sink_support import document as support_document
from sink_support import sent as bodies

from sms_receipt_stats.config import Settings
from sms_receipt_stats.documents import ResultDocument
from sms_receipt_stats.notify.delivery import deliver_all

HOOK = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


def settings(options: str = "") -> Settings:
    return hook_settings(f"{HOOK}?key={KEY}", options)


def document(kind: str = "report", *severities: str) -> ResultDocument:
    return support_document(kind, *severities, message=ALERT_MESSAGE + " ({severity})")


@pytest.fixture()
def http() -> Iterator[responses.RequestsMock]:
    with mocked_hooks() as mock:
        yield mock


def test_report_is_one_markdown_message_posted_to_the_robot_url(http: responses.RequestsMock) -> None:
    http.post(HOOK, json={"errcode": 0, "errmsg": "ok"})
    result = deliver_all(document("report"), settings(), sleep=Sleeper())
    assert [d.model_dump() for d in result] == [{"sink": "wecom", "ok": True, "attempts": 1, "error": None}]
    [call] = http.calls
    assert call.request.url == f"{HOOK}?key={KEY}"
    assert call.request.headers["Content-Type"].startswith("application/json")
    [body] = bodies(http)
    assert set(body) == {"msgtype", "markdown"}
    assert body["msgtype"] == "markdown"
    assert set(body["markdown"]) == {"content"}
    content = body["markdown"]["content"]
    assert APP in content and "prod" in content
    assert len(content.encode("utf-8")) <= 4096


@pytest.mark.parametrize("severity", ["warning", "critical"])
def test_mobile_mentions_go_in_a_follow_up_text_message(http: responses.RequestsMock, severity: str) -> None:
    http.post(HOOK, json={"errcode": 0, "errmsg": "ok"})
    result = deliver_all(document("check", severity), settings("mention=13800000000;13900000000"), sleep=Sleeper())
    assert result[0].ok and result[0].attempts == 1
    markdown, text = bodies(http)
    assert markdown["msgtype"] == "markdown"
    assert text["msgtype"] == "text"
    assert set(text["text"]) == {"content", "mentioned_mobile_list"}
    assert text["text"]["mentioned_mobile_list"] == ["13800000000", "13900000000"]
    assert text["text"]["content"] and len(text["text"]["content"].encode("utf-8")) <= 2048


def test_mention_all_uses_at_all(http: responses.RequestsMock) -> None:
    http.post(HOOK, json={"errcode": 0, "errmsg": "ok"})
    deliver_all(document("check", "critical"), settings("mention=all"), sleep=Sleeper())
    assert bodies(http)[1]["text"]["mentioned_mobile_list"] == ["@all"]


def test_no_mention_for_an_info_report(http: responses.RequestsMock) -> None:
    http.post(HOOK, json={"errcode": 0, "errmsg": "ok"})
    deliver_all(document("report"), settings("mention=all"), sleep=Sleeper())
    assert [b["msgtype"] for b in bodies(http)] == ["markdown"]


def test_min_severity_filters_what_is_sent(http: responses.RequestsMock) -> None:
    http.post(HOOK, json={"errcode": 0, "errmsg": "ok"})
    assert deliver_all(document("report", "warning"), settings("min_severity=critical"), sleep=Sleeper()) == []
    assert len(http.calls) == 0  # nothing at or above critical: no message and no Delivery entry
    assert deliver_all(document("check", "critical"), settings("min_severity=critical"), sleep=Sleeper())[0].ok


def test_large_report_is_truncated_within_4096_bytes(http: responses.RequestsMock) -> None:
    http.post(HOOK, json={"errcode": 0, "errmsg": "ok"})
    doc = document("report")
    doc.results = [app_result(f"14000{i:05d}", f"应用-{i}") for i in range(200)]
    assert deliver_all(doc, settings(), sleep=Sleeper())[0].ok
    content = bodies(http)[0]["markdown"]["content"]
    assert 3000 < len(content.encode("utf-8")) <= 4096


def test_errcode_answer_is_a_permanent_failure(http: responses.RequestsMock) -> None:
    http.post(HOOK, json={"errcode": 93000, "errmsg": "invalid webhook url, hint: [1681]"})
    sleeper = Sleeper()
    [delivery] = deliver_all(document("report"), settings(), sleep=sleeper)
    assert not delivery.ok and delivery.attempts == 1
    assert "93000" in delivery.error
    assert KEY not in delivery.error
    assert sleeper.waits == []


def test_rate_limit_errcode_is_retried_then_fails(http: responses.RequestsMock) -> None:
    http.post(HOOK, json={"errcode": 45009, "errmsg": "api freq out of limit"})
    sleeper = Sleeper()
    [delivery] = deliver_all(document("report"), settings(), sleep=sleeper)
    assert not delivery.ok and delivery.attempts == 3
    assert "45009" in delivery.error
    assert len(sleeper.waits) == 2 and sleeper.waits[0] < sleeper.waits[1]


def test_rate_limit_then_success_counts_two_attempts(http: responses.RequestsMock) -> None:
    http.post(HOOK, json={"errcode": 45009, "errmsg": "api freq out of limit"})
    http.post(HOOK, json={"errcode": 0, "errmsg": "ok"})
    [delivery] = deliver_all(document("report"), settings(), sleep=Sleeper())
    assert delivery.ok and delivery.attempts == 2


def test_a_retry_does_not_resend_the_markdown_already_delivered(http: responses.RequestsMock) -> None:
    http.post(HOOK, json={"errcode": 0, "errmsg": "ok"})  # markdown
    http.post(HOOK, json={"errcode": 45009, "errmsg": "api freq out of limit"})  # mention, first try
    http.post(HOOK, json={"errcode": 0, "errmsg": "ok"})  # mention, second try
    [delivery] = deliver_all(document("check", "critical"), settings("mention=all"), sleep=Sleeper())
    assert delivery.ok and delivery.attempts == 2
    assert [b["msgtype"] for b in bodies(http)] == ["markdown", "text", "text"]


def test_non_json_answer_is_a_failure(http: responses.RequestsMock) -> None:
    http.post(HOOK, body="<html>gateway</html>", content_type="text/html")
    [delivery] = deliver_all(document("report"), settings(), sleep=Sleeper())
    assert not delivery.ok and delivery.attempts == 1

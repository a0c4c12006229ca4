"""Slack incoming webhook: text + mrkdwn sections, `<!channel>`, and Slack's plain-text answers."""

from __future__ import annotations

import json
from typing import Iterator

import pytest
import responses
from sink_support import APP, Sleeper, app_result, document, hook_settings, mocked_hooks, sent

from sms_receipt_stats.config import Settings
from sms_receipt_stats.notify.delivery import deliver_all
from sms_receipt_stats.notify.platforms.slack import split_sections

HOOK = "https://hooks.slack.com/services/T0000AAAA/B0000BBBB/XXXXXXXXXXXXXXXXXXXXXXXX"


def settings(options: str = "") -> Settings:
    return hook_settings(HOOK, options)


@pytest.fixture()
def http() -> Iterator[responses.RequestsMock]:
    with mocked_hooks({HOOK: {"body": "ok", "content_type": "text/plain"}}) as mock:
        yield mock


def test_payload_is_text_plus_mrkdwn_sections(http: responses.RequestsMock) -> None:
    [delivery] = deliver_all(document("report"), settings(), sleep=Sleeper())
    assert delivery.model_dump() == {"sink": "slack", "ok": True, "attempts": 1, "error": None}
    [body] = sent(http)
    assert set(body) == {"text", "blocks"}
    assert body["text"] and "\n" not in body["text"]
    assert body["blocks"]
    for block in body["blocks"]:
        assert block["type"] == "section"
        assert block["text"]["type"] == "mrkdwn"
        assert 0 < len(block["text"]["text"]) <= 3000
    assert APP in "".join(b["text"]["text"] for b in body["blocks"])


def test_long_report_is_split_into_sections_of_at_most_3000_chars(http: responses.RequestsMock) -> None:
    doc = document("report")
    doc.results = [app_result(f"14000{i:05d}", f"app-{i}") for i in range(60)]
    assert deliver_all(doc, settings(), sleep=Sleeper())[0].ok
    blocks = sent(http)[0]["blocks"]
    assert 1 < len(blocks) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks)


def test_split_sections_cuts_at_line_ends() -> None:
    text = "\n".join("x" * 100 for _ in range(70))  # 7069 characters
    chunks = split_sections(text)
    assert all(len(c) <= 3000 for c in chunks)
    assert "\n".join(chunks) == text
    assert split_sections("y" * 6500) == ["y" * 3000, "y" * 3000, "y" * 500]


@pytest.mark.parametrize("severity", ["warning", "critical"])
def test_channel_mention_on_warning_and_critical(http: responses.RequestsMock, severity: str) -> None:
    deliver_all(document("check", severity), settings("mention=all"), sleep=Sleeper())
    body = sent(http)[0]
    assert body["text"].startswith("<!channel>")
    assert body["blocks"][0]["text"]["text"].startswith("<!channel>")


def test_no_mention_on_info(http: responses.RequestsMock) -> None:
    deliver_all(document("report"), settings("mention=all"), sleep=Sleeper())
    assert "<!channel>" not in json.dumps(sent(http))


def test_invalid_payload_is_a_permanent_failure(http: responses.RequestsMock) -> None:
    http.replace(responses.POST, HOOK, body="invalid_payload", status=400, content_type="text/plain")
    sleeper = Sleeper()
    [delivery] = deliver_all(document("report"), settings(), sleep=sleeper)
    assert not delivery.ok and delivery.attempts == 1 and sleeper.waits == []
    assert "400" in delivery.error and "invalid_payload" in delivery.error
    assert "XXXXXXXXXXXXXXXXXXXXXXXX" not in delivery.error


@pytest.mark.parametrize(("status", "reason"), [(404, "no_service"), (410, "channel_is_archived"),
                                                (403, "action_prohibited")])
def test_other_4xx_are_permanent(http: responses.RequestsMock, status: int, reason: str) -> None:
    http.replace(responses.POST, HOOK, body=reason, status=status, content_type="text/plain")
    [delivery] = deliver_all(document("report"), settings(), sleep=Sleeper())
    assert not delivery.ok and delivery.attempts == 1 and reason in delivery.error


def test_429_honours_retry_after(http: responses.RequestsMock) -> None:
    http.replace(responses.POST, HOOK, body="rate_limited", status=429, headers={"Retry-After": "3"})
    http.add(responses.POST, HOOK, body="ok")
    sleeper = Sleeper()
    [delivery] = deliver_all(document("report"), settings(), sleep=sleeper)
    assert delivery.ok and delivery.attempts == 2
    assert sleeper.waits == [pytest.approx(3.0)]


def test_long_retry_after_is_capped_at_5_seconds(http: responses.RequestsMock) -> None:
    http.replace(responses.POST, HOOK, body="rate_limited", status=429, headers={"Retry-After": "120"})
    sleeper = Sleeper()
    [delivery] = deliver_all(document("report"), settings(), sleep=sleeper)
    assert not delivery.ok and delivery.attempts == 3
    assert sleeper.waits == [5.0, 5.0]


def test_5xx_is_transient(http: responses.RequestsMock) -> None:
    http.replace(responses.POST, HOOK, body="rollup_error", status=500)
    http.add(responses.POST, HOOK, body="ok")
    [delivery] = deliver_all(document("report"), settings(), sleep=Sleeper())
    assert delivery.ok and delivery.attempts == 2

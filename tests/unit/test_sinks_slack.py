"""Slack incoming webhook: text + mrkdwn sections, `<!channel>`, and Slack's plain-text answers."""

from __future__ import annotations

import json
from typing import Iterator, List

import pytest
import responses

from sms_receipt_stats.config import Settings, load_settings
from sms_receipt_stats.documents import Alert, AppResult, ResultDocument, WindowDoc
from sms_receipt_stats.sinks import deliver_all
from sms_receipt_stats.sinks.slack import split_sections
from sms_receipt_stats.stats import Stats, compute_rates

HOOK = "https://hooks.slack.com/services/T0000AAAA/B0000BBBB/XXXXXXXXXXXXXXXXXXXXXXXX"
APP = "1400006874"


def settings(options: str = "") -> Settings:
    loaded, issues = load_settings({"NOTIFY_URLS": HOOK + (f"#{options}" if options else "")})
    assert issues == []
    return loaded


def app_result(app_id: str = APP, name: str = "prod") -> AppResult:
    stats = Stats(RequestSuccessCount=1880, CallbackCount=1745, CallbackSuccessCount=1344, CallbackFailCount=401,
                  ShutdownErrorCount=401)
    return AppResult(app_id=app_id, app_name=name, window=WindowDoc(begin="2021050113", end="2021050123",
                     timezone="Asia/Shanghai"), stats=stats, rates=compute_rates(stats))


def document(kind: str = "report", *severities: str) -> ResultDocument:
    alerts = [Alert(rule="success_rate_below", severity=s, app_id=APP, value=0.7702, threshold=0.9,
                    message="success rate 77.02% below 90%") for s in severities]
    return ResultDocument(kind=kind, generated_at="2026-11-24T09:00:03+08:00", results=[app_result()], alerts=alerts)


class Sleeper:
    def __init__(self) -> None:
        self.waits: List[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture()
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(HOOK, body="ok", content_type="text/plain")
        yield mock


def sent(http: responses.RequestsMock) -> List[dict]:
    return [json.loads(call.request.body) for call in http.calls]


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

"""Chat messages and routing with a state store: firing vs resolved, since when, only what is notified."""

from __future__ import annotations

from typing import Any, List

import pytest

from sms_receipt_stats.documents import Alert, AppResult, ResultDocument, WindowDoc
from sms_receipt_stats.notify.base import wants_document
from sms_receipt_stats.render import render_message
from sms_receipt_stats.stats import Stats, compute_rates

APP = "1400006874"
SINCE = "2026-11-25T06:00:00+08:00"


def firing(notified: bool, severity: str = "critical", silenced: bool = False, app_id: str = APP) -> Alert:
    return Alert(rule="api_error", severity=severity, app_id=app_id,  # type: ignore[arg-type]
                 value="UnauthorizedOperation.ServiceSuspendDueToArrears",
                 message="the statistics query failed", code="UnauthorizedOperation.ServiceSuspendDueToArrears",
                 hint="top up", fingerprint="f1", status="firing", since=SINCE, silenced=silenced, notified=notified)


def resolved(notified: bool = True) -> Alert:
    return Alert(rule="success_rate_below", severity="warning", app_id=APP, message="Resolved: x",
                 fingerprint="f2", status="resolved", since=SINCE, silenced=False, notified=notified)


def doc(kind: str, alerts: List[Alert]) -> ResultDocument:
    s = Stats(RequestSuccessCount=100, CallbackCount=100, CallbackSuccessCount=95, CallbackFailCount=5)
    result = AppResult(app_id=APP, app_name="prod", window=WindowDoc(begin="2026112408", end="2026112409",
                                                                     timezone="Asia/Shanghai"),
                       stats=s, rates=compute_rates(s))
    return ResultDocument(kind=kind, generated_at="2026-11-25T09:00:03+08:00", results=[result], alerts=alerts)


def text(d: ResultDocument, min_severity: str = "info", lang: str = "en") -> Any:
    message = render_message(d, "plain", lang=lang, min_severity=min_severity)
    return None if message is None else message.text


def test_a_firing_alert_says_since_when() -> None:
    body = text(doc("check", [firing(True)]))
    assert "CRITICAL prod (1400006874): API error UnauthorizedOperation.ServiceSuspendDueToArrears" in body
    assert "since 2026-11-25 06:00" in body


def test_a_resolved_notice_says_resolved_and_since_when_it_fired() -> None:
    message = render_message(doc("check", [resolved()]), "plain")
    assert message is not None and message.severity == "info"  # no mention wakes anyone for good news
    assert "✅ RESOLVED prod (1400006874): success rate below threshold · firing since 2026-11-25 06:00" in message.text
    assert message.title.startswith("✅ SMS receipt check · 1 resolved")
    zh = text(doc("check", [resolved()]), lang="zh")
    assert "已恢复" in zh and "成功率低于阈值" in zh and "自 2026-11-25 06:00 起告警" in zh


def test_firing_and_resolved_together_count_apart() -> None:
    message = render_message(doc("check", [resolved(), firing(True)]), "plain")
    assert message is not None and message.severity == "critical"
    assert "1 alert · 1 resolved" in message.title
    assert message.text.index("CRITICAL") < message.text.index("RESOLVED")  # firing first


def test_a_check_with_nothing_notified_sends_nothing() -> None:
    quiet = doc("check", [firing(False)])
    for level in ("info", "warning", "critical"):
        assert text(quiet, level) is None
        assert not wants_document(quiet, level)


def test_a_warning_sink_gets_only_what_this_run_notifies() -> None:
    d = doc("report", [firing(False), firing(True, "warning", app_id="1400000002")])
    body = text(d, "warning")
    assert "1400000002" in body and "UnauthorizedOperation" in body and "prod (1400006874)" not in body


def test_the_daily_report_lists_every_current_alert_and_marks_the_silenced() -> None:
    d = doc("report", [firing(False), firing(False, "warning", silenced=True, app_id="1400000002"),
                       resolved(notified=False)])
    body = text(d, "info")
    assert "CRITICAL prod (1400006874)" in body
    assert "1400000002" in body and "🔕 silenced" in body
    assert "RESOLVED" not in body  # a resolution nobody heard firing is not news
    assert wants_document(d, "info") and not wants_document(d, "warning")


@pytest.mark.parametrize("field", ["fingerprint", "status", "since", "silenced", "notified"])
def test_stateless_alerts_keep_their_old_shape(field: str) -> None:
    plain = Alert(rule="api_error", severity="critical", app_id=APP, message="m")
    assert field not in plain.model_dump(mode="json")
    assert field in firing(True).model_dump(mode="json")
    assert "replayed" not in doc("check", []).to_json_dict()

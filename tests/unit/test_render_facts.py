"""Chat messages say each fact once: alert lines built from the alert's fields, codes that copy,
failure reasons biggest first, "since" only when the problem started earlier, every mark explained."""

from __future__ import annotations

from typing import Optional

import pytest

from sms_receipt_stats.config import Thresholds
from sms_receipt_stats.documents import Alert, AppResult, ErrorInfo, ResultDocument, WindowDoc
from sms_receipt_stats.render import FLAVORS, render_message
from sms_receipt_stats.rules import config_alerts, evaluate
from sms_receipt_stats.stats import Stats, compute_rates

WINDOW = WindowDoc(begin="2026112300", end="2026112400", timezone="Asia/Shanghai")
GENERATED = "2026-11-24T09:00:03+08:00"
ARREARS = "UnauthorizedOperation.ServiceSuspendDueToArrears"
HINT = "Top up the Tencent Cloud account, then re-run the report."
INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")
LOW = Stats(RequestSuccessCount=1000, CallbackCount=900, CallbackSuccessCount=600, CallbackFailCount=300,
            InternalErrorCount=20, InvalidNumberCount=50, ShutdownErrorCount=200, BlackListCount=30)


def result(app_id: str = "1400006874", name: Optional[str] = "prod", stats: Optional[Stats] = None,
           error: Optional[ErrorInfo] = None) -> AppResult:
    return AppResult(app_id=app_id, app_name=name, window=WINDOW, stats=stats,
                     rates=compute_rates(stats) if stats else None, error=error)


def arrears(code: str = ARREARS) -> ErrorInfo:
    return ErrorInfo(code=code, message="The account is in arrears.", severity="critical", category="billing",
                     hint=HINT)


def doc(results, alerts=None, errors=None, kind: str = "check") -> ResultDocument:
    """Alerts from the real rules unless given."""
    alerts = evaluate(results, Thresholds()) if alerts is None else alerts
    return ResultDocument(kind=kind, generated_at=GENERATED, results=results, alerts=alerts, errors=errors or [])


def body(d: ResultDocument, flavor: str = "plain", lang: str = "en") -> str:
    message = render_message(d, flavor, lang=lang)
    assert message is not None
    return message.text


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("flavor", FLAVORS)
def test_an_api_error_says_app_code_and_hint_once(flavor: str, lang: str) -> None:
    text = body(doc([result(error=arrears())]), flavor, lang)
    assert text.count(ARREARS) == 1
    assert text.count("Top up the Tencent Cloud account") == 1
    assert text.count("1400006874") == 2  # the alert line and the app's block, each once
    assert text.count("The account is in arrears.") == 1  # the upstream message, in the app's block
    alert_line = next(line for line in text.splitlines() if ARREARS in line)
    assert alert_line.count("prod") == 1


@pytest.mark.parametrize("flavor", FLAVORS)
def test_codes_hold_no_invisible_character(flavor: str) -> None:
    """A code copied from the chat must match the API's code when searched."""
    uncatalogued = "FailedOperation.SomethingNewThisYear"
    text = body(doc([result(error=arrears()), result("1400000002", "otp", error=arrears(uncatalogued))]), flavor)
    assert ARREARS in text and uncatalogued in text
    assert not [ch for ch in INVISIBLE if ch in text]


@pytest.mark.parametrize("flavor", ["wecom", "slack"])
def test_codes_are_in_the_platforms_code_span(flavor: str) -> None:
    assert f"`{ARREARS}`" in body(doc([result(error=arrears())]), flavor)


def test_failure_reasons_are_listed_biggest_first() -> None:
    text = body(doc([result(stats=LOW)], kind="report"))
    line = next(line for line in text.splitlines() if "failures:" in line)
    assert line.strip() == ("failures: powered off/out of service 200, invalid number 50, blacklisted 30, "
                            "internal error 20")


def with_since(since: Optional[str]) -> ResultDocument:
    alert = Alert(rule="success_rate_below", severity="critical", app_id="1400006874", value=0.6667, threshold=0.8,
                  message="prod (1400006874): success rate 66.67% is below 80% (900 receipts)",
                  fingerprint="f", status="firing", since=since, silenced=False, notified=True)
    return doc([result(stats=LOW)], alerts=[alert], kind="report")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_since_is_when_the_problem_started_never_the_run_time(lang: str) -> None:
    earlier = body(with_since("2026-11-23T14:00:00+08:00"), lang=lang)
    assert "2026-11-23 14:00" in earlier
    first_seen_now = body(with_since(GENERATED), lang=lang)  # the store's since = this run: unknown start
    assert "2026-11-24 09:00 " not in first_seen_now.split("\n\n")[1]
    assert "since" not in first_seen_now and "起" not in first_seen_now
    stateless = body(with_since(None), lang=lang)
    assert "since" not in stateless and "起" not in stateless


def test_alert_line_is_value_against_threshold_without_repeating_the_message() -> None:
    text = body(with_since(None))
    line = next(line for line in text.splitlines() if "CRITICAL" in line)
    assert line == "🔴 CRITICAL prod (1400006874): success rate 66.67% < 80%"


@pytest.mark.parametrize(("lang", "words"), [
    ("en", ["✅ meets its alert threshold", "⚠️ below the warning threshold", "🔴 below the critical threshold",
            "— under 100 messages: too few to judge"]),
    ("zh", ["✅ 达到告警阈值", "⚠️ 低于警告阈值", "🔴 低于严重阈值", "— 不足 100 条"]),
])
def test_every_mark_in_a_message_is_explained_by_its_legend(lang: str, words) -> None:
    tiny = Stats(RequestSuccessCount=12, CallbackCount=9, CallbackSuccessCount=6, CallbackFailCount=3)
    ok = Stats(RequestSuccessCount=1000, CallbackCount=990, CallbackSuccessCount=980, CallbackFailCount=10)
    warn = Stats(RequestSuccessCount=1000, CallbackCount=990, CallbackSuccessCount=850, CallbackFailCount=140)
    results = [result(stats=LOW), result("1400000002", "ok", ok), result("1400000003", "warn", warn),
               result("1400000004", "tiny", tiny)]
    text = body(doc(results, kind="report"), lang=lang)
    for mark in ("✅", "⚠️", "🔴", "—"):
        assert mark in text.split("\n\n", 1)[1]  # used in the body
    for word in words:
        assert word in text
    only_ok = body(doc([result("1400000002", "ok", ok)], kind="report"), lang=lang)
    assert "⚠️ " not in only_ok and ("below the warning" not in only_ok and "低于警告" not in only_ok)


def test_a_message_without_marks_has_no_legend() -> None:
    text = body(doc([result(error=arrears())]))
    assert "Marks:" not in text


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_config_error_says_the_issue_once(lang: str) -> None:
    issue = "SMS_SDK_APP_IDS: 'abc' is not an SmsSdkAppId"
    d = doc([], alerts=config_alerts([issue], lang), errors=[issue, "NOTIFY_URLS: bad entry"], kind="error")
    text = body(d, lang=lang)
    assert text.count("is not an SmsSdkAppId") == 1
    assert "ConfigError" not in text  # the rule's own code: the title says "configuration error"
    assert "Configuration problem" not in text and "配置错误：配置错误" not in text
    assert "NOTIFY_URLS: bad entry" in text


def test_an_alert_without_an_app_block_keeps_its_message() -> None:
    """The doctor's API errors concern no app: the message is their only detail."""
    alert = Alert(rule="api_error", severity="critical", code="AuthFailure.SignatureFailure",
                  message="doctor: credentials: the signature was refused", hint="Check the SecretKey.")
    text = body(doc([], alerts=[alert], kind="doctor"))
    assert "API error AuthFailure.SignatureFailure: doctor: credentials: the signature was refused" in text
    assert text.count("Check the SecretKey.") == 1


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_rule_the_renderer_does_not_know_is_shown_by_its_name_with_value_and_threshold(lang: str) -> None:
    alert = Alert.model_construct(rule="brand_new_rule", severity="warning", app_id="1400006874", value=120,
                                  threshold=1000.0, message="prod (1400006874): only 120 sent", code=None,
                                  hint=None, fingerprint=None, status=None, since=None, silenced=None,
                                  notified=None)
    text = body(doc([result(stats=LOW)], alerts=[alert]), lang=lang)
    line = next(line for line in text.splitlines() if "1400006874" in line and "brand" in line)
    assert "brand_new_rule" in line and "120 < 1,000" in line and "only 120 sent" not in line


def test_a_new_rule_with_a_title_uses_it() -> None:
    alert = Alert.model_construct(rule="volume_drop", severity="warning", app_id="1400006874", value=0.4,
                                  threshold=0.5, message="m", code=None, hint=None, fingerprint=None, status=None,
                                  since=None, silenced=None, notified=None)
    text = body(doc([result(stats=LOW)], alerts=[alert]))
    assert "volume drop: 40.00% < 50.00%" in text and "volume_drop" not in text


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_account_wide_error_names_the_apps_and_its_code_once(flavor: str, lang: str) -> None:
    """Every app failing alike is one alert (docs/alerts.md, *Grouping*): one line, the code once,
    copyable, and every app named."""
    apps = [result(app_id, None, error=arrears()) for app_id in ("1400006874", "1400000002", "1400000009")]
    text = render_message(doc(apps, alerts=evaluate(apps, Thresholds(), lang)), flavor, lang=lang).text
    [line] = [line for line in text.splitlines() if ARREARS in line]
    assert line.count(ARREARS) == 1 and not any(c in line for c in INVISIBLE)
    assert all(app_id in line for app_id in ("1400006874", "1400000002", "1400000009"))

"""Alert texts say each fact once and never contradict themselves, in en and zh, wherever they go:
the chat line, the rule's own message (webhook and queue payloads) and the dashboard.

Each case is one a new user met: a pooled hourly alert beside "too few to judge", a rate under
the critical threshold labelled warning without a reason, a daily verdict "over 1 h", an
account-wide API error without names, link or the right footer.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

import pytest

from sms_receipt_stats.config import Thresholds
from sms_receipt_stats.dashboard import Page, StateView, render_page
from sms_receipt_stats.documents import AppResult, ErrorInfo, ResultDocument, WindowDoc
from sms_receipt_stats.notify.base import queue_message
from sms_receipt_stats.render import FLAVORS, render_message
from sms_receipt_stats.rules import Evidence, assess, context_of, evaluate
from sms_receipt_stats.rules._evidence import Seen
from sms_receipt_stats.stats import Stats, compute_rates
from sms_receipt_stats.windows import parse_hour

TZ = "Asia/Shanghai"
HOUR = WindowDoc(begin="2026112313", end="2026112314", timezone=TZ)
DAY = WindowDoc(begin="2026112300", end="2026112400", timezone=TZ)
WEEK = WindowDoc(begin="2026111700", end="2026112400", timezone=TZ)
GENERATED = "2026-11-24T14:05:00+08:00"
ARREARS = "UnauthorizedOperation.ServiceSuspendDueToArrears"
#: two thin hours (70 and 63 receipts) that only together reach ALERT_MIN_VOLUME (100)
THIN_NOW = Stats(RequestSuccessCount=80, CallbackCount=70, CallbackSuccessCount=40, CallbackFailCount=30)
THIN_BEFORE = Stats(RequestSuccessCount=70, CallbackCount=63, CallbackSuccessCount=47, CallbackFailCount=16)
#: a whole day of a failing app: 907 receipts, 64.39 % success
BAD_DAY = Stats(RequestSuccessCount=978, CallbackCount=907, CallbackSuccessCount=584, CallbackFailCount=323)
NOT_ENGLISH = re.compile(r"\b(receipts?|submitted|over|below|but|warning|apps?|error|the)\b", re.I)


def result(stats: Optional[Stats] = None, window: WindowDoc = HOUR, app_id: str = "1400006879",
           name: Optional[str] = "marketing", error: Optional[ErrorInfo] = None) -> AppResult:
    return AppResult(app_id=app_id, app_name=name, window=window, stats=stats,
                     rates=compute_rates(stats) if stats else None, error=error)


def pooled_check(lang: str) -> ResultDocument:
    """An hourly check whose alert rests on this hour and the one before (133 receipts over 2 h)."""
    r = result(THIN_NOW)
    newest = int(parse_hour(HOUR.begin, TZ, which="begin").timestamp()) // 3600
    evidence = Evidence(result=r, hours={newest: Seen(THIN_NOW, 7200), newest - 1: Seen(THIN_BEFORE, 10800)},
                        newest=newest)
    found = assess([r], context_of(Thresholds(), lang, "check", stateful=True), {r.app_id: evidence})
    return ResultDocument(kind="check", generated_at=GENERATED, results=[r], alerts=found.alerts)


def text_of(doc: ResultDocument, flavor: str = "plain", lang: str = "en", **kw: object) -> str:
    message = render_message(doc, flavor, lang=lang, **kw)  # type: ignore[arg-type]
    assert message is not None
    return message.text


def alert_line(text: str, needle: str) -> str:
    return next(line for line in text.splitlines() if needle in line)


def dashboard(alerts: List[Dict[str, object]], lang: str, results: List[AppResult],
              silences: Optional[List[Dict[str, object]]] = None) -> str:
    now = datetime(2026, 11, 24, 6, 5, tzinfo=timezone.utc)
    return render_page(Page(results=results, window=DAY, granularity="day", lang=lang,
                            generated_at=now.astimezone(timezone(timedelta(hours=8))),
                            state=StateView(alerts=alerts, silences=silences or [])))


def alerts_card(html: str) -> str:
    return html.split('id="alerts"', 1)[1].split('id="silences"', 1)[0]


# -- an hourly alert resting on pooled hours -------------------------------------------------------------------

@pytest.mark.parametrize("lang, evidence", [("en", "(133 receipts over 2 h)"), ("zh", "（2 小时内回执 133 条）")])
def test_a_pooled_alert_says_what_it_rests_on(lang: str, evidence: str) -> None:
    doc = pooled_check(lang)
    [alert] = doc.alerts
    assert (alert.volume, alert.hours, alert.value) == (133, 2, 0.6541)
    assert evidence in alert.message
    for flavor in FLAVORS:
        assert evidence in alert_line(text_of(doc, flavor, lang), "65.41%"), flavor


@pytest.mark.parametrize("lang, too_few", [("en", "too few to judge"), ("zh", "样本太少")])
def test_a_thin_hour_judged_with_the_hours_before_is_not_called_too_few_to_judge(lang: str, too_few: str) -> None:
    """The hour's own rate is thin, and its alert pools it with the hour before: the mark beside
    the hour's rate says so instead of 'too few to judge' beside a firing alert."""
    text = text_of(pooled_check(lang), lang=lang)
    rates = alert_line(text, "57.14%")  # the hour's own success rate
    assert "57.14% Σ" in rates
    legend = alert_line(text, "Marks:" if lang == "en" else "标记:")
    assert "Σ" in legend and ("hours before" in legend if lang == "en" else "之前的小时" in legend)
    # the receipt rate of the same thin hour has no alert: it is still too few to judge
    assert "87.50% —" in rates and too_few in legend


# -- a rate under the critical threshold that is only a warning ------------------------------------------------

@pytest.mark.parametrize("lang, reason", [("en", "below 70% but not yet with confidence: warning"),
                                          ("zh", "已低于 70%，但把握尚不足：记为警告")])
def test_a_warning_under_the_critical_threshold_says_why(lang: str, reason: str) -> None:
    doc = pooled_check(lang)
    [alert] = doc.alerts
    assert alert.severity == "warning" and alert.value < Thresholds().success_rate_critical
    assert reason in alert.message
    for flavor in FLAVORS:
        assert reason in alert_line(text_of(doc, flavor, lang), "65.41%"), flavor
    html = dashboard([alert.model_dump(mode="json")], lang, [result(THIN_NOW)])
    assert reason in alerts_card(html)


def test_a_warning_above_the_critical_threshold_needs_no_reason() -> None:
    stats = Stats(RequestSuccessCount=2000, CallbackCount=2000, CallbackSuccessCount=1600, CallbackFailCount=400)
    [alert] = evaluate([result(stats, DAY)], Thresholds())
    assert alert.severity == "warning" and "confidence" not in alert.message
    doc = ResultDocument(kind="check", generated_at=GENERATED, results=[result(stats, DAY)], alerts=[alert])
    assert "confidence" not in text_of(doc)


# -- a verdict over a whole window --------------------------------------------------------------------------------

@pytest.mark.parametrize("lang, span", [("en", "907 receipts over 24 h"), ("zh", "24 小时内回执 907 条")])
def test_a_daily_verdict_spans_the_day_everywhere(lang: str, span: str) -> None:
    r = result(BAD_DAY, DAY)
    alerts = evaluate([r], Thresholds(), lang)
    [alert] = alerts
    assert alert.hours == 24 and alert.volume == 907
    doc = ResultDocument(kind="report", generated_at=GENERATED, results=[r], alerts=alerts)
    wrong = "over 1 h" if lang == "en" else "1 小时内"
    payload = json.dumps(doc.to_json_dict(), ensure_ascii=False)  # the webhook's body
    queued = queue_message(doc, max_bytes=None).body
    assert span in payload and span in json.loads(queued)["alerts"][0]["message"]
    for flavor in FLAVORS:
        chat = text_of(doc, flavor, lang)
        assert span in alert_line(chat, "64.39%") and wrong not in chat, flavor
    page = alerts_card(dashboard([alert.model_dump(mode="json")], lang, [r]))
    assert span in page and wrong not in page


def test_a_week_reads_in_days_and_receipt_rates_say_their_span_too() -> None:
    stats = Stats(RequestSuccessCount=10_000, CallbackCount=5_000, CallbackSuccessCount=4_900, CallbackFailCount=100)
    [alert] = evaluate([result(stats, WEEK)], Thresholds())
    assert alert.rule == "receipt_rate_below" and alert.hours == 168
    assert "(10,000 submitted over 7 d)" in alert.message
    [zh] = evaluate([result(stats, WEEK)], Thresholds(), "zh")
    assert "（7 天内提交成功 10,000 条）" in zh.message


# -- an account-wide API error ------------------------------------------------------------------------------------

def failing(app_id: str, name: str) -> AppResult:
    return result(window=HOUR, app_id=app_id, name=name,
                  error=ErrorInfo(code=ARREARS, message="The account is in arrears.", severity="critical",
                                  category="billing", hint="Top up the account."))


ACCOUNT = [failing("1400006874", "prod"), failing("1400006879", "marketing"), failing("1400007001", "otp")]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_account_wide_error_names_the_apps_in_its_payload(lang: str) -> None:
    [alert] = evaluate(ACCOUNT, Thresholds(), lang)
    assert alert.app_id is None
    for label in ("prod (1400006874)", "marketing (1400006879)", "otp (1400007001)"):
        assert label in alert.message


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("flavor", FLAVORS)
def test_an_account_wide_error_in_chat_has_a_link_names_and_no_late_receipt_footer(flavor: str, lang: str) -> None:
    doc = ResultDocument(kind="check", generated_at=GENERATED, results=ACCOUNT,
                         alerts=evaluate(ACCOUNT, Thresholds(), lang))
    asked: List[List[str]] = []

    def details(ids, begin, end):  # type: ignore[no-untyped-def]
        asked.append(list(ids))
        return "https://fn.example/dashboard?sig=x"

    text = text_of(doc, flavor, lang, min_severity="warning", details=details)
    assert asked == [["1400006874", "1400006879", "1400007001"]]
    assert "https://fn.example/dashboard?sig=x" in text
    line = alert_line(text, ARREARS)
    for name, app_id in (("prod", "1400006874"), ("marketing", "1400006879"), ("otp", "1400007001")):
        assert name in line and app_id in line
        assert text.count(app_id) == 1, app_id  # named once: on the alert line
    assert text.count("The account is in arrears.") == 1
    late = "Receipts can arrive late" if lang == "en" else "回执可能延迟到达"
    assert late not in text


def test_a_report_with_numbers_keeps_the_late_receipt_footer() -> None:
    doc = ResultDocument(kind="report", generated_at=GENERATED, results=[result(BAD_DAY, DAY)])
    assert "Receipts can arrive late" in text_of(doc)


# -- the dashboard: the same words, in the page's language --------------------------------------------------------

def test_the_zh_dashboard_shows_alerts_in_chinese_whatever_language_raised_them() -> None:
    r = result(BAD_DAY, DAY)
    [english] = evaluate([r], Thresholds(), "en")
    card = alerts_card(dashboard([english.model_dump(mode="json")], "zh", [r]))
    assert "成功率 64.39% &lt; 70%（24 小时内回执 907 条）" in card
    visible = re.sub(r"<[^>]+>", " ", card)
    assert not NOT_ENGLISH.search(visible), NOT_ENGLISH.search(visible)


def test_the_zh_dashboard_shows_api_errors_in_chinese_too() -> None:
    """Alerts kept by an English run: one app's API error (the app answers again now) and an
    account-wide one; the zh page says both in Chinese, the codes verbatim."""
    [app_error] = evaluate([failing("1400006879", "marketing")], Thresholds(), "en")
    [account] = evaluate(ACCOUNT, Thresholds(), "en")
    records = [a.model_dump(mode="json") for a in (app_error, account)]
    card = alerts_card(dashboard(records, "zh", [result(BAD_DAY, DAY)]))
    assert card.count(ARREARS) == 2 and "接口错误" in card and "全部应用" in card
    visible = re.sub(r"<[^>]+>", " ", card).replace(ARREARS, "")
    assert not NOT_ENGLISH.search(visible), NOT_ENGLISH.search(visible)


def test_alerts_kept_by_an_english_run_read_in_chinese_on_the_zh_page(sqlite_store: Any) -> None:
    """The page's alerts come from the state store's records, as `current_alerts` gives them: the zh
    page words them in Chinese from the evidence the record keeps, never in the English of the run."""
    from sms_receipt_stats.state.alerts import current_alerts, track_alerts

    now = datetime(2026, 11, 24, 6, 5, tzinfo=timezone.utc)
    r = result(BAD_DAY, DAY)
    raised = evaluate([r], Thresholds(), "en") + evaluate([failing("1400006874", "prod")], Thresholds(), "en")
    assert track_alerts(sqlite_store, raised, set(), now, repeat=timedelta(hours=4), tz=TZ) is not None
    kept = current_alerts(sqlite_store, now + timedelta(minutes=1), TZ)
    assert len(kept) == 2
    card = alerts_card(dashboard(kept, "zh", [r, failing("1400006874", "prod")]))
    assert "接口错误" in card and ARREARS in card
    # the record keeps the evidence, so the page words the alert anew, whole, in Chinese
    assert "成功率 64.39% &lt; 70%（24 小时内回执 907 条）" in card
    visible = re.sub(r"<[^>]+>", " ", card).replace(ARREARS, "")
    assert not NOT_ENGLISH.search(visible), NOT_ENGLISH.search(visible)
    english = alerts_card(dashboard(kept, "en", [r]))
    assert "907 receipts over 24 h" in english  # in its own language, whole
    item = next(li for li in re.findall(r"<li.*?</li>", english, flags=re.S) if "907" in li)
    assert item.count("marketing") == 1 and "1400006879" not in item  # the app named once


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_dashboard_names_the_app_of_an_alert_once(lang: str) -> None:
    r = result(BAD_DAY, DAY)
    [alert] = evaluate([r], Thresholds(), lang)
    card = alerts_card(dashboard([alert.model_dump(mode="json")], lang, [r]))
    item = re.search(r"<li.*?</li>", card, flags=re.S)
    assert item is not None
    assert item.group(0).count("marketing") == 1 and "1400006879" not in item.group(0)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_dashboard_shows_an_account_wide_error(lang: str) -> None:
    [alert] = evaluate(ACCOUNT, Thresholds(), lang)
    card = alerts_card(dashboard([alert.model_dump(mode="json")], lang, ACCOUNT))
    assert ARREARS in card
    assert ("all 3 apps" if lang == "en" else "全部 3 个应用") in card


@pytest.mark.parametrize("lang, until", [("en", "silenced until 2026-11-26 00:00"),
                                         ("zh", "已静默至 2026-11-26 00:00")])
def test_a_silenced_alert_is_grey_and_says_until_when(lang: str, until: str) -> None:
    r = result(BAD_DAY, DAY)
    [alert] = evaluate([r], Thresholds(), lang)
    record = dict(alert.model_dump(mode="json"), silenced=True, status="firing",
                  since="2026-11-24T09:00:00+08:00")
    silences = [{"id": "s1", "matchers": {"app_id": "1400006879", "rule": "success_rate_below"},
                 "starts_at": "2026-11-24T00:00:00+08:00", "ends_at": "2026-11-26T00:00:00+08:00",
                 "created_by": "ops", "comment": "carrier maintenance"}]
    card = alerts_card(dashboard([record], lang, [r], silences))
    assert until in card
    assert 'class="sev silenced"' in card and 'class="sev critical"' not in card
    loud = dict(record, silenced=False)
    assert 'class="sev critical"' in alerts_card(dashboard([loud], lang, [r], silences))


def _status_order(html: str) -> List[str]:
    block = html.split('<ul class="status">', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<li class="st (\w+)">', block)


def test_status_rows_put_critical_apps_first() -> None:
    good = Stats(RequestSuccessCount=1000, CallbackCount=1000, CallbackSuccessCount=990, CallbackFailCount=10)
    meh = Stats(RequestSuccessCount=1000, CallbackCount=1000, CallbackSuccessCount=850, CallbackFailCount=150)
    apps = [result(good, DAY, f"14000100{i:02d}", f"app{i}") for i in range(18)]
    apps.insert(5, result(meh, DAY, "1400020000", "warned"))
    apps.append(result(BAD_DAY, DAY, "1400030000", "burning"))
    html = dashboard([], "en", apps)
    order = _status_order(html)
    assert order[:2] == ["crit", "warn"] and set(order[2:]) == {"ok"}
    block = html.split('<ul class="status">', 1)[1]
    assert block.index("burning") < block.index("warned") < block.index("app0")


def test_the_zh_page_of_an_expired_link_has_no_english_tail() -> None:
    from sms_receipt_stats.dashboard.page import render_error

    html = render_error("zh", 401, "AuthFailure.Unauthorized", "the link expired at 2026-11-24 09:00",
                        link_reason="expired")
    body = html.split("<body>", 1)[1]
    visible = re.sub(r"<[^>]+>", " ", body).replace("AuthFailure.Unauthorized", "")
    visible = visible.replace("Authorization: Bearer", "")  # the header's own name, said in zh around it
    assert "链接已过期" in visible and not re.search(r"[a-z]{3,}", visible), visible
    assert "the link expired" in render_error("en", 401, "AuthFailure.Unauthorized", "the link expired",
                                              link_reason="expired")


def test_an_account_wide_alert_on_the_page_escapes_the_app_names() -> None:
    evil = '<img src=x onerror=alert(1)>'
    apps = [failing("1400006874", evil), failing("1400006879", evil)]
    [alert] = evaluate(apps, Thresholds())
    card = alerts_card(dashboard([alert.model_dump(mode="json")], "en", apps))
    assert "<img" not in card and card.count("&lt;img src=x onerror=alert(1)&gt;") == 2
    assert "all 2 apps" in card and f"<code title=\"{ARREARS}\">" in card

"""The dashboard page as HTML: self-contained, escaped, per app charts and totals, state, en/zh."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any, Dict, List, Sequence

import pytest

from sms_receipt_stats.config import App, Thresholds
from sms_receipt_stats.dashboard import CSP, Page, StateView, render_page
from sms_receipt_stats.dashboard.page import CSP_META, STYLE
from sms_receipt_stats.documents import AppResult, ErrorInfo, WindowDoc
from sms_receipt_stats.jobs import query_apps
from sms_receipt_stats.query import Querier
from sms_receipt_stats.render.i18n import num
from sms_receipt_stats.windows import named_window
from support import FakeFetcher

NOW = datetime(2026, 11, 25, 1, 0, 0, tzinfo=timezone.utc)
TZ = "Asia/Shanghai"
PROD, MARKETING = App(app_id="1400006874", name="prod"), App(app_id="1400000009", name="marketing")
VOID = {"meta", "link", "br", "hr", "img", "input", "source", "wbr", "col", "area", "base", "embed", "track"}


def results(apps: Sequence[App], window: str = "last_30d", granularity: str = "day") -> List[AppResult]:
    querier = Querier(FakeFetcher(), rps=1e6, sleep=lambda s: None)
    return query_apps(list(apps), named_window(window, NOW, TZ), granularity, querier)


def page(apps: Sequence[App] = (PROD, MARKETING), *, window: str = "last_30d", granularity: str = "day",
         **kw: Any) -> str:
    found = kw.pop("results", None) or results(apps, window, granularity)
    doc = WindowDoc(**named_window(window, NOW, TZ).to_doc())
    return render_page(Page(results=found, window=doc, granularity=granularity,
                            generated_at=NOW.astimezone(timezone(timedelta(hours=8))), **kw))


class Structure(HTMLParser):
    """Tags must nest properly; records elements and attributes for the checks below."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: List[str] = []
        self.elements: List[Dict[str, Any]] = []
        self.problems: List[str] = []

    def handle_starttag(self, tag: str, attrs: List[Any]) -> None:
        self.elements.append({"tag": tag, **{k: v for k, v in attrs}})
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: List[Any]) -> None:
        self.elements.append({"tag": tag, **{k: v for k, v in attrs}})

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()


def structure(html: str) -> Structure:
    parser = Structure()
    parser.feed(html)
    parser.close()
    assert parser.problems == [] and parser.stack == [], (parser.problems, parser.stack)
    return parser


def test_the_page_is_well_formed_and_self_contained() -> None:
    html = page()
    found = structure(html)
    tags = {e["tag"] for e in found.elements}
    assert "script" not in tags and "iframe" not in tags and "img" not in tags and "object" not in tags
    assert not re.search(r"\son[a-z]+=", html)  # no event handler attributes
    assert not re.search(r"\sstyle=", html)  # no style attributes: only the hashed <style> block
    # every address on the page stays on it: in-page anchors, the same page in another language, an empty icon
    targets = [e[attr] for e in found.elements for attr in ("src", "href", "action", "xlink:href", "srcset")
               if attr in e]
    assert targets and all(t.startswith(("#", "?")) or t == "data:," for t in targets), targets
    assert "@import" not in html and "url(" not in html


def test_the_style_block_is_what_the_csp_hash_allows() -> None:
    html = page()
    [style] = re.findall(r"<style>(.*?)</style>", html, flags=re.S)
    assert style == STYLE
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in CSP
    assert CSP.startswith("default-src 'none';") and "img-src data:" in CSP and "script-src" not in CSP
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert meta and meta.group(1).replace("&#x27;", "'") == CSP_META


def test_each_app_has_totals_a_rate_chart_and_a_failure_chart() -> None:
    found = results([PROD, MARKETING])
    html = page(results=found)
    for r in found:
        section = re.search(rf'<section class="card" id="app-{r.app_id}">(.*?)</section>', html, flags=re.S)
        assert section, r.app_id
        body = section.group(1)
        assert body.count('<svg class="chart lines"') == 1 and body.count('<svg class="chart bars"') == 1
        assert body.count('<path class="line s-') == 3  # success, receipt, delivery
        assert body.count("<circle ") == 3 * 30  # a point per day per rate
        assert r.stats is not None
        for value in (r.stats.RequestSuccessCount, r.stats.CallbackCount, r.stats.CallbackSuccessCount,
                      r.stats.CallbackFailCount):
            assert f">{num(value)}<" in body
        assert "11-24" in body  # the last day is labelled
        assert body.count("<tr>") == 31  # the day table: a header and 30 days


def test_an_overview_compares_apps_and_marks_rates_against_thresholds() -> None:
    html = page()
    overview = re.search(r'aria-labelledby="overview">(.*?)</section>', html, flags=re.S)
    assert overview and 'href="#app-1400006874"' in overview.group(1)
    # the emulator's app ending in 9 is unhealthy: its success rate is below the critical threshold
    row = re.search(r'href="#app-1400000009">marketing</a></td><td>[\d,]+</td><td class="(\w+)"', overview.group(1))
    assert row and row.group(1) == "crit"
    assert "overview" not in page([PROD])  # one app needs no comparison


def test_hourly_pages_label_hours() -> None:
    html = page([PROD], window="last_24h", granularity="hour")
    assert "Rates per hour" in html and "Failure reasons per hour" in html
    assert re.search(r'class="xlab"[^>]*>\d\d:00<', html)


def test_untrusted_text_is_escaped_everywhere() -> None:
    evil = '<img src=x onerror=alert(1)>"\'&'
    bad_app = App(app_id="1400006874", name=evil)
    failed = AppResult(app_id="1400000002", app_name=evil, window=WindowDoc(begin="2026110100", end="2026112500",
                       timezone=TZ), error=ErrorInfo(code=evil, message=evil, hint=evil))
    alerts = [{"rule": "success_rate_below", "severity": evil, "app_id": "1400006874", "message": evil,
               "since": evil}]
    silences = [{"id": evil, "matchers": {"app_id": "1400006874", "rule": evil}, "starts_at": evil,
                 "ends_at": evil, "created_by": evil, "comment": evil}]
    html = page(results=[*results([bad_app]), failed], state=StateView(alerts=alerts, silences=silences))
    structure(html)
    assert "<img" not in html and "onerror=alert(1)>" not in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") >= 6


def test_without_a_state_store_the_page_says_so() -> None:
    assert "No state store is configured (STATE_URL)" in page()
    assert "could not be read" in page(state=StateView(error=True))


def test_alerts_and_silences_of_the_apps_on_the_page() -> None:
    alerts = [
        {"rule": "success_rate_below", "severity": "critical", "app_id": "1400000009", "value": 0.65,
         "threshold": 0.7, "message": "marketing success rate 65% below 70%", "fingerprint": "f1",
         "status": "firing", "since": "2026-11-24T21:00:00+08:00", "silenced": False, "notified": True},
        {"rule": "api_error", "severity": "warning", "app_id": "1400999999", "message": "another app's alert"},
        {"rule": "config_error", "severity": "critical", "app_id": None, "message": "SMS_SDK_APP_IDS: bad"},
    ]
    silences = [
        {"id": "s1", "matchers": {"app_id": "1400006874", "rule": "receipt_rate_below"},
         "starts_at": "2026-11-24T00:00:00+08:00", "ends_at": "2026-11-26T00:00:00+08:00",
         "created_by": "ops@example.com", "comment": "carrier maintenance"},
        {"id": "s2", "matchers": {"app_id": "1400999999"}, "ends_at": "2026-11-26T00:00:00+08:00",
         "created_by": "x", "comment": "another app"},
        {"id": "s3", "matchers": {"rule": "api_error"}, "ends_at": "2026-11-27T00:00:00+08:00",
         "created_by": "y", "comment": "every app"},
    ]
    html = page(state=StateView(alerts=alerts, silences=silences))
    assert "marketing success rate 65% below 70%" in html and "since 2026-11-24 21:00" in html
    assert '<span class="sev critical">' in html
    assert "another app" not in html  # a page shows only what concerns its apps
    assert "SMS_SDK_APP_IDS" not in html
    assert "app_id=1400006874, rule=receipt_rate_below" in html and "until 2026-11-26 00:00" in html
    assert "by ops@example.com" in html and "carrier maintenance" in html
    assert "rule=api_error" in html  # a silence for every app applies here too


def test_no_alert_and_no_silence_are_said_plainly() -> None:
    html = page(state=StateView())
    assert "No alert is firing for these apps." in html and "No active silence." in html


def test_chinese_page() -> None:
    html = page(lang="zh", state=StateView())
    assert '<html lang="zh-CN">' in html
    for label in ("短信回执统计", "每日比率", "每日失败原因", "成功率", "回执率", "送达率", "提交成功", "号码无效",
                  "当前告警"):
        assert label in html, label
    for english in ("Rates per day", "Failure reasons", "success rate", "submitted", "Current alerts"):
        assert english not in html, english


def test_an_app_that_failed_shows_the_error_and_hint_instead_of_charts() -> None:
    failed = AppResult(app_id="1400006874", app_name="prod", window=WindowDoc(begin="2026102600", end="2026112500",
                       timezone=TZ), error=ErrorInfo(code="AuthFailure.SecretIdNotFound", message="no such key",
                                                     hint="Check TENCENTCLOUD_SECRETID."))
    html = page(results=[failed])
    assert "AuthFailure.SecretIdNotFound" in html and "Check TENCENTCLOUD_SECRETID." in html
    assert "<svg" not in html


def test_thresholds_come_from_the_settings() -> None:
    html = page([PROD], thresholds=Thresholds(success_rate_min=0.97))
    assert "success rate threshold 97%" in html


def test_language_switch_link_only_when_given() -> None:
    assert "中文" not in page([PROD])
    html = page([PROD], switch_href="?app_id=1400006874&window=last_30d&exp=1&sig=abc&lang=zh")
    assert 'href="?app_id=1400006874&amp;window=last_30d&amp;exp=1&amp;sig=abc&amp;lang=zh"' in html


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_small_screens_get_one_column_and_readable_chart_text(lang: str) -> None:
    html = page([PROD], lang=lang)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    small = re.search(r"@media \(max-width:640px\)\{(.*?)\}\s*$", STYLE, flags=re.S)
    assert small and ".charts{grid-template-columns:1fr}" in small.group(1)
    assert "svg.chart text{font-size:19px}" in small.group(1)  # the drawing shrinks, its text must not

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


def test_each_app_has_totals_a_volume_chart_a_rate_chart_and_a_failure_chart() -> None:
    found = results([PROD, MARKETING])
    html = page(results=found)
    for r in found:
        section = re.search(rf'<section class="card" id="app-{r.app_id}">(.*?)</section>', html, flags=re.S)
        assert section, r.app_id
        body = section.group(1)
        assert body.count('<svg class="chart lines"') == 1 and body.count('<svg class="chart bars"') == 2
        rates = chart(body, "rates")
        assert rates.count('<path class="line s-') == 3  # success, receipt, delivery
        # a point per day per rate, each rate with its own marker shape
        assert rates.count("<circle") == rates.count("<rect") == rates.count('<path d="M') == 30
        assert r.stats is not None
        for value in (r.stats.RequestSuccessCount, r.stats.CallbackCount, r.stats.CallbackSuccessCount,
                      r.stats.CallbackFailCount):
            assert f">{num(value)}<" in body
        assert "11-24" in body  # the last day is labelled
        assert body.count("<tr>") == 31  # the day table: a header and 30 days


def chart(html: str, kind: str, app_id: str = "") -> str:
    """The SVG of one chart (`rates`, `volume`, `failures`), of the first app or of `app_id`."""
    found = re.search(rf'<svg class="chart \w+"[^>]*aria-labelledby="{kind}-{app_id}\d*"[^>]*>.*?</svg>', html,
                      flags=re.S)
    assert found, kind
    return found.group(0)


def status_lines(html: str) -> Dict[str, str]:
    """app id → its line in the status list at the top of the page."""
    block = re.search(r'<ul class="status">(.*?)</ul>', html, flags=re.S)
    assert block and html.index('<ul class="status">') < html.index('class="card" id="app-')
    return {m.group(1): m.group(0) for m in re.finditer(r'<li class="st \w+">.*?href="#app-(\d+)".*?</li>',
                                                        block.group(1), flags=re.S)}


def test_a_status_line_per_app_comes_first_and_judges_by_the_thresholds() -> None:
    lines = status_lines(page())
    assert set(lines) == {PROD.app_id, MARKETING.app_id}
    # the emulator's app ending in 9 is unhealthy: its success rate is below the critical threshold
    assert lines[MARKETING.app_id].startswith('<li class="st crit"><span class="badge crit">critical</span>')
    assert "success rate" in lines[PROD.app_id] and "submitted" in lines[PROD.app_id]
    assert status_lines(page([PROD]))  # one app still gets its line


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
    # the alert's own words from its fields (the page's language), not the message its run wrote
    assert "success rate 65.00% &lt; 70%" in html and "since 2026-11-24 21:00" in html
    assert "marketing success rate 65% below 70%" not in html
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
    html = page([PROD], thresholds=Thresholds(success_rate_min=0.97, success_rate_critical=0.8,
                                              receipt_rate_min=0.85))
    rates = chart(html, "rates")
    for key, label in (("warn", "success warning 97%"), ("crit", "success critical 80%"),
                       ("receipt", "receipt warning 85%")):
        assert re.search(rf'<line class="threshold th-{key}"[^>]*><title>{label}</title>', rates), key
        assert label in html.split("</svg>", 1)[1]  # ... and in a legend


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


# -- reading it right: times, volume, weak points, bands, one axis ---------------------------------------------------

from sms_receipt_stats.dashboard.page import local_time, render_error, wilson, zone_label  # noqa: E402
from sms_receipt_stats.stats import Stats  # noqa: E402


def pinned(app: App, stats: Stats, window: str = "last_7d") -> AppResult:
    fetcher = FakeFetcher(stats)
    return query_apps([app], named_window(window, NOW, TZ), "day", Querier(fetcher, rps=1e6, sleep=lambda s: None))[0]


def test_every_time_is_in_the_report_zone_with_the_zone_said() -> None:
    """A silence stored in UTC next to an alert since 08:03 local must not read as already over."""
    alerts = [{"rule": "success_rate_below", "severity": "warning", "app_id": PROD.app_id, "message": "low",
               "since": "2026-11-25T00:03:00Z"}]
    silences = [{"id": "s1", "matchers": {"app_id": PROD.app_id}, "starts_at": "2026-11-25T00:00:00Z",
                 "ends_at": "2026-11-25T04:04:00Z", "created_by": "ops", "comment": "maintenance"}]
    html = page([PROD], state=StateView(alerts=alerts, silences=silences))
    assert "since 2026-11-25 08:03 UTC+8" in html and "until 2026-11-25 12:04 UTC+8" in html
    assert "04:04" not in html
    assert "Times in Asia/Shanghai, UTC+8" in html and "generated: 2026-11-25 09:00 UTC+8" in html


@pytest.mark.parametrize(("value", "tz", "shown"), [
    ("2026-11-25T04:04:00Z", "Asia/Shanghai", "2026-11-25 12:04 UTC+8"),
    ("2026-11-25T04:04:00", "UTC", "2026-11-25 04:04 UTC"),  # naive means UTC
    (1795579440, "Asia/Kolkata", "2026-11-25 09:34 UTC+5:30"),
    ("2026-07-01T12:00:00+00:00", "America/New_York", "2026-07-01 08:00 UTC-4"),
    ("not a time", "Asia/Shanghai", "not a time"),
])
def test_local_time(value: Any, tz: str, shown: str) -> None:
    assert local_time(value, tz) == shown


def test_zone_label_of_utc() -> None:
    assert zone_label(datetime(2026, 1, 1, tzinfo=timezone.utc)) == "UTC"


def test_a_failing_app_shows_its_whole_code_in_the_status_line() -> None:
    code = "UnauthorizedOperation.ServiceSuspendDueToArrears"
    failed = AppResult(app_id=MARKETING.app_id, app_name="marketing", window=WindowDoc(
        begin="2026102600", end="2026112500", timezone=TZ), error=ErrorInfo(code=code, message="arrears"))
    lines = status_lines(page(results=[*results([PROD]), failed]))
    line = lines[MARKETING.app_id]
    assert f"<code title=\"{code}\">{code.replace('.', '.<wbr>')}</code>" in line and "error" in line
    small = re.search(r"ul\.status code,\.error code\{([^}]*)\}", STYLE)
    assert small and "overflow-wrap:anywhere" in small.group(1)  # wraps on a phone, never cut


def test_an_unreachable_endpoint_is_said_in_words() -> None:
    down = AppResult(app_id=PROD.app_id, app_name="prod", window=WindowDoc(
        begin="2026102600", end="2026112500", timezone=TZ),
        error=ErrorInfo(code="ClientNetworkError", message="endpoint unreachable: the endpoint refused the connection"))
    html = page(results=[down])
    assert "endpoint unreachable</span>" in status_lines(html)[PROD.app_id]
    assert "could not connect to the SMS API" in html


def test_the_volume_chart_shows_what_was_submitted_each_day() -> None:
    html = page([PROD])
    volume = chart(html, "volume")
    found = results([PROD])[0]
    bars = re.findall(r'<rect class="vol"[^>]*><title>([^<]*)</title>', volume)
    assert len(bars) == 30
    last = found.series[-1] if found.series else None
    assert last is not None and bars[-1] == f"11-24 · submitted: {num(last.stats.RequestSuccessCount)}"


def test_days_under_the_minimum_volume_are_hollow_and_off_the_line() -> None:
    few = Stats(RequestSuccessCount=40, CallbackCount=40, CallbackSuccessCount=0, CallbackFailCount=40,
                ShutdownErrorCount=40)
    html = page([PROD], window="last_7d", results=[pinned(PROD, few)])
    rates = chart(html, "rates")
    assert '<path class="line' not in rates  # 0 % on 40 receipts is no trend to draw
    assert rates.count('class="weak"') == 3 * 7
    assert "too little traffic to chart rates" in rates and '<rect class="plate"' in rates
    assert ">0%<" not in rates  # nor does it drag every chart's axis down to 0 %


def test_the_success_rate_has_a_95_percent_wilson_band() -> None:
    low, high = wilson(95, 100) or (0.0, 0.0)
    assert low == pytest.approx(0.8883, abs=1e-4) and high == pytest.approx(0.9785, abs=1e-4)
    assert wilson(0, 0) is None and wilson(100, 100) == (pytest.approx(0.963, abs=1e-3), pytest.approx(1.0))
    html = page([PROD], window="last_7d")
    assert chart(html, "rates").count('<path class="band s-success"') == 1


def test_every_rate_chart_has_the_same_axis_and_the_page_says_so() -> None:
    healthy = pinned(PROD, Stats(RequestSuccessCount=1000, CallbackCount=1000, CallbackSuccessCount=990,
                                 CallbackFailCount=10, ShutdownErrorCount=10))
    poor = pinned(MARKETING, Stats(RequestSuccessCount=1000, CallbackCount=900, CallbackSuccessCount=450,
                                   CallbackFailCount=450, ShutdownErrorCount=450))
    html = page(window="last_7d", results=[healthy, poor])

    def y_labels(app_id: str) -> List[str]:
        return re.findall(r'class="ylab"[^>]*>(\d+%)<', chart(html, "rates", app_id))

    assert y_labels(PROD.app_id) == y_labels(MARKETING.app_id) and y_labels(PROD.app_id)[0] == "40%"
    assert "Every rate chart spans 40% to 100%, the same for every app" in html


def test_lines_on_top_of_each_other_stay_apart() -> None:
    """At 100 % every line is the same line: they differ by width, dash and marker, and the legend says which."""
    perfect = pinned(PROD, Stats(RequestSuccessCount=500, CallbackCount=500, CallbackSuccessCount=500))
    html = page([PROD], window="last_7d", results=[perfect])
    rates = chart(html, "rates")
    assert re.search(r'<g class="dots s-success"><circle', rates)
    assert re.search(r'<g class="dots s-receipt"><rect', rates)
    assert re.search(r'<g class="dots s-delivery"><path', rates)
    dashes = {key: re.search(rf"svg\.chart \.line\.s-{key}[^{{]*\{{([^}}]*)\}}", STYLE)
              for key in ("receipt", "delivery")}
    assert dashes["receipt"] and dashes["delivery"] and dashes["receipt"].group(1) != dashes["delivery"].group(1)
    legend = html.split(rates, 1)[1].split("</ul>", 1)[0]
    assert legend.count('<svg class="key"') >= 3


def test_an_empty_chart_has_no_line_through_its_text() -> None:
    html = page([PROD], window="last_7d", results=[pinned(PROD, Stats())])
    for kind in ("rates", "volume", "failures"):
        drawn = chart(html, kind)
        assert "<line" not in drawn and 'class="empty"' in drawn, kind


# -- error pages ------------------------------------------------------------------------------------------------------

def test_the_error_page_of_an_expired_link_in_chinese_is_well_formed() -> None:
    html = render_error("zh", 401, "AuthFailure.Unauthorized", "the link has expired", link_reason="expired")
    structure(html)
    assert '<html lang="zh-CN">' in html and "链接已过期" in html and "获取新链接" in html
    assert "<script" not in html and f"<style>{STYLE}</style>" in html  # the style the CSP hash allows


def test_an_error_page_escapes_the_message() -> None:
    html = render_error("en", 400, "InvalidParameter", "<b>x</b>")
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x" not in html


@pytest.mark.parametrize("lang, words", [
    ("en", ("SMS balance: 63,000 messages left · about 6.3 days at 10,000 billed a day (last 7 days)",
            "API accepted 1,990 of 2,000 submitted (99.50%) · billed 2,400")),
    ("zh", ("短信余量: 剩余 63,000 条 · 按近 7 天每天计费 10,000 条约可用 6.3 天",
            "接口受理 1,990 条 / 提交 2,000 条（99.50%）· 计费 2,400 条")),
])
def test_the_page_shows_the_balance_and_each_apps_send_counts(lang: str, words: Any) -> None:
    from sms_receipt_stats.account import send_doc
    from sms_receipt_stats.documents import PackagesDoc

    found = results([PROD])
    found[0].send = send_doc(2_000, 1_990, 2_400)
    packages = PackagesDoc(app_id=PROD.app_id, amount=100_000, used=37_000, remaining=63_000, daily_billed=10_000.0,
                           days_left=6.3)
    html = page([PROD], results=found, packages=packages, lang=lang)
    assert not structure(html).problems
    for word in words:
        assert word in html, word


def test_a_page_without_a_balance_says_nothing_of_it() -> None:
    html = page([PROD])
    assert "SMS balance" not in html and "API accepted" not in html


def test_a_balance_that_could_not_be_read_shows_its_code() -> None:
    from sms_receipt_stats.documents import PackagesDoc

    failed = PackagesDoc(app_id=PROD.app_id, error=ErrorInfo(code="UnauthorizedOperation.RequestPermissionDeny",
                                                             message="<b>no</b>"))
    html = page([PROD], packages=failed)
    assert "SMS balance: unavailable UnauthorizedOperation.RequestPermissionDeny" in html and "<b>no" not in html

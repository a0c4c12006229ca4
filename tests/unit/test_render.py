"""Chat messages from result documents: content, order, languages, filtering, size, escaping."""

from __future__ import annotations

import re
from typing import List, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sms_receipt_stats.config import Thresholds
from sms_receipt_stats.documents import Alert, AppResult, ErrorInfo, ResultDocument, SeriesPoint, WindowDoc
from sms_receipt_stats.render import FLAVORS, MAX_BYTES, RenderedMessage, escape, render_message
from sms_receipt_stats.stats import Stats, compute_rates
from sms_receipt_stats.text import cut_utf8

YESTERDAY = WindowDoc(begin="2026112300", end="2026112400", timezone="Asia/Shanghai")
GENERATED = "2026-11-24T09:00:03+08:00"
ARREARS = "UnauthorizedOperation.ServiceSuspendDueToArrears"
ZWSP = "\u200b"
#: as messages show it: a zero-width space after the dot, so no client takes it for a domain
ARREARS_SHOWN = ARREARS  # a catalogued code is shown verbatim, so it can be copied and searched
ARREARS_HINT = "Top up the Tencent Cloud account, then re-run the report."

# The example app (1880 sent, 77.02% success), plus a healthy big one, a failing one and a tiny one.
PROD = Stats(
    RequestSuccessCount=1880,
    CallbackCount=1745,
    CallbackSuccessCount=1344,
    CallbackFailCount=401,
    ShutdownErrorCount=401,
)
MARKETING = Stats(
    RequestSuccessCount=52310,
    CallbackCount=51987,
    CallbackSuccessCount=51002,
    CallbackFailCount=985,
    InvalidNumberCount=600,
    ShutdownErrorCount=300,
    BlackListCount=85,
)
TINY = Stats(
    RequestSuccessCount=12, CallbackCount=10, CallbackSuccessCount=5, CallbackFailCount=5, InternalErrorCount=5
)

EN_LABELS = [
    "submitted",
    "receipts",
    "delivered",
    "failed",
    "receipt rate",
    "success rate",
    "delivery rate",
    "alerts",
    "window",
    "generated",
    "hint",
    "powered off",
    "invalid number",
    "blacklisted",
    "api error",
    "yesterday",
    "critical",
    "warning",
    "arrive late",
    "truncated",
]
EVIL = "[click](http://evil) <@all> @all **x** \n# H <!channel> <at id=all></at>"


def app(
    app_id: str,
    name: Optional[str],
    stats: Optional[Stats] = None,
    error: Optional[ErrorInfo] = None,
    series: Optional[List[SeriesPoint]] = None,
) -> AppResult:
    return AppResult(
        app_id=app_id,
        app_name=name,
        window=YESTERDAY,
        stats=stats,
        rates=compute_rates(stats) if stats else None,
        series=series,
        error=error,
    )


def arrears_error(message: str = "The account is in arrears.", hint: str = ARREARS_HINT) -> ErrorInfo:
    return ErrorInfo(
        code=ARREARS, message=message, request_id="r-1", severity="critical", category="billing", hint=hint
    )


def success_alert(app_id: str, value: float, severity: str = "warning", threshold: float = 0.9) -> Alert:
    return Alert(
        rule="success_rate_below",
        severity=severity,
        app_id=app_id,
        value=value,
        threshold=threshold,
        message=f"success rate {value} < {threshold}",
    )


def api_alert(app_id: str, message: str = "The account is in arrears.", hint: str = ARREARS_HINT) -> Alert:
    return Alert(rule="api_error", severity="critical", app_id=app_id, code=ARREARS, message=message, hint=hint)


def report_doc(kind: str = "report") -> ResultDocument:
    return ResultDocument(
        kind=kind,
        generated_at=GENERATED,
        results=[
            app("1400000001", "marketing", MARKETING),
            app("1400006874", "prod", PROD),
            app("1400000003", "billing", error=arrears_error()),
            app("1400000004", "tiny", TINY),
        ],
        alerts=[success_alert("1400006874", 0.7702), api_alert("1400000003")],
    )


def healthy_doc(kind: str = "report") -> ResultDocument:
    return ResultDocument(kind=kind, generated_at=GENERATED, results=[app("1400000001", "marketing", MARKETING)])


def render(doc: ResultDocument, flavor: str = "plain", **kwargs) -> RenderedMessage:
    msg = render_message(doc, flavor, **kwargs)
    assert msg is not None
    return msg


def nbytes(text: str) -> int:
    return len(text.encode("utf-8"))


# content and order ----------------------------------------------------------------------


@pytest.mark.parametrize("flavor", FLAVORS)
def test_alerts_come_before_app_sections(flavor):
    text = render(report_doc(), flavor).text
    critical_alert = text.index(ARREARS_SHOWN)  # first mention: the alert
    warning_alert = text.index("77.02% ")
    first_stats = text.index("submitted")
    assert critical_alert < warning_alert < first_stats
    # the critical alert is listed before the warning one
    assert text.index("CRITICAL") < text.index("WARNING")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_counts_rates_and_failure_breakdown(flavor):
    text = render(report_doc(), flavor).text
    for expected in ["1,880", "1,745", "1,344", "401", "52,310", "51,987", "51,002", "985"]:
        assert expected in text
    for rate in ["92.82%", "77.02%", "71.49%", "99.38%", "98.11%", "97.50%"]:
        assert rate in text
    assert "powered off/out of service 401" in text
    assert "invalid number 600" in text and "blacklisted 85" in text
    # zero counters are left out of the breakdown
    assert "frequency limit" not in text


def test_alert_line_says_what_and_against_which_threshold():
    text = render(report_doc()).text
    assert "🟠 WARNING prod (1400006874): success rate 77.02% < 90%" in text
    assert f"🔴 CRITICAL billing (1400000003): API error {ARREARS_SHOWN}" in text


def test_rate_status_marks_against_thresholds():
    text = render(report_doc()).text
    lines = text.splitlines()
    prod = next(line for line in lines if "92.82%" in line)
    assert "receipt rate 92.82% ✅" in prod and "success rate 77.02% ⚠️" in prod
    marketing = next(line for line in lines if "99.38%" in line)
    assert "receipt rate 99.38% ✅" in marketing and "success rate 98.11% ✅" in marketing
    # tiny volume: rules stay silent, so no verdict either
    tiny = next(line for line in lines if "83.33%" in line)
    assert "receipt rate 83.33% —" in tiny and "success rate 50.00% —" in tiny

    critical = ResultDocument(
        generated_at=GENERATED,
        results=[
            app("1400006874", "prod", Stats(RequestSuccessCount=1000, CallbackCount=700, CallbackSuccessCount=400))
        ],
    )
    text = render(critical, thresholds=Thresholds(success_rate_critical=0.7, receipt_rate_min=0.8)).text
    assert "success rate 57.14% 🔴" in text and "receipt rate 70.00% ⚠️" in text


def test_null_rates_say_so_in_words():
    empty = ResultDocument(generated_at=GENERATED, results=[app("1400000009", "quiet", Stats())])
    text = render(empty).text
    assert "receipt rate n/a" in text and "success rate n/a" in text and "delivery rate n/a" in text
    assert "—" not in text  # no bare symbol: nothing to explain
    assert "无数据" in render(empty, lang="zh").text


@pytest.mark.parametrize("flavor", FLAVORS)
def test_error_app_shows_code_and_hint_instead_of_stats(flavor):
    doc = ResultDocument(generated_at=GENERATED, results=[app("1400000003", "billing", error=arrears_error())])
    text = render(doc, flavor).text
    assert ARREARS_SHOWN in text
    assert "Top up the Tencent Cloud account" in text
    assert "submitted" not in text


def test_config_error_alert_shows_message_and_hint():
    doc = ResultDocument(
        kind="error",
        generated_at=GENERATED,
        alerts=[
            Alert(
                rule="config_error",
                severity="critical",
                message="SMS_SDK_APP_IDS: 'abc' is not an SmsSdkAppId",
                code="InvalidParameter",
                hint="Set SMS_SDK_APP_IDS to 10-digit ids.",
            )
        ],
        errors=["SMS_SDK_APP_IDS: 'abc' is not an SmsSdkAppId", "NOTIFY_URLS: bad entry"],
    )
    msg = render(doc)
    assert "configuration error InvalidParameter: SMS_SDK_APP_IDS: 'abc' is not an SmsSdkAppId" in msg.text
    assert "hint: Set SMS_SDK_APP_IDS to 10-digit ids." in msg.text
    assert "NOTIFY_URLS: bad entry" in msg.text  # the other error is listed once
    assert msg.text.count("is not an SmsSdkAppId") == 1
    assert msg.severity == "critical"


def test_footer_names_window_time_and_late_receipts():
    text = render(report_doc()).text
    footer = text[text.rindex("marketing") :]
    assert "2026-11-23 00:00 → 2026-11-24 00:00 (Asia/Shanghai)" in footer
    assert "2026-11-24 09:00:03 +08:00" in footer
    assert "arrive late" in footer


def test_title_is_short_plain_text():
    msg = render(report_doc(), "wecom")
    assert msg.title == "🔴 SMS receipts · 2 alerts · yesterday 2026-11-23"
    assert msg.severity == "critical"
    assert "*" not in msg.title and "<" not in msg.title
    assert render(healthy_doc()).title == "✅ SMS receipts · all healthy · yesterday 2026-11-23"
    assert render(report_doc("check"), "slack").title.startswith("🔴 SMS receipt check · 2 alerts")


def test_title_in_body_except_feishu_card():
    assert render(report_doc(), "wecom").text.startswith("### 🔴 SMS receipts")
    assert render(report_doc(), "slack").text.startswith("*🔴 SMS receipts")
    assert "SMS receipts" not in render(report_doc(), "feishu").text


def test_flavor_markup():
    assert '<font color="warning">**CRITICAL**</font>' in render(report_doc(), "wecom").text
    assert "  \n" in render(report_doc(), "dingtalk").text
    slack = render(report_doc(), "slack").text
    assert "77.02% &lt; 90%" in slack and "*prod*" in slack
    assert "**" not in slack


def test_windows_differing_per_app_are_shown_per_app():
    other = WindowDoc(begin="2026112413", end="2026112423", timezone="Asia/Shanghai")
    doc = ResultDocument(
        generated_at=GENERATED,
        results=[
            app("1400000001", "marketing", MARKETING),
            app("1400006874", "prod", PROD).model_copy(update={"window": other}),
        ],
    )
    text = render(doc).text
    assert "prod (1400006874) · 2026-11-24 13:00 → 2026-11-24 23:00 (Asia/Shanghai)" in text


def test_short_series_listed_long_series_counted():
    def point(day: int) -> SeriesPoint:
        stats = Stats(RequestSuccessCount=1000 + day, CallbackCount=900, CallbackSuccessCount=850)
        return SeriesPoint(
            begin=f"202611{day:02d}00", end=f"202611{day + 1:02d}00", stats=stats, rates=compute_rates(stats)
        )

    week = [point(d) for d in range(17, 24)]
    text = render(ResultDocument(generated_at=GENERATED, results=[app("1400006874", "prod", PROD, series=week)])).text
    assert "per day:" in text
    assert "11-17: submitted 1,017" in text and "11-23: submitted 1,023" in text

    month = [point(d) for d in range(1, 24)]
    text = render(ResultDocument(generated_at=GENERATED, results=[app("1400006874", "prod", PROD, series=month)])).text
    assert "23 day buckets not shown" in text
    assert "11-01:" not in text


# languages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("flavor", FLAVORS)
def test_zh_has_chinese_labels_and_no_english_ones(flavor):
    doc = report_doc()
    doc = doc.model_copy(
        update={
            "results": [
                *doc.results[:2],
                app("1400000003", "billing", error=arrears_error("账户欠费", "请充值后重试")),
                doc.results[3],
            ],
            "alerts": [doc.alerts[0], api_alert("1400000003", "账户欠费", "请充值后重试")],
        }
    )
    msg = render(doc, flavor, lang="zh")
    text = msg.text + "\n" + msg.title
    for label in ["告警", "严重", "警告", "提交成功", "收到回执", "发送成功", "发送失败", "回执率", "成功率", "送达率"]:
        assert label in text
    for label in ["关机/停机", "号码无效", "黑名单", "统计区间", "生成时间", "回执可能延迟", "昨天", "处理建议"]:
        assert label in text
    lowered = re.sub(r'<font color="\w+">|</font>', "", text).lower()  # WeCom colour markup
    assert [label for label in EN_LABELS if label in lowered] == []
    assert "52,310" in text  # thousands separators in zh too


def test_zh_truncation_marker():
    msg = render(many_apps_doc(200), "wecom", lang="zh")
    assert msg.truncated
    assert re.search(r"另有 \d+ 个应用未显示", msg.text)


def test_unknown_language_falls_back_to_english():
    assert "submitted" in render(report_doc(), lang="fr").text
    assert "提交成功" in render(report_doc(), lang="zh-CN").text


# severity filtering -----------------------------------------------------------------------


def test_report_at_info_always_renders_everything():
    msg = render(healthy_doc(), min_severity="info")
    assert msg.severity == "info"
    assert "marketing" in msg.text and "52,310" in msg.text


def test_min_severity_shows_only_matching_alerts_and_their_apps():
    warn = render(report_doc(), min_severity="warning")
    assert "prod" in warn.text and "billing" in warn.text
    assert "marketing" not in warn.text and "tiny" not in warn.text

    crit = render(report_doc(), min_severity="critical")
    assert crit.severity == "critical"
    assert "billing" in crit.text and ARREARS_SHOWN in crit.text
    assert "prod" not in crit.text and "77.02%" not in crit.text
    assert crit.title.startswith("🔴 SMS receipts · 1 alert ·")


def test_nothing_to_say_is_none():
    assert render_message(healthy_doc(), "wecom", min_severity="warning") is None
    assert render_message(healthy_doc("check"), "wecom") is None
    only_warning = report_doc().model_copy(update={"alerts": [success_alert("1400006874", 0.7702)]})
    assert render_message(only_warning, "slack", min_severity="critical") is None
    assert render_message(ResultDocument(kind="error", generated_at=GENERATED, errors=["boom"]), "plain") is None


def test_check_shows_alerts_and_affected_apps_only():
    msg = render(report_doc("check"), "dingtalk")
    assert "prod" in msg.text and "billing" in msg.text
    assert "marketing" not in msg.text


def test_unknown_flavor_or_severity_is_rejected():
    with pytest.raises(ValueError):
        render_message(report_doc(), "telegram")
    with pytest.raises(ValueError):
        render_message(report_doc(), "plain", min_severity="loud")
    with pytest.raises(ValueError):
        escape("x", "telegram")


# size limits ---------------------------------------------------------------------------------


def many_apps_doc(n: int, name: str = "app-{i}", message: str = "The account is in arrears.") -> ResultDocument:
    results, alerts = [], []
    for i in range(n):
        app_id = f"14{i:08d}"
        if i % 10 == 9:
            results.append(app(app_id, name.format(i=i), error=arrears_error(message)))
            alerts.append(api_alert(app_id, message))
        else:
            results.append(app(app_id, name.format(i=i), MARKETING))
    return ResultDocument(generated_at=GENERATED, results=results, alerts=alerts)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_200_apps_fit_the_limit_keep_alerts_and_mark_truncation(flavor):
    limit = MAX_BYTES[flavor] if flavor != "plain" else 5000
    msg = render(many_apps_doc(200), flavor, max_bytes=limit)
    assert nbytes(msg.text) <= limit
    assert msg.truncated
    assert re.search(r"… \d+ more apps truncated \(see the JSON result\)", msg.text)
    alerts_part = msg.text.split("more apps truncated")[0]
    if flavor == "wecom" or flavor == "slack" or flavor == "plain":
        assert alerts_part.count(ARREARS_SHOWN) >= 5
    else:  # 20 KB: every alert and more
        assert alerts_part.count("CRITICAL") == 20
    # the footer survives truncation
    assert "arrive late" in msg.text


@pytest.mark.parametrize("flavor", FLAVORS)
def test_default_limits_hold_for_200_apps(flavor):
    msg = render(many_apps_doc(200), flavor)
    assert nbytes(msg.text) <= MAX_BYTES[flavor]
    assert msg.truncated == (flavor != "plain")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_huge_names_and_messages_stay_within_limit(flavor):
    doc = many_apps_doc(200, name="名字🔥" * 3000 + "{i}", message="消息💥" * 40000)
    limit = min(MAX_BYTES[flavor], 20000)
    msg = render(doc, flavor, max_bytes=limit)
    assert nbytes(msg.text) <= limit
    assert "\ufffd" not in msg.text
    assert "名字🔥" * 100 not in msg.text  # shortened before rendering


@pytest.mark.parametrize("flavor", FLAVORS)
def test_many_alerts_are_truncated_with_a_marker(flavor):
    n = 400
    doc = ResultDocument(
        generated_at=GENERATED,
        alerts=[api_alert(f"14{i:08d}", "x" * 200) for i in range(n)],
        results=[app(f"14{i:08d}", f"app{i}", error=arrears_error("x" * 200)) for i in range(n)],
    )
    limit = 3000
    msg = render(doc, flavor, max_bytes=limit, lang="zh")
    assert nbytes(msg.text) <= limit
    assert re.search(r"另有 \d+ 条告警未显示", msg.text)
    assert "另有 400 个应用未显示" in msg.text


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("limit", [0, 1, 7, 40, 150, 600])
def test_tiny_limits_are_never_exceeded(flavor, limit):
    msg = render(report_doc(), flavor, max_bytes=limit)
    assert nbytes(msg.text) <= limit
    assert msg.truncated
    assert "\ufffd" not in msg.text


def test_untruncated_message_says_so():
    msg = render(report_doc(), "wecom")
    assert not msg.truncated
    assert "truncated" not in msg.text


@given(st.text(min_size=0, max_size=60), st.integers(min_value=0, max_value=200))
def test_cut_utf8_never_splits_a_character(text, limit):
    cut = cut_utf8(text, limit)
    assert nbytes(cut) <= limit
    assert text.startswith(cut)
    if nbytes(text) <= limit:
        assert cut == text


# escaping --------------------------------------------------------------------------------------


def evil_doc() -> ResultDocument:
    return ResultDocument(
        generated_at=GENERATED,
        results=[
            app("1400006874", EVIL, PROD),
            app("1400000003", EVIL + " 2", error=arrears_error(message=EVIL, hint=EVIL)),
        ],
        alerts=[
            success_alert("1400006874", 0.7702),
            api_alert("1400000003", message=EVIL, hint=EVIL),
            Alert(rule="receipt_rate_below", severity="warning", app_id="1400006874", message=EVIL),
        ],
        errors=[EVIL + " error"],
    )


@pytest.mark.parametrize("flavor", ["wecom", "dingtalk", "feishu"])
def test_markdown_injection_is_neutralised(flavor):
    text = render(evil_doc(), flavor).text
    assert "](" not in text  # no [label](url) link
    assert "http://" not in text  # no auto-linked URL
    assert "@" not in text  # no @all / @mobile / <@userid> mention
    assert "<@" not in text and "<at" not in text and "<!channel>" not in text
    assert "**x**" not in text
    assert not [line for line in text.splitlines() if line.lstrip().startswith("# H")]
    assert "#" not in re.sub(r"(?m)^#{3,4} ", "", text)  # only our own headings
    assert "click" in text  # the name is still shown, defanged


def test_slack_injection_is_neutralised():
    text = render(evil_doc(), "slack").text
    assert "<" not in text and ">" not in text  # no <!channel>, <@U..>, <url|label>
    assert "&lt;!channel&gt;" in text
    assert "](" not in text and "http://" not in text and "@all" not in text
    assert "*x*" not in text
    assert not [line for line in text.splitlines() if line.startswith("# H")]


def test_plain_keeps_text_but_not_line_breaks_or_control_codes():
    doc = evil_doc().model_copy(update={"results": [app("1400006874", "a\x1b[31mred\r\n# H\u202eevil", PROD)]})
    text = render(doc, "plain").text
    assert "\x1b" not in text and "\u202e" not in text and "\r" not in text
    assert not [line for line in text.splitlines() if line.startswith("# H")]
    assert "[click](http://evil)" in text  # a terminal renders no markup: shown as is


@settings(max_examples=300)
@given(st.text(max_size=80))
def test_escape_output_has_no_markup_characters(text):
    for flavor in ("wecom", "dingtalk", "feishu"):
        out = escape(text, flavor)
        assert not set(out) & set("\n\r[]<>@*`#|~\\")
        assert "://" not in out
    slack = escape(text, "slack")
    assert not set(slack) & set("\n\r<>@*`[]~")
    assert re.sub(r"&(amp|lt|gt);", "", slack).count("&") == 0
    assert "\n" not in escape(text, "plain")


# -- bare domains: chat clients auto-link `evil.example/login` and `www.evil.com` without a scheme --

DOMAIN = re.compile(r"[A-Za-z0-9-]+\.[A-Za-z]{2,}", re.ASCII)


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("text", ["evil.example/login", "www.evil.com", "go to EVIL.COM now", "a.b.co.uk/x?y=z",
                                  "sms.tencentcloudapi.com", "http://evil.invalid", "xn--e1afmkfd.xn--p1ai",
                                  "UnauthorizedOperation.ServiceSuspendDueToArrears", "1400006874.evil.io"])
def test_escape_breaks_every_bare_domain(text, flavor):
    out = escape(text, flavor)
    assert not DOMAIN.search(out), out
    if flavor == "plain" or "://" not in text:  # only zero-width spaces were added: it reads the same
        assert out.replace(ZWSP, "") == text


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("text", ["prod", "marketing team", "生产", "生产环境 (备用)", "77.02%", "1.5", "1.2.3",
                                  "v2.10.4", "10.0.0.1", "2026-11-24T09:00:03+08:00", "0.9 vs 1.0", "a. b", "end."])
def test_escape_keeps_names_numbers_and_sentences_unchanged(text, flavor):
    assert escape(text, flavor) == text


@settings(max_examples=300)
@given(st.one_of(
    st.from_regex(r"\A(www\.)?[a-z0-9-]{1,12}(\.[A-Za-z0-9-]{1,8}){1,3}(/[a-z]{0,6})?\Z"),
    st.text(alphabet="aZ9-._ .\u200b:/%中", max_size=40),
    st.text(max_size=60),
))
def test_escape_output_never_holds_a_domain(text):
    for flavor in FLAVORS:
        out = escape(text, flavor)
        assert not DOMAIN.search(out), (flavor, out)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_catalogued_codes_are_copyable_but_unknown_domain_like_codes_are_not_linkable(flavor: str) -> None:
    doc = report_doc()
    assert ARREARS in render(doc, flavor).text  # no zero-width space inside a known code
    hostile = "Evil.example.com"
    doc.alerts[1] = Alert(rule="api_error", severity="critical", app_id="1400000003", code=hostile,
                          message="x", hint=ARREARS_HINT)
    doc.results[2].error = ErrorInfo(code=hostile, message="x", severity="critical", category="upstream")
    text = render(doc, flavor).text
    assert hostile not in text and not re.search(r"[A-Za-z0-9-]+\.[A-Za-z]{2,}", text.replace(ARREARS, ""))


def test_catalogued_codes_hold_no_markup_so_showing_them_verbatim_is_safe() -> None:
    from sms_receipt_stats.catalogue import CATALOGUE

    assert CATALOGUE and all(re.fullmatch(r"[A-Za-z0-9]+(\.[A-Za-z0-9]+)*", code) for code in CATALOGUE)


@pytest.mark.parametrize(("lang", "marker"), [("en", "Approximate local times"), ("zh", "近似值")])
def test_a_part_hour_zone_report_says_which_beijing_hours_were_counted(lang: str, marker: str) -> None:
    from datetime import datetime, timezone

    from sms_receipt_stats.windows import explicit_window

    window = explicit_window("2026112300", "2026112400", datetime(2026, 11, 25, tzinfo=timezone.utc),
                             "Asia/Kolkata")
    result = app("1400006874", "prod", PROD).model_copy(update={"window": WindowDoc(**window.to_doc())})
    doc = ResultDocument(kind="report", generated_at=GENERATED, results=[result])
    text = render(doc, "plain", lang=lang).text
    assert marker in text
    # local 00:00 IST is 02:30 Beijing: the 24 hours counted are Beijing 02:00 .. 01:00 (both included)
    assert "2026112302" in text and "2026112401" in text and "24" in text
    assert marker not in render(healthy_doc(), "plain", lang=lang).text  # whole-hour zone: nothing to say


@pytest.mark.parametrize("flavor", FLAVORS)
def test_an_error_line_shows_the_catalogued_codes_it_quotes_verbatim_and_defangs_the_rest(flavor):
    """`doctor --send-test` lists failures as error lines ("...: FAILED: Code: message"): the escaping of
    that untrusted text put a zero-width space after the code's dot, so it could not be copied or searched."""
    doc = healthy_doc()
    doc.errors = ["doctor test: permission prod (1400006874): FAILED: UnauthorizedOperation.SmsSdkAppIdVerifyFail: "
                  "denied, see evil.example/login and Made.Up or FailedOperation.TemplateIdNotExist.evil"]
    text = render(doc, flavor).text
    line = next(x for x in text.splitlines() if "FAILED" in x)
    assert "UnauthorizedOperation.SmsSdkAppIdVerifyFail" in line
    assert "UnauthorizedOperation." + ZWSP not in line
    assert not DOMAIN.search(line.replace("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "")), line
    assert "Made." + ZWSP + "Up" in line  # not a catalogued code: untrusted text stays defanged
    assert "FailedOperation." + ZWSP + "TemplateIdNotExist." + ZWSP + "evil" in line

"""Pushed receipts in chat and alerts (docs/http-api.md, *Receipts*): the top failing receipt codes
with their meaning and the countries with most failures, in the daily report's app block, under a
rate alert (chat and dashboard) and in a rate alert's message (webhook and queue)."""

from __future__ import annotations

from typing import List

import pytest

from sms_receipt_stats.config import Thresholds
from sms_receipt_stats.documents import AppResult, CountryCount, ReceiptCodeCount, ResultDocument, WindowDoc
from sms_receipt_stats.receipts import codes as catalogue
from sms_receipt_stats.render import FLAVORS, MAX_BYTES, render_message
from sms_receipt_stats.render.report import alert_facts
from sms_receipt_stats.rules import evaluate
from sms_receipt_stats.stats import Stats, compute_rates

WINDOW = WindowDoc(begin="2026112400", end="2026112500", timezone="Asia/Shanghai")
GENERATED = "2026-11-25T09:00:00+08:00"
#: a success rate of 66.67% over 900 receipts: success_rate_below fires
LOW = Stats(RequestSuccessCount=1000, CallbackCount=900, CallbackSuccessCount=600, CallbackFailCount=300,
            BlackListCount=180, ShutdownErrorCount=120)
HEALTHY = Stats(RequestSuccessCount=1000, CallbackCount=990, CallbackSuccessCount=985, CallbackFailCount=5,
                ShutdownErrorCount=5)


def receipt_codes(lang: str = "en", unknown: str = "ZZ:0042") -> List[ReceiptCodeCount]:
    """The shape `state.receipts.attach_receipts` writes: most failed first, meaning in the run's language."""
    found = [("DB:0141", 120), ("MK:0005", 40), (unknown, 7), ("UNDELIV", 3), ("EXPIRED", 1)]
    return [ReceiptCodeCount(code=code, count=n, category=catalogue.lookup(code).category,
                             meaning=catalogue.lookup(code).meaning_in(lang)) for code, n in found]


COUNTRIES = [CountryCount(nationcode="86", count=1500, failed=110), CountryCount(nationcode="1", count=300, failed=0),
             CountryCount(nationcode="852", count=60, failed=10), CountryCount(nationcode="65", count=9, failed=1),
             CountryCount(nationcode="44", count=8, failed=1)]


def result(app_id: str = "1400006874", name: str = "prod", stats: Stats = LOW, lang: str = "en",
           with_receipts: bool = True) -> AppResult:
    r = AppResult(app_id=app_id, app_name=name, window=WINDOW, stats=stats, rates=compute_rates(stats))
    if with_receipts:
        r.receipt_codes, r.countries = receipt_codes(lang), list(COUNTRIES)
    return r


def report(results: List[AppResult]) -> ResultDocument:
    return ResultDocument(kind="report", generated_at=GENERATED, results=results)


def check(results: List[AppResult], lang: str = "en") -> ResultDocument:
    doc = ResultDocument(kind="check", generated_at=GENERATED, results=results)
    doc.alerts = evaluate(results, Thresholds(), lang=lang)
    return doc


def test_the_report_names_the_top_three_codes_with_their_meaning_and_the_most_failing_countries() -> None:
    text = render_message(report([result()]), "plain").text
    meaning = catalogue.lookup("DB:0141").meaning_in("en").rstrip(".")
    assert f"failed receipts by code: DB:0141 ×120 — {meaning[:40]}" in text
    line = next(li for li in text.splitlines() if "failed receipts by code" in li)
    # the third code is unknown: raw, counted, no meaning; two more are only counted
    assert line.index("DB:0141") < line.index("MK:0005") < line.index("ZZ:0042 ×7")
    assert line.endswith("ZZ:0042 ×7; +2 more")
    assert "UNDELIV" not in line
    # most failures first, a country without failures left out, the rest counted
    assert "failures by country/region: +86: 110, +852: 10, +44: 1, +1 more" in text


def test_the_zh_report_says_it_in_chinese_with_the_zh_meaning() -> None:
    r = result(lang="zh")
    text = render_message(report([r]), "plain", lang="zh").text
    zh = catalogue.lookup("DB:0141").meaning_in("zh").rstrip("。")
    assert f"失败回执码: DB:0141 ×120 — {zh}" in text
    assert "另有 2 个回执码" in text and "失败回执地区: +86: 110, +852: 10, +44: 1, 另有 1 个" in text
    assert "failed receipts" not in text


def test_an_app_without_receipts_or_without_failed_codes_gets_no_line() -> None:
    quiet = result(app_id="1400000002", name="quiet")
    quiet.receipt_codes, quiet.countries = [], [CountryCount(nationcode="86", count=9, failed=0)]
    text = render_message(report([result(with_receipts=False), quiet]), "plain").text
    assert "failed receipts by code" not in text and "country/region" not in text


def test_a_rate_alert_line_names_the_codes_and_the_app_block_does_not_repeat_them() -> None:
    doc = check([result(), result(app_id="1400000002", name="calm", stats=HEALTHY)])
    assert [a.rule for a in doc.alerts] == ["success_rate_below"]
    text = render_message(doc, "wecom").text
    assert text.count("failed receipts by code") == 1 and text.count("country/region") == 1
    alert_part, apps_part = text.split("**prod** (1400006874)\n", 1)
    assert "`DB:0141` ×120" in alert_part and "failures by country/region: +86: 110" in alert_part
    assert "DB:0141" not in apps_part


def test_a_daily_report_names_the_codes_of_every_app_in_its_block() -> None:
    text = render_message(report([result(), result(app_id="1400000002", name="calm", stats=HEALTHY)]), "plain").text
    assert text.count("failed receipts by code") == 2


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_rate_alert_message_carries_the_top_codes_for_webhooks_and_queues(lang: str) -> None:
    doc = check([result(lang=lang)], lang=lang)
    message = doc.alerts[0].message
    head = "; top failing receipt codes: " if lang == "en" else "；主要失败回执码："
    assert head in message
    listed = message.split(head, 1)[1]
    assert listed.startswith("DB:0141 ×120 (") and "MK:0005 ×40 (" in listed and listed.endswith("ZZ:0042 ×7, +2")


def test_a_rate_alert_without_receipts_keeps_its_message() -> None:
    message = check([result(with_receipts=False)]).alerts[0].message
    assert "receipt codes" not in message and message.endswith("warning")


def test_the_dashboard_says_the_alert_with_its_codes_in_short() -> None:
    doc = check([result()])
    who, what = alert_facts(doc.alerts[0], "en", Thresholds(), doc.results)
    assert who == "" and "success rate 66.67%" in what
    # the codes only: the app's card below shows their meanings and the countries
    assert what.endswith(" · failed receipts by code: DB:0141 ×120; MK:0005 ×40; ZZ:0042 ×7; +2 more")


def test_meanings_are_cut_and_codes_are_shown_raw_never_dropped() -> None:
    r = result()
    r.receipt_codes = [ReceiptCodeCount(code="XX:" + "9" * 60, count=5, category="unknown", meaning="m" * 500)]
    line = next(li for li in render_message(report([r]), "plain").text.splitlines() if "by code" in li)
    assert "XX:999" in line and "×5" in line and "m" * 79 in line and "m" * 81 not in line


@pytest.mark.parametrize("flavor", FLAVORS)
def test_many_apps_with_long_code_lists_fit_every_platform(flavor: str) -> None:
    results = []
    for i in range(120):
        r = result(app_id=f"14{i:08d}", name=f"app-{i}-" + "名" * 40, stats=LOW if i % 3 == 0 else HEALTHY)
        r.receipt_codes = [ReceiptCodeCount(code=f"C{i}:{k:04d}" + "中" * 20, count=1000 - k, category="unknown",
                                            meaning="意思" * 200) for k in range(40)]
        r.countries = [CountryCount(nationcode=str(k), count=10 * k, failed=k) for k in range(1, 200)]
        results.append(r)
    for doc in (report(results), check(results), check(results, lang="zh")):
        for lang in ("en", "zh"):
            msg = render_message(doc, flavor, lang=lang)
            assert msg is not None
            assert len(msg.text.encode("utf-8")) <= MAX_BYTES[flavor]
            assert msg.truncated == (flavor != "plain")
            assert "C0:0000" in msg.text  # the first app's top code (on its alert line in a check) survives

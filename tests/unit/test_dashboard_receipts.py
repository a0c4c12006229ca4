"""The dashboard's pushed receipts (docs/http-api.md, *Dashboard* and *Receipts*): failed receipts per
day by code as stacked bars (top codes and "other codes"), a country/region table, en and zh; a line
saying how to turn receipts on when they are off; the counters read per day of the report timezone
from a real store (SQLite and Redis)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Sequence

import pytest

from sms_receipt_stats.config import App, load_settings
from sms_receipt_stats.dashboard import Page, handle_dashboard, render_page
from sms_receipt_stats.dashboard.page import COUNTRY_ROWS, ReceiptsView
from sms_receipt_stats.documents import AppResult, CountryCount, ReceiptCodeCount, WindowDoc
from sms_receipt_stats.events import ApiGatewayEvent
from sms_receipt_stats.jobs import query_apps
from sms_receipt_stats.query import Querier
from sms_receipt_stats.receipts import codes as catalogue
from sms_receipt_stats.receipts.intake import Receipt
from sms_receipt_stats.state.receipts import count_batch, read_series
from sms_receipt_stats.state.store import GuardedStore
from sms_receipt_stats.windows import Window, buckets, named_window
from support import API_TOKEN, APP_PROD, FakeFetcher, base_env

NOW = datetime(2026, 11, 25, 1, 0, 0, tzinfo=timezone.utc)  # 09:00 Beijing
TZ = "Asia/Shanghai"
BEIJING = timezone(timedelta(hours=8))
PROD = App(app_id=APP_PROD, name="prod")
OTHER = App(app_id="1400000009", name="marketing")


def results(apps: Sequence[App] = (PROD, OTHER), window: str = "last_7d") -> List[AppResult]:
    querier = Querier(FakeFetcher(), rps=1e6, sleep=lambda s: None)
    return query_apps(list(apps), named_window(window, NOW, TZ), "day", querier)


def with_receipts(result: AppResult, lang: str = "en") -> AppResult:
    """Five failing codes (an unknown one among them) and ten countries over the week."""
    found = [("DB:0141", 120), ("MK:0005", 40), ("ZZ:<b>9</b>", 7), ("UNDELIV", 3), ("EXPIRED", 1)]
    result.receipt_codes = [ReceiptCodeCount(code=c, count=n, category=catalogue.lookup(c).category,
                                             meaning=catalogue.lookup(c).meaning_in(lang)) for c, n in found]
    result.countries = [CountryCount(nationcode="86", count=1500, failed=150), CountryCount(nationcode="1", count=30,
                                                                                           failed=0)]
    result.countries += [CountryCount(nationcode=str(800 + k), count=20, failed=k) for k in range(1, 9)]
    return result


#: failed receipts by code per day of `last_7d` (oldest first): DB:0141 on the last day only
FAILED = [{}, {}, {}, {}, {"MK:0005": 40, "UNDELIV": 3}, {"ZZ:<b>9</b>": 7, "EXPIRED": 1}, {"DB:0141": 120}]


def page(found: Sequence[AppResult], receipts: Optional[ReceiptsView], lang: str = "en") -> str:
    doc = WindowDoc(**named_window("last_7d", NOW, TZ).to_doc())
    return render_page(Page(results=found, window=doc, granularity="day", generated_at=NOW.astimezone(BEIJING),
                            lang=lang, receipts=receipts))


def figure(html: str, heading: str) -> str:
    match = re.search(r"<figure><h3>" + re.escape(heading) + r"</h3>.*?</figure>", html)
    assert match, heading
    return match.group(0)


def bars(svg: str) -> Dict[str, List[str]]:
    """CSS class of each bar layer → the tooltips of its bars."""
    found: Dict[str, List[str]] = {}
    for cls, tip in re.findall(r'<rect class="([a-z0-9]+)"[^>]*><title>([^<]*)</title></rect>', svg):
        found.setdefault(cls, []).append(tip)
    return found


def test_an_app_with_receipts_gets_a_codes_chart_and_a_country_table() -> None:
    prod, other = results()
    html = page([with_receipts(prod), other], ReceiptsView(failed={APP_PROD: FAILED, other.app_id: [{}] * 7}))
    chart = figure(html, "Failed receipts per day by code")
    layers = bars(chart)
    # the top four codes stacked in their order, the rest as "other codes"
    assert set(layers) == {"c0", "c1", "c2", "c3", "co"}
    assert layers["c0"] == ["11-24 · DB:0141: 120"] and layers["c1"] == ["11-22 · MK:0005: 40"]
    assert layers["c2"] == ["11-23 · ZZ:&lt;b&gt;9&lt;/b&gt;: 7"]  # an unknown code raw, escaped
    assert layers["co"] == ["11-23 · other codes: 1"]
    meaning = catalogue.lookup("DB:0141").meaning_in("en").rstrip(".")
    assert '<li><span class="sw c0"></span><code>DB:0141</code><span>120</span></li>' in chart
    assert f"<li><code>DB:0141</code> {meaning}</li>" in chart.replace("&#x27;", "'")
    assert '<code>ZZ:&lt;b&gt;9&lt;/b&gt;</code><span>7</span></li>' in chart
    assert "<li><code>ZZ:&lt;b&gt;9&lt;/b&gt;</code> " not in chart  # no meaning: none invented
    assert "<b>9</b>" not in html
    table = figure(html, "Receipts by country/region")
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", table)
    assert rows[0] == ("+86", "1,500", "150", "10.00%")
    assert len(rows) == COUNTRY_ROWS and [r[0] for r in rows[1:3]] == ["+808", "+807"]  # most failed first
    assert "+2 more" in table  # +801 and +1 left out
    # the other app had no receipt in the window: how to set its callback up, no empty chart
    assert html.count("<h3>Failed receipts per day by code</h3>") == 1
    assert "No receipt was pushed for this app in this window" in html and "receipts-url 1400000009" in html
    assert "need the receipts callback" not in html


def test_the_zh_page_says_it_in_chinese() -> None:
    prod, = results([PROD])
    html = page([with_receipts(prod, "zh")], ReceiptsView(failed={APP_PROD: FAILED}), lang="zh")
    chart = figure(html, "每日失败回执码")
    assert catalogue.lookup("DB:0141").meaning_in("zh").rstrip("。") in chart and "其他回执码" in chart
    table = figure(html, "按国家/地区的回执")
    assert "<th>国家/地区码</th><th>回执</th><th>发送失败</th><th>失败占比</th>" in table and "另有 2 个" in table


def test_receipts_off_is_one_line_saying_how_to_turn_them_on() -> None:
    prod, = results([PROD])
    html = page([with_receipts(prod)], None)
    assert html.count("need the receipts callback") == 1 and "RECEIPTS_SECRET" in html and "docs/http-api.md" in html
    assert "per day by code" not in html and "country/region</h3>" not in html
    zh = page([prod], None, lang="zh")
    assert "开启回执推送" in zh


def test_counters_that_could_not_be_read_are_said_once() -> None:
    prod, = results([PROD])
    html = page([prod], ReceiptsView(error=True))
    assert "receipt counters could not be read" in html and "per day by code" not in html


# -- the counters, per day of the report timezone, from a real store --------------------------------------------------

def hour_of(moment: datetime) -> int:
    return int(moment.timestamp()) // 3600


def push(store: GuardedStore, receipts: List[Receipt]) -> None:
    assert count_batch(store, APP_PROD, receipts, NOW.timestamp()) == len(receipts)


@pytest.fixture()
def store(state_env: Dict[str, str]) -> Any:
    from sms_receipt_stats.state.flow import open_store

    opened = GuardedStore(store=open_store(state_env["STATE_URL"], state_env.get("STATE_PREFIX", "")))
    yield opened
    opened.close()


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "America/New_York"])
def test_the_counters_are_read_per_day_of_the_report_timezone(store: GuardedStore, tz: str) -> None:
    late = datetime(2026, 11, 23, 23, 30, tzinfo=BEIJING)  # 10:30 in New York, the day before
    early = datetime(2026, 11, 24, 0, 30, tzinfo=BEIJING)  # 11:30 in New York, the same day as `late`
    push(store, [Receipt(hour_of(late), "FAIL", "DB:0141", "86", "s1", "1h"),
                 Receipt(hour_of(early), "FAIL", "MK:0005", "852", "s2", "1h"),
                 Receipt(hour_of(early), "SUCCESS", "DELIVRD", "86", "s3", "1m")])
    window = named_window("last_7d", NOW, tz)
    days = buckets(window, "day")
    series = read_series(store, [APP_PROD, "1400000009"], days)
    assert series is not None
    labels = [d.begin.strftime("%m-%d") for d in days]
    mine = series[APP_PROD]
    failed = {labels[i]: mine.failed_by_code(i) for i in range(len(days)) if mine.failed_by_code(i)}
    if tz == "Asia/Shanghai":
        assert failed == {"11-23": {"DB:0141": 1}, "11-24": {"MK:0005": 1}}
    else:
        assert failed == {"11-23": {"DB:0141": 1, "MK:0005": 1}}
    total = series[APP_PROD].total
    assert total.by_status == {"S": 1, "F": 2} and total.nations == {"86": [2, 1], "852": [1, 1]}
    assert series["1400000009"].total.total == 0


def test_the_page_shows_the_receipts_pushed_into_a_real_store(state_env: Dict[str, str], make_deps: Any,
                                                                    load_event: Any) -> None:
    from sms_receipt_stats.state.flow import open_state

    environment = base_env(RECEIPTS_SECRET="dashboard-receipts-Zx81Kq", **state_env)
    settings, _ = load_settings(environment)
    state = open_state(settings)
    assert state is not None
    try:
        at = datetime(2026, 11, 24, 10, tzinfo=BEIJING)
        push(state, [Receipt(hour_of(at), "FAIL", "DB:0141", "86", f"p{i}", "1h") for i in range(6)]
             + [Receipt(hour_of(at), "SUCCESS", "DELIVRD", "852", "q0", "1m")])
        event = load_event("function_url_get_dashboard")
        event["headers"]["authorization"] = f"Bearer {API_TOKEN}"
        body = handle_dashboard(ApiGatewayEvent.parse(event), settings, make_deps(), None, store=state)["body"]
    finally:
        state.close()
    layers = bars(figure(body, "Failed receipts per day by code"))
    assert layers == {"c0": ["11-24 · DB:0141: 6"]}
    rows = re.findall(r"<tr><td>(\+\d+)</td><td>(\d+)</td><td>(\d+)</td><td>([^<]*)</td></tr>",
                      figure(body, "Receipts by country/region"))
    assert rows == [("+86", "6", "6", "100.00%"), ("+852", "1", "0", "0.00%")]
    assert "need the receipts callback" not in body


def test_a_store_that_cannot_read_the_counters_leaves_the_rest_of_the_page(make_deps: Any, load_event: Any,
                                                                          tmp_path: Any) -> None:
    environment = base_env(RECEIPTS_SECRET="dashboard-receipts-Zx81Kq", STATE_URL=f"sqlite:///{tmp_path}/s.db")
    settings, _ = load_settings(environment)
    broken = GuardedStore()  # no back end: every call fails
    event = load_event("function_url_get_dashboard")
    response = handle_dashboard(ApiGatewayEvent.parse(event), settings, make_deps(), None, store=broken)
    assert response["statusCode"] == 200
    assert "receipt counters could not be read" in response["body"] and "Rates per day" in response["body"]


def test_read_series_of_no_app_reads_nothing(store: GuardedStore) -> None:
    window = Window(NOW - timedelta(days=1), NOW, TZ)
    assert read_series(store, [], buckets(window, "day")) == {}
    assert store.calls == 0


def test_the_receipts_read_stops_at_the_time_limit_and_the_page_says_which(store: GuardedStore) -> None:
    from sms_receipt_stats.dashboard.route import RECEIPTS_RESERVE, read_receipts

    at = datetime(2026, 11, 24, 10, tzinfo=BEIJING)
    push(store, [Receipt(hour_of(at), "FAIL", "DB:0141", "86", "t1", "1h")])
    found = results()
    left = iter([RECEIPTS_RESERVE + 5, RECEIPTS_RESERVE - 0.1])  # time for the first app only
    view = read_receipts(store, found, named_window("last_7d", NOW, TZ), "day", "en", lambda: next(left))
    assert list(view.failed) == [APP_PROD] and not view.error
    assert found[0].receipt_codes is not None and found[0].receipt_codes[0].code == "DB:0141"
    assert found[1].receipt_codes is None  # not read: nothing claimed about it
    html = page(found, view)
    assert html.count("<h3>Failed receipts per day by code</h3>") == 1
    assert "no time left to read them" in html

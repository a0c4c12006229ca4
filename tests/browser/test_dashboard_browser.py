"""The dashboard in a real browser: `serve` in a process of its own, the emulator behind it,
Debian's headless chromium in front, driven over the DevTools protocol.

Checks that the charts render (SVG paths and bars with a size), that the page's own style
block is applied under its Content-Security-Policy, that the console stays clean (CSP
violations included), that a 375 px phone needs no sideways scrolling, and takes the
screenshots the README shows: into tmp_path on every run, into docs/ (dashboard-1280.png,
dashboard-375.png) only with UPDATE_SCREENSHOTS=1, so a test run leaves the tree clean.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from sms_receipt_stats import links
from sms_receipt_stats.dev.emulator import Emulator

cdp = pytest.importorskip("cdp")  # tests/browser/cdp.py (needs websocket-client from the test extras)

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture()
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: docs/ when UPDATE_SCREENSHOTS=1 (docs/http-api.md "Dashboard"), else tmp_path."""
    return DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
APPS = ("1400006874=prod,1400006879=marketing,1400007001=otp,"
        "1400007002=billing-notifications-eu-west,1400007003=login-codes")
HEALTHY = "1400006874,1400006879,1400007001"
ALL = HEALTHY + ",1400007002,1400007003"
#: failing apps: a long code that must wrap, not be cut, on a phone
FAILING = {"1400007002": "UnauthorizedOperation.ServiceSuspendDueToArrears",
           "1400007003": "UnauthorizedOperation.RequestIpNotInWhitelist"}
SECRET = "browser-link-secret-0123456789"
#: the healthy apps' receipts were pushed over the last 7 days (the callback was set up a week ago)
RECEIPT_HOURS = 7 * 24
#: a silence stored in UTC (as the API and the CLI keep it); the page must show it in Asia/Shanghai
SILENCE_ENDS = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(hours=5)
CHARTS = """(() => {
  const charts = [...document.querySelectorAll('svg.chart')].map(svg => {
    const box = svg.getBoundingClientRect();
    return {kind: svg.classList.contains('lines') ? 'lines' : 'bars', width: box.width, height: box.height,
            id: svg.getAttribute('aria-labelledby'),
            lines: [...svg.querySelectorAll('path.line')].map(p => { const b = p.getBBox();
                                                                    return [b.width, b.height, p.getTotalLength()]; }),
            bars: [...svg.querySelectorAll('rect:not(.plate)')].map(r => { const b = r.getBBox();
                                                                         return [b.width, b.height]; })};
  });
  const card = document.querySelector('section.card');
  return {charts, title: document.title, scrollWidth: document.documentElement.scrollWidth,
          innerWidth: window.innerWidth, radius: card ? getComputedStyle(card).borderTopLeftRadius : null};
})()"""
#: every status line: its box, its text, and any descendant wider than its box or cut by an ellipsis
STATUS = """(() => [...document.querySelectorAll('ul.status li')].map(li => {
  const box = li.getBoundingClientRect();
  const cut = [...li.querySelectorAll('*:not(wbr)')].filter(el => {
    const b = el.getBoundingClientRect(), style = getComputedStyle(el);
    return el.scrollWidth > el.clientWidth + 1 && style.overflow !== 'visible' || b.right > box.right + 1
           || b.left < box.left - 1 || style.textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth;
  }).map(el => el.outerHTML.slice(0, 120));
  const badge = li.querySelector('.badge');
  const ink = badge ? getComputedStyle(badge) : null;
  return {text: li.innerText, top: box.top, right: box.right, left: box.left, cut,
          badge: badge ? badge.innerText : null, badgeVisible: !!badge && badge.getBoundingClientRect().width > 10,
          badgeReadable: !!ink && ink.color !== ink.backgroundColor,
          code: li.querySelector('code') ? li.querySelector('code').innerText : null};
}))()"""


@pytest.fixture(scope="module")
def chromium() -> str:
    found = cdp.find_chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it with apt-get (package chromium)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return found


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`sms-receipt-stats serve --port 0` against the emulator, with a SQLite state store holding the
    alerts of a check and a silence; two apps fail upstream. Yields its base URL."""
    state = tmp_path_factory.mktemp("state") / "state.db"
    with Emulator() as emulator:
        for app_id, code in FAILING.items():
            emulator.inject_error(app_id, code)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TENCENTCLOUD_", "SMS_", "NOTIFY_", "API_", "ALERT_", "REPORT_", "STATE_"))}
        env.update({"TENCENTCLOUD_SECRETID": emulator.secret_id, "TENCENTCLOUD_SECRETKEY": emulator.secret_key,
                    "SMS_ENDPOINT": emulator.endpoint, "SMS_SDK_APP_IDS": APPS, "SMS_API_RPS": "50",
                    "API_TOKENS": "browser-token-0123456789", "LINK_SECRET": SECRET,
                    "STATE_URL": f"sqlite:///{state}", "RECEIPTS_SECRET": "browser-receipts-Tq72Lm9x"})
        record_state(env)
        record_receipts(env)
        proc = subprocess.Popen([sys.executable, "-m", "sms_receipt_stats", "serve", "--port", "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        try:
            banner = proc.stdout.readline() if proc.stdout else ""
            assert banner.startswith("serving main_handler on http://127.0.0.1:"), banner
            yield banner.split(" on ", 1)[1].split()[0]
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def record_state(env: Dict[str, str]) -> None:
    """A check over the last day (the emulator's marketing app fires), and a silence for prod."""
    from sms_receipt_stats.app import handle
    from sms_receipt_stats.config import load_settings
    from sms_receipt_stats.state.flow import open_state
    from sms_receipt_stats.state.silences import Matchers, Silence, SilenceStore

    now = datetime.now(timezone.utc)
    doc = handle({"Type": "Timer", "TriggerName": "browser-check", "Time": now.isoformat(),
                  "Message": {"job": "check", "window": "last_24h"}}, None, env=env)
    assert any(a["rule"] == "success_rate_below" for a in doc["alerts"]), doc["alerts"]
    settings, _ = load_settings(env)
    store = open_state(settings)
    assert store is not None
    try:
        SilenceStore(store).add(Silence(id="browser-s1", matchers=Matchers(app_id="1400006874"), starts_at=now,
                                        ends_at=SILENCE_ENDS, created_by="ops", comment="carrier maintenance"),
                                now)
    finally:
        store.close()


def record_receipts(env: Dict[str, str]) -> None:
    """The last 7 days of the emulator's receipts of the healthy apps, counted as the callback counts
    them (`state.receipts.count_batch`): the pages below chart them by code and by country."""
    from sms_receipt_stats.config import load_settings
    from sms_receipt_stats.dev.receipt_pusher import receipts_for_hour
    from sms_receipt_stats.receipts.intake import parse_batch
    from sms_receipt_stats.state.flow import open_state
    from sms_receipt_stats.state.receipts import count_batch

    settings, _ = load_settings(env)
    store = open_state(settings)
    assert store is not None
    now = datetime.now(timezone.utc).timestamp()
    hour = int(now) // 3600 * 3600
    try:
        for app_id in HEALTHY.split(","):
            for back in range(1, RECEIPT_HOURS + 1):
                records = receipts_for_hour(app_id, hour - 3600 * back)
                if records:
                    batch = parse_batch(json.dumps(records).encode("utf-8"), now)
                    assert count_batch(store, app_id, batch, now) == len(batch), store.problem
    finally:
        store.close()


@pytest.fixture(scope="module")
def browser(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with cdp.Browser(chromium, tmp_path_factory.mktemp("chromium-profile")) as opened:
        opened.watch()
        yield opened


def link(base: str, app_ids: str, ttl: timedelta = links.LINK_TTL) -> str:
    return links.dashboard_link(base, SECRET, app_ids=app_ids.split(","), window="last_30d",
                                now=datetime.now(timezone.utc), ttl=ttl)


def rendered(browser: Any, healthy: int) -> Dict[str, Any]:
    """Each healthy app's volume, rates, failure reasons and failed receipts by code."""
    page = browser.evaluate(CHARTS)
    assert page["radius"] == "10px"  # the style block ran: its hash is in the policy
    assert [c["kind"] for c in page["charts"]] == ["bars", "lines", "bars", "bars"] * healthy
    for chart in page["charts"]:
        assert chart["width"] > 250 and chart["height"] > 90, chart
        if chart["kind"] == "lines":
            assert len(chart["lines"]) == 3
            assert all(w > 100 and length > 100 for w, _, length in chart["lines"]), chart["lines"]
        else:  # the codes chart: the days with receipts only (a week of the 30), each a stack of codes
            least = RECEIPT_HOURS // 24 if chart["id"].startswith("codes-") else 30
            assert len(chart["bars"]) >= least and all(w > 1 and h > 0 for w, h in chart["bars"]), chart["id"]
    return page


def test_the_problem_detector_sees_a_csp_violation(browser: Any) -> None:
    """Negative control: an inline script under `default-src 'none'` is reported, so a clean
    dashboard below means something."""
    browser.events.clear()
    browser.open("data:text/html,<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'\">"
                 "<script>document.title='ran'</script>")
    assert browser.problems(), browser.events
    assert browser.evaluate("document.title") != "ran"


def test_desktop_1280(browser: Any, served: str, shots: Path) -> None:
    browser.events.clear()
    browser.viewport(1280, 900)
    browser.open(link(served, ALL))
    page = rendered(browser, healthy=3)
    assert page["scrollWidth"] <= 1280
    assert browser.problems() == []
    size = browser.screenshot(shots / "dashboard-1280.png")
    assert size["width"] == 1280 and size["height"] > 900


def test_phone_375_shows_every_apps_state_at_a_glance(browser: Any, served: str, shots: Path) -> None:
    browser.events.clear()
    browser.viewport(375, 812, scale=2, mobile=True)
    browser.open(link(served, ALL))
    page = rendered(browser, healthy=3)
    assert page["innerWidth"] == 375 and page["scrollWidth"] <= 375  # nothing wider than the phone
    lines = browser.evaluate(STATUS)
    assert len(lines) == 5
    for line in lines:
        assert line["cut"] == [], line  # no text cut or overflowing its line
        assert line["badgeVisible"] and line["badgeReadable"] and line["left"] >= 0 and line["right"] <= 375, line
    assert {line["code"] for line in lines if line["code"]} == set(FAILING.values())  # the whole code
    assert [line["badge"] for line in lines].count("error") == 2 and "critical" in [line["badge"] for line in lines]
    assert lines[-1]["top"] < 812 * 1.5  # the states come before the charts, not after them
    assert browser.problems() == []
    size = browser.screenshot(shots / "dashboard-375.png")
    assert size["width"] == 375


def test_silences_and_alerts_read_in_local_time_with_the_zone(browser: Any, served: str) -> None:
    from zoneinfo import ZoneInfo

    browser.viewport(375, 812, scale=2, mobile=True)
    browser.open(link(served, HEALTHY))
    text = browser.evaluate("document.body.innerText")
    local = SILENCE_ENDS.astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"until {local:%Y-%m-%d %H:%M} UTC+8" in text
    assert f"{SILENCE_ENDS:%H:%M} UTC" not in text.replace("UTC+8", "")
    assert "since " in text and "Times in Asia/Shanghai, UTC+8" in text


def test_the_volume_chart_draws_each_days_submissions(browser: Any, served: str) -> None:
    browser.viewport(1280, 900)
    browser.open(link(served, "1400006874"))
    bars = browser.evaluate("""[...document.querySelectorAll('svg[aria-labelledby^="volume-"] rect.vol')]
        .map(r => [r.getBBox().height, r.querySelector('title').textContent])""")
    assert len(bars) == 30 and all(h > 0 for h, _ in bars)
    assert all(" · submitted: " in tip for _, tip in bars)


def test_phone_375_in_chinese(browser: Any, served: str) -> None:
    browser.events.clear()
    browser.viewport(375, 812, scale=2, mobile=True)
    browser.open(link(served, "1400006874,1400007002") + "&lang=zh")
    page = rendered(browser, healthy=1)
    assert page["title"].startswith("短信回执统计") and page["scrollWidth"] <= 375
    text = browser.evaluate("document.body.innerText")
    assert "状态" in text and "每日提交量" in text and "错误" in text
    lines = browser.evaluate(STATUS)
    assert len(lines) == 2 and all(line["cut"] == [] and line["badgeReadable"] for line in lines), lines
    assert browser.problems() == []


def test_an_expired_link_opens_a_page_that_says_what_to_do(browser: Any, served: str) -> None:
    expired = link(served, HEALTHY, ttl=timedelta(seconds=-60))
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(expired, timeout=30)
    headers = answer.value.headers
    assert answer.value.code == 401 and headers["Content-Type"] == "text/html; charset=utf-8"
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "Cache-Control",
                 "X-Frame-Options"):
        assert headers[name], name
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"] and "no-store" in headers["Cache-Control"]
    browser.events.clear()
    browser.viewport(375, 812, scale=2, mobile=True)
    browser.open(expired + "&lang=zh")
    text = browser.evaluate("document.body.innerText")
    assert "链接已过期" in text and "获取新链接" in text
    assert browser.evaluate("getComputedStyle(document.querySelector('section.card')).borderTopLeftRadius") == "10px"
    assert browser.evaluate("document.documentElement.scrollWidth") <= 375
    assert [p for p in browser.problems() if "401" not in p] == []  # the status itself is logged, nothing else


#: each chart's height and the height of the legend under it
LEGENDS = """(() => [...document.querySelectorAll('figure')].filter(f => f.querySelector('svg.chart')).map(f => {
  const chart = f.querySelector('svg.chart').getBoundingClientRect(), legend = f.querySelector('ul.legend');
  return {title: f.querySelector('h3').innerText, chart: chart.height,
          legend: legend ? legend.getBoundingClientRect().height : 0};
}))()"""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_phone_375_legends_stay_shorter_than_their_charts(browser: Any, served: str, lang: str) -> None:
    """On a phone a chart's key must not outgrow the chart: at most half its height."""
    browser.viewport(375, 812, scale=2, mobile=True)
    browser.open(link(served, HEALTHY) + f"&lang={lang}")
    figures = browser.evaluate(LEGENDS)
    assert len(figures) == 12
    for figure in figures:
        assert figure["chart"] > 100 and figure["legend"] <= figure["chart"] / 2, figure


def test_status_rows_put_the_worst_apps_first(browser: Any, served: str) -> None:
    browser.viewport(375, 812, scale=2, mobile=True)
    browser.open(link(served, ALL))
    badges = [line["badge"] for line in browser.evaluate(STATUS)]
    assert badges[0] in ("critical", "error") and badges[-1] == "ok", badges
    ranks = {"critical": 0, "error": 0, "warning": 2, "little traffic": 3, "ok": 4}
    assert [ranks[b] for b in badges] == sorted(ranks[b] for b in badges), badges


#: each country table: its box, the page's width, and its rows' cells
COUNTRIES = """(() => [...document.querySelectorAll('table.countries')].map(t => {
  const box = t.getBoundingClientRect();
  return {left: box.left, right: box.right, width: document.documentElement.clientWidth,
          rows: [...t.querySelectorAll('tbody tr')].map(r => [...r.cells].map(c => c.innerText))};
}))()"""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_phone_375_shows_the_codes_and_countries_of_the_pushed_receipts(browser: Any, served: str,
                                                                       lang: str) -> None:
    browser.events.clear()
    browser.viewport(375, 812, scale=2, mobile=True)
    browser.open(link(served, HEALTHY) + f"&lang={lang}")
    tables = browser.evaluate(COUNTRIES)
    assert len(tables) == 3
    for table in tables:
        assert table["left"] >= 0 and table["right"] <= table["width"] <= 375, table  # no sideways scrolling
        assert table["rows"][0][0] == "+86" and all(len(row) == 4 for row in table["rows"]), table["rows"]
    text = browser.evaluate("document.body.innerText")
    assert ("Failed receipts per day by code" if lang == "en" else "每日失败回执码") in text
    assert "DB:0141" in text and "MK:0005" in text
    assert browser.evaluate("document.documentElement.scrollWidth") <= 375
    assert browser.problems() == []

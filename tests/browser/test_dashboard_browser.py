"""The dashboard in a real browser: `serve` in a process of its own, the emulator behind it,
Debian's headless chromium in front, driven over the DevTools protocol.

Checks that the charts render (SVG paths and bars with a size), that the page's own style
block is applied under its Content-Security-Policy, that the console stays clean (CSP
violations included), that a 375 px phone needs no sideways scrolling, and takes the
screenshots the README shows: into tmp_path on every run, into docs/ (dashboard-1280.png,
dashboard-375.png) only with UPDATE_SCREENSHOTS=1, so a test run leaves the tree clean.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
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
APPS = "1400006874=prod,1400006879=marketing,1400007001=otp"
SECRET = "browser-link-secret-0123456789"
CHARTS = """(() => {
  const charts = [...document.querySelectorAll('svg.chart')].map(svg => {
    const box = svg.getBoundingClientRect();
    return {kind: svg.classList.contains('lines') ? 'lines' : 'bars', width: box.width, height: box.height,
            lines: [...svg.querySelectorAll('path.line')].map(p => { const b = p.getBBox();
                                                                    return [b.width, b.height, p.getTotalLength()]; }),
            bars: [...svg.querySelectorAll('rect')].map(r => { const b = r.getBBox(); return [b.width, b.height]; })};
  });
  const card = document.querySelector('section.card');
  return {charts, title: document.title, scrollWidth: document.documentElement.scrollWidth,
          innerWidth: window.innerWidth, radius: card ? getComputedStyle(card).borderTopLeftRadius : null};
})()"""


@pytest.fixture(scope="module")
def chromium() -> str:
    found = cdp.find_chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it with apt-get (package chromium)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return found


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """`sms-receipt-stats serve --port 0` against the emulator; yields its base URL."""
    with Emulator() as emulator:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TENCENTCLOUD_", "SMS_", "NOTIFY_", "API_", "ALERT_", "REPORT_", "STATE_"))}
        env.update({"TENCENTCLOUD_SECRETID": emulator.secret_id, "TENCENTCLOUD_SECRETKEY": emulator.secret_key,
                    "SMS_ENDPOINT": emulator.endpoint, "SMS_SDK_APP_IDS": APPS,
                    "API_TOKENS": "browser-token-0123456789", "LINK_SECRET": SECRET})
        proc = subprocess.Popen([sys.executable, "-m", "sms_receipt_stats", "serve", "--port", "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        try:
            banner = proc.stdout.readline() if proc.stdout else ""
            assert banner.startswith("serving main_handler on http://127.0.0.1:"), banner
            yield banner.split(" on ", 1)[1].split()[0]
        finally:
            proc.terminate()
            proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with cdp.Browser(chromium, tmp_path_factory.mktemp("chromium-profile")) as opened:
        opened.watch()
        yield opened


def link(base: str, app_ids: str) -> str:
    return links.dashboard_link(base, SECRET, app_ids=app_ids.split(","), window="last_30d",
                                now=datetime.now(timezone.utc))


def rendered(browser: Any, apps: int) -> Dict[str, Any]:
    page = browser.evaluate(CHARTS)
    assert page["radius"] == "10px"  # the style block ran: its hash is in the policy
    assert [c["kind"] for c in page["charts"]] == ["lines", "bars"] * apps
    for chart in page["charts"]:
        assert chart["width"] > 250 and chart["height"] > 90, chart
        if chart["kind"] == "lines":
            assert len(chart["lines"]) == 3
            assert all(w > 100 and length > 100 for w, _, length in chart["lines"]), chart["lines"]
        else:
            assert len(chart["bars"]) >= 30 and all(w > 1 and h > 0 for w, h in chart["bars"])
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
    browser.open(link(served, "1400006874,1400006879,1400007001"))
    page = rendered(browser, apps=3)
    assert page["scrollWidth"] <= 1280
    assert browser.problems() == []
    size = browser.screenshot(shots / "dashboard-1280.png")
    assert size["width"] == 1280 and size["height"] > 900


def test_phone_375(browser: Any, served: str, shots: Path) -> None:
    browser.events.clear()
    browser.viewport(375, 812, scale=2, mobile=True)
    browser.open(link(served, "1400006879"))
    page = rendered(browser, apps=1)
    assert page["innerWidth"] == 375 and page["scrollWidth"] <= 375  # nothing wider than the phone
    assert browser.problems() == []
    size = browser.screenshot(shots / "dashboard-375.png")
    assert size["width"] == 375


def test_phone_375_in_chinese(browser: Any, served: str) -> None:
    browser.events.clear()
    browser.viewport(375, 812, scale=2, mobile=True)
    browser.open(link(served, "1400006874,1400007001") + "&lang=zh")
    page = rendered(browser, apps=2)
    assert page["title"].startswith("短信回执统计") and page["scrollWidth"] <= 375
    assert browser.problems() == []

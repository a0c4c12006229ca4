"""Dashboard page loads: API calls and seconds for 3, 8 and 20 apps × last_30d, with and without a store.

    python bench/bench_dashboard.py [--latency 0.1] [--apps 3 8 20] [--store both|sqlite|none]

Drives `handler`'s `handle` (the function URL event of `GET /dashboard`, a context with SCF's
60 s time limit) against the emulator with its per-request latency injected and the API's
10 requests/s enforced (`SMS_API_RPS=10`). Rows per app count:

- `none`: no state store; the page plans its calls against the time limit and says what it left out;
  first and second load are the same work.
- `sqlite, cold`: a fresh store, no warm-up has run yet: the first load fills the settled cache
  (as far as the time allows), the second asks only for what is missing.
- `sqlite, warmed`: a fresh store after the nightly warm-up (`dashboard/warm.py`, which the
  daily report ends with): the page asks only for the unsettled days.

Figures are printed, never asserted: timings on a shared machine are noisy (bench/README.md).
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sms_receipt_stats.app import handle  # noqa: E402
from sms_receipt_stats.config import load_settings  # noqa: E402
from sms_receipt_stats.dashboard.warm import warm_settled_days  # noqa: E402
from sms_receipt_stats.dev.emulator import SECRET_ID, SECRET_KEY, Emulator  # noqa: E402
from sms_receipt_stats.jobs import JobDeps  # noqa: E402
from sms_receipt_stats.log import configure  # noqa: E402
from sms_receipt_stats.state.flow import open_state  # noqa: E402

TOKEN = "bench-token-0123456789abcdef"
LIMIT_MS = 60_000  # serverless.yml: timeout 60
SHOWN = re.compile(r"Showing the last (\d+) of (\d+) days")


class Context:
    """What SCF hands the function: its time limit and a request id."""

    time_limit_in_ms = LIMIT_MS
    request_id = "bench-request"


def event() -> Dict[str, Any]:
    return {"version": "2.0", "rawPath": "/dashboard", "path": "/dashboard", "httpMethod": "GET",
            "headers": {"authorization": f"Bearer {TOKEN}", "host": "bench.local"},
            "queryString": {"window": "last_30d"},
            "requestContext": {"http": {"method": "GET", "path": "/dashboard"}}}


def environment(emulator: Emulator, apps: int, state_url: str) -> Dict[str, str]:
    ids = ",".join(f"{1400100000 + i}=app{i}" for i in range(apps))
    env = {"TENCENTCLOUD_SECRETID": SECRET_ID, "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
           "SMS_ENDPOINT": emulator.endpoint, "SMS_SDK_APP_IDS": ids, "API_TOKENS": TOKEN, "SMS_API_RPS": "10"}
    if state_url:
        env["STATE_URL"] = state_url
    return env


def load(env: Dict[str, str], emulator: Emulator) -> Tuple[int, float, int, str]:
    """One page load: (API calls, seconds, HTTP status, what was shown)."""
    before = len(emulator.calls)
    started = time.perf_counter()
    answer = handle(event(), Context(), env=env)
    seconds = time.perf_counter() - started
    body = answer.get("body", "")
    cut = SHOWN.search(body)
    shown = f"{cut.group(1)}/{cut.group(2)} days" if cut else "30/30 days"
    if "no time left" in body:
        shown += ", apps left out"
    if "endpoint unreachable" in body:
        shown = "unreachable"
    return len(emulator.calls) - before, seconds, answer["statusCode"], shown


def warm(env: Dict[str, str], emulator: Emulator) -> Tuple[int, float]:
    settings, issues = load_settings(env)
    assert not issues, issues
    store = open_state(settings)
    deps = JobDeps()
    before = len(emulator.calls)
    started = time.perf_counter()
    try:
        warm_settled_days(settings, deps, store, deps.monotonic() + 600, datetime.now(timezone.utc))
    finally:
        if store is not None:
            store.close()
    return len(emulator.calls) - before, time.perf_counter() - started


def bench(apps: int, store: str, latency: float) -> List[Tuple[str, str, int, float, int, str]]:
    rows = []
    with Emulator() as emulator, tempfile.TemporaryDirectory() as tmp:
        emulator.set_latency(latency)
        emulator.set_rate_limit(10)
        url = f"sqlite:///{tmp}/state.db" if store != "none" else ""
        env = environment(emulator, apps, url)
        label = "none" if store == "none" else f"sqlite, {store}"
        if store == "warmed":
            calls, seconds = warm(env, emulator)
            rows.append((label, "nightly warm-up", calls, seconds, 0, "-"))
        for which in ("1st load", "2nd load"):
            calls, seconds, status, shown = load(env, emulator)
            rows.append((label, which, calls, seconds, status, shown))
        if emulator.rejected_by_rate_limit:
            rows.append((label, "rate-limited", emulator.rejected_by_rate_limit, 0.0, 0, "RequestLimitExceeded"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.1, help="emulator latency per request, seconds")
    parser.add_argument("--apps", type=int, nargs="+", default=[3, 8, 20])
    parser.add_argument("--store", choices=("both", "sqlite", "none"), default="both")
    args = parser.parse_args()
    configure(stream=io.StringIO())  # the function's JSON log lines would bury the table
    stores = {"both": ["none", "cold", "warmed"], "sqlite": ["cold", "warmed"], "none": ["none"]}[args.store]
    print(f"GET /dashboard, last_30d by day, {args.latency * 1000:.0f} ms per API call, SMS_API_RPS=10, "
          f"60 s time limit, SETTLE_HOURS=72 ({datetime.now(timezone.utc):%Y-%m-%d %H:%M}Z)")
    print(f"{'apps':>4}  {'store':<15} {'run':<16} {'calls':>6} {'seconds':>8} {'status':>6}  shown")
    for apps in args.apps:
        for store in stores:
            for label, which, calls, seconds, status, shown in bench(apps, store, args.latency):
                print(f"{apps:>4}  {label:<15} {which:<16} {calls:>6} {seconds:>8.1f} {status or '':>6}  {shown}",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

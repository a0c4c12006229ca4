"""An SMS endpoint that answers too slowly: how long each route and job takes, against its time limit.

    python bench/bench_dripping.py [--limits 3 6 60] [--modes drip stall] [--calls 200]

Drives `handler`'s `handle` with `SMS_ENDPOINT` pointing at a loopback endpoint that reads each
request and then drips its answer a byte every 0.25 s (`drip`), stalls after the headers
(`stall`), or never writes (`silent`; over https: a TLS handshake that never ends), under a
fake SCF context with each time limit. Three apps, one chat sink (a local receiver). Rows:
what came back, after how many seconds, as a share of the limit, and the cause named. A run at
or over 100 % is the bug this guards against (an invocation SCF kills, with nothing sent).

Then the price of the bound on healthy calls: the mean time of one `SdkStatsFetcher.fetch`
against the emulator (no latency) — each call runs in a worker thread of its own — beside
the bare SDK call on the caller's thread.

Figures are printed, never asserted: timings on a shared machine are noisy (bench/README.md).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from sms_receipt_stats.app import handle  # noqa: E402
from sms_receipt_stats.config import load_settings  # noqa: E402
from sms_receipt_stats.dev.emulator import SECRET_ID, SECRET_KEY, Emulator  # noqa: E402
from sms_receipt_stats.dev.receiver import Receiver  # noqa: E402
from sms_receipt_stats.log import configure  # noqa: E402
from sms_receipt_stats.query import SdkStatsFetcher  # noqa: E402
from support import API_TOKEN, APPS, DrippingEndpoint, read_event  # noqa: E402

ROUTES = ("GET /stats", "GET /dashboard", "timer check", "timer report", "timer doctor")


def event_of(route: str) -> Dict[str, Any]:
    if route == "GET /stats":
        return read_event("apigw_get_stats")
    if route == "GET /dashboard":
        return read_event("function_url_get_dashboard")
    event = read_event("timer_default")
    job = route.split()[-1]
    event["Message"] = f'{{"job": "{job}", "window": "last_hour"}}' if job != "doctor" else '{"job": "doctor"}'
    return event


def cause_of(answer: Dict[str, Any]) -> Tuple[str, str]:
    """(what came back, the cause it names)."""
    import json

    if "statusCode" in answer:
        body = answer["body"]
        if body.startswith("<!DOCTYPE"):
            named = "too slowly" if "too slowly" in body else "?"
            return f"HTML {answer['statusCode']}", named
        error = json.loads(body).get("error") or {}
        return f"JSON {answer['statusCode']}", str(error.get("message", ""))[:70]
    deliveries = ",".join("ok" if d["ok"] else "FAILED" for d in answer.get("deliveries", []))
    if answer.get("kind") == "doctor":
        failed = [c for c in answer["checks"] if c["status"] == "fail"]
        return f"doctor, sent {deliveries or '-'}", (failed[0]["detail"][:70] if failed else "no check failed")
    errors = [r["error"]["message"] for r in answer.get("results", []) if r.get("error")]
    return f"{answer.get('kind')}, sent {deliveries or '-'}", (errors[0][:70] if errors else "no error")


def run_routes(limits: List[float], modes: List[str]) -> None:
    print(f"{'route':<15} {'mode':<7} {'limit':>6} {'returned':>9} {'share':>6}  {'answer':<22} cause")
    with Receiver() as chat:
        for mode in modes:
            for limit in limits:
                for route in ROUTES:
                    with DrippingEndpoint(mode) as endpoint:
                        scheme = "https" if mode == "silent" else "http"
                        env = {"TENCENTCLOUD_SECRETID": SECRET_ID, "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
                               "SMS_ENDPOINT": f"{scheme}://{endpoint.address}", "SMS_SDK_APP_IDS": ",".join(APPS),
                               "NOTIFY_URLS": f"webhook+{chat.url}/hook", "API_TOKENS": API_TOKEN}
                        started = time.monotonic()
                        answer = handle(event_of(route), {"time_limit_in_ms": int(limit * 1000),
                                                          "request_id": "bench"}, env=env)
                        took = time.monotonic() - started
                    what, cause = cause_of(answer)
                    share = took / limit
                    print(f"{route:<15} {mode:<7} {limit:>5.0f}s {took:>8.2f}s {share:>6.0%}  {what:<22} {cause}",
                          flush=True)


def run_overhead(calls: int) -> None:
    with Emulator() as emu:
        settings, _ = load_settings({"TENCENTCLOUD_SECRETID": SECRET_ID, "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
                                     "SMS_ENDPOINT": emu.endpoint, "SMS_API_RPS": "1000"})
        emu.set_rate_limit(None)
        fetcher = SdkStatsFetcher(settings)
        client, _ = fetcher._checkout()  # a client of its own, for the bare calls
        fetcher.fetch(APPS[0], "2026112400", "2026112400")  # warm: imports, the fetcher's own client
        from tencentcloud.sms.v20210111 import models

        request = models.CallbackStatusStatisticsRequest()
        request.BeginTime, request.EndTime, request.SmsSdkAppId, request.Limit, request.Offset = (
            "2026112400", "2026112400", APPS[0], 0, 0)
        client.CallbackStatusStatistics(request)
        bounded = bare = 0.0
        rounds = 10  # interleaved, so that the machine's load weighs on both alike
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(calls // rounds):
                fetcher.fetch(APPS[0], "2026112400", "2026112400")
            bounded += time.perf_counter() - started
            started = time.perf_counter()
            for _ in range(calls // rounds):
                client.CallbackStatusStatistics(request)
            bare += time.perf_counter() - started
        bounded /= rounds * (calls // rounds)
        bare /= rounds * (calls // rounds)
    print(f"\none healthy call against the emulator, mean of {calls}: bounded fetch {bounded * 1000:.2f} ms, "
          f"bare SDK call {bare * 1000:.2f} ms, bound's price {(bounded - bare) * 1000:+.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limits", type=float, nargs="+", default=[3.0, 6.0, 60.0], help="SCF time limits, s")
    parser.add_argument("--modes", nargs="+", default=["drip"], choices=["drip", "drip_head", "stall", "silent"])
    parser.add_argument("--calls", type=int, default=200, help="healthy calls timed for the bound's price")
    args = parser.parse_args()
    configure(stream=io.StringIO())  # the function's JSON log lines would bury the table
    run_routes(args.limits, args.modes)
    run_overhead(args.calls)


if __name__ == "__main__":
    main()

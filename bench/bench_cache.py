"""Settled cache: a repeated `last_30d` day-series lookup, first run vs second run.

    python bench/bench_cache.py [--latency 0.05] [--backend sqlite|redis|both] [--strict]

Drives the real SDK against the emulator (its per-request latency injected, the API's
10 requests/s honoured by the client's rate cap) through the product's own query path
(`jobs.make_querier` + `query_apps`) with a state store, twice, on a fresh store each time.
Prints, per back end: API calls and wall time of each run, and the ratios. Goal: the second
run asks the API only for the unsettled days (at least 5x fewer calls) and takes under 10 %
of the first run's time. `--strict` exits 1 when a goal is missed. See bench/README.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sms_receipt_stats.config import App, load_settings  # noqa: E402
from sms_receipt_stats.dev.emulator import SECRET_ID, SECRET_KEY, Emulator  # noqa: E402
from sms_receipt_stats.jobs import JobDeps, make_querier, query_apps  # noqa: E402
from sms_receipt_stats.state.cache import is_settled  # noqa: E402
from sms_receipt_stats.state.flow import open_state  # noqa: E402
from sms_receipt_stats.windows import buckets, named_window, split_for_api  # noqa: E402

APP = "1400006874"
REDIS_URL = "redis://127.0.0.1:6379/11"


def one_lookup(env: Dict[str, str], emulator: Emulator, now: datetime) -> Tuple[int, float]:
    """API calls and seconds of one `last_30d` day-series lookup through the product's query path."""
    settings, issues = load_settings(env)
    assert not issues, issues
    state = open_state(settings)
    deps = JobDeps(now=lambda: now)
    before = len(emulator.calls)
    started = time.perf_counter()
    querier = make_querier(settings, deps, None, state)
    result = query_apps([App(app_id=APP)], named_window("last_30d", now, settings.timezone), "day", querier)[0]
    seconds = time.perf_counter() - started
    assert state is not None and state.available, state.problem if state else "no state"
    state.close()
    assert result.error is None and result.series and len(result.series) == 30
    return len(emulator.calls) - before, seconds


def cleanup_redis(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def bench(backend: str, latency: float, now: datetime) -> Dict[str, float]:
    with Emulator() as emulator, tempfile.TemporaryDirectory() as tmp:
        emulator.set_latency(latency)
        prefix = f"bench-{uuid.uuid4().hex[:8]}:"
        url = f"sqlite:///{tmp}/state.db" if backend == "sqlite" else REDIS_URL
        env = {"TENCENTCLOUD_SECRETID": SECRET_ID, "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
               "SMS_ENDPOINT": emulator.endpoint, "STATE_URL": url, "STATE_PREFIX": prefix}
        try:
            first_calls, first_s = one_lookup(env, emulator, now)
            second_calls, second_s = one_lookup(env, emulator, now)
        finally:
            if backend == "redis":
                cleanup_redis(prefix)
    return {"first_calls": first_calls, "first_s": first_s, "second_calls": second_calls, "second_s": second_s}


def expected_unsettled(now: datetime) -> List[str]:
    window = named_window("last_30d", now, "Asia/Shanghai")
    ends = [p.end_time for b in buckets(window, "day") for p in split_for_api(b.counted())]
    return [end for end in ends if not is_settled(end, now, 72)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, action="append", help="emulator latency, seconds (repeatable)")
    parser.add_argument("--backend", choices=("sqlite", "redis", "both"), default="both")
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()
    latencies = args.latency or [0.05, 0.2]
    backends = ["sqlite", "redis"] if args.backend == "both" else [args.backend]
    now = datetime.now(timezone.utc)
    print(f"last_30d by day for one app at {now:%Y-%m-%d %H:%M}Z, SETTLE_HOURS=72, SMS_API_RPS=10; "
          f"unsettled days expected: {len(expected_unsettled(now))}")
    print(f"{'backend':<8} {'latency':>8} {'1st calls':>10} {'1st s':>7} {'2nd calls':>10} {'2nd s':>7} "
          f"{'fewer calls':>12} {'2nd/1st time':>13}")
    ok = True
    for backend in backends:
        for latency in latencies:
            r = bench(backend, latency, now)
            fewer = r["first_calls"] / max(1, r["second_calls"])
            share = r["second_s"] / r["first_s"]
            met = fewer >= 5 and share < 0.10 and r["second_calls"] == len(expected_unsettled(now))
            ok &= met
            print(f"{backend:<8} {latency:>7.2f}s {r['first_calls']:>10} {r['first_s']:>7.2f} {r['second_calls']:>10} "
                  f"{r['second_s']:>7.2f} {fewer:>11.1f}x {share:>12.1%}  {'ok' if met else 'MISSED'}")
    print("goal: the second run asks only for the unsettled days, >= 5x fewer calls, < 10 % of the time")
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())

"""Receipts pushed by Tencent: how fast one function instance takes batches.

    python bench/bench_receipts.py [--backend redis|sqlite|both] [--batches 200] [--size 100] [--strict]

Pushes batches of the emulator's receipts (distinct sids, ~10 % of each batch re-sent from the
one before, as a retried push does) through `app.handle`, the whole path of a function URL
event: routing, the token, validation of every record, one `count_once` on the store. Prints per
back end: receipts/s, batches/s, wall time per batch (median, p99) and the process CPU per batch
of `--size` (median, p99), and the CPU of validation alone. Goal: CPU at most 50 ms per batch of
100 on the store path. `--strict` exits 1 when the goal is missed. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from sms_receipt_stats.app import handle  # noqa: E402
from sms_receipt_stats.dev.receipt_pusher import batches, receipts_for_hour  # noqa: E402
from sms_receipt_stats.jobs import JobDeps  # noqa: E402
from sms_receipt_stats.receipts.credential import receipts_token  # noqa: E402
from sms_receipt_stats.receipts.intake import parse_batch  # noqa: E402

APP = "1400006874"
SECRET = "bench-receipts-secret-Xy7"
REDIS_URL = "redis://127.0.0.1:6379/11"
GOAL_CPU_MS = 50.0


def bodies(count: int, size: int) -> List[str]:
    """`count` batch bodies of about `size` receipts each, from recent hours of the emulator."""
    now = int(time.time()) // 3600 * 3600
    receipts: List[Dict[str, str]] = []
    hour = now - 3600
    while len(receipts) < count * size:
        receipts += receipts_for_hour(APP, hour)
        hour -= 3600
    return [json.dumps(b, ensure_ascii=False) for b in batches(receipts[:count * size], size, 0.1, "bench")][:count]


def p99(values: List[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def run(env: Dict[str, str], payloads: List[str]) -> Dict[str, Any]:
    deps = JobDeps()
    event = {"httpMethod": "POST", "path": f"/receipts/{APP}", "headers": {"content-type": "application/json"},
             "queryString": {"token": receipts_token(SECRET, APP)}}
    handle({**event, "body": payloads[0]}, {}, env=env, deps=deps)  # warm: imports, connection, script cache
    walls, cpus, records = [], [], 0
    started = time.perf_counter()
    for body in payloads[1:]:
        wall, cpu = time.perf_counter(), time.process_time()
        answer = handle({**event, "body": body}, {}, env=env, deps=deps)
        cpus.append((time.process_time() - cpu) * 1000)
        walls.append((time.perf_counter() - wall) * 1000)
        assert answer["statusCode"] == 200, answer
        records += len(json.loads(body))
    elapsed = time.perf_counter() - started
    return {"receipts/s": records / elapsed, "batches/s": len(walls) / elapsed,
            "wall ms median": statistics.median(walls), "wall ms p99": p99(walls),
            "cpu ms median": statistics.median(cpus), "cpu ms p99": p99(cpus)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("redis", "sqlite", "both"), default="both")
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()
    import logging

    from sms_receipt_stats import log

    log.configure()
    logging.getLogger(log.LOGGER_NAME).setLevel(logging.WARNING)
    payloads = bodies(args.batches + 1, args.size)
    now = datetime.now(timezone.utc).timestamp()
    cpu = []
    for body in payloads[:50]:
        raw = body.encode("utf-8")
        start = time.process_time()
        parse_batch(raw, now)
        cpu.append((time.process_time() - start) * 1000)
    print(f"validation alone: {statistics.median(cpu):.2f} ms CPU per batch of ~{args.size} (median)")
    missed = False
    backends = ("redis", "sqlite") if args.backend == "both" else (args.backend,)
    for backend in backends:
        prefix = f"bench-{uuid.uuid4().hex[:8]}:"
        with tempfile.TemporaryDirectory() as tmp:
            url = REDIS_URL if backend == "redis" else f"sqlite:///{tmp}/state.db"
            env = {"SMS_SDK_APP_IDS": APP, "RECEIPTS_SECRET": SECRET, "STATE_URL": url, "STATE_PREFIX": prefix,
                   "TENCENTCLOUD_SECRETID": "AKIDbench", "TENCENTCLOUD_SECRETKEY": "bench"}
            figures = run(env, payloads)
        if backend == "redis":
            import redis

            client = redis.Redis(db=11)
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
        print(f"{backend:>6}: " + ", ".join(f"{k} {v:,.1f}" for k, v in figures.items()))
        missed |= figures["cpu ms median"] > GOAL_CPU_MS * args.size / 100
    print(f"goal: CPU <= {GOAL_CPU_MS:.0f} ms per batch of 100: " + ("missed" if missed else "met"))
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())

"""Receipt counters read back for the dashboard: seconds for 1, 5 and 20 apps × 30 days.

    python bench/bench_receipt_reads.py [--backend redis|sqlite|both] [--apps 1 5 20] [--repeat 3] [--profile]

Fills every hour of the last 30 days of each app with realistic counters (about 30 fields per
hour: both statuses, about 10 codes, about 10 countries and their failed ones, the latency
buckets), then reads them as the dashboard does (`dashboard/route.py`, `read_receipts`): one
`read_series` per app, per day of Asia/Shanghai, through a `GuardedStore`. Prints the best of
`--repeat` reads per app count, the store time the guard counted (what the dashboard's budget
is charged) and this process's CPU time (a loaded machine stretches the wall time). Redis:
REDIS_TEST_URL (default redis://127.0.0.1:6379/11) under a key prefix of its own, deleted
afterwards; SQLite: a file in a temporary directory. `--profile` prints cProfile's top functions
of one read of the most apps. Figures only, never asserted (bench/README.md).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sms_receipt_stats.state.receipts import hour_key, read_series  # noqa: E402
from sms_receipt_stats.state.store import GuardedStore, Store  # noqa: E402
from sms_receipt_stats.windows import buckets, named_window  # noqa: E402

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/11")
TZ = "Asia/Shanghai"
DAYS = 30
CODES = ["DELIVRD", "DB:0141", "MK:0005", "UNDELIV", "EXPIRED", "MI:0013", "MN:0001", "REJECTD", "MK:0012",
         "IC:0015", "ZZ:0042"]
NATIONS = ["86", "852", "853", "886", "1", "44", "81", "65", "60", "91"]
LATENCY = ["1m", "5m", "1h", "6h", "1d", "more"]


def counters(rng: random.Random) -> Dict[str, int]:
    """One hour of an app: about 30 fields, as `count_once` would have left them."""
    out: Dict[str, int] = {"s:S": rng.randint(500, 5000), "s:F": rng.randint(10, 300)}
    out["c:S:DELIVRD"] = out["s:S"]
    for code in rng.sample(CODES[1:], 6):
        out[f"c:F:{code}"] = rng.randint(1, 60)
    for nation in rng.sample(NATIONS, 7):
        out[f"n:{nation}"] = rng.randint(1, 3000)
        out[f"nf:{nation}"] = rng.randint(0, 50)
    for bucket in LATENCY:
        out[f"l:{bucket}"] = rng.randint(0, 2000)
    return out


def app_ids(count: int) -> List[str]:
    return [str(1400100000 + i) for i in range(count)]


def hours_of(now: datetime) -> range:
    end = int(now.timestamp()) // 3600 + 1
    return range(end - (DAYS + 1) * 24, end)


def fill_redis(url: str, prefix: str, apps: List[str], hours: range, rng: random.Random) -> None:
    from sms_receipt_stats.state.resp import RespClient

    client = RespClient(url, connect_timeout=2, command_timeout=10, call_timeout=30)
    try:
        for app in apps:
            for hour in hours:
                flat: List[object] = []
                for name, value in counters(rng).items():
                    flat += [name, value]
                key = prefix + hour_key(app, hour)
                client.execute("HSET", key, *flat)  # type: ignore[arg-type]
                client.execute("PEXPIRE", key, 3_600_000)
    finally:
        client.close()


def clean_redis(url: str, prefix: str) -> int:
    from sms_receipt_stats.state.resp import RespClient

    client = RespClient(url, connect_timeout=2, command_timeout=10, call_timeout=30)
    deleted, cursor = 0, "0"
    try:
        while True:
            reply = client.execute("SCAN", cursor, "MATCH", prefix + "*", "COUNT", 1000)
            assert isinstance(reply, list)
            cursor, keys = reply[0], reply[1]
            if keys:
                deleted += int(client.execute("DEL", *keys))  # type: ignore[arg-type]
            if cursor == "0":
                return deleted
    finally:
        client.close()


def fill_sqlite(store: Store, apps: List[str], hours: range, rng: random.Random) -> None:
    store._count_tables()  # type: ignore[attr-defined]
    db = store._db  # type: ignore[attr-defined]
    expires = time.time() + 3600
    rows: List[Tuple[str, str, int, float]] = []
    for app in apps:
        for hour in hours:
            key = store.prefix + hour_key(app, hour)  # type: ignore[attr-defined]
            rows += [(key, name, value, expires) for name, value in counters(rng).items()]
    db.execute("BEGIN")
    db.executemany("INSERT OR REPLACE INTO counters (key, field, value, expires) VALUES (?, ?, ?, ?)", rows)
    db.execute("COMMIT")


def read_all(open_store: Callable[[], Store], apps: List[str], now: datetime) -> Tuple[float, float, float, int]:
    """One dashboard's reads: wall seconds, store seconds (the guard's count), this process's CPU
    seconds (not Redis's), receipts seen."""
    spans = buckets(named_window("last_30d", now, TZ), "day")
    state = GuardedStore(store=open_store())
    seen = 0
    try:
        started, cpu = time.perf_counter(), time.process_time()
        for app in apps:
            series = read_series(state, [app], spans)
            if series is None:
                raise SystemExit(f"the store failed: {state.problem}")
            seen += series[app].total.total
        return time.perf_counter() - started, state.spent, time.process_time() - cpu, seen
    finally:
        state.close()


def bench(name: str, open_store: Callable[[], Store], counts: List[int], repeat: int, now: datetime,
          profile: bool) -> None:
    for count in counts:
        runs = [read_all(open_store, app_ids(count), now) for _ in range(repeat)]
        wall, spent, cpu, seen = min(runs)
        print(f"{name:7s} {count:3d} apps × {DAYS} days ({count * DAYS * 24:6,d} hours): {wall:6.3f} s wall, "
              f"{spent:6.3f} s store time, {cpu:6.3f} s CPU here (best of {repeat}; {seen:,} receipts)")
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        read_all(open_store, app_ids(max(counts)), now)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
        print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["redis", "sqlite", "both"], default="both")
    parser.add_argument("--apps", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    now = datetime.now(timezone.utc)
    apps = app_ids(max(args.apps))
    hours = hours_of(now)
    if args.backend in ("redis", "both"):
        from sms_receipt_stats.state.redis_store import RedisStore

        prefix = f"bench-reads-{uuid.uuid4().hex[:10]}:"
        try:
            started = time.perf_counter()
            fill_redis(REDIS_URL, prefix, apps, hours, random.Random(7))
            print(f"redis   filled {len(apps) * len(hours):,} hours in {time.perf_counter() - started:.1f} s")
            bench("redis", lambda: RedisStore(REDIS_URL, prefix), args.apps, args.repeat, now, args.profile)
        finally:
            print(f"redis   deleted {clean_redis(REDIS_URL, prefix):,} keys")
    if args.backend in ("sqlite", "both"):
        from sms_receipt_stats.state.sqlite_store import SqliteStore

        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            seed = SqliteStore(url, "bench:")
            fill_sqlite(seed, apps, hours, random.Random(7))
            seed.close()
            bench("sqlite", lambda: SqliteStore(url, "bench:"), args.apps, args.repeat, now, args.profile)


if __name__ == "__main__":
    main()

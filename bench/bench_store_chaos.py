"""A slow, broken or lying store against whole runs: how long, how many commands, what came out.

    python bench/bench_store_chaos.py [--runs 200] [--seed 20261207]

Needs the Redis of the machine (127.0.0.1:6379, db 11; keys under a prefix of their own,
deleted after each run). The product talks to it through the RESP fault proxy of
`tests/resp_proxy.py`. Prints:

(a) the store commands of a check, a report and a lookup on a fresh prefix (and of a lookup
    after a report warmed the cache), by command name: the batch reads' effect;
(b) a slow store, every reply 0.15 s late: a 3-app report and a 10-app check under a 30 s and
    a 60 s limit (serverless.yml): seconds, commands served, outcome. The goal: the store costs
    a run at most its budget (docs/state.md "Bounds") and the alerts still go out;
(c) chaos: random fault kind (kill, stall, drip, a wrong shape) at a random command, checks and
    reports in turn under a 3 s limit: outcomes and seconds per kind, and the slowest run
    against the limit. Goal: every run before its limit, none silent, no internal error.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from resp_proxy import (  # noqa: E402
    APP_PROD,
    APPS,
    JOBS,
    RespProxy,
    chaos_case,
    check_outcome,
    count_commands,
    delete_prefix,
    run_case,
    run_job,
)


def quiet():  # type: ignore[no-untyped-def]
    """The product logs JSON lines to stdout: keep them out of the table."""
    return contextlib.redirect_stdout(io.StringIO())


def commands(proxy: RespProxy) -> None:
    print("(a) store commands per run (fresh prefix; no time limit)")
    for job in JOBS:
        prefix = f"bench-{uuid.uuid4().hex[:12]}:"
        proxy.reset()
        with quiet():
            run = run_job(job, proxy.url, prefix)
            outcome = check_outcome(run)
            names = Counter(proxy.names())
        delete_prefix(prefix)
        detail = ", ".join(f"{n} {c}" for c, n in names.most_common())
        print(f"    {job:<7} {sum(names.values()):4d} commands  {run.seconds:5.2f} s  {outcome:<9} ({detail})")
    with quiet():
        prefix = f"bench-{uuid.uuid4().hex[:12]}:"
        run_job("report", proxy.url, prefix)
        proxy.reset()
        run_job("lookup", proxy.url, prefix)  # the report's warm-up filled the settled days
        names = Counter(proxy.names())
    delete_prefix(prefix)
    print(f"    lookup after a report's warm-up: {sum(names.values())} commands "
          f"({', '.join(f'{n} {c}' for c, n in names.most_common())})")


def slow(proxy: RespProxy) -> None:
    print("(b) a slow store: every reply 0.15 s late")
    cases: List[Tuple[str, Tuple[str, ...], int]] = [
        ("report", APPS, 30_000), ("report", APPS, 60_000),
        ("check", tuple(f"14000001{i:02d}" for i in range(10)), 30_000),
        ("check", tuple(f"14000001{i:02d}" for i in range(10)), 60_000),
    ]
    for job, apps, limit in cases:
        prefix = f"bench-{uuid.uuid4().hex[:12]}:"
        proxy.reset()
        proxy.inject("drip", delay=0.15)
        with quiet():
            run = run_job(job, proxy.url, prefix, limit_ms=limit, apps=apps)
            outcome = check_outcome(run)
        served = len(proxy.commands)
        delete_prefix(prefix)
        print(f"    {len(apps):2d}-app {job:<6} limit {limit / 1000:4.0f} s: {run.seconds:5.2f} s, "
              f"{served:3d} commands, {outcome}, {len(run.delivered.docs)} delivered")


def chaos(proxy: RespProxy, runs: int, seed: int) -> int:
    limit_ms, apps = 3_000, (APP_PROD,)
    print(f"(c) chaos: {runs} runs, seed {seed}, limit {limit_ms / 1000:g} s, 1 app")
    with quiet():
        counts: Dict[str, int] = {job: count_commands(proxy, job, limit_ms, apps=apps) for job in ("check", "report")}
    print(f"    commands on a clean run: {counts}")
    rng = random.Random(seed)
    seconds: Dict[str, List[float]] = defaultdict(list)
    outcomes: Dict[str, Counter] = defaultdict(Counter)
    broken = 0
    started = time.monotonic()
    for index in range(runs):
        case = chaos_case(rng, index, counts)
        with quiet():
            try:
                run, outcome = run_case(proxy, case, f"bench-{uuid.uuid4().hex[:12]}:", limit_ms, apps=apps)
            except AssertionError as exc:
                print(f"    BROKEN {case}: {exc}", file=sys.stderr)
                broken += 1
                continue
        label = case.kind + (f" {case.shape}" if case.shape else "")
        seconds[label].append(run.seconds)
        outcomes[label][outcome if run.seconds < limit_ms / 1000 else "late"] += 1
    total = time.monotonic() - started
    print(f"    {'fault':<10} {'runs':>4} {'mean s':>7} {'max s':>6}  outcomes")
    for label in sorted(seconds):
        values = seconds[label]
        print(f"    {label:<10} {len(values):4d} {statistics.mean(values):7.3f} {max(values):6.2f}  "
              f"{dict(outcomes[label])}")
    slowest = max(max(v) for v in seconds.values())
    print(f"    slowest run {slowest:.2f} s of a {limit_ms / 1000:g} s limit; broken runs {broken}; "
          f"{total:.1f} s in all")
    return 1 if broken or slowest >= limit_ms / 1000 else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args()
    with RespProxy() as proxy:
        commands(proxy)
        slow(proxy)
        return chaos(proxy, args.runs, args.seed)


if __name__ == "__main__":
    sys.exit(main())

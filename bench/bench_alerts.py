"""Alert quality: every built-in backtest scenario through the product and the naive policy.

    python bench/bench_alerts.py [--scenario NAME] [--days N] [--json] [--record] [--jobs N]

Replays each scenario (`sms_receipt_stats.dev.backtest`) through the shipped schedule with a state
store, scores the product's notices and the naive Prometheus-like policy's with the same
scorecard, and prints them side by side with how long each replay took (`--jobs` scenarios at
once, one process each: a replay is single-threaded). See bench/README.md.

The settings are the defaults (the environment's ALERT_* and the like are ignored here: compare
settings with `backtest --set`). Whole quarters (no --days) are then compared with
`alerts_recorded.json`, the scorecards the same seeds gave when it was recorded: a speed-up of the
replay must leave them identical ("same as recorded: yes"); a change of the rules shows up as
"differs" until it is recorded again (`--record`, after checking the new figures).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sms_receipt_stats.config import load_settings  # noqa: E402
from sms_receipt_stats.dev.backtest.command import compare, format_comparison  # noqa: E402
from sms_receipt_stats.dev.backtest.replay import KEPT_PREFIXES, replay_env  # noqa: E402
from sms_receipt_stats.dev.backtest.scenario import SCENARIOS, builtin  # noqa: E402

RECORDED = Path(__file__).resolve().parent / "alerts_recorded.json"


def differences(recorded: dict, found: dict, path: str = "") -> list:
    """Where two scorecards differ, as dotted paths (the first few)."""
    if isinstance(recorded, dict) and isinstance(found, dict):
        out = []
        for key in sorted(set(recorded) | set(found)):
            out += differences(recorded.get(key), found.get(key), f"{path}.{key}" if path else key)
        return out
    return [] if recorded == found else [path]


def one(name: str, days: Optional[int]) -> Tuple[str, Dict[str, Any], str]:
    """One scenario's replays: (name, its JSON entry, its printed comparison); a process pool's task."""
    started = time.perf_counter()
    scenario = builtin(name, days=days)
    env = {k: v for k, v in os.environ.items() if not k.startswith(KEPT_PREFIXES)}
    cards, runs = compare(scenario, env)
    total = time.perf_counter() - started
    doc = {"scorecards": {k: c.to_dict() for k, c in cards.items()},
           "seconds": {k: round(r.seconds, 2) for k, r in runs.items()}, "total_seconds": round(total, 1)}
    text = format_comparison(scenario, cards, runs, load_settings(replay_env(scenario.truth, env))[0])
    return name, doc, text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=list(SCENARIOS), help="only this scenario")
    parser.add_argument("--days", type=int, default=None, help="replay only the first N days of each scenario")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--record", action="store_true", help="write the scorecards as the recorded ones")
    parser.add_argument("--jobs", type=int, default=2, help="scenarios replayed at once, one process each "
                                                            "(default 2)")
    args = parser.parse_args()
    recorded = json.loads(RECORDED.read_text()) if RECORDED.exists() else {}
    names = [args.scenario] if args.scenario else list(SCENARIOS)
    if args.jobs <= 1 or len(names) <= 1:
        results = (one(name, args.days) for name in names)
    else:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=min(args.jobs, len(names)))
        results = pool.map(one, names, [args.days] * len(names))
    out = {}
    for name, doc, text in results:
        out[name] = doc
        same = None
        if args.days is None and name in recorded:
            diff = differences(recorded[name], doc["scorecards"])
            same = not diff
            out[name]["same_as_recorded"] = same
        if not args.json:
            print(text)
            print(f"  {'whole run (build, replays, scoring)':<38}{doc['total_seconds']:>12.1f} s")
            if same is not None:
                print(f"  same as recorded: {'yes' if same else 'no, differs in ' + ', '.join(diff[:6])}")
            print(flush=True)
    if args.record and args.days is None:
        recorded.update({name: doc["scorecards"] for name, doc in out.items()})
        RECORDED.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    if args.json:
        print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

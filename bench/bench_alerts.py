"""Alert quality: every built-in backtest scenario through the product and the naive policy.

    python bench/bench_alerts.py [--days N] [--json]

Replays each scenario (`sms_receipt_stats.dev.backtest`) through the shipped schedule with a state
store, scores the product's notices and the naive Prometheus-like policy's with the same
scorecard, and prints them side by side with how long each replay took. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sms_receipt_stats.dev.backtest.command import compare, format_comparison  # noqa: E402
from sms_receipt_stats.dev.backtest.scenario import SCENARIOS, builtin  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=None, help="replay only the first N days of each scenario")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = {}
    for name in SCENARIOS:
        scenario = builtin(name, days=args.days)
        cards, runs = compare(scenario, os.environ)
        if args.json:
            out[name] = {"scorecards": {k: c.to_dict() for k, c in cards.items()},
                         "seconds": {k: round(r.seconds, 2) for k, r in runs.items()}}
        else:
            print(format_comparison(scenario, cards, runs))
            print()
    if args.json:
        print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

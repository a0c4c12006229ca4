"""Grouping of notices (docs/alerts.md, *Grouping*): carrier outages that hit several apps at once.

    python bench/bench_grouping.py [--json]

None of the built-in scenarios has an incident on several apps that is not account-wide (those
are one alert already), so their scorecards are the same with any ALERT_GROUP_BY. This replays
14 days of the default 12 apps (seed 7) with two carrier outages through the real timer jobs:
five busy apps at 40 % success for 3 h, recovering together (day 6), and three apps at 40 %
recovering one after the other after 2, 3 and 5 h (day 10). Once with ALERT_GROUP_BY=rule (the
default), once with rule,app_id (every app alone), scored by `dev/backtest/score.py` (a grouped
notice counts once); `alerts` counts the apps' alerts inside the notices.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sms_receipt_stats.dev.backtest.replay import replay  # noqa: E402
from sms_receipt_stats.dev.backtest.scenario import DEFAULT_START, Incident, at, build, default_apps  # noqa: E402
from sms_receipt_stats.dev.backtest.score import GRACE_HOURS, score  # noqa: E402

SEED, DAYS = 7, 14
#: (id, app indexes, day, Beijing hour, minute, minutes)
OUTAGES = (("C1", (0, 1, 2, 4, 6), 6, 10, 12, 180),
           ("C2a", (0,), 10, 14, 20, 120), ("C2b", (1,), 10, 14, 20, 180), ("C2c", (2,), 10, 14, 20, 300))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    apps = default_apps(SEED)
    incidents = []
    for name, indexes, day, hour, minute, minutes in OUTAGES:
        onset = at(DEFAULT_START, day, hour, minute)
        incidents.append(Incident(id=name, kind="outage", app_ids=tuple(apps[i].app_id for i in indexes),
                                  onset=onset, end=onset + minutes * 60, rate=0.4, note="carrier outage"))
    scenario = build(apps, incidents, days=DAYS, seed=SEED)
    rows = {}
    for labels in ("rule", "rule,app_id"):
        result = replay(scenario.truth, {"ALERT_GROUP_BY": labels})
        card = score("product", result.notices, result.runs, scenario.incidents, scenario.detectable)
        during = [r.notices for r in result.runs
                  if any(i.onset <= r.at < i.end + GRACE_HOURS * 3600 for i in incidents)]
        rows[labels] = {"notices": card.notices, "firing": card.firing, "resolved": card.resolved,
                        "alerts": sum(len(n.apps) or 1 for n in result.notices), "messages": card.messages,
                        "false_firing": card.false_firing, "detected": f"{card.detected}/{card.detectable}",
                        "median_delay_hours": card.median_delay_hours, "flaps": card.flaps,
                        "resolved_during_incident": card.false_resolved,
                        "resolved_extra_missing": f"{card.extra_resolved}/{card.missing_resolved}",
                        "max_notices_in_a_run": max(during, default=0), "seconds": round(result.seconds, 1)}
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"two carrier outages on several apps, {DAYS} days, 12 apps (seed {SEED})")
    print(f"  {'figure':<26}" + "".join(f"{labels:>14}" for labels in rows))
    for key in next(iter(rows.values())):
        print(f"  {key:<26}" + "".join(f"{row[key]!s:>14}" for row in rows.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

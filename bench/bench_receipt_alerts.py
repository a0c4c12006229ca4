"""The minute rule beside the hourly rules, on the same scenarios (docs/alerts.md, *Alerts in minutes*).

    python bench/bench_receipt_alerts.py [--scenario quarter --scenario quarter-b] [--json]

For each scenario: the hourly backtest (`replay.py`: the shipped schedule, the whole quarter)
and the minute backtest (`dev/backtest/minutes.py`: receipts pushed minute by minute through the
receipts callback, judged by `delivery_failures`) over the incidents the receipts can show, each
from an hour before its onset to 3 h after its end, with the day before seeded (a whole quarter
minute by minute takes hours on this machine). Prints per incident the detection delay of
each, and the firing notices with no incident (false) of each over the same spans, and of the
hourly rules over the whole quarter. Figures, never assertions: see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from typing import Any, Dict, List, Optional

sys.path.insert(0, __file__.rsplit("/bench/", 1)[0] + "/src")


def run(name: str, seed: Optional[int], max_spans: Optional[int] = None) -> Dict[str, Any]:
    from sms_receipt_stats.dev.backtest.minutes import VISIBLE_KINDS, incident_spans, simulate
    from sms_receipt_stats.dev.backtest.replay import replay
    from sms_receipt_stats.dev.backtest.scenario import HOUR, builtin
    from sms_receipt_stats.dev.backtest.score import score

    scenario = builtin(name, seed=seed)
    spans = incident_spans(scenario)[:max_spans]
    visible = [i for i in scenario.incidents if i.kind in VISIBLE_KINDS and any(b <= i.onset < e for b, e in spans)]

    def inside(at: int) -> bool:
        return any(b <= at < e for b, e in spans)

    started = time.perf_counter()
    hourly = replay(scenario.truth, {})
    hourly_seconds = time.perf_counter() - started
    hourly_card = score("hourly rules", hourly.notices, hourly.runs, scenario.incidents, scenario.detectable)
    spans_card = score("hourly rules (spans)", [n for n in hourly.notices if inside(n.at)],
                       [r for r in hourly.runs if inside(r.at)], visible, scenario.detectable)
    minute = simulate(scenario, spans=spans)
    minute_card = score("minute rule", minute.notices, minute.runs, visible, scenario.detectable)
    both_card = score("both", sorted([n for n in hourly.notices if inside(n.at)] + minute.notices,
                                     key=lambda n: n.at),
                      [r for r in hourly.runs if inside(r.at)] + minute.runs, visible, scenario.detectable)
    by_id = {i.id: i for i in visible}
    rows = []
    for h, m, b in zip(spans_card.incidents, minute_card.incidents, both_card.incidents):
        incident = by_id[h.id]
        rows.append({"id": h.id, "kind": h.kind, "app": incident.app_ids[0] if incident.app_ids else "*",
                     "minutes": (incident.end - incident.onset) // 60, "rate": incident.rate,
                     "detectable": h.detectable, "hourly_delay_h": h.delay_hours,
                     "minute_delay_min": None if m.delay_hours is None else round(m.delay_hours * 60),
                     "both_delay_h": b.delay_hours, "minute_flaps": m.flaps, "minute_resolved": m.resolved})
    minute_delays = [r["minute_delay_min"] for r in rows if r["minute_delay_min"] is not None]
    hourly_delays = [r["hourly_delay_h"] for r in rows if r["hourly_delay_h"] is not None]
    return {
        "scenario": name, "seed": scenario.seed, "spans": len(spans),
        "span_hours": round(sum(e - b for b, e in spans) / HOUR, 1),
        "receipts": minute.receipts, "batches": minute.batches, "answers_not_ok": minute.answers_not_ok,
        "incidents": rows,
        "median_delay": {"hourly_h": statistics.median(hourly_delays) if hourly_delays else None,
                         "minute_min": statistics.median(minute_delays) if minute_delays else None},
        "false_firing": {"minute_rule_spans": minute_card.false_firing, "hourly_spans": spans_card.false_firing,
                         "hourly_quarter": hourly_card.false_firing},
        "notices": {"minute_rule": minute_card.notices, "minute_firing": minute_card.firing,
                    "hourly_spans": spans_card.notices},
        "flaps": {"minute_rule": minute_card.flaps, "hourly_spans": spans_card.flaps},
        "false_resolved": {"minute_rule": minute_card.false_resolved},
        "seconds": {"hourly_quarter": round(hourly_seconds, 1), "minutes": round(minute.seconds, 1)},
    }


def show(found: Dict[str, Any]) -> None:
    print(f"\n== {found['scenario']} (seed {found['seed']}): {found['spans']} spans, {found['span_hours']} h "
          f"minute by minute, {found['receipts']:,} receipts in {found['batches']:,} pushes "
          f"({found['answers_not_ok']} not answered 200), {found['seconds']['minutes']} s")
    print(f"{'incident':<9}{'kind':<13}{'app':<12}{'min':>5}{'rate':>6}  {'detectable':<11}"
          f"{'hourly':>8}{'minute':>9}{'both':>8}{'flaps':>6}{'resolved':>9}")
    for r in found["incidents"]:
        hourly = "-" if r["hourly_delay_h"] is None else f"{r['hourly_delay_h']:.2f} h"
        minute = "-" if r["minute_delay_min"] is None else f"{r['minute_delay_min']} min"
        both = "-" if r["both_delay_h"] is None else f"{r['both_delay_h']:.2f} h"
        print(f"{r['id']:<9}{r['kind']:<13}{r['app']:<12}{r['minutes']:>5}{r['rate']:>6.2f}  "
              f"{r['detectable']!s:<11}{hourly:>8}{minute:>9}{both:>8}{r['minute_flaps']:>6}"
              f"{r['minute_resolved']:>9}")
    d, f = found["median_delay"], found["false_firing"]
    print(f"median delay: hourly {d['hourly_h']} h, minute rule {d['minute_min']} min")
    print(f"false firing notices: minute rule {f['minute_rule_spans']} (spans), hourly rules {f['hourly_spans']} "
          f"(same spans), {f['hourly_quarter']} (whole quarter)")
    print(f"notices: minute rule {found['notices']['minute_rule']} ({found['notices']['minute_firing']} firing), "
          f"flaps {found['flaps']['minute_rule']}, resolved mid-incident {found['false_resolved']['minute_rule']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", action="append", help="built-in scenario (repeatable); default quarter, "
                                                            "quarter-b")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--max-spans", type=int, default=None,
                        help="simulate only the first N incident spans (a busy machine: about 2-4 CPU min each)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # the product logs every push: thousands of lines
    out: List[Dict[str, Any]] = []
    for name in args.scenario or ["quarter", "quarter-b"]:
        found = run(name, args.seed, args.max_spans)
        out.append(found)
        if not args.json:
            show(found)
    if args.json:
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

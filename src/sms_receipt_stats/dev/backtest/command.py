"""`sms-receipt-stats backtest`: score the product's alerts on a built-in scenario beside the naive
policy, or replay the account's own last days and list the notices it would have sent."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from sms_receipt_stats.dev.backtest.replay import Notice, ReplayResult, replay
from sms_receipt_stats.dev.backtest.scenario import (
    HOUR,
    SCENARIOS,
    AppSpec,
    HourCounts,
    Scenario,
    ScenarioError,
    Truth,
    beijing,
    builtin,
)
from sms_receipt_stats.dev.backtest.score import Scorecard, score

#: the account backtest's API windows (the product's limit for an hourly series)
CHUNK_DAYS = 7
#: days of data before the replayed period, for the 7-day baselines
LEAD_DAYS = 7


def add_parser(sub: Any, func: Any) -> None:
    bt = sub.add_parser("backtest", help="replay the alert rules over a simulated quarter (--scenario) or the "
                                         "account's own last days, and score the notices they send")
    bt.add_argument("--scenario", help="a built-in scenario, or 'list'; without it: the account's own data")
    bt.add_argument("--seed", type=int, help="the scenario's random seed (each has its own default)")
    bt.add_argument("--days", type=int, help="days to replay (scenario: 91; account: 14)")
    bt.add_argument("--stateless", action="store_true",
                    help="with --scenario: also replay the product without a state store")
    bt.add_argument("--json", action="store_true")
    bt.set_defaults(func=func)


def run(args: argparse.Namespace, env: Optional[Mapping[str, str]] = None) -> int:
    env = os.environ if env is None else env
    if args.scenario == "list":
        for name, text in SCENARIOS.items():
            print(f"{name:<10} {text}")
        return 0
    if args.scenario is not None:
        return run_scenario(args.scenario, args.seed, args.days, args.json, env,
                            stateless=bool(getattr(args, "stateless", False)))
    if args.seed is not None:
        print("backtest: --seed needs --scenario", file=sys.stderr)
        return 2
    return run_account(14 if args.days is None else args.days, args.json, env)


# -- a built-in scenario ---------------------------------------------------------------------------

def compare(scenario: Scenario, env: Mapping[str, str], *, stateless: bool = False
            ) -> Tuple[Dict[str, Scorecard], Dict[str, ReplayResult]]:
    """The product (with a state store) and the naive policy on one scenario, scored alike;
    `stateless` adds the product without a store."""
    from sms_receipt_stats.dev.backtest.naive import naive_replay

    runs = {"product": replay(scenario.truth, env)}
    if stateless:
        runs["stateless"] = replay(scenario.truth, env, stateful=False)
    runs["naive"] = naive_replay(scenario.truth, env)
    cards = {name: score(name, r.notices, r.runs, scenario.incidents, scenario.detectable)
             for name, r in runs.items()}
    return cards, runs


def run_scenario(name: str, seed: Optional[int], days: Optional[int], as_json: bool, env: Mapping[str, str],
                 *, stateless: bool = False) -> int:
    try:
        scenario = builtin(name, seed=seed, days=days)
    except ScenarioError as exc:
        print(f"backtest: {exc}", file=sys.stderr)
        return 2
    cards, runs = compare(scenario, env, stateless=stateless)
    if as_json:
        print(json.dumps({"scenario": scenario_doc(scenario),
                          "config_issues": runs["product"].config_issues,
                          "scorecards": {k: c.to_dict() for k, c in cards.items()},
                          "seconds": {k: round(r.seconds, 2) for k, r in runs.items()}},
                         ensure_ascii=False, indent=2))
    else:
        print(format_comparison(scenario, cards, runs))
    return 0


def _local(epoch: float) -> str:
    return beijing(epoch).strftime("%Y-%m-%d %H:%M")


def scenario_doc(scenario: Scenario) -> Dict[str, Any]:
    return {"name": scenario.name, "seed": scenario.seed, "days": scenario.days,
            "apps": [{"app_id": a.app_id, "name": a.name, "peak": a.peak, "success_rate": a.success_rate,
                      "receipt_rate": a.receipt_rate, "late_failures": a.late_failures} for a in scenario.truth.apps],
            "incidents": [{"id": i.id, "kind": i.kind, "app_ids": list(i.app_ids) or None, "onset": _local(i.onset),
                           "minutes": (i.end - i.onset) // 60, "rate": i.rate, "code": i.code, "note": i.note,
                           "detectable": scenario.detectable[i.id]} for i in scenario.incidents]}


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def format_comparison(scenario: Scenario, cards: Dict[str, Scorecard], runs: Dict[str, ReplayResult]) -> str:
    names = list(cards)
    lines = [f"scenario {scenario.name} (seed {scenario.seed}, {scenario.days} days, "
             f"{len(scenario.truth.apps)} apps, {len(scenario.incidents)} incidents)"]
    issues = runs[names[0]].config_issues
    lines += [f"  config: {issue}" for issue in issues]
    if scenario.incidents:
        lines.append("")
        lines.append("  incident kind             app(s)       onset (Beijing)   min  detectable  "
                     + "  ".join(f"{n + ' delay h':>14}" for n in names))
        scores = {n: {i.id: i for i in cards[n].incidents} for n in names}
        for incident in scenario.incidents:
            apps = ",".join(incident.app_ids) or "all"
            found = [scores[n][incident.id] for n in names]
            delays = "  ".join(f"{_cell(f.delay_hours) if f.detected else 'missed':>14}" for f in found)
            minutes = (incident.end - incident.onset) // 60
            lines.append(f"  {incident.id:<8} {incident.kind:<16} {apps:<12} {_local(incident.onset)}  "
                         f"{minutes:>4}  {scenario.detectable[incident.id]!s:<10}  {delays}")
    rows = [
        ("messages (check runs with notices)", "messages"),
        ("notices", "notices"),
        ("  firing", "firing"),
        ("  resolved", "resolved"),
        ("reports (notices in them)", None),
        ("false firing notices", "false_firing"),
        ("detected / detectable", None),
        ("detected, not detectable", "detected_undetectable"),
        ("median delay, h", "median_delay_hours"),
        ("median delay of outages, h", "median_outage_delay_hours"),
        ("flaps", "flaps"),
        ("resolved during incident", "false_resolved"),
        ("resolved: extra / missing", None),
        ("max notices in a run, account-wide", "max_notices_account_wide"),
    ]
    lines += ["", f"  {'metric':<38}" + "".join(f"{n:>12}" for n in names)]
    for label, attr in rows:
        cells = []
        for n in names:
            card = cards[n]
            if label.startswith("reports"):
                cells.append(f"{card.reports} ({card.report_notices})")
            elif label.startswith("detected /"):
                cells.append(f"{card.detected}/{card.detectable}")
            elif label.startswith("resolved: extra"):
                cells.append(f"{card.extra_resolved}/{card.missing_resolved}")
            else:
                cells.append(_cell(getattr(card, attr or "")))
        lines.append(f"  {label:<38}" + "".join(f"{c:>12}" for c in cells))
    lines.append("  false firing notices per app:")
    names_by_id = {a.app_id: a.name for a in scenario.truth.apps}
    ids = sorted({k for n in names for k in cards[n].false_firing_by_app})
    for app_id in ids:
        label = f"    {app_id} {names_by_id.get(app_id, '')}"
        lines.append(f"  {label[2:]:<38}" + "".join(f"{cards[n].false_firing_by_app.get(app_id, 0):>12}"
                                                     for n in names))
    lines.append(f"  {'replay seconds':<38}" + "".join(f"{runs[n].seconds:>12.1f}" for n in names))
    return "\n".join(lines)


# -- the account's own data ------------------------------------------------------------------------

class BacktestError(Exception):
    """One line for the user; the command exits 2."""


def load_account(env: Mapping[str, str], days: int, now: datetime) -> Tuple[Truth, int, int]:
    """The configured apps' hourly stats of the last `days` (+ LEAD_DAYS) through the product's
    querier (settled cache when STATE_URL is set); the truth and the replayed [begin, end)."""
    from sms_receipt_stats.config import load_settings
    from sms_receipt_stats.jobs import JobDeps
    from sms_receipt_stats.measure import make_querier, query_apps
    from sms_receipt_stats.windows import Window, current_hour, parse_hour

    settings, issues = load_settings(env)
    if issues:
        raise BacktestError("; ".join(str(i) for i in issues))
    if not settings.apps:
        raise BacktestError("SMS_SDK_APP_IDS: not set; the backtest needs at least one SmsSdkAppId")
    state = None
    if settings.state_url is not None:
        from sms_receipt_stats.state.flow import open_state

        state = open_state(settings)
    try:
        try:
            querier = make_querier(settings, JobDeps(), None, state)
        except Exception as exc:  # missing credentials and the like
            raise BacktestError(str(exc)) from None
        end = int(current_hour(now, settings.timezone).timestamp())
        begin = end - days * 24 * HOUR
        start = begin - LEAD_DAYS * 24 * HOUR
        probe = Window(datetime.fromtimestamp(end - HOUR, timezone.utc), datetime.fromtimestamp(end, timezone.utc),
                       settings.timezone)
        for result in query_apps(list(settings.apps), probe, "total", querier, settings.lang,
                                 settings.secret_values()):  # one call per app first: fail fast
            if result.error is not None:
                raise BacktestError(f"{result.app_id}: {result.error.code}: {result.error.message}")
        calls = len(settings.apps) * (end - start) // HOUR  # an hourly series is one call per hour
        seconds = calls / settings.api_rps
        took = f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
        print(f"backtest: loading {calls} app-hours at {settings.api_rps:g} requests/s (about {took}; settled "
              f"hours come from the state store's cache when STATE_URL is set)", file=sys.stderr)
        counts: Dict[str, List[HourCounts]] = {a.app_id: [HourCounts() for _ in range((end - start) // HOUR)]
                                               for a in settings.apps}
        chunk = start
        while chunk < end:
            stop = min(end, chunk + CHUNK_DAYS * 24 * HOUR)
            window = Window(datetime.fromtimestamp(chunk, timezone.utc), datetime.fromtimestamp(stop, timezone.utc),
                            settings.timezone)
            for result in query_apps(list(settings.apps), window, "hour", querier, settings.lang,
                                     settings.secret_values()):
                if result.error is not None:
                    raise BacktestError(f"{result.app_id}: {result.error.code}: {result.error.message}")
                for point in result.series or []:
                    hour = int(parse_hour(point.begin, settings.timezone, which="begin").timestamp())
                    index = (hour - start) // HOUR
                    if 0 <= index < len(counts[result.app_id]):
                        counts[result.app_id][index] = HourCounts(point.stats.RequestSuccessCount,
                                                                  point.stats.CallbackSuccessCount,
                                                                  point.stats.CallbackFailCount)
            chunk = stop
    finally:
        if state is not None:
            state.close()
    apps = [AppSpec(app_id=a.app_id, name=a.name or "", peak=0, success_rate=0.0, receipt_rate=0.0)
            for a in settings.apps]
    return Truth(start=start, hours=(end - start) // HOUR, apps=apps, counts=counts), begin, end


def summarize(notices: Sequence[Notice]) -> List[Dict[str, Any]]:
    """Per app and rule: firing and resolved notices, first and last (Beijing time)."""
    groups: Dict[Tuple[str, str], List[Notice]] = {}
    for notice in notices:
        groups.setdefault((notice.app_id or "*", notice.rule), []).append(notice)
    out = []
    for (app_id, rule), items in sorted(groups.items()):
        firing = [n for n in items if n.status == "firing"]
        out.append({"app_id": app_id, "rule": rule, "firing": len(firing), "resolved": len(items) - len(firing),
                    "first": _local(min(n.at for n in items)), "last": _local(max(n.at for n in items))})
    return out


def run_account(days: int, as_json: bool, env: Mapping[str, str], now: Optional[datetime] = None) -> int:
    if not 1 <= days <= 60:
        print("backtest: --days must be between 1 and 60 for the account's own data", file=sys.stderr)
        return 2
    now = now or datetime.now(timezone.utc)
    try:
        truth, begin, end = load_account(env, days, now)
    except BacktestError as exc:
        from sms_receipt_stats.config import load_settings
        from sms_receipt_stats.redaction import prepare, redact

        print(f"backtest: {redact(str(exc), prepare(load_settings(env)[0].secret_values()))}", file=sys.stderr)
        return 2
    result = replay(truth, env, begin=begin, end=end)
    rows = summarize(result.notices)
    messages = sum(1 for r in result.runs if r.job != "report" and r.notices)
    if as_json:
        print(json.dumps({"begin": _local(begin), "end": _local(end), "messages": messages, "notices": rows},
                         ensure_ascii=False, indent=2))
        return 0
    print(f"the last {days} days ({_local(begin)} to {_local(end)}, Beijing), replayed through the shipped "
          f"schedule with a state store: {messages} alert message(s), {len(result.notices)} notice(s)")
    if rows:
        print(f"  {'app':<12} {'rule':<22} {'firing':>6} {'resolved':>8}  first             last")
        for row in rows:
            print(f"  {row['app_id']:<12} {row['rule']:<22} {row['firing']:>6} {row['resolved']:>8}  "
                  f"{row['first']}  {row['last']}")
    return 0

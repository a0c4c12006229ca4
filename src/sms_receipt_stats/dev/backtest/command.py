"""`sms-receipt-stats backtest`: score the product's alerts on a built-in scenario beside the naive
policy, or replay the account's own last days and list the notices it would have sent."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from sms_receipt_stats.dev.backtest.replay import KEPT_PREFIXES, Notice, ReplayResult, replay, replay_env
from sms_receipt_stats.dev.backtest.scenario import (
    HOUR,
    SCENARIOS,
    AppSpec,
    HourCounts,
    Incident,
    Scenario,
    ScenarioError,
    Truth,
    beijing,
    builtin,
)
from sms_receipt_stats.dev.backtest.score import GRACE_HOURS, IncidentScore, Scorecard, score

if TYPE_CHECKING:
    from sms_receipt_stats.config import Settings
    from sms_receipt_stats.variables import Variable

#: the account backtest's API windows (the product's limit for an hourly series)
CHUNK_DAYS = 7
#: days of data before the replayed period, for the 7-day baselines
LEAD_DAYS = 7
#: the most settings one `--set` comparison replays (a quarter each)
MAX_SETTINGS = 12


def glossary() -> str:
    """The words of the scorecard, one line each, with the figures `score` and `naive` use."""
    from sms_receipt_stats.dev.backtest import naive
    from sms_receipt_stats.dev.backtest.scenario import DETECT_ALPHA

    grace = f"{GRACE_HOURS} h"
    return "\n".join([
        "glossary:",
        f"  naive: the plain threshold policy compared with (naive.py): a rate below its threshold (or an API "
        f"error) at {naive.FOR // HOUR + 1} hourly checks in a row; repeated every {naive.REPEAT // HOUR} h",
        f"  detectable: an incident the true data could reveal ({(1 - DETECT_ALPHA) * 100:g} % one-sided "
        f"test on its messages; API errors lasting 1 h or more)",
        f"  detected: a firing notice of a rule about what broke, before the incident's end + {grace}",
        f"  false notice: a firing notice while no incident of its app was on (onset to end + {grace}) in "
        f"the window its run looked at",
        "  delay: hours from an incident's onset to the run of its first detecting notice (median over "
        "detected ones)",
        f"  flaps: an alert resolved, then firing again (same fingerprint), inside one incident's onset to "
        f"end + {grace}",
        "  messages: hourly checks that sent at least one notice (one chat message per sink each)",
        "  package warned / critical: days from the first package_low notice (the first critical one) to "
        "the packages running out",
        "  thresholds: the rule variables in effect; * marks one set by the environment or --set",
    ])


def add_parser(sub: Any, func: Any) -> None:
    bt = sub.add_parser("backtest", help="replay the alert rules over a simulated quarter (--scenario) or the "
                                         "account's own last days, and score the notices they send",
                        epilog=glossary(), formatter_class=argparse.RawDescriptionHelpFormatter)
    bt.add_argument("--scenario", help="a built-in scenario, or 'list'; without it: the account's own data")
    bt.add_argument("--seed", type=int, help="the scenario's random seed (each has its own default)")
    bt.add_argument("--days", type=int, help="days to replay (scenario: 91; account: 14)")
    bt.add_argument("--stateless", action="store_true",
                    help="with --scenario: also replay the product without a state store")
    bt.add_argument("--set", action="append", metavar="NAME=V1[,V2...]",
                    help=f"with --scenario: replay with these values of a rule variable (repeatable: every "
                         f"combination, at most {MAX_SETTINGS}) and compare them side by side")
    bt.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="with --set: settings replayed at once, in separate processes (default: %(default)s)")
    bt.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                    help="a progress line on stderr (default: only when stderr is a terminal)")
    bt.add_argument("--json", action="store_true", help="the results as JSON on stdout (progress stays on stderr)")
    bt.set_defaults(func=func)


def run(args: argparse.Namespace, env: Optional[Mapping[str, str]] = None) -> int:
    env = os.environ if env is None else env
    if args.scenario == "list":
        for name, text in SCENARIOS.items():
            print(f"{name:<10} {text}")
        return 0
    sets = getattr(args, "set", None) or []
    if args.scenario is not None:
        return run_scenario(args.scenario, args.seed, args.days, args.json, env,
                            stateless=bool(getattr(args, "stateless", False)), sets=sets,
                            progress=progress_mode(getattr(args, "progress", None), sys.stderr),
                            jobs=getattr(args, "jobs", 1) or 1)
    for flag, given in (("--seed", args.seed is not None), ("--set", bool(sets))):
        if given:
            print(f"backtest: {flag} needs --scenario", file=sys.stderr)
            return 2
    return run_account(14 if args.days is None else args.days, args.json, env,
                       progress=progress_mode(getattr(args, "progress", None), sys.stderr))


# -- progress --------------------------------------------------------------------------------------

def progress_mode(flag: Optional[bool], stream: IO[str]) -> str:
    """"tty" (one line rewritten daily), "line" (a line a simulated week) or "off": on by default
    only on a terminal, so a log or a pipe stays clean; --progress / --no-progress decide."""
    tty = bool(getattr(stream, "isatty", lambda: False)())
    if flag is None:
        return "tty" if tty else "off"
    return ("tty" if tty else "line") if flag else "off"


class Progress:
    """The replay's `progress` hook, writing "day 14/91, 3 alerts so far" to `stream`."""

    def __init__(self, stream: IO[str], mode: str, label: str):
        self.stream = stream
        self.mode = mode
        self.label = label

    def __call__(self, day: int, days: int, alerts: int) -> None:
        if self.mode == "off":
            return
        text = f"backtest: {self.label} day {day}/{days}, {alerts} alert{'' if alerts == 1 else 's'} so far"
        if self.mode == "tty":
            self.stream.write(f"\r{text}\x1b[K" + ("\n" if day >= days else ""))
        elif day % 7 == 0 or day >= days:
            self.stream.write(text + "\n")
        else:
            return
        self.stream.flush()


# -- the settings compared -------------------------------------------------------------------------

def tunable() -> Dict[str, Variable]:
    """The variables a replay reads from the environment and `--set`: every rule variable, then
    the other kept ones (repeat interval, settling) except the language."""
    from sms_receipt_stats import variables
    from sms_receipt_stats.rules import registry

    found = {v.env: v for v in registry().variables}
    for v in variables.registry().variables:
        if v.env.startswith(KEPT_PREFIXES) and v.env != "REPORT_LANG" and v.field:
            found.setdefault(v.env, v)
    return found


def _value(settings: Settings, variable: Variable) -> Any:
    thresholds = settings.thresholds.values()
    if variable.field in thresholds:
        return thresholds[variable.field]
    return getattr(settings, variable.field or "", variable.default)


def thresholds_in_effect(settings: Settings) -> List[Tuple[str, str, bool]]:
    """(variable, value as written, differs from the default) of every tunable variable."""
    from sms_receipt_stats.variables import describe

    out = []
    for name, variable in tunable().items():
        value = _value(settings, variable)
        out.append((name, describe(variable.kind, value), value != variable.default))
    return out


def format_thresholds(settings: Settings, width: int = 100, skip: Sequence[str] = (),
                      title: str = "thresholds") -> List[str]:
    """The thresholds in effect, several to a line; * marks a value that is not the default."""
    lines: List[str] = []
    line = f"  {title}:"
    indent = " " * len(line)
    for name, value, changed in thresholds_in_effect(settings):
        if name in skip:
            continue
        cell = f" {name}={value}{'*' if changed else ''}"
        if len(line) + len(cell) > width:
            lines.append(line)
            line = indent
        line += cell
    return [*lines, line]


def thresholds_doc(settings: Settings) -> Dict[str, str]:
    return {name: value for name, value, _changed in thresholds_in_effect(settings)}


def parse_sets(given: Sequence[str], env: Mapping[str, str]) -> List[Dict[str, str]]:
    """`--set NAME=V1,V2` options as the list of settings to replay (their cross product, in
    order), each value read like the environment's; BacktestError (one line) when one is refused."""
    from sms_receipt_stats.config import load_settings
    from sms_receipt_stats.variables import VariableError, read

    if not given:
        return []
    known = tunable()
    choices: Dict[str, List[str]] = {}
    for item in given:
        name, sep, raw = item.partition("=")
        name = name.strip()
        values = [v.strip() for v in raw.split(",")]
        if not sep or not all(values):
            raise BacktestError(f"--set {name}: expected NAME=VALUE[,VALUE...]")
        variable = known.get(name)
        if variable is None:
            raise BacktestError(f"--set {name}: not a setting the backtest replays; one of: {', '.join(known)}")
        if name in choices:
            raise BacktestError(f"--set {name}: given twice; list its values once, comma-separated")
        for value in values:
            try:
                read(variable, value, [])
            except VariableError as exc:
                raise BacktestError(f"--set {name}: {exc}") from None
        choices[name] = list(dict.fromkeys(values))
    count = 1
    for values in choices.values():
        count *= len(values)
    if count > MAX_SETTINGS:
        raise BacktestError(f"--set: {count} settings; at most {MAX_SETTINGS} (each is a whole replay)")
    combos = [dict(zip(choices, values)) for values in itertools.product(*choices.values())]
    base = {k: v for k, v in env.items() if k.startswith(KEPT_PREFIXES)}
    for combo in combos:  # the checks across variables (a critical threshold above the warning one)
        _settings, issues = load_settings({**base, **combo})
        for issue in issues:
            if issue.variable in combo:
                raise BacktestError(f"--set {issue.variable}: {issue.message}")
    return combos


def setting_label(combo: Mapping[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in combo.items()) or "(environment)"


# -- a built-in scenario ---------------------------------------------------------------------------

def compare(scenario: Scenario, env: Mapping[str, str], *, stateless: bool = False,
            progress: str = "off", label: str = ""
            ) -> Tuple[Dict[str, Scorecard], Dict[str, ReplayResult]]:
    """The product (with a state store) and the naive policy on one scenario, scored alike;
    `stateless` adds the product without a store. `progress` is a `progress_mode`: the replays
    report on stderr, named `label`."""
    from sms_receipt_stats.dev.backtest.naive import naive_replay

    mode = progress
    prefix = f"{label} " if label else ""
    runs = {"product": replay(scenario.truth, env, progress=Progress(sys.stderr, mode, f"{prefix}product"))}
    if stateless:
        runs["stateless"] = replay(scenario.truth, env, stateful=False,
                                   progress=Progress(sys.stderr, mode, f"{prefix}stateless"))
    runs["naive"] = naive_replay(scenario.truth, env)
    cards = {name: score(name, r.notices, r.runs, scenario.incidents, scenario.detectable)
             for name, r in runs.items()}
    return cards, runs


def _one_setting(scenario: Scenario, env: Mapping[str, str], combo: Mapping[str, str], stateless: bool,
                 progress: str, label: str) -> Dict[str, Any]:
    """One setting's replays as a JSON-ready result (a process pool's task: everything pickles)."""
    from sms_receipt_stats.config import load_settings

    merged = {**env, **combo}
    cards, runs = compare(scenario, merged, stateless=stateless, progress=progress, label=label)
    settings, _ = load_settings(replay_env(scenario.truth, merged))
    return {"set": dict(combo), "thresholds": thresholds_doc(settings),
            "config_issues": runs["product"].config_issues,
            "scorecards": {k: c.to_dict() for k, c in cards.items()},
            "seconds": {k: round(r.seconds, 2) for k, r in runs.items()}}


def run_settings(scenario: Scenario, env: Mapping[str, str], combos: Sequence[Mapping[str, str]], *,
                 stateless: bool = False, progress: str = "off", jobs: int = 1) -> List[Dict[str, Any]]:
    """Every setting's result, in order; with `jobs` > 1 in as many processes (a replay is
    single-threaded Python: processes are what use a second core)."""
    kept = {k: v for k, v in env.items() if k.startswith(KEPT_PREFIXES)}  # no credentials to the workers
    labels = [f"[{n}/{len(combos)} {setting_label(c)}]" if len(combos) > 1 else "" for n, c in enumerate(combos, 1)]
    if jobs <= 1 or len(combos) <= 1:
        return [_one_setting(scenario, kept, c, stateless, progress, label) for c, label in zip(combos, labels)]
    from concurrent.futures import ProcessPoolExecutor

    mode = "line" if progress != "off" else "off"  # two processes must not rewrite one terminal line
    with ProcessPoolExecutor(max_workers=min(jobs, len(combos))) as pool:
        futures = [pool.submit(_one_setting, scenario, kept, c, stateless, mode, label)
                   for c, label in zip(combos, labels)]
        return [f.result() for f in futures]


def run_scenario(name: str, seed: Optional[int], days: Optional[int], as_json: bool, env: Mapping[str, str],
                 *, stateless: bool = False, sets: Sequence[str] = (), progress: str = "off", jobs: int = 1) -> int:
    from sms_receipt_stats.config import load_settings

    try:
        combos = parse_sets(sets, env)
        scenario = builtin(name, seed=seed, days=days)
    except (ScenarioError, BacktestError) as exc:
        print(f"backtest: {exc}", file=sys.stderr)
        return 2
    if combos:
        results = run_settings(scenario, env, combos, stateless=stateless, progress=progress, jobs=jobs)
        if as_json:
            print(json.dumps({"scenario": scenario_doc(scenario), "settings": results}, ensure_ascii=False, indent=2))
        else:
            base, _ = load_settings(replay_env(scenario.truth, env))
            print(format_settings(scenario, results, base))
        return 0
    cards, runs = compare(scenario, env, stateless=stateless, progress=progress)
    settings, _ = load_settings(replay_env(scenario.truth, env))
    if as_json:
        print(json.dumps({"scenario": scenario_doc(scenario),
                          "thresholds": thresholds_doc(settings),
                          "config_issues": runs["product"].config_issues,
                          "scorecards": {k: c.to_dict() for k, c in cards.items()},
                          "seconds": {k: round(r.seconds, 2) for k, r in runs.items()}},
                         ensure_ascii=False, indent=2))
    else:
        print(format_comparison(scenario, cards, runs, settings))
    return 0


def _local(epoch: float) -> str:
    return beijing(epoch).strftime("%Y-%m-%d %H:%M")


def scenario_doc(scenario: Scenario) -> Dict[str, Any]:
    names = {a.app_id: a.name for a in scenario.truth.apps}
    return {"name": scenario.name, "seed": scenario.seed, "days": scenario.days,
            "apps": [{"app_id": a.app_id, "name": a.name, "peak": a.peak, "success_rate": a.success_rate,
                      "receipt_rate": a.receipt_rate, "late_failures": a.late_failures} for a in scenario.truth.apps],
            "incidents": [{"id": i.id, "kind": i.kind, "app_ids": list(i.app_ids) or None,
                           "apps": [{"app_id": a, "name": names.get(a, "")} for a in i.app_ids] or None,
                           "onset": _local(i.onset),
                           "minutes": (i.end - i.onset) // 60, "rate": i.rate, "code": i.code, "note": i.note,
                           "detectable": scenario.detectable[i.id]} for i in scenario.incidents]}


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def app_label(app_id: str, names: Mapping[str, str]) -> str:
    """An app id with its name from SMS_SDK_APP_IDS or the scenario (`1400000001 otp`)."""
    name = names.get(app_id) or ""
    return f"{app_id} {name}".strip()


def _delay_cell(incident: Incident, found: IncidentScore) -> str:
    """An incident's delay in hours; a package running out: how many days ahead it was warned."""
    if not found.detected:
        return "missed"
    if incident.kind == "package_empty" and found.warning_lead_days is not None:
        return f"{found.warning_lead_days:.2f} d ahead"
    return _cell(found.delay_hours)


def format_comparison(scenario: Scenario, cards: Dict[str, Scorecard], runs: Dict[str, ReplayResult],
                      settings: Optional[Settings] = None) -> str:
    names = list(cards)
    lines = [f"scenario {scenario.name} (seed {scenario.seed}, {scenario.days} days, "
             f"{len(scenario.truth.apps)} apps, {len(scenario.incidents)} incidents)"]
    if settings is not None:
        lines += format_thresholds(settings)
    issues = runs[names[0]].config_issues
    lines += [f"  config: {issue}" for issue in issues]
    names_by_id = {a.app_id: a.name for a in scenario.truth.apps}
    if scenario.incidents:
        width = max([len(app_label(a, names_by_id)) for i in scenario.incidents for a in i.app_ids] + [12])
        lines.append("")
        lines.append(f"  incident kind             {'app(s)':<{width}} onset (Beijing)   min  detectable  "
                     + "  ".join(f"{n + ' delay h':>14}" for n in names))
        scores = {n: {i.id: i for i in cards[n].incidents} for n in names}
        for incident in scenario.incidents:
            apps = ",".join(app_label(a, names_by_id) for a in incident.app_ids) or "all"
            found = [scores[n][incident.id] for n in names]
            delays = "  ".join(f"{_delay_cell(incident, f):>14}" for f in found)
            minutes = (incident.end - incident.onset) // 60
            lines.append(f"  {incident.id:<8} {incident.kind:<16} {apps:<{width}} {_local(incident.onset)}  "
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
    if any(i.kind == "package_empty" for i in scenario.incidents):
        rows += [("package: warned, days before empty", "package_warning_lead_days"),
                 ("package: critical, days before empty", "package_critical_lead_days")]
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
    ids = sorted({k for n in names for k in cards[n].false_firing_by_app})
    for app_id in ids:
        label = f"    {app_label(app_id, names_by_id)}"
        lines.append(f"  {label[2:]:<38}" + "".join(f"{cards[n].false_firing_by_app.get(app_id, 0):>12}"
                                                     for n in names))
    lines.append(f"  {'replay seconds':<38}" + "".join(f"{runs[n].seconds:>12.1f}" for n in names))
    return "\n".join(lines)


def format_settings(scenario: Scenario, results: Sequence[Mapping[str, Any]], settings: Settings) -> str:
    """One row per setting and policy, side by side (`--set`)."""
    lines = [f"scenario {scenario.name} (seed {scenario.seed}, {scenario.days} days, "
             f"{len(scenario.truth.apps)} apps, {len(scenario.incidents)} incidents), {len(results)} settings"]
    lines += format_thresholds(settings, skip=list(results[0]["set"]), title="other thresholds")
    issues = sorted({i for r in results for i in r["config_issues"]})
    lines += [f"  config: {issue}" for issue in issues]
    width = max(len(setting_label(r["set"])) for r in results)
    head = (f"  {'setting':<{width}}  {'policy':<9} {'false notices':>13} {'detected':>9} {'median delay h':>14} "
            f"{'outages h':>9} {'flaps':>5} {'messages':>8} {'notices':>7} {'seconds':>7}")
    lines += ["", head]
    for result in results:
        for policy, card in result["scorecards"].items():
            lines.append(
                f"  {setting_label(result['set']):<{width}}  {policy:<9} {card['false_firing']:>13} "
                f"{str(card['detected']) + '/' + str(card['detectable']):>9} {_cell(card['median_delay_hours']):>14} "
                f"{_cell(card['median_outage_delay_hours']):>9} {card['flaps']:>5} {card['messages']:>8} "
                f"{card['notices']:>7} {result['seconds'][policy]:>7.1f}")
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


def summarize(notices: Sequence[Notice], names: Optional[Mapping[str, str]] = None) -> List[Dict[str, Any]]:
    """Per app (with its name) and rule: firing and resolved notices, first and last (Beijing time)."""
    names = names or {}
    groups: Dict[Tuple[str, str], List[Notice]] = {}
    for notice in notices:
        for app_id in notice.targets:  # a grouped notice counts for each app it names
            groups.setdefault((app_id or "*", notice.rule), []).append(notice)
    out = []
    for (app_id, rule), items in sorted(groups.items()):
        firing = [n for n in items if n.status == "firing"]
        out.append({"app_id": app_id, "app_name": names.get(app_id) or "", "rule": rule, "firing": len(firing),
                    "resolved": len(items) - len(firing),
                    "first": _local(min(n.at for n in items)), "last": _local(max(n.at for n in items))})
    return out


def run_account(days: int, as_json: bool, env: Mapping[str, str], now: Optional[datetime] = None,
                progress: str = "off") -> int:
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
    from sms_receipt_stats.config import load_settings

    result = replay(truth, env, begin=begin, end=end,
                    progress=Progress(sys.stderr, progress, "product"))
    names = {a.app_id: a.name for a in truth.apps}
    rows = summarize(result.notices, names)
    messages = sum(1 for r in result.runs if r.job != "report" and r.notices)
    settings, _ = load_settings(replay_env(truth, env))
    if as_json:
        print(json.dumps({"begin": _local(begin), "end": _local(end), "thresholds": thresholds_doc(settings),
                          "messages": messages, "notices": rows}, ensure_ascii=False, indent=2))
        return 0
    print(f"the last {days} days ({_local(begin)} to {_local(end)}, Beijing), replayed through the shipped "
          f"schedule with a state store: {messages} alert message(s), {len(result.notices)} notice(s)")
    print("\n".join(format_thresholds(settings)))
    if rows:
        width = max(len(app_label(r["app_id"], names)) for r in rows)
        print(f"  {'app':<{width}} {'rule':<22} {'firing':>6} {'resolved':>8}  first             last")
        for row in rows:
            print(f"  {app_label(row['app_id'], names):<{width}} {row['rule']:<22} {row['firing']:>6} "
                  f"{row['resolved']:>8}  {row['first']}  {row['last']}")
    return 0

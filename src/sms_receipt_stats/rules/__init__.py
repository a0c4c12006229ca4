"""Alert rules: one module per rule, found by the registry on its own (like `notify/platforms/`).

A rule module (`success_rate_below.py`, `volume_drop.py`, ...) is named after its rule and
declares everything about it in one `RULE = RuleSpec(...)`: its environment variables (with
defaults and bounds), its en/zh texts, which timer jobs judge it when a state store keeps the
lifecycle, how many clear runs resolve it, and its `judge`: one app's evidence in, a verdict
out (firing with an alert, clear, or unknown). Configuration (`config.load_settings`), the
lifecycle (`state/alerts.py`), silences and rendering read the declarations, so a new rule is
one module here plus its test. How rules decide: docs/alerts.md.

Everything here is pure: results, the hours a state store remembered and the settings in,
verdicts out. The registry loads on first use, not when `handler` is imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    Set,
    Tuple,
)

from sms_receipt_stats.discovery import Lazy
from sms_receipt_stats.variables import Variable
from sms_receipt_stats.vocabulary import JUDGING_JOBS, LANGS, RULE_JOBS

if TYPE_CHECKING:
    from sms_receipt_stats.documents import Alert, AppResult
    from sms_receipt_stats.rules._evidence import Hours, Pool
    from sms_receipt_stats.stats import Stats


class RuleSettings(Protocol):
    """What rules read of the configuration (`config.Thresholds` has it): every declared
    variable's value by field name. A protocol, so `rules` never imports `config`, which reads
    the declarations of this package."""

    def values(self) -> Dict[str, Any]: ...


@dataclass(frozen=True)
class Verdict:
    """A rule's answer for one app (or the whole run, `app_id` None) in one run."""

    state: str  # "firing" | "clear" | "unknown"
    alert: Optional[Alert] = None
    #: consecutive firing runs before the first notice (a transient error must repeat)
    pending_runs: int = 1

    @classmethod
    def firing(cls, alert: Alert, pending_runs: int = 1) -> Verdict:
        return cls("firing", alert, pending_runs)


CLEAR = Verdict("clear")
UNKNOWN = Verdict("unknown")


@dataclass(frozen=True)
class Evidence:
    """What one run knows about one app: its window's result and, with a state store, the
    hours earlier runs saw (`newest` is the window's hour when the window is one API hour)."""

    result: AppResult
    hours: Hours = field(default_factory=dict)
    newest: Optional[int] = None
    #: seconds from the end of the window to the moment it was read
    window_lag: float = 0.0
    #: an hourly check keeps this app's hours in the state store (it judges the hourly rules)
    watched: bool = True
    #: the receipts callback's judgment only: the app's receipts by arrival minute, newest
    #: first (`rules.delivery_failures.Minute`); None in a timer run
    recent: Optional[Sequence[Any]] = None

    @property
    def answered(self) -> bool:
        return self.result.error is None and self.result.stats is not None


@dataclass(frozen=True)
class Context:
    """The settings and circumstances every judge reads."""

    values: Mapping[str, Any]
    lang: str = "en"
    job: str = "report"
    #: a state store remembers earlier runs (hours, alert records)
    stateful: bool = False
    #: the account's balance this run read (`documents.PackagesDoc`, the daily report's), else None
    account: Any = None
    #: every app's evidence in this run, by app id (`assess` sets it: a `combine` looks across apps)
    evidence: Mapping[str, Evidence] = field(default_factory=dict)

    def value(self, name: str) -> Any:
        return self.values[name]

    @property
    def z_fire(self) -> float:
        from sms_receipt_stats.rules._evidence import z_of

        return z_of(self.values["confidence"])

    @property
    def z_clear(self) -> float:
        from sms_receipt_stats.rules._evidence import z_of

        return z_of(CLEAR_CONFIDENCE)

    def below(self, hits: int, n: int, threshold: float, phi: float = 1.0) -> Optional[bool]:
        """Is the rate hits/n below `threshold`? True when even its optimistic bound (at the
        firing confidence) is below, False when its pessimistic bound (at CLEAR_CONFIDENCE) is at
        or above, None when the data cannot tell (docs/alerts.md, *How a rule decides*).

        `phi` is the app's own extra-binomial noise (`spread`): the bounds are those of the
        effective sample size n / phi, phi capped at ALERT_DISPERSION_MAX."""
        from sms_receipt_stats.rules._evidence import inflation, wilson_bounds

        factor = inflation(phi, self.values.get("dispersion_max", 1.0))
        hits_eff, n_eff = hits / factor, n / factor
        if wilson_bounds(hits_eff, n_eff, self.z_fire)[1] < threshold:
            return True
        if wilson_bounds(hits_eff, n_eff, self.z_clear)[0] >= threshold:
            return False
        return None

    def spread(self, evidence: Evidence, hits: Callable[[Stats], int], size: Callable[[Stats], int], *,
               delay_hours: int = 0) -> float:
        """The app's own noise of a rate (`_evidence.dispersion`'s factor) from the hours its
        ledger kept before the ones being judged (1: no ledger, too little history, or
        ALERT_DISPERSION_MAX at 1)."""
        if evidence.newest is None or not evidence.hours or self.values.get("dispersion_max", 1.0) <= 1.0:
            return 1.0
        from sms_receipt_stats.rules._evidence import HOUR, dispersion

        wait = delay_hours * HOUR
        before = evidence.newest - delay_hours - self.values["pool_hours"] + 1
        return dispersion(evidence.hours, hits, size, before, usable=lambda seen: seen.lag >= wait)

    def pool(self, evidence: Evidence, size: Callable[[Stats], int], *, delay_hours: int = 0) -> Optional[Pool]:
        """The evidence a rate verdict rests on: consecutive hours back from the window's hour
        (fewer than `delay_hours` old hours are skipped, and only hours read at least that long
        after their end count), or the window's own totals when no hours are remembered.
        None when the data cannot be judged yet (receipts that can still arrive)."""
        from sms_receipt_stats.rules._evidence import HOUR, Pool, pool_back

        min_size, max_hours = self.values["min_volume"], self.values["pool_hours"]
        if evidence.newest is not None and evidence.hours:
            wait = delay_hours * HOUR
            found = pool_back(evidence.hours, evidence.newest - delay_hours, size, min_size, max_hours,
                              usable=lambda seen: seen.lag >= wait)
            return found if found.hours else None
        stats = evidence.result.stats
        if stats is None or evidence.window_lag < delay_hours * HOUR:
            return None
        return Pool(stats, hours=0)


#: how sure recovery must be (one-sided): the pessimistic bound at this level is back above
#: the threshold. Lower than the firing confidence on purpose: the gap is the hysteresis.
CLEAR_CONFIDENCE = 0.84

#: the variables every rate rule shares
COMMON_VARIABLES = (
    Variable("ALERT_MIN_VOLUME", "min_volume", "count", 100,
             "rate rules need this denominator (pooled over consecutive hours), else no verdict"),
    Variable("ALERT_CONFIDENCE", "confidence", "confidence", 0.99,
             "how sure a rule must be that a rate is below its threshold before it fires"),
    Variable("ALERT_POOL_HOURS", "pool_hours", "hours", 6,
             "most consecutive hours pooled to reach ALERT_MIN_VOLUME (with a state store)"),
    Variable("ALERT_DISPERSION_MAX", "dispersion_max", "number", 4.0,
             "most a rate's variance is widened by the app's own day-to-day noise (1: binomial)",
             low=1.0, high=16.0),
)


@dataclass(frozen=True)
class RuleSpec:
    """Everything the rest of the package knows about one rule."""

    name: str
    #: lang → texts; every language has "title" (a short name) and "message" (a format string)
    texts: Mapping[str, Mapping[str, str]]
    variables: Tuple[Variable, ...] = ()
    #: with a state store, the timer jobs that judge this rule (others leave its alerts alone)
    jobs: Tuple[str, ...] = RULE_JOBS
    #: one app's verdict; None for a rule about the run itself (configuration, state store)
    judge: Optional[Callable[[Evidence, Context], Verdict]] = None
    #: consecutive clear runs before a firing alert is resolved (hourly rules: 2 = one hour)
    clear_runs: int = 2
    #: kept in the state store (fingerprint, lifecycle); False for notes about the run itself
    tracked: bool = True
    #: turns the run's per-app verdicts into the ones to keep (`api_error` groups account-wide failures)
    combine: Optional[Callable[[List[Tuple[AppResult, Verdict]], Context],
                               List[Tuple[Optional[str], Verdict]]]] = None
    #: checks across variables; may correct `values` and returns (variable, problem) pairs
    check: Optional[Callable[[Dict[str, Any]], List[Tuple[str, str]]]] = None

    def text(self, lang: str, key: str = "message", **values: Any) -> str:
        table = self.texts.get(lang) or self.texts["en"]
        return table.get(key, self.texts["en"][key]).format(**values)

    def title(self, lang: str) -> str:
        return self.text(lang, "title")


@dataclass(frozen=True)
class Registry:
    rules: Tuple[RuleSpec, ...]
    by_name: Dict[str, RuleSpec]
    variables: Tuple[Variable, ...]

    def rule(self, name: str) -> Optional[RuleSpec]:
        return self.by_name.get(name)


def discover(paths: Optional[Sequence[str]] = None) -> Registry:
    """Import every rule module (in name order) and index what they declare."""
    from sms_receipt_stats.discovery import declarations

    found: List[RuleSpec] = []
    for module, spec in declarations(__path__ if paths is None else paths, __name__, "RULE", RuleSpec):
        problems = []
        if spec.name != module.rsplit(".", 1)[-1]:
            problems.append(f"declares rule {spec.name!r}: a rule module is named after its rule")
        for lang in LANGS:
            if not {"title", "message"} <= set(spec.texts.get(lang, {})):
                problems.append(f"needs a title and a message in {lang}")
        if not set(spec.jobs) <= set(JUDGING_JOBS) or spec.clear_runs < 1:
            problems.append(f"jobs must be among {JUDGING_JOBS} and clear_runs at least 1")
        if problems:
            raise RuntimeError(f"rule module {module}: " + "; ".join(problems))
        found.append(spec)
    variables: Dict[str, Variable] = {v.env: v for v in COMMON_VARIABLES}
    for spec in found:
        for variable in spec.variables:
            if variables.setdefault(variable.env, variable) != variable:
                raise RuntimeError(f"variable {variable.env} is declared differently by two rule modules")
    return Registry(tuple(found), {r.name: r for r in found}, tuple(variables.values()))


_registry: Lazy[Registry] = Lazy(lambda: discover())


def registry() -> Registry:
    """The registry of this package's rule modules, built on first use."""
    return _registry.get()


def reset() -> None:
    """Forget the registry, so the next `registry()` looks for modules again (tests)."""
    _registry.reset()


def rule(name: str) -> Optional[RuleSpec]:
    return registry().rule(name)


def title(name: str, lang: str = "en") -> str:
    """A rule's short name in `lang`; an unknown rule (a record of another version) by its name."""
    spec = rule(name)
    return spec.title(lang) if spec is not None else name


def app_label(result: AppResult) -> str:
    return f"{result.app_name} ({result.app_id})" if result.app_name else result.app_id


def receipt_codes_note(spec: RuleSpec, result: AppResult, lang: str) -> str:
    """The rule's `codes` text naming the app's top failing receipt codes (pushed receipts,
    docs/http-api.md, *Receipts*), to end a rate alert's message; empty when the run has none."""
    from sms_receipt_stats.receipts.codes import top_failing

    listed = top_failing(result.receipt_codes or [])
    return spec.text(lang, "codes", codes=listed) if listed else ""


#: how a span of hours reads, per language: whole days from two days up
SPAN_UNITS: Mapping[str, Tuple[str, str]] = {"en": ("{n} h", "{n} d"), "zh": ("{n} 小时", "{n} 天")}


def span_text(lang: str, hours: int) -> str:
    """`2 h`, `24 h`, `7 d` (zh `2 小时`, `7 天`): how long the evidence of a verdict spans."""
    in_hours, in_days = SPAN_UNITS.get(lang) or SPAN_UNITS["en"]
    if hours >= 48 and hours % 24 == 0:
        return in_days.format(n=hours // 24)
    return in_hours.format(n=hours)


def evidence_hours(pool: Pool, result: AppResult) -> int:
    """The hours a pool spans: those pooled, or (no hours remembered: the window's own totals)
    the whole window's, so a daily report's verdict says 24 h and not 1."""
    if pool.hours:
        return pool.hours
    counted = result.window.counted
    if counted is not None and counted.hours:
        return counted.hours
    from sms_receipt_stats.windows import hour_label

    begin, end = hour_label(result.window.begin), hour_label(result.window.end)
    if begin is None or end is None or end <= begin:
        return 1
    return max(1, int((end - begin).total_seconds() // 3600))


def context_of(thresholds: RuleSettings, lang: str = "en", job: str = "report", stateful: bool = False,
               account: Any = None) -> Context:
    return Context(values=thresholds.values(), lang=lang, job=job, stateful=stateful, account=account)


@dataclass
class Assessment:
    """A run's verdicts: the alerts firing now and the (app_id, rule) pairs found clear."""

    alerts: List[Alert] = field(default_factory=list)
    clear: Set[Tuple[Optional[str], str]] = field(default_factory=set)
    #: (app_id, rule, code) → consecutive firing runs needed before the first notice
    pending: Dict[Tuple[Optional[str], str, Optional[str]], int] = field(default_factory=dict)
    #: the rules this run judged (with a state store: those owned by its job)
    judged: Set[str] = field(default_factory=set)


def assess(results: Sequence[AppResult], ctx: Context,
           evidence: Optional[Mapping[str, Evidence]] = None) -> Assessment:
    """Judge every app against every rule this run owns (all rules when stateless)."""
    out = Assessment()
    evidence = evidence or {}
    ctx = replace(ctx, evidence=evidence)
    for spec in registry().rules:
        if spec.judge is None:
            continue
        judged = [r for r in results if _judges(spec, ctx, evidence.get(r.app_id))]
        if not judged:
            continue
        out.judged.add(spec.name)
        verdicts = [(r, spec.judge(evidence.get(r.app_id) or Evidence(result=r), ctx)) for r in judged]
        kept = spec.combine(verdicts, ctx) if spec.combine else [(r.app_id, v) for r, v in verdicts]
        for app_id, verdict in kept:
            if verdict.state == "clear":
                out.clear.add((app_id, spec.name))
            elif verdict.state == "firing" and verdict.alert is not None:
                out.alerts.append(verdict.alert)
                if verdict.pending_runs > 1:
                    alert = verdict.alert
                    out.pending[(alert.app_id, alert.rule, alert.code)] = verdict.pending_runs
    order = {r.app_id: i for i, r in enumerate(results)}  # the apps' order, then the rules': a stable sort
    out.alerts.sort(key=lambda a: order.get(a.app_id, -1) if a.app_id is not None else -1)
    return out


def _judges(spec: RuleSpec, ctx: Context, evidence: Optional[Evidence]) -> bool:
    """Does this run judge this rule for this app? Without a state store every run judges every
    rule; with one, the jobs the rule names do, and the daily report also judges the hourly
    check's rules for an app no hourly check watches (a deployment with the report alone)."""
    if not ctx.stateful or ctx.job in spec.jobs:
        return True
    return ctx.job == "report" and "check" in spec.jobs and evidence is not None and not evidence.watched


def evaluate(results: Sequence[AppResult], thresholds: RuleSettings, lang: str = "en") -> List[Alert]:
    """The alerts of results judged on their own as final numbers (every receipt in, no state
    store): every rule, every app. A timer job uses `assess` with what it knows of the data."""
    final = {r.app_id: Evidence(result=r, window_lag=float("inf")) for r in results}
    return assess(list(results), context_of(thresholds, lang), final).alerts


def evaluate_app(result: AppResult, thresholds: RuleSettings, lang: str = "en") -> List[Alert]:
    return evaluate([result], thresholds, lang)


def state_alert(problem: str, lang: str = "en") -> Alert:
    """`state_unavailable`: the run went on stateless; says so once, as a warning."""
    from sms_receipt_stats.documents import Alert

    spec = registry().by_name["state_unavailable"]
    return Alert(rule="state_unavailable", severity="warning", message=spec.text(lang, problem=problem))


def config_alerts(issues: Iterable[str], lang: str = "en") -> List[Alert]:
    from sms_receipt_stats.documents import Alert

    spec = registry().by_name["config_error"]
    return [Alert(rule="config_error", severity="critical", message=spec.text(lang, issue=issue),
                  code="ConfigError") for issue in issues]

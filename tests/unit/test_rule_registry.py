"""The rule registry: every rule module is found by itself, and a new rule is one file (docs/alerts.md)."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest

from sms_receipt_stats import rules
from sms_receipt_stats.config import load_settings
from sms_receipt_stats.documents import AppResult, WindowDoc
from sms_receipt_stats.rules import Context, assess, registry
from sms_receipt_stats.state.alerts import track_alerts
from sms_receipt_stats.state.silences import new_silence
from sms_receipt_stats.state.store import GuardedStore
from sms_receipt_stats.stats import Stats, compute_rates
from sms_receipt_stats.vocabulary import VOCABULARY, rule_names
from support import NOW

#: a throwaway rule, written as a new module of the package would be
DELIVERY_MODULE = '''
from sms_receipt_stats.rules import CLEAR, UNKNOWN, RuleSpec, Variable, Verdict, app_label


def judge(evidence, ctx):
    stats = evidence.result.stats
    if stats is None or stats.RequestSuccessCount < ctx.value("min_volume"):
        return UNKNOWN
    from sms_receipt_stats.documents import Alert

    rate = stats.CallbackSuccessCount / stats.RequestSuccessCount
    if rate < ctx.value("delivery_rate_min"):
        return Verdict.firing(Alert(rule=RULE.name, severity="warning", app_id=evidence.result.app_id, value=rate,
                                    threshold=ctx.value("delivery_rate_min"),
                                    message=RULE.text(ctx.lang, app=app_label(evidence.result), value=rate)))
    return CLEAR


RULE = RuleSpec(
    name="delivery_rate_below",
    texts={"en": {"title": "delivery rate below threshold", "message": "{app}: delivery rate {value:.0%}"},
           "zh": {"title": "送达率低于阈值", "message": "{app}：送达率 {value:.0%}"}},
    variables=(Variable("ALERT_DELIVERY_RATE_MIN", "delivery_rate_min", "fraction", 0.6, "warn below"),),
    jobs=("check",),
    judge=judge,
    clear_runs=3,
)
'''


@pytest.fixture
def fresh_registry() -> Iterator[None]:
    """Forget the registry before and after, so a test's extra module never leaks into another."""
    rules.reset()
    yield
    rules.reset()


@pytest.fixture
def extra_rule_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_registry: None) -> Iterator[Path]:
    """A directory the package also looks in: a module dropped there is a new rule module."""
    monkeypatch.setattr(rules, "__path__", [*rules.__path__, str(tmp_path)])
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("sms_receipt_stats.rules.") and m.endswith("_below")
                 and "delivery" in m]:
        del sys.modules[name]


def test_the_package_rules_are_found_without_a_list() -> None:
    reg = registry()
    assert set(reg.by_name) == {"success_rate_below", "receipt_rate_below", "success_rate_drop", "volume_drop",
                                "api_error", "config_error", "state_unavailable", "package_low", "submit_rejected",
                                "delivery_failures"}
    assert set(rule_names()) == set(reg.by_name) <= VOCABULARY
    assert {v.env for v in reg.variables} == {
        "ALERT_MIN_VOLUME", "ALERT_CONFIDENCE", "ALERT_POOL_HOURS", "ALERT_SUCCESS_RATE_MIN",
        "ALERT_SUCCESS_RATE_CRITICAL", "ALERT_RECEIPT_RATE_MIN", "ALERT_RECEIPT_DELAY", "ALERT_DROP_POINTS",
        "ALERT_VOLUME_DROP", "PACKAGE_WARN_DAYS", "PACKAGE_CRIT_DAYS", "PACKAGE_MIN_MESSAGES",
        "ALERT_ACCEPT_RATE_MIN", "ALERT_DISPERSION_MAX", "ALERT_RECEIPT_WINDOW", "ALERT_RECEIPT_FAIL_MAX",
        "ALERT_RECEIPT_FAIL_RISE"}


def test_declared_defaults_are_the_settings_defaults() -> None:
    from sms_receipt_stats.config import Thresholds

    defaults = Thresholds().values()
    for variable in registry().variables:
        assert defaults[variable.field] == variable.default, variable.env


def test_a_module_that_contradicts_itself_fails_loudly(extra_rule_dir: Path) -> None:
    (extra_rule_dir / "misnamed.py").write_text(DELIVERY_MODULE, encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"misnamed.*named after its rule"):
        registry()


def test_a_new_rule_is_one_module(extra_rule_dir: Path) -> None:
    (extra_rule_dir / "delivery_rate_below.py").write_text(DELIVERY_MODULE, encoding="utf-8")
    # configuration reads its variable, with the same checks as every other
    settings, issues = load_settings({"ALERT_DELIVERY_RATE_MIN": "0.75"})
    assert settings.thresholds.values()["delivery_rate_min"] == 0.75 and issues == []
    _, issues = load_settings({"ALERT_DELIVERY_RATE_MIN": "1.5"})
    assert [str(i) for i in issues] == ["ALERT_DELIVERY_RATE_MIN: '1.5' is outside 0..1; using 0.6"]
    # the check job judges it, in either language
    poor = Stats(RequestSuccessCount=1000, CallbackCount=900, CallbackSuccessCount=500, CallbackFailCount=400)
    app = AppResult(app_id="1400006874", window=WindowDoc(begin="2026112508", end="2026112509", timezone="UTC"),
                    stats=poor, rates=compute_rates(poor))
    values = settings.thresholds.values()
    [alert] = [a for a in assess([app], Context(values, "zh", "check", True)).alerts
               if a.rule == "delivery_rate_below"]
    assert alert.message == "1400006874：送达率 50%"
    assert rules.title("delivery_rate_below", "en") == "delivery rate below threshold"
    # silences match it, and the lifecycle resolves it after its own three clear runs
    new_silence({"matchers": {"rule": "delivery_rate_below"}, "ends_at": (NOW + timedelta(hours=1)).isoformat(),
                 "created_by": "ops", "comment": "known"}, NOW)
    store = GuardedStore(_memory_store())
    clear = {("1400006874", "delivery_rate_below")}
    track_alerts(store, [alert], set(), NOW, repeat=timedelta(hours=4), tz="UTC")
    statuses = [[a.status for a in track_alerts(store, [], clear, NOW + timedelta(hours=h), repeat=timedelta(hours=4),
                                                tz="UTC") or []] for h in (1, 2, 3)]
    assert statuses == [["firing"], ["firing"], ["resolved"]]


def _memory_store():
    from sms_receipt_stats.state.flow import open_store

    return open_store("sqlite:///:memory:", "t:")

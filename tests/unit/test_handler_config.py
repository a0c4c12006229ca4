"""No environment makes `main_handler` raise: every declared variable, fed pathological values,
through a timer event and an HTTP event. A refused value is a `config_error` naming the variable
(timer result; an HTTP answer stays the route's own, and the log names the variable)."""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Dict, List

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from sms_receipt_stats import app
from sms_receipt_stats.config import Thresholds, declared_variables, load_settings
from strategies import hostile_text
from support import base_env, check_http_response, check_result_document, read_event, stats_event

Invoke = Callable[..., Dict[str, Any]]

#: values that have broken configuration loaders: Python's integer-string limit, floats that are
#: not numbers, durations of millennia, signs, blanks, control and look-alike characters
PATHOLOGICAL = {
    "digits5000": "9" * 5000,
    "nan": "NaN",
    "inf": "inf",
    "-inf": "-inf",
    "1e300": "1e300",
    "-1e300": "-1e300",
    "999999d": "999999d",
    "negative": "-1",
    "negative-duration": "-5h",
    "empty": "",
    "blank": " \t ",
    "nul": "\x00",
    "escape": "a\x1b[31mb",
    "newline": "1\n2",
    "rtl": "\u202e12",
    "fullwidth-digits": "１２",
    "arabic-digits": "١٢",
    "huge-text": "x" * 70000,
}
NUMERIC = ("duration", "hours", "count", "fraction", "confidence", "number")
DECLARED = {v.env: v for v in declared_variables()}


def _issue_variables(env: Dict[str, str]) -> List[str]:
    return [i.variable for i in load_settings(env)[1]]


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_no_value_of_any_variable_makes_a_timer_run_raise(name: str, invoke: Invoke) -> None:
    variable = DECLARED[name]
    for label, raw in PATHOLOGICAL.items():
        env = base_env(**{name: raw})
        doc = check_result_document(invoke(read_event("timer_default"), env=env))
        refused = name in _issue_variables(env)
        named = [a for a in doc["alerts"] if a["rule"] == "config_error" and name in a["message"]]
        if refused or name != "SMS_SDK_APP_IDS":  # unset apps are the timer's own issue
            assert bool(named) == refused, (label, doc["alerts"])
        if not refused and variable.field and variable.kind in NUMERIC:  # accepted: within its bounds
            settings = load_settings(env)[0]
            value = getattr(settings.thresholds if variable.field in Thresholds.model_fields else settings,
                            variable.field)
            low, high = variable.bounds()
            assert math.isfinite(value) and low <= value <= high, (label, value)
        if variable.kind in NUMERIC and label not in ("empty", "blank"):
            assert refused, label  # none of these is a number in bounds


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_no_value_of_any_variable_makes_an_http_event_raise(name: str, invoke: Invoke,
                                                            capsys: pytest.CaptureFixture) -> None:
    for label, raw in PATHOLOGICAL.items():
        env = base_env(**{name: raw})
        capsys.readouterr()
        check_http_response(invoke(stats_event(), env=env))
        logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
        warned = [e["message"] for e in logged if e.get("code") == "ConfigError"]
        if name in _issue_variables(env):
            assert warned and name in warned[0], (label, warned)
            if label != "digits5000":
                assert raw.strip()[:12] not in warned[0] or not raw.strip()  # names, never values


@pytest.mark.parametrize("env", [
    {"ALERT_RECEIPT_DELAY": "999999d"},
    {"SETTLE_HOURS": "9" * 5000},
    {"ALERT_REPEAT_INTERVAL": "999999d", "STATE_URL": "sqlite:///:memory:"},
], ids=["receipt-delay", "settle-hours", "repeat-interval"])
def test_the_outside_rounds_values_are_config_errors_of_a_check(env: Dict[str, str], invoke: Invoke) -> None:
    doc = check_result_document(invoke(read_event("timer_check_last_hour"), env=base_env(**env)))
    assert not [e for e in doc["errors"] if e.startswith("internal error")]
    named = [a["message"] for a in doc["alerts"] if a["rule"] == "config_error"]
    assert [n for n in named if any(v in n for v in env if v != "STATE_URL")], named


def test_a_configuration_that_cannot_load_is_answered(monkeypatch: pytest.MonkeyPatch, invoke: Invoke) -> None:
    """The guard covers loading itself: a bug there answers, it never raises."""
    def broken(env: Any) -> Any:
        raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")

    monkeypatch.setattr(app, "load_settings", broken)
    doc = check_result_document(invoke(read_event("timer_default")))
    alerts = [a["message"] for a in doc["alerts"] if a["rule"] == "config_error"]
    assert [m for m in alerts if "configuration: could not be loaded (ValueError); using the defaults" in m]
    assert "4300" not in json.dumps(doc)  # the exception's words are not ours to repeat
    status, _ = check_http_response(invoke(stats_event()))
    assert status == 401  # the defaults: no token is configured, so the lookup is refused (fails closed)
    status, body = check_http_response(invoke(read_event("apigw_health")))
    assert status == 200 and body["status"] == "ok"


@hyp_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(sorted(DECLARED)),
                       st.one_of(hostile_text, st.sampled_from(list(PATHOLOGICAL.values()))), min_size=1, max_size=6))
def test_several_bad_variables_at_once_are_each_named(invoke: Invoke, bad: Dict[str, str]) -> None:
    """One refused variable never hides another: each is a config_error of its own."""
    env = base_env(**bad)
    doc = check_result_document(invoke(read_event("timer_default"), env=env))
    messages = " | ".join(a["message"] for a in doc["alerts"] if a["rule"] == "config_error")
    for name in set(_issue_variables(env)):
        assert name in messages, (name, messages)

"""Declared variables: every environment variable is declared by the module that reads it
(`variables.Variable`), parsed by its kind within bounds, and a new one needs no edit of `config`."""

from __future__ import annotations

import math
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from pydantic import SecretStr

from sms_receipt_stats import variables
from sms_receipt_stats.config import Settings, Thresholds, declared_variables, load_settings
from sms_receipt_stats.variables import KIND_BOUNDS, Variable
from strategies import hostile_text
from support import base_env

#: kinds whose value is a number within bounds
NUMERIC = ("duration", "hours", "count", "fraction", "confidence", "number")

#: a module of a new feature, written as a new module of the package would be
FAX_MODULE = '''
from sms_receipt_stats.variables import Variable

VARIABLES = (
    Variable("FAX_TIMEOUT", "fax_timeout", "duration", 30.0, "how long a fax may take", high=600),
    Variable("FAX_PAGES", "fax_pages", "count", 10, "most pages of one fax", high=50),
    Variable("FAX_PASSWORD", "fax_password", "secret", None, "the fax gateway's password", low=8, secret=True,
             fallback="faxes are off"),
)
'''


@pytest.fixture
def fax_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A module declaring three variables, found through `variables.DECLARING` alone."""
    (tmp_path / "fax_gateway_vars.py").write_text(textwrap.dedent(FAX_MODULE), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(variables, "DECLARING", (*variables.DECLARING, "fax_gateway_vars"))
    variables.reset()
    yield "fax_gateway_vars"
    variables.reset()
    sys.modules.pop("fax_gateway_vars", None)


def test_every_variable_is_declared_once_with_a_known_kind() -> None:
    declared = declared_variables()
    names = [v.env for v in declared]
    assert len(names) == len(set(names))
    for name in ("SMS_SDK_APP_IDS", "SMS_API_RPS", "SMS_ENDPOINT", "REPORT_TIMEZONE", "REPORT_LANG", "NOTIFY_URLS",
                 "API_TOKENS", "API_AUTH", "API_ALLOWED_APP_IDS", "STATE_URL", "STATE_PREFIX", "SETTLE_HOURS",
                 "ALERT_REPEAT_INTERVAL", "PUBLIC_URL", "LINK_SECRET", "HEARTBEAT_URL", "RECEIPTS_SECRET",
                 "ALERT_RECEIPT_DELAY", "TENCENTCLOUD_SECRETKEY"):
        assert name in names
    for variable in declared:
        assert variable.parse is not None or variable.kind in variables.KINDS, variable.env
        low, high = variable.bounds()
        assert math.isfinite(low) and math.isfinite(high) and low <= high, variable.env


def test_each_declaration_sits_in_the_module_that_reads_it() -> None:
    where = {v.env: name for name in variables.DECLARING
             for v in getattr(sys.modules.get(name) or __import__(name, fromlist=["_"]), "VARIABLES", ())}
    assert where["SETTLE_HOURS"] == where["STATE_URL"] == "sms_receipt_stats.state"
    assert where["API_TOKENS"] == "sms_receipt_stats.http" and where["LINK_SECRET"] == "sms_receipt_stats.links"
    assert where["REPORT_TIMEZONE"] == "sms_receipt_stats.windows"
    assert where["NOTIFY_URLS"] == "sms_receipt_stats.notify.urls"


def test_declared_defaults_are_the_settings_defaults() -> None:
    """`Settings()` built without the environment and `load_settings({})` agree field by field."""
    plain, loaded = Settings(), load_settings({})[0]
    for variable in declared_variables():
        if variable.field is None:
            continue
        model = Thresholds() if variable.field in Thresholds.model_fields else plain
        got = getattr(model, variable.field)
        assert got == getattr(loaded.thresholds if model is not plain else loaded, variable.field), variable.env
        if variable.default is not None:
            assert got == variable.default, variable.env


@pytest.mark.parametrize("variable, raw, words", [
    ("ALERT_RECEIPT_DELAY", "999999d", "'999999d' is outside 1s..7d; using 2h"),
    ("ALERT_RECEIPT_DELAY", "8d", "outside 1s..7d"),
    ("ALERT_REPEAT_INTERVAL", "31d", "'31d' is outside 1s..30d; using 4h"),
    ("SETTLE_HOURS", "9" * 5000, "the value is not a whole number of hours between 1 and 8784; using 72"),
    ("SETTLE_HOURS", "8785", "'8785' is not a whole number of hours between 1 and 8784"),
    ("ALERT_MIN_VOLUME", "1e300", "'1e300' is not a whole number from 0 to 1e+09"),
    ("ALERT_MIN_VOLUME", "1000000001", "is outside 0..1e+09"),
    ("ALERT_CONFIDENCE", "nan", "the value is not a number between 0.5 and 0.9999"),
    ("ALERT_DROP_POINTS", "inf", "the value is not a number between 0 and 1"),
    ("SMS_API_RPS", "１０", "not a number of requests per second"),
    ("ALERT_POOL_HOURS", "٦", "is not a whole number from 1 to 48"),
])
def test_every_number_and_duration_is_bounded(variable: str, raw: str, words: str) -> None:
    _, issues = load_settings(base_env(**{variable: raw}))
    [issue] = issues
    assert issue.variable == variable and words in issue.message, issue.message


def test_bounds_still_admit_the_documented_values() -> None:
    settings, issues = load_settings(base_env(ALERT_RECEIPT_DELAY="7d", ALERT_REPEAT_INTERVAL="30d",
                                              SETTLE_HOURS="8784", ALERT_POOL_HOURS="48"))
    assert issues == []
    assert (settings.thresholds.receipt_delay, settings.repeat_interval) == (7 * 86400, 30 * 86400)
    assert (settings.settle_hours, settings.thresholds.pool_hours) == (8784, 48)


# -- secrets that are coming -----------------------------------------------------------------


def test_heartbeat_url_and_receipts_secret_are_secrets() -> None:
    url = "https://hc-ping.com/0f1e2d3c-aaaa-bbbb-cccc-canaryheartbeat"
    settings, issues = load_settings(base_env(HEARTBEAT_URL=url, RECEIPTS_SECRET="canary-receipts-secret-0010"))
    assert issues == []
    assert isinstance(settings.heartbeat_url, SecretStr) and settings.heartbeat_url.get_secret_value() == url
    assert isinstance(settings.receipts_secret, SecretStr)
    assert {url, "canary-receipts-secret-0010"} <= set(settings.secret_values())
    shown = repr(settings) + settings.model_dump_json() + str(settings.model_dump())
    assert "canaryheartbeat" not in shown and "canary-receipts-secret" not in shown


@pytest.mark.parametrize("variable, raw, words", [
    ("HEARTBEAT_URL", "ftp://hc-ping.com/canary-uuid-0011", "is not an http(s) URL"),
    ("HEARTBEAT_URL", "https://hc-ping.com/canary uuid 0011", "no spaces"),
    ("HEARTBEAT_URL", "https://hc-ping.com:99999/canary-uuid-0011", "is not an http(s) URL"),
    ("HEARTBEAT_URL", "canary-uuid-0011", "is not an http(s) URL"),
    ("RECEIPTS_SECRET", "canary-0011", "shorter than 16 characters; the receipts callback is off"),
    ("RECEIPTS_SECRET", "canary-receipts\x00secret-0011", "contains a control character"),
])
def test_a_refused_secret_is_never_quoted_but_still_masked(variable: str, raw: str, words: str) -> None:
    settings, issues = load_settings(base_env(**{variable: raw}))
    [issue] = issues
    assert issue.variable == variable and words in issue.message
    assert "canary" not in issue.message and "0011" not in issue.message
    assert settings.heartbeat_url is None and settings.receipts_secret is None
    assert raw in settings.secret_values()  # refused, unused, and still masked in every output


# -- a new variable is one declaration ---------------------------------------------------------------


def test_a_dropped_in_declaration_is_parsed_without_touching_config(fax_module: str) -> None:
    settings, issues = load_settings(base_env(FAX_TIMEOUT="2m", FAX_PAGES="12", FAX_PASSWORD="canary-fax-pw-12"))
    assert issues == []
    assert settings.value("fax_timeout") == 120.0 and settings.value("fax_pages") == 12
    assert settings.value("fax_password") == SecretStr("canary-fax-pw-12")
    assert "canary-fax-pw-12" in settings.secret_values() and "canary-fax-pw-12" not in repr(settings)
    defaults, issues = load_settings(base_env())
    assert issues == [] and defaults.value("fax_timeout") == 30.0 and defaults.value("fax_pages") == 10


def test_a_dropped_in_declaration_is_bounded_and_named(fax_module: str) -> None:
    settings, issues = load_settings(base_env(FAX_TIMEOUT="999999d", FAX_PAGES="9" * 5000, FAX_PASSWORD="canary"))
    assert [str(i) for i in issues] == [
        "FAX_TIMEOUT: '999999d' is outside 1s..10m; using 30s",
        "FAX_PAGES: the value is not a whole number from 0 to 50; using 10",
        "FAX_PASSWORD: shorter than 8 characters; faxes are off",
    ]
    assert settings.value("fax_timeout") == 30.0 and settings.value("fax_password") is None


def test_a_variable_declared_twice_fails_loudly(fax_module: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "fax_twin_vars.py").write_text(FAX_MODULE.replace("high=600", "high=60"), encoding="utf-8")
    monkeypatch.setattr(variables, "DECLARING", (*variables.DECLARING, "fax_twin_vars"))
    try:
        with pytest.raises(RuntimeError, match="FAX_TIMEOUT is declared twice"):
            variables.discover()
    finally:
        sys.modules.pop("fax_twin_vars", None)


# -- no value makes loading raise ----------------------------------------------------------------------


def _in_bounds(variable: Variable, value: Any) -> bool:
    low, high = variable.bounds()
    return isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high


@hyp_settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_value_of_any_variable_is_a_setting_within_bounds_or_an_issue_naming_it(data: st.DataObject) -> None:
    declared = declared_variables()
    variable = data.draw(st.sampled_from(declared))
    raw = data.draw(st.one_of(hostile_text, st.sampled_from([
        "9" * 5000, "nan", "-inf", "1e300", "999999d", "-1", "１２", "٣", "0x10", "1_000", "\x00", "5\n5"])))
    settings, issues = load_settings(base_env(**{variable.env: raw}))
    known = {v.env for v in declared}
    assert {i.variable for i in issues} <= known | {"ALERT_SUCCESS_RATE_CRITICAL"}
    if variable.field and variable.kind in NUMERIC and variable.kind in KIND_BOUNDS:
        value = getattr(settings.thresholds if variable.field in Thresholds.model_fields else settings,
                        variable.field)
        assert _in_bounds(variable, value), (variable.env, value)

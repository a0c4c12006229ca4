"""Configuration of the state: STATE_URL, STATE_PREFIX, SETTLE_HOURS, ALERT_REPEAT_INTERVAL, ALERT_DROP_POINTS."""

from __future__ import annotations

from typing import Any, Callable, Dict

import pytest

from sms_receipt_stats.config import load_settings, parse_duration
from support import base_env, read_event


def issues_of(**env: str) -> Dict[str, str]:
    _, issues = load_settings(base_env(**env))
    return {i.variable: i.message for i in issues}


def test_defaults_are_stateless() -> None:
    settings, issues = load_settings(base_env())
    assert not issues
    assert settings.state_url is None and settings.state_prefix == "sms-receipt-stats:"
    assert settings.settle_hours == 72 and settings.repeat_interval == 4 * 3600
    assert settings.thresholds.drop_points == 0.05


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("30m", 1800), ("4h", 14400), ("1d", 86400),
                                           (" 2H ", 7200)])
def test_repeat_interval_units(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
    settings, issues = load_settings(base_env(ALERT_REPEAT_INTERVAL=text))
    assert not issues and settings.repeat_interval == seconds


@pytest.mark.parametrize("bad", ["4", "0h", "-1h", "1w", "1.5h", "h", "４h"])
def test_a_bad_repeat_interval_names_the_variable_and_keeps_4h(bad: str) -> None:
    settings, issues = load_settings(base_env(ALERT_REPEAT_INTERVAL=bad))
    assert [i.variable for i in issues] == ["ALERT_REPEAT_INTERVAL"]
    assert "90s, 30m, 4h or 1d" in issues[0].message
    assert settings.repeat_interval == 4 * 3600


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "redis://:pw@10.0.0.5:6379/3", "rediss://h:6380",
                                 "redis://user:pw@h", "sqlite:///state.db", "sqlite:////tmp/state.db"])
def test_good_state_urls(url: str) -> None:
    settings, issues = load_settings(base_env(STATE_URL=url))
    assert not issues and settings.state_url is not None


@pytest.mark.parametrize("url, words", [
    ("http://h:6379", "scheme must be redis://, rediss:// or sqlite:///"),
    ("redis://:s3cret-pw@/0", "needs a host"),
    ("redis://:s3cret-pw@h:6379/zero", "database number"),
    ("redis://:s3cret-pw@h:99999/0", "not a URL"),
    ("sqlite://", "file path"),
    ("sqlite://host/x.db", "file path"),
])
def test_a_bad_state_url_is_a_config_issue_without_the_password(url: str, words: str) -> None:
    settings, issues = load_settings(base_env(STATE_URL=url))
    assert [i.variable for i in issues] == ["STATE_URL"]
    assert words in issues[0].message and "running stateless" in issues[0].message
    assert "s3cret-pw" not in issues[0].message
    assert settings.state_url is None


def test_the_state_password_is_a_secret_everywhere() -> None:
    settings, _ = load_settings(base_env(STATE_URL="redis://:s3cret-pw@10.0.0.5:6379/0"))
    assert "s3cret-pw" in settings.secret_values()
    assert "s3cret-pw" not in settings.model_dump_json() and "s3cret-pw" not in repr(settings)
    broken, _ = load_settings(base_env(STATE_URL="redis://:s3cret-pw@h:99999/0"))
    assert "s3cret-pw" in broken.secret_values()  # masked even when the URL is refused


def test_a_bad_state_url_in_a_timer_run_is_a_config_error_alert(invoke: Callable[..., Dict[str, Any]]) -> None:
    doc = invoke(read_event("timer_default"), env=base_env(STATE_URL="redis://:s3cret-pw@h:99999/0"))
    assert doc["results"]  # the report still runs, stateless
    [alert] = [a for a in doc["alerts"] if a["rule"] == "config_error"]
    assert alert["message"].startswith("Configuration problem: STATE_URL")
    assert "s3cret-pw" not in str(doc)


@pytest.mark.parametrize("var, bad, default_words", [
    ("STATE_PREFIX", "has space", "using sms-receipt-stats:"),
    ("STATE_PREFIX", "x" * 65, "using sms-receipt-stats:"),
    ("SETTLE_HOURS", "0", "using 72"),
    ("SETTLE_HOURS", "3d", "using 72"),
    ("ALERT_DROP_POINTS", "5", "outside 0..1"),
    ("ALERT_DROP_POINTS", "five", "not a number"),
])
def test_other_state_variables_are_validated(var: str, bad: str, default_words: str) -> None:
    found = issues_of(**{var: bad})
    assert list(found) == [var] and default_words in found[var]


def test_valid_tuning() -> None:
    settings, issues = load_settings(base_env(STATE_PREFIX="fn-a:", SETTLE_HOURS="48", ALERT_DROP_POINTS="0.1"))
    assert not issues
    assert (settings.state_prefix, settings.settle_hours, settings.thresholds.drop_points) == ("fn-a:", 48, 0.1)


@pytest.mark.parametrize("var, pasted", [
    ("STATE_PREFIX", "sk-live secret"),
    ("STATE_PREFIX", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE-too-long-for-a-prefix-and-then-some-more-chars"),
    ("SETTLE_HOURS", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    ("ALERT_REPEAT_INTERVAL", "Bearer abc123token"),
])
def test_a_bad_non_numeric_value_is_never_quoted(var: str, pasted: str) -> None:
    """A value in the wrong variable may be a secret pasted there: only number-like ones are echoed."""
    found = issues_of(**{var: pasted})
    assert list(found) == [var]
    for n in range(6, len(pasted) + 1):  # not even a prefix of it
        assert pasted[:n] not in found[var], found[var]
    assert "the value" in found[var]


@pytest.mark.parametrize("var, bad", [("SETTLE_HOURS", "0"), ("SETTLE_HOURS", "9999"),
                                      ("ALERT_REPEAT_INTERVAL", "-5"), ("STATE_PREFIX", "1.5e+3+")])
def test_a_bad_number_like_value_is_quoted(var: str, bad: str) -> None:
    found = issues_of(**{var: bad})
    assert repr(bad) in found[var], found

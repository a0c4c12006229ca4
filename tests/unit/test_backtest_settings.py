"""`backtest --set`: the settings compared, parsed like the environment, and the thresholds shown."""

from __future__ import annotations

import pytest

from sms_receipt_stats.config import load_settings
from sms_receipt_stats.dev.backtest import command
from sms_receipt_stats.rules import registry


def test_set_values_make_the_cross_product_in_order():
    combos = command.parse_sets(["ALERT_CONFIDENCE=0.95,0.99", "ALERT_MIN_VOLUME=50, 100,200"], {})
    assert len(combos) == 6
    assert combos[0] == {"ALERT_CONFIDENCE": "0.95", "ALERT_MIN_VOLUME": "50"}
    assert combos[-1] == {"ALERT_CONFIDENCE": "0.99", "ALERT_MIN_VOLUME": "200"}
    assert command.parse_sets([], {}) == []
    assert command.parse_sets(["ALERT_REPEAT_INTERVAL=2h"], {}) == [{"ALERT_REPEAT_INTERVAL": "2h"}]


@pytest.mark.parametrize("given, message", [
    (["ALERT_CONFIDENCE=1.5"], "--set ALERT_CONFIDENCE: '1.5' is outside 0.5..0.9999"),
    (["ALERT_CONFIDENCE=0.9,abc"], "--set ALERT_CONFIDENCE: the value is not a number between 0.5 and 0.9999"),
    (["ALERT_RECEIPT_DELAY=2 hours"], "--set ALERT_RECEIPT_DELAY: the value is not a duration"),
    (["ALERT_CONFIDENCE"], "--set ALERT_CONFIDENCE: expected NAME=VALUE[,VALUE...]"),
    (["ALERT_CONFIDENCE="], "--set ALERT_CONFIDENCE: expected NAME=VALUE[,VALUE...]"),
    (["TENCENTCLOUD_SECRET_KEY=x"], "--set TENCENTCLOUD_SECRET_KEY: not a setting the backtest replays"),
    (["ALERT_CONFIDENCE=0.9", "ALERT_CONFIDENCE=0.95"], "--set ALERT_CONFIDENCE: given twice"),
    (["ALERT_SUCCESS_RATE_CRITICAL=0.95"], "--set ALERT_SUCCESS_RATE_CRITICAL: 0.95 is above ALERT_SUCCESS_RATE_MIN"),
])
def test_a_bad_set_is_one_line_naming_the_variable(given, message):
    with pytest.raises(command.BacktestError) as caught:
        command.parse_sets(given, {})
    text = str(caught.value)
    assert text.startswith(message) and "\n" not in text


def test_the_number_of_settings_is_capped():
    with pytest.raises(command.BacktestError, match=r"^--set: 16 settings; at most 12"):
        command.parse_sets(["ALERT_CONFIDENCE=0.9,0.95,0.99,0.999", "ALERT_MIN_VOLUME=10,50,100,200"], {})


def test_the_user_s_environment_counts_in_the_cross_checks():
    # the critical threshold is fine alone, but not below the minimum the environment sets
    with pytest.raises(command.BacktestError, match="ALERT_SUCCESS_RATE_CRITICAL"):
        command.parse_sets(["ALERT_SUCCESS_RATE_CRITICAL=0.8"], {"ALERT_SUCCESS_RATE_MIN": "0.75"})


def test_the_thresholds_in_effect_name_every_rule_variable():
    settings, _ = load_settings({"ALERT_CONFIDENCE": "0.95", "ALERT_RECEIPT_DELAY": "3h"})
    shown = dict((name, value) for name, value, _changed in command.thresholds_in_effect(settings))
    assert set(shown) >= {v.env for v in registry().variables}
    assert shown["ALERT_CONFIDENCE"] == "0.95" and shown["ALERT_RECEIPT_DELAY"] == "3h"
    assert shown["ALERT_SUCCESS_RATE_MIN"] == "0.9" and shown["ALERT_REPEAT_INTERVAL"] == "4h"
    changed = {name for name, _value, changed in command.thresholds_in_effect(settings) if changed}
    assert changed == {"ALERT_CONFIDENCE", "ALERT_RECEIPT_DELAY"}
    text = "\n".join(command.format_thresholds(settings))
    assert "ALERT_CONFIDENCE=0.95*" in text and "ALERT_MIN_VOLUME=100 " in text + " "

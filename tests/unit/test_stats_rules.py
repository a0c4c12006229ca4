"""Rates (README "What you get") and alert rules, both pure."""

from __future__ import annotations

from typing import Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms_receipt_stats.catalogue import classify, error_info
from sms_receipt_stats.config import Thresholds
from sms_receipt_stats.documents import AppResult, WindowDoc
from sms_receipt_stats.rules import config_alerts, evaluate, evaluate_app
from sms_receipt_stats.stats import (
    STAT_FIELDS,
    CounterError,
    Rates,
    Stats,
    compute_rates,
    counter_problems,
    parse_counters,
    sum_stats,
)

WINDOW = WindowDoc(begin="2021050113", end="2021050123", timezone="Asia/Shanghai")
#: the example app: 1880 sent, 1344 of 1745 receipts successful (77.02%)
EXAMPLE_STATS = Stats(RequestSuccessCount=1880, CallbackCount=1745, CallbackSuccessCount=1344, CallbackFailCount=401,
                      ShutdownErrorCount=401)


def result(stats: Optional[Stats] = None, app_id: str = "1400006874", name: Optional[str] = "prod",
           error_code: Optional[str] = None, lang: str = "en") -> AppResult:
    error = error_info(error_code, "upstream said no", "rid-1", lang) if error_code else None
    return AppResult(app_id=app_id, app_name=name, window=WINDOW, stats=None if error else stats,
                     rates=None if error or stats is None else compute_rates(stats), error=error)


def counts(requested: int, receipts: int, succeeded: int) -> Stats:
    return Stats(RequestSuccessCount=requested, CallbackCount=receipts, CallbackSuccessCount=succeeded,
                 CallbackFailCount=receipts - succeeded)


# -- counters as the API answers them -----------------------------------------------------------


def test_a_consistent_answer_becomes_stats() -> None:
    assert parse_counters(EXAMPLE_STATS.model_dump()) == EXAMPLE_STATS
    assert parse_counters({f: 0 for f in STAT_FIELDS}) == Stats()


@pytest.mark.parametrize(("change", "field", "why"), [
    ({"CallbackCount": None}, "CallbackCount", "missing"),
    ({"FrequencyLimitCount": None}, "FrequencyLimitCount", "missing"),
    ({"CallbackCount": 1745.5}, "CallbackCount", "not an integer"),
    ({"CallbackCount": 1745.0}, "CallbackCount", "not an integer"),
    ({"RequestSuccessCount": "1880"}, "RequestSuccessCount", "not an integer"),
    ({"RequestSuccessCount": True}, "RequestSuccessCount", "not an integer"),
    ({"ShutdownErrorCount": -1}, "ShutdownErrorCount", "negative"),
    ({"CallbackCount": 9400}, "CallbackCount", "exceeds RequestSuccessCount"),
    ({"CallbackSuccessCount": 1800}, "CallbackSuccessCount", "exceeds CallbackCount"),
    ({"CallbackFailCount": 1000}, "CallbackFailCount", "exceed CallbackCount"),
])
def test_an_impossible_answer_is_a_counter_error_naming_the_field(change: dict, field: str, why: str) -> None:
    raw = EXAMPLE_STATS.model_dump()
    raw.update(change)
    raw = {k: v for k, v in raw.items() if v is not None}
    with pytest.raises(CounterError) as info:
        parse_counters(raw)
    assert field in str(info.value) and why in str(info.value)
    assert "'" not in str(info.value)  # types are named, upstream values never quoted


@given(st.fixed_dictionaries({f: st.integers(min_value=0, max_value=10**9) for f in STAT_FIELDS}))
def test_every_answer_that_parses_has_rates_between_0_and_1(raw: dict) -> None:
    try:
        stats = parse_counters(raw)
    except CounterError:
        assert counter_problems(Stats(**raw))
        return
    assert counter_problems(stats) == []
    for rate in compute_rates(stats).model_dump().values():
        assert rate is None or 0.0 <= rate <= 1.0


# -- rates ------------------------------------------------------------------------------------


def test_spec_example_rates() -> None:
    assert compute_rates(EXAMPLE_STATS) == Rates(receipt_rate=0.9282, success_rate=0.7702, delivery_rate=0.7149)


@pytest.mark.parametrize(
    ("stats", "expected"),
    [
        (counts(3, 2, 1), (0.6667, 0.5, 0.3333)),
        (counts(7, 7, 1), (1.0, 0.1429, 0.1429)),
        (counts(100000, 99999, 99998), (1.0, 1.0, 1.0)),  # 0.99999 → 1.0 at 4 places
        (counts(30000, 29998, 2), (0.9999, 0.0001, 0.0001)),
    ],
)
def test_rates_are_rounded_to_four_places(stats: Stats, expected: tuple) -> None:
    rates = compute_rates(stats)
    assert (rates.receipt_rate, rates.success_rate, rates.delivery_rate) == expected


def test_rates_are_null_when_the_denominator_is_zero() -> None:
    assert compute_rates(Stats()) == Rates(receipt_rate=None, success_rate=None, delivery_rate=None)
    # submitted but no receipt yet: receipt and delivery rates are 0, success rate has no denominator
    assert compute_rates(counts(50, 0, 0)) == Rates(receipt_rate=0.0, success_rate=None, delivery_rate=0.0)


def test_rates_serialise_null_not_zero() -> None:
    assert compute_rates(Stats()).model_dump(mode="json") == {
        "receipt_rate": None, "success_rate": None, "delivery_rate": None}


@given(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9))
def test_rates_are_four_place_ratios(requested: int, receipts: int, succeeded: int) -> None:
    rates = compute_rates(counts(requested, receipts, succeeded) if succeeded <= receipts else
                          Stats(RequestSuccessCount=requested, CallbackCount=receipts, CallbackSuccessCount=succeeded))
    for value, num, den in ((rates.receipt_rate, receipts, requested), (rates.success_rate, succeeded, receipts),
                            (rates.delivery_rate, succeeded, requested)):
        if den == 0:
            assert value is None
        else:
            assert value is not None
            assert abs(value - num / den) <= 0.00005 + 1e-12
            assert round(value, 4) == value


def test_sum_stats_adds_every_field() -> None:
    a = Stats(**{f: i + 1 for i, f in enumerate(STAT_FIELDS)})
    b = Stats(**{f: 10 * (i + 1) for i, f in enumerate(STAT_FIELDS)})
    total = sum_stats([a, b, Stats()])
    assert total.model_dump() == {f: 11 * (i + 1) for i, f in enumerate(STAT_FIELDS)}
    assert sum_stats([]) == Stats()


def test_stats_refuse_negative_counts() -> None:
    with pytest.raises(ValueError):
        Stats(CallbackCount=-1)


# -- rate rules ---------------------------------------------------------------------------------


def test_healthy_app_has_no_alert() -> None:
    assert evaluate_app(result(counts(1000, 950, 930)), Thresholds()) == []


def test_success_rate_below_min_is_a_warning() -> None:
    alerts = evaluate_app(result(counts(1000, 1000, 850)), Thresholds())
    assert [(a.rule, a.severity, a.app_id, a.value, a.threshold) for a in alerts] == [
        ("success_rate_below", "warning", "1400006874", 0.85, 0.9)]
    assert "prod (1400006874)" in alerts[0].message and "85.00%" in alerts[0].message


def test_success_rate_below_critical_is_critical_with_the_critical_threshold() -> None:
    alerts = evaluate_app(result(EXAMPLE_STATS), Thresholds(success_rate_min=0.9, success_rate_critical=0.8))
    assert [(a.rule, a.severity, a.value, a.threshold) for a in alerts] == [
        ("success_rate_below", "critical", 0.7702, 0.8)]


def test_spec_example_alert() -> None:
    alerts = evaluate_app(result(EXAMPLE_STATS), Thresholds())
    assert [(a.rule, a.severity, a.value, a.threshold) for a in alerts] == [
        ("success_rate_below", "warning", 0.7702, 0.9)]


def test_rate_exactly_at_threshold_does_not_alert() -> None:
    assert evaluate_app(result(counts(1000, 1000, 900)), Thresholds()) == []
    assert evaluate_app(result(counts(1000, 800, 800)), Thresholds()) == []


def test_receipt_rate_below_min_is_a_warning() -> None:
    alerts = evaluate_app(result(counts(1000, 700, 690)), Thresholds())
    assert [(a.rule, a.severity, a.value, a.threshold) for a in alerts] == [
        ("receipt_rate_below", "warning", 0.7, 0.8)]


def test_both_rate_rules_can_fire_together() -> None:
    alerts = evaluate_app(result(counts(1000, 500, 300)), Thresholds())
    assert {(a.rule, a.severity) for a in alerts} == {("success_rate_below", "critical"),
                                                     ("receipt_rate_below", "warning")}


def test_min_volume_silences_rate_rules_on_their_own_denominator() -> None:
    thresholds = Thresholds(min_volume=100)
    assert evaluate_app(result(counts(99, 50, 10)), thresholds) == []
    # 1000 submitted (receipt rule armed) but only 99 receipts (success rule silent)
    alerts = evaluate_app(result(counts(1000, 99, 10)), thresholds)
    assert [a.rule for a in alerts] == ["receipt_rate_below"]
    # exactly min_volume arms the rule
    assert [a.rule for a in evaluate_app(result(counts(100, 100, 10)), thresholds)] == ["success_rate_below"]


def test_min_volume_zero_still_ignores_null_rates() -> None:
    assert evaluate_app(result(Stats()), Thresholds(min_volume=0)) == []


def test_rule_messages_follow_the_language() -> None:
    alerts = evaluate_app(result(counts(1000, 1000, 850)), Thresholds(), lang="zh")
    assert "回执成功率" in alerts[0].message


# -- api_error and config_error -------------------------------------------------------------------


@pytest.mark.parametrize("code", ["UnauthorizedOperation.ServiceSuspendDueToArrears", "RequestLimitExceeded",
                                  "InvalidParameterValue.SdkAppIdNotExist", "InternalError.Timeout",
                                  "AuthFailure.SignatureFailure"])
def test_api_error_alert_carries_catalogue_severity_and_hint(code: str) -> None:
    entry = classify(code)
    alerts = evaluate_app(result(error_code=code), Thresholds())
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.rule, alert.severity, alert.code, alert.hint, alert.app_id) == (
        "api_error", entry.severity, code, entry.hint_en, "1400006874")
    assert code in alert.message


def test_arrears_is_critical() -> None:
    alert = evaluate_app(result(error_code="UnauthorizedOperation.ServiceSuspendDueToArrears"), Thresholds())[0]
    assert alert.severity == "critical"


def test_api_error_hint_in_chinese() -> None:
    code = "InternalError.RequestTimeException"
    alert = evaluate_app(result(error_code=code, lang="zh"), Thresholds(), lang="zh")[0]
    assert alert.hint == classify(code).hint_zh


def test_one_failing_app_does_not_hide_the_others() -> None:
    results = [result(error_code="AuthFailure.SignatureFailure", app_id="1400000001"),
               result(counts(1000, 1000, 500), app_id="1400000002"),
               result(counts(1000, 990, 980), app_id="1400000003")]
    alerts = evaluate(results, Thresholds())
    assert [(a.rule, a.app_id) for a in alerts] == [("api_error", "1400000001"),
                                                    ("success_rate_below", "1400000002")]


def test_config_error_is_critical() -> None:
    alerts = config_alerts(["SMS_ENDPOINT: bad", "REPORT_LANG: 'fr' is not 'en' or 'zh'"])
    assert [(a.rule, a.severity) for a in alerts] == [("config_error", "critical")] * 2
    assert "SMS_ENDPOINT: bad" in alerts[0].message
    assert config_alerts([]) == []

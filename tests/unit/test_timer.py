"""Timer jobs (README "Timer jobs") and unsupported events, via `app.handle` with fake edges."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List

import pytest

from sms_receipt_stats.app import MAX_TIME_LIMIT_SECONDS, time_limit
from sms_receipt_stats.dev.emulator import window_stats
from sms_receipt_stats.jobs import JobDeps
from sms_receipt_stats.stats import STAT_FIELDS, Stats
from support import (
    APP_MARKETING,
    APP_PROD,
    APP_STAGING,
    FakeClock,
    FakeFetcher,
    RecordingDeliver,
    base_env,
    read_event,
)

Invoke = Callable[..., Dict[str, Any]]
DOC_KEYS = {"schema", "kind", "trigger", "generated_at", "results", "alerts", "deliveries", "errors"}
HEALTHY = Stats(RequestSuccessCount=1000, CallbackCount=990, CallbackSuccessCount=980, CallbackFailCount=10)
UNHEALTHY = Stats(RequestSuccessCount=1000, CallbackCount=950, CallbackSuccessCount=600, CallbackFailCount=350)


def timer(message: Any) -> Dict[str, Any]:
    event = read_event("timer_default")
    event["Message"] = message if isinstance(message, str) else json.dumps(message)
    return event


def assert_document(doc: Dict[str, Any], kind: str = "report", trigger: str = "timer") -> None:
    assert set(doc) == DOC_KEYS
    assert doc["schema"] == "sms-receipt-stats/v1"
    assert (doc["kind"], doc["trigger"]) == (kind, trigger)
    assert doc["generated_at"] == "2026-11-25T09:00:00+08:00"


def config_errors(doc: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [a for a in doc["alerts"] if a["rule"] == "config_error"]


# -- report ----------------------------------------------------------------------------------------------


def test_default_message_reports_yesterday_for_every_app(invoke: Invoke, fetcher: FakeFetcher,
                                                         delivered: RecordingDeliver) -> None:
    doc = invoke(read_event("timer_default"))
    assert_document(doc)
    assert doc["errors"] == []
    assert [r["app_id"] for r in doc["results"]] == [APP_PROD, APP_STAGING, APP_MARKETING]
    assert [r["app_name"] for r in doc["results"]] == ["prod", "staging", "marketing"]
    for r in doc["results"]:
        assert r["window"] == {"begin": "2026112400", "end": "2026112500", "timezone": "Asia/Shanghai"}
        assert r["stats"] == window_stats(r["app_id"], "2026112400", "2026112500")
        assert r["error"] is None and r["series"] is None and len(r["request_ids"]) == 1
    assert sorted(fetcher.calls) == sorted((a, "2026112400", "2026112423") for a in (APP_PROD, APP_STAGING,
                                                                                      APP_MARKETING))
    # the document returned is the one delivered, plus the delivery outcomes
    assert len(delivered.docs) == 1
    assert delivered.docs[0]["results"] == doc["results"]
    assert doc["deliveries"] == [{"sink": "fake", "ok": True, "attempts": 1, "error": None}]


def test_report_includes_alerts_of_unhealthy_apps(invoke: Invoke, fetcher: FakeFetcher) -> None:
    fetcher.stats_for.update({APP_PROD: HEALTHY, APP_STAGING: UNHEALTHY, APP_MARKETING: HEALTHY})
    doc = invoke(read_event("timer_default"))
    assert [(a["rule"], a["severity"], a["app_id"]) for a in doc["alerts"]] == [
        ("success_rate_below", "critical", APP_STAGING)]
    assert len(doc["results"]) == 3


def test_report_window_follows_report_timezone(invoke: Invoke, fetcher: FakeFetcher) -> None:
    doc = invoke(read_event("timer_default"), env=base_env(REPORT_TIMEZONE="UTC", SMS_SDK_APP_IDS=APP_PROD))
    # yesterday in UTC is [2026-11-24 00Z, 2026-11-25 00Z) = Beijing [2026112408, 2026112508)
    assert doc["results"][0]["window"] == {"begin": "2026112400", "end": "2026112500", "timezone": "UTC"}
    assert fetcher.calls == [(APP_PROD, "2026112408", "2026112507")]  # EndTime: the last hour counted
    assert doc["generated_at"] == "2026-11-25T01:00:00+00:00"


def test_explicit_window_fixture_with_day_series(invoke: Invoke, fetcher: FakeFetcher) -> None:
    doc = invoke(read_event("timer_explicit_window"))
    assert doc["errors"] == []
    [result] = doc["results"]
    assert result["app_id"] == APP_PROD
    assert result["window"]["begin"] == "2026111800" and result["window"]["end"] == "2026112400"
    series = result["series"]
    assert len(series) == 6 and len(fetcher.calls) == 6
    for name in STAT_FIELDS:
        assert sum(p["stats"][name] for p in series) == result["stats"][name]
    assert result["stats"] == window_stats(APP_PROD, "2026111800", "2026112400")
    for point in series:
        assert point["stats"] == window_stats(APP_PROD, point["begin"], point["end"])


def test_hour_series_sum_to_total(invoke: Invoke, fetcher: FakeFetcher) -> None:
    doc = invoke(timer({"window": "yesterday", "granularity": "hour", "app_ids": [APP_STAGING]}))
    [result] = doc["results"]
    assert len(result["series"]) == 24 and len(fetcher.calls) == 24
    assert [p["begin"] for p in result["series"]][:2] == ["2026112400", "2026112401"]
    for name in STAT_FIELDS:
        assert sum(p["stats"][name] for p in result["series"]) == result["stats"][name]
    assert result["stats"] == window_stats(APP_STAGING, "2026112400", "2026112500")
    assert len(result["request_ids"]) == 24


def test_long_window_is_split_into_api_calls_that_sum_to_the_total(invoke: Invoke, fetcher: FakeFetcher) -> None:
    doc = invoke(timer({"window": {"begin": "2026080100", "end": "2026110100"}, "app_ids": [APP_PROD]}))
    [result] = doc["results"]
    assert doc["errors"] == []
    calls = sorted(fetcher.calls_for(APP_PROD), key=lambda call: call[1])  # the pieces run concurrently
    assert len(calls) == 3  # 92 days, at most 32 per call
    assert calls[0][1] == "2026080100" and calls[-1][2] == "2026103123"
    hour = timedelta(hours=1)
    for (_, _, end), (_, begin, _) in zip(calls, calls[1:]):
        # consecutive, sharing no hour: EndTime's hour is counted, so the next call starts an hour later
        assert datetime.strptime(end, "%Y%m%d%H") + hour == datetime.strptime(begin, "%Y%m%d%H")
    for _, begin, end in calls:
        span = datetime.strptime(end, "%Y%m%d%H") - datetime.strptime(begin, "%Y%m%d%H")
        assert timedelta(0) <= span <= timedelta(days=32)
    assert result["stats"] == window_stats(APP_PROD, "2026080100", "2026110100")
    assert result["window"] == {"begin": "2026080100", "end": "2026110100", "timezone": "Asia/Shanghai"}
    assert len(result["request_ids"]) == 3


def test_long_window_with_day_series(invoke: Invoke, fetcher: FakeFetcher) -> None:
    doc = invoke(timer({"window": "last_30d", "granularity": "day", "app_ids": [APP_PROD]}))
    [result] = doc["results"]
    assert len(result["series"]) == 30
    assert result["stats"] == window_stats(APP_PROD, "2026102600", "2026112500")


# -- check ------------------------------------------------------------------------------------------------


def test_check_fixture_has_no_alert_when_healthy(invoke: Invoke, fetcher: FakeFetcher,
                                                 delivered: RecordingDeliver) -> None:
    for app in (APP_PROD, APP_STAGING, APP_MARKETING):
        fetcher.stats_for[app] = HEALTHY
    doc = invoke(read_event("timer_check_last_hour"))
    assert_document(doc, kind="check")
    assert doc["alerts"] == [] and doc["errors"] == []
    assert {c[1:] for c in fetcher.calls} == {("2026112508", "2026112508")}  # one hour: Begin == End
    assert [d["kind"] for d in delivered.docs] == ["check"]
    assert delivered.docs[0]["alerts"] == []


def test_check_fixture_alerts_only_on_the_unhealthy_and_failing_apps(invoke: Invoke, fetcher: FakeFetcher,
                                                                      delivered: RecordingDeliver) -> None:
    fetcher.stats_for.update({APP_PROD: HEALTHY, APP_STAGING: UNHEALTHY})
    fetcher.fail(APP_MARKETING, "UnauthorizedOperation.ServiceSuspendDueToArrears")
    doc = invoke(read_event("timer_check_last_hour"))
    assert_document(doc, kind="check")
    assert [(a["rule"], a["severity"], a["app_id"]) for a in doc["alerts"]] == [
        ("success_rate_below", "critical", APP_STAGING),
        ("api_error", "critical", APP_MARKETING)]
    assert delivered.docs[0]["alerts"] == doc["alerts"]


def test_min_volume_keeps_a_quiet_hour_silent(invoke: Invoke, fetcher: FakeFetcher) -> None:
    fetcher.stats_for[APP_PROD] = Stats(RequestSuccessCount=40, CallbackCount=40, CallbackSuccessCount=1,
                                        CallbackFailCount=39)
    doc = invoke(timer({"job": "check", "window": "last_hour", "app_ids": [APP_PROD]}))
    assert doc["alerts"] == []
    doc = invoke(timer({"job": "check", "window": "last_hour", "app_ids": [APP_PROD]}),
                 env=base_env(ALERT_MIN_VOLUME="10"))
    assert [a["rule"] for a in doc["alerts"]] == ["success_rate_below"]


# -- failures of one app, of the message, of the configuration ----------------------------------------------


def test_one_failing_app_has_the_error_and_the_others_are_reported(invoke: Invoke, fetcher: FakeFetcher) -> None:
    fetcher.fail(APP_STAGING, "AuthFailure.SignatureFailure", request_id="failed-req")
    doc = invoke(read_event("timer_default"))
    by_id = {r["app_id"]: r for r in doc["results"]}
    failed = by_id[APP_STAGING]
    assert failed["stats"] is None and failed["rates"] is None
    assert failed["error"]["code"] == "AuthFailure.SignatureFailure"
    assert failed["error"]["request_id"] == "failed-req"
    assert failed["request_ids"] == ["failed-req"]
    for app in (APP_PROD, APP_MARKETING):
        assert by_id[app]["error"] is None
        assert by_id[app]["stats"] == window_stats(app, "2026112400", "2026112500")
    api_alerts = [a for a in doc["alerts"] if a["rule"] == "api_error"]
    assert [(a["app_id"], a["severity"], a["code"]) for a in api_alerts] == [
        (APP_STAGING, "critical", "AuthFailure.SignatureFailure")]
    assert api_alerts[0]["hint"]


def test_split_window_with_one_failing_piece_is_an_error_not_a_partial_sum(invoke: Invoke,
                                                                           fetcher: FakeFetcher) -> None:
    fetcher.fail(APP_PROD, "InvalidParameterValue.SdkAppIdNotExist", times=1)
    doc = invoke(timer({"window": {"begin": "2026080100", "end": "2026110100"}, "app_ids": [APP_PROD]}))
    [result] = doc["results"]
    assert result["stats"] is None
    assert result["error"]["code"] == "InvalidParameterValue.SdkAppIdNotExist"


def test_impossible_counters_are_an_upstream_data_error_not_a_healthy_report(invoke: Invoke,
                                                                             fetcher: FakeFetcher) -> None:
    fetcher.stats_for[APP_PROD] = Stats(RequestSuccessCount=100, CallbackCount=500, CallbackSuccessCount=450,
                                        CallbackFailCount=50)
    doc = invoke(timer({"job": "report", "window": "yesterday"}))
    prod = next(r for r in doc["results"] if r["app_id"] == APP_PROD)
    assert prod["stats"] is None and prod["rates"] is None
    assert prod["error"]["code"] == "UpstreamDataInvalid" and "CallbackCount" in prod["error"]["message"]
    assert [(a["rule"], a["app_id"], a["code"]) for a in doc["alerts"] if a["app_id"] == APP_PROD] == [
        ("api_error", APP_PROD, "UpstreamDataInvalid")]
    others = [r for r in doc["results"] if r["app_id"] != APP_PROD]
    assert others and all(r["stats"] is not None for r in others)
    for r in others:
        assert all(v is None or 0 <= v <= 1 for v in r["rates"].values())


def test_app_ids_subset(invoke: Invoke, fetcher: FakeFetcher) -> None:
    doc = invoke(timer({"job": "report", "window": "yesterday", "app_ids": [APP_MARKETING, APP_PROD]}))
    assert doc["errors"] == []
    assert [r["app_id"] for r in doc["results"]] == [APP_MARKETING, APP_PROD]
    assert {c[0] for c in fetcher.calls} == {APP_MARKETING, APP_PROD}


def test_unknown_app_id_is_a_config_error_and_the_others_are_still_reported(invoke: Invoke,
                                                                             fetcher: FakeFetcher) -> None:
    doc = invoke(timer({"window": "yesterday", "app_ids": [APP_PROD, "1400055555"]}))
    assert [r["app_id"] for r in doc["results"]] == [APP_PROD]
    assert doc["results"][0]["stats"] is not None
    assert len(doc["errors"]) == 1 and "1400055555" in doc["errors"][0] and "SMS_SDK_APP_IDS" in doc["errors"][0]
    assert [(a["rule"], a["severity"]) for a in config_errors(doc)] == [("config_error", "critical")]
    assert {c[0] for c in fetcher.calls} == {APP_PROD}


def test_an_empty_app_ids_list_is_a_config_error_not_an_empty_report(invoke: Invoke, fetcher: FakeFetcher,
                                                                     delivered: RecordingDeliver) -> None:
    doc = invoke(timer({"job": "report", "window": "yesterday", "app_ids": []}))
    assert doc["results"] == [] and fetcher.calls == []
    [error] = doc["errors"]
    assert error.startswith("Message.app_ids:") and "empty" in error
    assert [(a["rule"], a["severity"]) for a in doc["alerts"]] == [("config_error", "critical")]
    assert len(delivered.docs) == 1


def test_fifty_thousand_unknown_app_ids_give_a_bounded_result(invoke: Invoke, fetcher: FakeFetcher,
                                                              delivered: RecordingDeliver) -> None:
    unknown = [f"15{i:08d}" for i in range(50_000)]
    doc = invoke(timer({"job": "report", "window": "yesterday", "app_ids": [*unknown, APP_PROD]}))
    assert [r["app_id"] for r in doc["results"]] == [APP_PROD]
    [error] = doc["errors"]
    assert "50000 ids are not in SMS_SDK_APP_IDS" in error and unknown[0] in error and unknown[-1] not in error
    assert len(config_errors(doc)) == 1
    size = len(json.dumps(doc, ensure_ascii=False).encode("utf-8"))
    assert size < 64 * 1024, size  # SCF's synchronous limit is 6 MB
    assert len(json.dumps(delivered.docs[0]).encode("utf-8")) < 64 * 1024


@pytest.mark.parametrize("message", [
    {"window": "x" * 100_000},
    {"window": {"begin": "2" * 100_000, "end": "2026112400"}},
    {"x" * 100_000: 1},
    {"job": "y" * 100_000},
    {"app_ids": ["z" * 100_000]},
])
def test_huge_values_in_a_message_give_a_bounded_result(invoke: Invoke, fetcher: FakeFetcher,
                                                        message: Dict[str, Any]) -> None:
    doc = invoke(timer(message))
    [error] = doc["errors"]
    assert error.startswith("Message") and len(error) <= 500
    assert len(json.dumps(doc, ensure_ascii=False).encode("utf-8")) < 8 * 1024
    assert fetcher.calls == []


def test_bad_message_fixture_is_a_critical_config_error(invoke: Invoke, fetcher: FakeFetcher,
                                                        delivered: RecordingDeliver) -> None:
    doc = invoke(read_event("timer_bad_message"))
    assert_document(doc)
    assert doc["results"] == [] and fetcher.calls == []
    assert len(doc["errors"]) == 1 and doc["errors"][0].startswith("Message")
    assert [(a["rule"], a["severity"]) for a in doc["alerts"]] == [("config_error", "critical")]
    # the alert still goes out: a broken schedule must be noticed
    assert len(delivered.docs) == 1 and delivered.docs[0]["alerts"] == doc["alerts"]


@pytest.mark.parametrize(("message", "field"), [
    ('"just a string"', "Message"),
    ("[1, 2]", "Message"),
    ({"job": "purge"}, "Message.job"),
    ({"granularity": "week"}, "Message.granularity"),
    ({"window": "last_week"}, "Message.window"),
    ({"window": {"begin": "2026112000"}}, "Message.window"),
    ({"window": {"begin": "2026112000", "end": "2026111900"}}, "Message.window"),
    ({"window": {"begin": "2025010100", "end": "2026112000"}}, "Message.window"),
    ({"window": "yesterday", "granularity": "hour", "app_ids": [APP_PROD], "extra": 1}, "Message.extra"),
    ({"app_ids": "1400006874"}, "Message.app_ids"),
    ({"app_ids": [1400006874]}, "Message.app_ids"),
])
def test_bad_messages_never_raise(invoke: Invoke, fetcher: FakeFetcher, message: Any, field: str) -> None:
    doc = invoke(timer(message))
    assert_document(doc)
    assert doc["results"] == [] and fetcher.calls == []
    assert len(doc["errors"]) == 1 and doc["errors"][0].startswith(field), doc["errors"]
    assert [a["severity"] for a in config_errors(doc)] == ["critical"]


def test_message_may_arrive_already_decoded(invoke: Invoke, fetcher: FakeFetcher) -> None:
    event = read_event("timer_default")
    event["Message"] = {"job": "check", "window": "last_hour", "app_ids": [APP_PROD]}
    doc = invoke(event)
    assert doc["kind"] == "check" and doc["errors"] == []
    assert fetcher.calls == [(APP_PROD, "2026112508", "2026112508")]


def test_no_app_ids_configured(invoke: Invoke, fetcher: FakeFetcher, delivered: RecordingDeliver) -> None:
    doc = invoke(read_event("timer_default"), env=base_env(SMS_SDK_APP_IDS=None))
    assert doc["results"] == [] and fetcher.calls == []
    assert any(e.startswith("SMS_SDK_APP_IDS") for e in doc["errors"])
    assert [a["severity"] for a in config_errors(doc)] == ["critical"]
    assert len(delivered.docs) == 1


def test_bad_configuration_values_are_reported_and_good_apps_still_run(invoke: Invoke, fetcher: FakeFetcher) -> None:
    env = base_env(SMS_SDK_APP_IDS=f"{APP_PROD}=prod,not-an-id", REPORT_LANG="fr", ALERT_SUCCESS_RATE_MIN="2")
    doc = invoke(read_event("timer_default"), env=env)
    assert [r["app_id"] for r in doc["results"]] == [APP_PROD]
    named = sorted(e.split(":")[0] for e in doc["errors"])
    assert named == ["ALERT_SUCCESS_RATE_MIN", "REPORT_LANG", "SMS_SDK_APP_IDS"]
    assert len(config_errors(doc)) == 3


def test_missing_credentials_is_a_critical_config_error(invoke: Invoke, make_deps: Callable[..., JobDeps],
                                                        delivered: RecordingDeliver) -> None:
    deps = make_deps()
    deps.fetcher_factory = JobDeps().fetcher_factory  # the real SDK fetcher refuses to start
    env = base_env(TENCENTCLOUD_SECRETID=None, TENCENTCLOUD_SECRETKEY=None)
    doc = invoke(read_event("timer_default"), env=env, deps=deps)
    assert doc["results"] == []
    assert len(doc["errors"]) == 1 and "credentials" in doc["errors"][0]
    assert "TENCENTCLOUD_SECRETID" in doc["errors"][0]
    assert [a["severity"] for a in config_errors(doc)] == ["critical"]
    assert len(delivered.docs) == 1


def test_a_failing_delivery_does_not_lose_the_document(invoke: Invoke, make_deps: Callable[..., JobDeps]) -> None:
    def broken(doc: Any, settings: Any, deadline: Any) -> Any:
        raise RuntimeError("sink bug")

    doc = invoke(read_event("timer_default"), deps=make_deps(deliver=broken))
    assert len(doc["results"]) == 3
    assert doc["errors"] == ["delivery failed: RuntimeError"]


def test_no_notify_urls_means_no_deliveries(invoke: Invoke, make_deps: Callable[..., JobDeps]) -> None:
    deps = make_deps()
    deps.deliver = JobDeps().deliver
    doc = invoke(read_event("timer_default"), deps=deps)
    assert doc["deliveries"] == [] and len(doc["results"]) == 3


def test_deadline_from_context_bounds_the_queries(invoke: Invoke, fetcher: FakeFetcher, clock: FakeClock) -> None:
    # every call costs 3 s of (fake) time; a 10 s invocation cannot ask for 24 hours
    fetcher.on_fetch = lambda *a: clock.advance(3.0)
    doc = invoke(timer({"window": "yesterday", "granularity": "hour", "app_ids": [APP_PROD]}),
                 context={"time_limit_in_ms": 10000, "request_id": "scf-req-1"})
    [result] = doc["results"]
    assert len(fetcher.calls) < 24
    assert result["error"]["code"] == "InternalError.Timeout"


def test_an_absurd_time_limit_is_held_to_scf_s_longest(invoke: Invoke, fetcher: FakeFetcher) -> None:
    # 2**63 ms overflows a thread wait ("timeout value is too large") once a query has to be
    # waited for; SCF runs an invocation 24 h at most, so no longer limit is taken from the context
    fetcher.on_fetch = lambda *a: time.sleep(0.05)  # the pool of several apps is really waited on
    doc = invoke(timer({"window": "yesterday"}), context={"time_limit_in_ms": 2**63, "request_id": "scf-req-1"})
    assert len(doc["results"]) > 1 and doc["errors"] == []
    assert [r["error"] for r in doc["results"]] == [None] * len(doc["results"])
    assert time_limit({"time_limit_in_ms": 2**63}) == MAX_TIME_LIMIT_SECONDS == 86_400
    assert time_limit({"time_limit_in_ms": float("inf")}) == MAX_TIME_LIMIT_SECONDS
    assert time_limit({"time_limit_in_ms": 3000}) == 3.0


# -- events that are neither ---------------------------------------------------------------------------------


@pytest.mark.parametrize("event", [None, [], "x", {}, 42, {"Type": "Cos"}, {"Records": []},
                                   {"httpMethod": "GET"}, {"Type": "timer"}])
def test_unsupported_events_answer_with_errors_and_never_raise(invoke: Invoke, fetcher: FakeFetcher,
                                                               event: Any) -> None:
    doc = invoke(event)
    assert_document(doc, kind="error", trigger="unknown")
    assert doc["results"] == [] and len(doc["errors"]) == 1
    assert "unsupported event" in doc["errors"][0]
    assert fetcher.calls == []


def test_handler_never_prints_a_traceback(invoke: Invoke, capsys: pytest.CaptureFixture[str]) -> None:
    for event in (None, [], "x", {}, read_event("timer_bad_message"), timer({"window": {"begin": []}})):
        invoke(event)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err


def test_an_app_id_listed_twice_is_queried_and_reported_once(invoke: Invoke, fetcher: FakeFetcher) -> None:
    doc = invoke(timer({"job": "report", "window": "yesterday", "app_ids": [APP_PROD, APP_PROD]}))
    assert [r["app_id"] for r in doc["results"]] == [APP_PROD]
    assert len(fetcher.calls_for(APP_PROD)) == 1

"""Timer events under hostile input: the unattended job always returns a result document.

A bad `Message`, a bad environment or a strange context is answered with a result document
whose `errors` (and critical `config_error` alerts, delivered to the sinks) say what is
wrong; nothing raises, nothing prints a traceback, and the upstream API only ever sees a
configured app id and a window it accepts.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Dict, List, Optional, Tuple

from hypothesis import given
from hypothesis import strategies as st

from sms_receipt_stats.app import handle
from sms_receipt_stats.config import APP_ID_PATTERN
from sms_receipt_stats.events import EventError, parse_timer_message
from strategies import any_text, deep_json, hostile_text, json_values, scalars, wide_json
from support import (
    APP_MARKETING,
    APP_PROD,
    APP_STAGING,
    APPS,
    HEALTHY_STATS,
    FakeClock,
    FakeFetcher,
    RecordingDeliver,
    check_http_response,
    check_result_document,
    fake_deps,
    log_lines,
    plain_env,
    property_settings,
    read_event,
    strict_stdio,
)

ENV = plain_env()
WINDOWS = ("last_hour", "last_24h", "today", "yesterday", "last_7d", "last_30d")


def run(event: Any, tally: Any, name: str, env: Optional[Dict[str, str]] = None, context: Any = None,
        fetcher: Optional[FakeFetcher] = None) -> Tuple[Dict[str, Any], FakeFetcher, RecordingDeliver]:
    tally[f"cases:{name}"] += 1
    fetcher = fetcher or FakeFetcher(HEALTHY_STATS)
    deliver = RecordingDeliver(needs_sinks=True)
    try:
        doc = handle(event, context, env=ENV if env is None else env, deps=fake_deps(fetcher, deliver, FakeClock()))
    except BaseException as exc:  # pragma: no cover - the property failing is the report
        raise AssertionError(f"handle raised {type(exc).__name__}") from exc
    if isinstance(doc, dict) and "statusCode" in doc:  # it turned out an API Gateway event
        check_http_response(doc)
    else:
        check_result_document(doc)
    configured = {a.strip().partition("=")[0].strip()
                  for a in re.split(r"[,\n]", (env or ENV).get("SMS_SDK_APP_IDS", ""))}
    for app_id, begin, end in fetcher.calls:
        assert app_id in configured and APP_ID_PATTERN.match(app_id), app_id
        b, e = datetime.strptime(begin, "%Y%m%d%H"), datetime.strptime(end, "%Y%m%d%H")
        assert b <= e and (e - b).days <= 32  # EndTime's hour counted: one hour is b == e
    return doc, fetcher, deliver


def timer(message: Any) -> Dict[str, Any]:
    event = read_event("timer_default")
    event["Message"] = message
    return event


def message_is_valid(message: Any) -> bool:
    try:
        parse_timer_message(message)
    except EventError:
        return False
    return True


def assert_config_error(doc: Dict[str, Any], fetcher: FakeFetcher, deliver: RecordingDeliver) -> None:
    """A bad Message: no API call, errors in the result, a critical config_error to the sinks."""
    assert fetcher.calls == []
    assert doc["errors"]
    assert any(a["rule"] == "config_error" and a["severity"] == "critical" for a in doc["alerts"])
    assert len(deliver.docs) == 1 and deliver.docs[0]["alerts"] == doc["alerts"]


# ---------------------------------------------------------------------------------------------
# 1. Message of any shape: a JSON value, a JSON text of any value, or arbitrary text.
# ---------------------------------------------------------------------------------------------
messages = st.one_of(
    json_values(12),
    json_values(12).map(lambda v: json.dumps(v)),
    hostile_text,
    any_text,
    st.dictionaries(st.sampled_from(["job", "window", "app_ids", "granularity", "Job", "extra"]),
                    json_values(4), max_size=4),
    st.dictionaries(st.sampled_from(["job", "window", "app_ids", "granularity"]), json_values(4),
                    max_size=4).map(json.dumps),
)


@property_settings(400)
@given(message=messages)
def test_any_message_gives_a_result_document_and_bad_ones_never_reach_the_api(message: Any, tally: Any) -> None:
    doc, fetcher, deliver = run(timer(message), tally, "timer: Message of any shape")
    if not message_is_valid(message):
        assert_config_error(doc, fetcher, deliver)
    else:
        assert doc["kind"] in ("report", "check")


# ---------------------------------------------------------------------------------------------
# 2. Valid messages: the API sees only the configured apps asked for, over accepted windows.
# ---------------------------------------------------------------------------------------------
@st.composite
def valid_messages(draw: Any) -> Dict[str, Any]:
    message: Dict[str, Any] = {}
    if draw(st.booleans()):
        message["job"] = draw(st.sampled_from(["report", "check"]))
    granularity = draw(st.sampled_from([None, "total", "day", "hour"]))
    if granularity:
        message["granularity"] = granularity
    if draw(st.booleans()):
        names = WINDOWS if granularity != "hour" else ("last_hour", "last_24h", "today", "yesterday", "last_7d")
        message["window"] = draw(st.sampled_from(names))
    elif draw(st.booleans()):
        days = draw(st.integers(1, 7 if granularity == "hour" else 366))
        end_day = draw(st.integers(0, 40))
        from datetime import timedelta

        end = datetime(2026, 11, 25) - timedelta(days=end_day)
        begin = end - timedelta(days=days)
        message["window"] = {"begin": begin.strftime("%Y%m%d00"), "end": end.strftime("%Y%m%d00")}
    elif granularity == "hour":
        message["window"] = "last_24h"
    if draw(st.booleans()):
        message["app_ids"] = draw(st.lists(st.sampled_from(APPS), unique=True, min_size=1, max_size=3))
    return message


@property_settings(300)
@given(message=valid_messages(), as_text=st.booleans())
def test_valid_messages_query_exactly_the_apps_asked_for(message: Dict[str, Any], as_text: bool,
                                                          tally: Any) -> None:
    doc, fetcher, deliver = run(timer(json.dumps(message) if as_text else message), tally,
                                "timer: valid Messages")
    assert doc["errors"] == [], doc["errors"]
    wanted = message.get("app_ids", list(APPS))
    assert [r["app_id"] for r in doc["results"]] == wanted
    assert {c[0] for c in fetcher.calls} == set(wanted)
    assert doc["kind"] == message.get("job", "report")
    assert len(deliver.docs) == 1


# ---------------------------------------------------------------------------------------------
# 3. Invalid pieces inside an otherwise valid Message: named in `errors`, never sent upstream.
# ---------------------------------------------------------------------------------------------
@property_settings(300)
@given(bad_ids=st.lists(st.one_of(hostile_text, st.sampled_from(["1400000003", "14000068740", " 1400006874"])),
                        min_size=1, max_size=3),
       good=st.lists(st.sampled_from(APPS), unique=True, max_size=2))
def test_unknown_app_ids_are_reported_and_never_queried(bad_ids: List[str], good: List[str], tally: Any) -> None:
    doc, fetcher, _ = run(timer({"window": "yesterday", "app_ids": [*bad_ids, *good]}), tally,
                                "timer: unknown app_ids in a Message")
    unknown = list(dict.fromkeys(b for b in bad_ids if b not in APPS))  # an id listed twice: one error
    if unknown:  # one issue for all of them, counting them
        [issue] = [e for e in doc["errors"] if e.startswith("Message.app_ids")]
        assert len(unknown) == 1 or f"{len(unknown)} ids are not in SMS_SDK_APP_IDS" in issue
        assert any(a["rule"] == "config_error" for a in doc["alerts"])
    assert {c[0] for c in fetcher.calls} <= set(good)
    assert not any(b in {c[0] for c in fetcher.calls} for b in unknown)


@property_settings(300)
@given(window=st.one_of(json_values(6), st.dictionaries(st.sampled_from(["begin", "end", "Begin", "x"]),
                                                         st.one_of(scalars, st.from_regex(r"\A[0-9]{10}\Z")),
                                                         max_size=3)),
       granularity=st.sampled_from(["total", "day", "hour"]))
def test_any_window_is_accepted_or_refused_but_never_crashes(window: Any, granularity: str, tally: Any) -> None:
    message = {"job": "check", "window": window, "granularity": granularity}
    doc, fetcher, _ = run(timer(message), tally, "timer: window of any shape")
    if doc["errors"]:
        assert fetcher.calls == []
        assert any(a["rule"] == "config_error" for a in doc["alerts"])
    else:
        assert {r["app_id"] for r in doc["results"]} == set(APPS)


# ---------------------------------------------------------------------------------------------
# 4. The event and the context around the Message.
# ---------------------------------------------------------------------------------------------
@property_settings(300)
@given(fields=st.dictionaries(st.sampled_from(["TriggerName", "Time", "Message", "Type", "httpMethod", "path",
                                               "requestContext", "headers"]), json_values(6), max_size=5),
       type_=st.sampled_from(["Timer", "timer", "Timer ", "TIMER", "Cron", None]))
def test_timer_shaped_events_of_any_content(fields: Dict[str, Any], type_: Optional[str], tally: Any) -> None:
    event = read_event("timer_default")
    event.update(fields)
    if type_ is None:
        event.pop("Type", None)
    else:
        event["Type"] = type_
    doc, fetcher, _ = run(event, tally, "timer: timer-shaped events of any content")
    if "statusCode" in doc:  # it became an API Gateway event: answered like one, never a crash
        assert doc["statusCode"] != 500
        assert fetcher.calls == []
    elif event.get("Type") != "Timer":
        assert doc["kind"] == "error" and doc["errors"] and fetcher.calls == []


@property_settings(300)
@given(context=st.one_of(json_values(6), st.fixed_dictionaries({}, optional={
    "request_id": st.one_of(scalars, any_text, st.sampled_from(["req\ud800", "\udfff", "\x85", "a\u2028b", "\x00"])),
    "time_limit_in_ms": st.one_of(scalars, st.sampled_from(["6000", "-1", "1e309", "nan", "0", 1, 10**30])),
    "function_name": hostile_text,
})))
def test_any_context_is_survived(context: Any, tally: Any) -> None:
    with strict_stdio() as stdio:
        doc, _, _ = run(read_event("timer_default"), tally, "timer: context of any shape", context=context)
    assert doc["errors"] == []
    assert [r["app_id"] for r in doc["results"]] == list(APPS)
    assert stdio.err() == ""
    records = log_lines(stdio.out())
    assert records
    request_id = context.get("request_id") if isinstance(context, dict) else None
    if isinstance(request_id, str) and request_id.isascii() and request_id.isprintable():
        assert all(r.get("request_id") == request_id for r in records)


# ---------------------------------------------------------------------------------------------
# 5. A hostile environment: every variable set to anything. Config errors, never crashes.
# ---------------------------------------------------------------------------------------------
VARIABLES = ("TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN", "SMS_REGION",
             "SMS_ENDPOINT", "SMS_SDK_APP_IDS", "SMS_API_RPS", "REPORT_TIMEZONE", "REPORT_LANG", "NOTIFY_URLS",
             "API_TOKENS", "API_AUTH", "API_ALLOWED_APP_IDS", "ALERT_SUCCESS_RATE_MIN",
             "ALERT_SUCCESS_RATE_CRITICAL", "ALERT_RECEIPT_RATE_MIN", "ALERT_MIN_VOLUME", "TENCENTCLOUD_REGION")
ENV_VALUES = st.one_of(
    hostile_text.map(lambda s: s.encode("utf-8", "replace").decode("utf-8")),  # os.environ holds no surrogates
    st.sampled_from(["0", "-1", "1.5", "nan", "inf", "1e400", "0x10", "٣", "../../etc/passwd", "UTC", "Etc/GMT+14",
                     "zh", "EN", "none", "token", "http://", "https://[::1", "cmq://queue/", "wecom+", "#secret=",
                     "https://h.invalid/p#min_severity=loud", "https://h.invalid/p#mention=@all", "1400006874=",
                     "=prod", ",,,", "\n", "1400006874=a=b", f"{APP_PROD}=x" * 50, "http://127.0.0.1:0/x"]),
)


@property_settings(300)
@given(overrides=st.dictionaries(st.sampled_from(VARIABLES), ENV_VALUES, max_size=6),
       message=st.sampled_from(["", '{"job": "check", "window": "last_hour"}', "{bad"]))
def test_any_environment_is_a_config_error_not_a_crash(overrides: Dict[str, str], message: str, tally: Any) -> None:
    env = {**ENV, **overrides}
    doc, _, _ = run(timer(message), tally, "timer: hostile environment", env=env)
    if doc["errors"]:
        assert any(a["rule"] == "config_error" for a in doc["alerts"])


def test_the_timer_fixtures_themselves(tally: Any) -> None:
    for name, errors in (("timer_default", False), ("timer_check_last_hour", False),
                         ("timer_explicit_window", False), ("timer_bad_message", True)):
        doc, fetcher, _ = run(read_event(name), tally, "timer: fixtures")
        assert bool(doc["errors"]) is errors, (name, doc["errors"])
        assert bool(fetcher.calls) is not errors


def test_unhealthy_and_failing_apps_keep_their_place(tally: Any) -> None:
    fetcher = FakeFetcher(HEALTHY_STATS)
    fetcher.fail(APP_STAGING, "AuthFailure.SignatureFailure", message="no")
    doc, _, _ = run(timer('{"job": "check", "window": "yesterday"}'), tally, "timer: fixtures", fetcher=fetcher)
    assert [r["app_id"] for r in doc["results"]] == [APP_PROD, APP_STAGING, APP_MARKETING]
    assert doc["results"][1]["error"]["code"] == "AuthFailure.SignatureFailure"


# ---------------------------------------------------------------------------------------------
# Deep and wide Messages: a config_error that is delivered, and a result far below SCF's 6 MB.
# ---------------------------------------------------------------------------------------------
@property_settings(150)
@given(deep=deep_json(), where=st.sampled_from(["whole", "window", "app_ids", "extra"]), as_text=st.booleans())
def test_a_deeply_nested_message_is_a_delivered_config_error(deep: Any, where: str, as_text: bool,
                                                             tally: Any) -> None:
    if as_text:
        message: Any = deep.text(None if where == "whole" else where)
    else:
        message = deep.value() if where == "whole" else {"job": "report", where: deep.value()}
    doc, fetcher, deliver = run(timer(message), tally, "timer: Message nested deeper than the limit")
    assert_config_error(doc, fetcher, deliver)
    assert any("nested deeper than" in e for e in doc["errors"]), doc["errors"]


@property_settings(100)
@given(message=wide_json(), as_text=st.booleans())
def test_a_wide_message_gives_a_small_result(message: Dict[str, Any], as_text: bool, tally: Any) -> None:
    doc, fetcher, deliver = run(timer(json.dumps(message) if as_text else message), tally,
                                "timer: Message with huge values")
    assert len(json.dumps(doc, ensure_ascii=False).encode("utf-8")) < 64 * 1024
    assert all(len(json.dumps(d).encode("utf-8")) < 64 * 1024 for d in deliver.docs)
    assert all(app_id in APPS for app_id, _, _ in fetcher.calls)

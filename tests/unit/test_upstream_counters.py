"""Upstream counters that cannot be right are an upstream data error, never a healthy report.

The real SDK reads a generated `CallbackStatusStatistics` answer (HTTP mocked with
`responses`): consistent counters come back as they are, with every rate between 0 and 1;
a missing counter, a float, a string, a boolean, a negative, more receipts than submitted
messages, or more successes and failures than receipts become `UpstreamDataInvalid`
(502 for a lookup, an `api_error` alert for a timer job), never a tick next to a rate of 5.0.
"""

from __future__ import annotations

from typing import Any, Dict

import responses
from hypothesis import given

from sms_receipt_stats.app import handle
from sms_receipt_stats.jobs import JobDeps
from strategies import COUNTER_FIELDS, counter_answers
from support import (
    APP_PROD,
    NOW,
    FakeClock,
    RecordingDeliver,
    check_http_response,
    check_result_document,
    plain_env,
    property_settings,
    read_event,
    stats_event,
)

SMS_URL = "https://sms.tencentcloudapi.com/"
ENV = plain_env(SMS_SDK_APP_IDS=f"{APP_PROD}=prod")


def consistent(answer: Dict[str, Any]) -> bool:
    """The promise, stated on its own: nine non-negative integers; receipts only for submitted
    messages; successes and failures only among receipts."""
    if set(answer) != set(COUNTER_FIELDS):
        return False
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in answer.values()):
        return False
    return (answer["CallbackCount"] <= answer["RequestSuccessCount"]
            and answer["CallbackSuccessCount"] + answer["CallbackFailCount"] <= answer["CallbackCount"])


def real_sdk_deps() -> JobDeps:
    clock = FakeClock()
    return JobDeps(now=lambda: NOW, monotonic=clock.monotonic, sleep=clock.sleep,
                   deliver=RecordingDeliver(needs_sinks=True))


def answering(answer: Dict[str, Any]) -> responses.RequestsMock:
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    mock.add(responses.POST, SMS_URL, json={"Response": {"CallbackStatusStatistics": answer,
                                                         "RequestId": "counters-0001"}})
    return mock


@property_settings(300)
@given(answer=counter_answers())
def test_a_lookup_reports_counters_only_when_they_can_be_right(answer: Dict[str, Any], tally: Any) -> None:
    tally["cases:upstream: generated counters, HTTP lookup"] += 1
    with answering(answer) as mock:
        resp = handle(stats_event({"app_id": APP_PROD, "window": "yesterday"}), None, env=ENV, deps=real_sdk_deps())
        calls = len(mock.calls)
    status, body = check_http_response(resp)
    assert calls == 1, "an upstream data error is not retried"
    if consistent(answer):
        assert status == 200, body
        assert body["stats"] == answer
        assert all(r is None or 0.0 <= r <= 1.0 for r in body["rates"].values()), body["rates"]
    else:
        assert (status, body["error"]["code"]) == (502, "UpstreamDataInvalid"), body
        assert body["error"]["request_id"] == "counters-0001" and body["error"]["retryable"] is False


@property_settings(150)
@given(answer=counter_answers())
def test_a_timer_report_never_shows_an_impossible_rate(answer: Dict[str, Any], tally: Any) -> None:
    tally["cases:upstream: generated counters, timer report"] += 1
    with answering(answer):
        doc = handle(read_event("timer_default"), None, env=ENV, deps=real_sdk_deps())
    check_result_document(doc)
    [result] = doc["results"]
    if consistent(answer):
        assert result["stats"] == answer
        assert all(r is None or 0.0 <= r <= 1.0 for r in result["rates"].values())
    else:
        assert result["stats"] is None and result["error"]["code"] == "UpstreamDataInvalid"
        assert [a["code"] for a in doc["alerts"] if a["rule"] == "api_error"] == ["UpstreamDataInvalid"]

"""HTTP lookups through API Gateway (docs/http-api.md, "HTTP lookups"): the whole status table, via `app.handle`."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

from sms_receipt_stats.catalogue import classify
from sms_receipt_stats.dev import samples
from sms_receipt_stats.dev.emulator import api_stats, window_stats
from sms_receipt_stats.jobs import JobDeps
from sms_receipt_stats.redaction import WITHHELD
from sms_receipt_stats.stats import STAT_FIELDS, Stats, compute_rates
from support import (
    API_TOKEN,
    APP_MARKETING,
    APP_PROD,
    ERROR_KEYS,
    JSON_CT,
    FakeFetcher,
    base_env,
    read_event,
)

Response = Tuple[int, Dict[str, str], Dict[str, Any]]
RESULT_KEYS = {"app_id", "app_name", "window", "stats", "rates", "series", "request_ids", "error"}


@pytest.fixture()
def call(invoke: Callable[..., Dict[str, Any]]) -> Callable[..., Response]:
    def run(event: Dict[str, Any], env: Optional[Dict[str, str]] = None, deps: Optional[JobDeps] = None) -> Response:
        response = invoke(event, env=env, deps=deps)
        assert set(response) == {"isBase64Encoded", "statusCode", "headers", "body"}
        assert response["isBase64Encoded"] is False
        assert isinstance(response["body"], str)
        return response["statusCode"], response["headers"], json.loads(response["body"])

    return run


def stats_event(query: Optional[Dict[str, Any]] = None, token: Optional[str] = API_TOKEN,
                body: Any = None, method: str = "GET", raw_body: Optional[str] = None,
                b64: bool = False) -> Dict[str, Any]:
    """The GET fixture with its query string, auth header and body replaced."""
    event = read_event("apigw_get_stats")
    event["httpMethod"] = event["requestContext"]["httpMethod"] = method
    if query is not None:
        event["queryString"] = dict(query)
        event["queryStringParameters"] = dict(query)
    event["headers"].pop("authorization", None)
    if token is not None:
        event["headers"]["authorization"] = f"Bearer {token}"
    if body is not None or raw_body is not None:
        text = raw_body if raw_body is not None else json.dumps(body)
        event["body"] = base64.b64encode(text.encode()).decode() if b64 else text
        event["isBase64Encoded"] = b64
        event["headers"]["content-type"] = "application/json"
    return event


def assert_error(response: Response, status: int, code: str, request_id: Optional[str] = None) -> Dict[str, Any]:
    got_status, headers, body = response
    assert (got_status, body.get("error", {}).get("code")) == (status, code), body
    assert headers["Content-Type"] == JSON_CT
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == ERROR_KEYS
    assert isinstance(error["message"], str) and error["message"]
    assert error["severity"] in ("info", "warning", "critical")
    assert isinstance(error["retryable"], bool)
    assert isinstance(error["hint"], str) and error["hint"]
    if request_id is not None:
        assert error["request_id"] == request_id
    text = json.dumps(body)
    for secret in (API_TOKEN, base_env()["TENCENTCLOUD_SECRETKEY"]):
        assert secret not in text
    assert "Traceback" not in text
    return error


# -- success ----------------------------------------------------------------------------------------


def test_get_fixture_answers_one_app_result(call: Callable[..., Response], fetcher: FakeFetcher) -> None:
    status, headers, body = call(read_event("apigw_get_stats"))
    assert status == 200
    assert headers == {"Content-Type": "application/json; charset=utf-8"}
    assert set(body) == RESULT_KEYS
    assert body["app_id"] == APP_PROD and body["app_name"] == "prod"
    assert body["window"] == {"begin": "2026112400", "end": "2026112500", "timezone": "Asia/Shanghai"}
    expected = window_stats(APP_PROD, "2026112400", "2026112500")
    assert body["stats"] == expected
    assert list(body["stats"]) == list(STAT_FIELDS)
    assert body["rates"] == compute_rates(Stats(**expected)).model_dump()
    assert body["series"] is None and body["error"] is None
    assert body["request_ids"] == ["req-0001"]
    assert fetcher.calls == [(APP_PROD, "2026112400", "2026112423")]  # EndTime: the last hour counted


def test_post_json_body_with_api_aliases(call: Callable[..., Response], fetcher: FakeFetcher) -> None:
    status, headers, body = call(read_event("apigw_post_stats"))
    assert status == 200, body
    assert headers == {"Content-Type": JSON_CT}
    # the fixture uses the API's names, with the API's meaning: EndTime's hour 2026112400 is included
    assert body["window"] == {"begin": "2026112000", "end": "2026112401", "timezone": "Asia/Shanghai"}
    assert body["stats"] == api_stats(APP_PROD, "2026112000", "2026112400")
    assert fetcher.calls == [(APP_PROD, "2026112000", "2026112400")]


def test_post_base64_body_with_day_series(call: Callable[..., Response], fetcher: FakeFetcher) -> None:
    status, _, body = call(read_event("apigw_post_base64"))
    assert status == 200, body
    assert body["window"]["begin"] == "2026111800" and body["window"]["end"] == "2026112500"
    series = body["series"]
    assert [p["begin"] for p in series] == [f"202611{d}00" for d in range(18, 25)]
    assert [p["end"] for p in series] == [f"202611{d}00" for d in range(19, 26)]
    for name in STAT_FIELDS:
        assert sum(p["stats"][name] for p in series) == body["stats"][name]
    assert body["stats"] == window_stats(APP_PROD, "2026111800", "2026112500")
    assert len(fetcher.calls) == 7


@pytest.mark.parametrize(("query", "begin", "end"), [
    ({"app_id": APP_PROD, "begin": "2026112300", "end": "2026112310"}, "2026112300", "2026112310"),
    ({"SmsSdkAppId": APP_PROD, "BeginTime": "2026112300", "EndTime": "2026112309"}, "2026112300", "2026112310"),
    ({"SmsSdkAppId": APP_PROD, "BeginTime": "2026112300", "EndTime": "2026112300"}, "2026112300", "2026112301"),
    ({"app_id": APP_PROD, "window": "last_hour"}, "2026112508", "2026112509"),
    ({"app_id": APP_PROD, "window": "today"}, "2026112500", "2026112509"),
    ({"app_id": APP_PROD, "window": "last_30d"}, "2026102600", "2026112500"),
    # a window ending in the future is clipped to the current hour (09:00)
    ({"app_id": APP_PROD, "begin": "2026112500", "end": "2026112600"}, "2026112500", "2026112509"),
    ({"app_id": APP_PROD, "window": "yesterday", "Limit": "0", "Offset": "0"}, "2026112400", "2026112500"),
])
def test_query_string_forms(call: Callable[..., Response], fetcher: FakeFetcher, query: Dict[str, str],
                            begin: str, end: str) -> None:
    status, _, body = call(stats_event(query))
    assert status == 200, body
    assert (body["window"]["begin"], body["window"]["end"]) == (begin, end)
    last_hour = (datetime.strptime(end, "%Y%m%d%H") - timedelta(hours=1)).strftime("%Y%m%d%H")
    assert fetcher.calls == [(APP_PROD, begin, last_hour)]  # sent as BeginTime..EndTime, both counted


def test_hour_granularity_series(call: Callable[..., Response], fetcher: FakeFetcher) -> None:
    status, _, body = call(stats_event({"app_id": APP_PROD, "window": "last_24h", "granularity": "hour"}))
    assert status == 200
    assert len(body["series"]) == 24 and len(fetcher.calls) == 24
    assert sum(p["stats"]["CallbackCount"] for p in body["series"]) == body["stats"]["CallbackCount"]


@pytest.mark.parametrize("path", ["/stats", "/release/stats/", "/prod/v1/sms/stats"])
def test_any_prefix_ending_in_stats_routes(call: Callable[..., Response], path: str) -> None:
    event = stats_event({"app_id": APP_PROD, "window": "yesterday"})
    event["path"] = path
    assert call(event)[0] == 200


def test_header_name_is_case_insensitive(call: Callable[..., Response]) -> None:
    event = stats_event({"app_id": APP_PROD, "window": "yesterday"}, token=None)
    event["headers"]["Authorization"] = f"Bearer {API_TOKEN}"
    assert call(event)[0] == 200


def test_second_token_of_several_is_accepted(call: Callable[..., Response]) -> None:
    env = base_env(API_TOKENS=f"other-token-aaaa,{API_TOKEN}")
    assert call(read_event("apigw_get_stats"), env=env)[0] == 200


# -- health, 404, 405 ---------------------------------------------------------------------------------


def test_health_needs_no_auth_and_calls_nothing(call: Callable[..., Response], make_deps: Callable[..., JobDeps],
                                                fetcher: FakeFetcher) -> None:
    made: List[Any] = []
    deps = make_deps(fetcher_factory=lambda s: made.append(s) or fetcher)
    status, headers, body = call(read_event("apigw_health"), env=base_env(API_TOKENS=None), deps=deps)
    assert status == 200
    assert headers == {"Content-Type": JSON_CT}
    assert body["status"] == "ok"
    assert made == [] and fetcher.calls == []


def test_unknown_path_is_404(call: Callable[..., Response], fetcher: FakeFetcher) -> None:
    error = assert_error(call(read_event("apigw_unknown_path")), 404, "NotFound",
                         request_id="99887766-5544-4332-a110-ffeeddccbbaa")
    assert error["retryable"] is False
    assert fetcher.calls == []


def test_delete_is_405_with_allow(call: Callable[..., Response], fetcher: FakeFetcher) -> None:
    response = call(read_event("apigw_delete_stats"))
    assert_error(response, 405, "MethodNotAllowed")
    assert response[1] == {"Content-Type": JSON_CT, "Allow": "GET, HEAD, POST"}
    assert fetcher.calls == []


def test_post_on_health_is_405(call: Callable[..., Response]) -> None:
    event = read_event("apigw_health")
    event["httpMethod"] = "POST"
    response = call(event)
    assert_error(response, 405, "MethodNotAllowed")
    assert response[1]["Allow"] == "GET, HEAD"


def test_head_on_health_is_200_without_a_body(invoke: Callable[..., Dict[str, Any]], fetcher: FakeFetcher) -> None:
    event = read_event("apigw_health")
    event["httpMethod"] = event["requestContext"]["httpMethod"] = "HEAD"
    response = invoke(event, env=base_env(API_TOKENS=None))
    assert response == {"isBase64Encoded": False, "statusCode": 200, "headers": {"Content-Type": JSON_CT},
                        "body": ""}
    assert fetcher.calls == []


def test_head_on_stats_is_answered_like_get_without_a_body(invoke: Callable[..., Dict[str, Any]],
                                                           fetcher: FakeFetcher) -> None:
    """It was a 405 (only /health took HEAD): every route that takes GET takes HEAD the same way."""
    get = invoke(read_event("apigw_get_stats"))
    event = read_event("apigw_get_stats")
    event["httpMethod"] = "HEAD"
    head = invoke(event)
    assert (head["statusCode"], head["headers"], head["body"]) == (200, get["headers"], "")
    event["queryString"] = event["queryStringParameters"] = {"app_id": APP_PROD, "window": "last_week"}
    refused = invoke(event)
    assert (refused["statusCode"], refused["body"]) == (400, "")


def test_an_unexpected_failure_is_a_500_carrying_the_events_request_id(call: Callable[..., Response],
                                                                       make_deps: Callable[..., JobDeps],
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    def broken_clock() -> Any:
        raise RuntimeError("a bug")

    deps = make_deps()
    deps.now = broken_clock
    event = read_event("apigw_get_stats")
    status, _, body = call(event, deps=deps)
    assert status == 500
    assert body["error"]["request_id"] == event["requestContext"]["requestId"]
    assert body["error"]["code"] == "InternalError" and "a bug" not in json.dumps(body)
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [failure] = [r for r in records if r["level"] == "error"]
    assert failure["code"] == "InternalError" and "RuntimeError" in failure["message"]


def test_impossible_upstream_counters_are_a_502_upstream_data_error(call: Callable[..., Response],
                                                                   fetcher: FakeFetcher) -> None:
    fetcher.stats_for[APP_PROD] = Stats(RequestSuccessCount=10, CallbackCount=50, CallbackSuccessCount=45)
    error = assert_error(call(read_event("apigw_get_stats")), 502, "UpstreamDataInvalid", request_id="req-0001")
    assert error["retryable"] is False and "CallbackCount" in error["message"]


# -- 401 / 403 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer wrong-token", f"Basic {API_TOKEN}",
                                    f"Bearer {API_TOKEN}x", f"Bearer {API_TOKEN[:-1]}", f"{API_TOKEN}"])
def test_missing_or_invalid_token_is_401(call: Callable[..., Response], fetcher: FakeFetcher,
                                         header: Optional[str]) -> None:
    event = stats_event({"app_id": APP_PROD, "window": "yesterday"}, token=None)
    if header is not None:
        event["headers"]["authorization"] = header
    response = call(event)
    error = assert_error(response, 401, "AuthFailure.Unauthorized")
    assert error["category"] == "auth"
    assert response[1] == {"Content-Type": JSON_CT, "WWW-Authenticate": 'Bearer realm="sms-receipt-stats"'}
    assert fetcher.calls == []


def test_no_api_tokens_configured_fails_closed(call: Callable[..., Response], fetcher: FakeFetcher) -> None:
    assert_error(call(read_event("apigw_get_stats"), env=base_env(API_TOKENS=None)), 401, "AuthFailure.Unauthorized")
    assert_error(call(read_event("apigw_get_stats"), env=base_env(API_TOKENS=" , ")), 401,
                 "AuthFailure.Unauthorized")
    assert fetcher.calls == []


def test_api_auth_none_allows_without_token(call: Callable[..., Response]) -> None:
    event = stats_event({"app_id": APP_PROD, "window": "yesterday"}, token=None)
    assert call(event, env=base_env(API_AUTH="none", API_TOKENS=None))[0] == 200


def test_auth_is_checked_before_parameters(call: Callable[..., Response]) -> None:
    assert_error(call(stats_event({}, token=None)), 401, "AuthFailure.Unauthorized")


def test_app_not_allowed_is_403(call: Callable[..., Response], fetcher: FakeFetcher) -> None:
    error = assert_error(call(stats_event({"app_id": "1400099999", "window": "yesterday"})), 403,
                         "UnauthorizedOperation.RequestPermissionDeny")
    assert error["category"] == "permission"
    env = base_env(API_ALLOWED_APP_IDS=APP_MARKETING)
    assert_error(call(read_event("apigw_get_stats"), env=env), 403, "UnauthorizedOperation.RequestPermissionDeny")
    assert fetcher.calls == []


def test_explicit_allow_list_admits_an_unconfigured_app(call: Callable[..., Response]) -> None:
    env = base_env(API_ALLOWED_APP_IDS="1400099999")
    status, _, body = call(stats_event({"app_id": "1400099999", "window": "yesterday"}), env=env)
    assert status == 200 and body["app_name"] is None


# -- 400: validation, never reaching the fetcher -----------------------------------------------------------

VALIDATION_CASES = [
    ({}, "MissingParameter"),
    ({"window": "yesterday"}, "MissingParameter"),
    ({"app_id": APP_PROD}, "MissingParameter"),
    ({"app_id": APP_PROD, "begin": "2026112000"}, "MissingParameter"),
    ({"app_id": APP_PROD, "end": "2026112000"}, "MissingParameter"),
    ({"app_id": "abc", "window": "yesterday"}, "InvalidParameter"),
    ({"app_id": "14000068740", "window": "yesterday"}, "InvalidParameter"),
    ({"app_id": APP_PROD, "SmsSdkAppId": "1400000002", "window": "yesterday"}, "InvalidParameter"),
    ({"app_id": APP_PROD, "window": "yesterday", "begin": "2026112000", "end": "2026112100"}, "InvalidParameter"),
    ({"app_id": APP_PROD, "begin": "2026113100", "end": "2026120100"}, "InvalidParameterValue.BeginTimeVerifyFail"),
    ({"app_id": APP_PROD, "begin": "20261120", "end": "2026112100"}, "InvalidParameterValue.BeginTimeVerifyFail"),
    ({"app_id": APP_PROD, "begin": "2026112024", "end": "2026112100"}, "InvalidParameterValue.BeginTimeVerifyFail"),
    ({"app_id": APP_PROD, "window": "last_week"}, "InvalidParameterValue.BeginTimeVerifyFail"),
    ({"app_id": APP_PROD, "begin": "2026112000", "end": "2026112000"}, "InvalidParameterValue.EndTimeVerifyFail"),
    ({"app_id": APP_PROD, "begin": "2026112010", "end": "2026112009"}, "InvalidParameterValue.EndTimeVerifyFail"),
    ({"app_id": APP_PROD, "BeginTime": "2026112010", "EndTime": "2026112009"},
     "InvalidParameterValue.EndTimeVerifyFail"),
    ({"app_id": APP_PROD, "BeginTime": "2026112010"}, "MissingParameter"),
    ({"app_id": APP_PROD, "begin": "2026112000", "EndTime": "2026112010"}, "InvalidParameter"),
    ({"app_id": APP_PROD, "begin": "2026112000", "end": "2026112"}, "InvalidParameterValue.EndTimeVerifyFail"),
    ({"app_id": APP_PROD, "begin": "2025110100", "end": "2026110300"}, "InvalidParameterValue.EndTimeVerifyFail"),
    ({"app_id": APP_PROD, "begin": "2026111000", "end": "2026111801", "granularity": "hour"},
     "InvalidParameterValue.EndTimeVerifyFail"),
    ({"app_id": APP_PROD, "begin": "2026112600", "end": "2026112700"}, "InvalidParameterValue.EndTimeVerifyFail"),
    ({"app_id": APP_PROD, "window": "yesterday", "Limit": "10"}, "InvalidParameterValue.LimitVerifyFail"),
    ({"app_id": APP_PROD, "window": "yesterday", "Offset": "1"}, "InvalidParameterValue.OffsetVerifyFail"),
    ({"app_id": APP_PROD, "window": "yesterday", "granularity": "week"}, "InvalidParameterValue"),
]


@pytest.mark.parametrize(("query", "code"), VALIDATION_CASES)
def test_validation_failures_are_400_and_never_call_the_api(
        call: Callable[..., Response], make_deps: Callable[..., JobDeps], fetcher: FakeFetcher,
        query: Dict[str, str], code: str) -> None:
    made: List[Any] = []
    deps = make_deps(fetcher_factory=lambda s: made.append(s) or fetcher)
    response = call(stats_event(query), deps=deps)
    error = assert_error(response, 400, code, request_id="b1f0c3a2-5d4e-4c6b-9a8f-7e6d5c4b3a21")
    assert error["category"] == "input" and error["retryable"] is False
    assert response[1] == {"Content-Type": JSON_CT}
    assert made == [] and fetcher.calls == []


@pytest.mark.parametrize(("query", "code"), VALIDATION_CASES)
def test_the_same_validation_applies_to_json_bodies(call: Callable[..., Response], fetcher: FakeFetcher,
                                                    query: Dict[str, str], code: str) -> None:
    assert_error(call(stats_event({}, body=query, method="POST")), 400, code)
    assert fetcher.calls == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_unknown_window_name_says_so_and_lists_the_names(call: Callable[..., Response], lang: str) -> None:
    """`window=last_week` was answered with the BeginTime hint (yyyymmddhh), which a caller who
    gave no BeginTime cannot act on."""
    error = assert_error(call(stats_event({"app_id": APP_PROD, "window": "last_week"}),
                              env=base_env(REPORT_LANG=lang)), 400, "InvalidParameterValue.BeginTimeVerifyFail")
    names = "last_hour, last_24h, today, yesterday, last_7d, last_30d"
    assert error["message"] == f"window 'last_week' is not a window name: the names are {names}"
    assert names in error["hint"] and "BeginTime" not in error["hint"]


@pytest.mark.parametrize("query", [
    {"app_id": f"{APP_PROD},{APP_MARKETING}"},
    {"app_id": f"{APP_PROD} {APP_MARKETING}"},
    {"app_id": APP_PROD, "SmsSdkAppId": APP_MARKETING},
    {"app_id": [APP_PROD, APP_MARKETING]},
])
def test_two_app_ids_are_refused_as_one_app_per_lookup(call: Callable[..., Response], fetcher: FakeFetcher,
                                                       query: Dict[str, Any]) -> None:
    """It said "must be an SmsSdkAppId of 10 digits", true of each of the two ids sent."""
    error = assert_error(call(stats_event({**query, "window": "yesterday"})), 400, "InvalidParameter")
    assert "one app per lookup" in error["message"] and "10 digits" not in error["message"]
    assert fetcher.calls == []


def test_a_malformed_app_id_is_quoted(call: Callable[..., Response]) -> None:
    error = assert_error(call(stats_event({"app_id": "abc", "window": "yesterday"})), 400, "InvalidParameter")
    assert error["message"] == "app_id 'abc' is not an SmsSdkAppId (10 digits, e.g. 1400006874)"
    error = assert_error(call(stats_event({"app_id": APP_PROD, "window": "yesterday", "granularity": "week"})),
                         400, "InvalidParameterValue")
    assert error["message"] == "granularity 'week' is unknown: use total, day, hour"


def test_span_just_within_the_product_limit_is_split_not_refused(call: Callable[..., Response],
                                                                  fetcher: FakeFetcher) -> None:
    status, _, body = call(stats_event({"app_id": APP_PROD, "begin": "2025112500", "end": "2026112500"}))
    assert status == 200, body
    assert len(fetcher.calls) == 12  # 365 days in 32-day API pieces
    assert body["stats"] == window_stats(APP_PROD, "2025112500", "2026112500")


@pytest.mark.parametrize(("raw", "b64"), [("{not json", False), ("[1, 2]", False), ('"text"', False),
                                          ("%%%not-base64%%%", True), ("\xff\xfe", True)])
def test_unparseable_body_is_json_parse_fail(call: Callable[..., Response], fetcher: FakeFetcher,
                                             raw: str, b64: bool) -> None:
    event = stats_event({}, raw_body=raw, method="POST", b64=False)
    if b64:
        event["isBase64Encoded"] = True
        if raw == "\xff\xfe":  # valid base64 of bytes that are not UTF-8 JSON
            event["body"] = base64.b64encode(b"\xff\xfe{").decode()
    assert_error(call(event), 400, "FailedOperation.JsonParseFail")
    assert fetcher.calls == []


def test_body_integers_for_limit_offset_are_accepted(call: Callable[..., Response]) -> None:
    body = {"app_id": APP_PROD, "window": "yesterday", "Limit": 0, "Offset": 0}
    assert call(stats_event({}, body=body, method="POST"))[0] == 200
    body["Limit"] = 20
    assert_error(call(stats_event({}, body=body, method="POST")), 400, "InvalidParameterValue.LimitVerifyFail")


def test_malformed_gateway_event_is_400_not_a_crash(call: Callable[..., Response], fetcher: FakeFetcher) -> None:
    event = read_event("apigw_get_stats")
    event["headers"] = "authorization: Bearer x"
    status, _, body = call(event)
    assert status == 400 and set(body["error"]) == ERROR_KEYS
    assert fetcher.calls == []


# -- upstream errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "status", "retry_after"), [
    ("InvalidParameterValue.SdkAppIdNotExist", 400, None),
    ("InvalidParameter", 400, None),
    ("MissingParameter", 400, None),
    ("RequestLimitExceeded", 429, "1"),
    ("RequestLimitExceeded.UinLimitExceeded", 429, "1"),
    ("InternalError.Timeout", 503, "5"),
    ("InternalError.SendAndRecvFail", 503, "5"),
    ("ClientNetworkError", 503, "5"),
    ("AuthFailure.SignatureFailure", 502, None),
    ("AuthFailure.SecretIdNotFound", 502, None),
    ("UnauthorizedOperation.ServiceSuspendDueToArrears", 502, None),
    ("UnauthorizedOperation.RequestIpNotInWhitelist", 502, None),
    ("InternalError", 503, "5"),
    ("InternalError.BrandNew", 503, "5"),
    ("FailedOperation.JsonParseFail", 502, None),
    ("BrandNewCode.NeverSeen", 502, None),
])
def test_upstream_codes_map_to_statuses(call: Callable[..., Response], fetcher: FakeFetcher, code: str,
                                        status: int, retry_after: Optional[str]) -> None:
    fetcher.fail(APP_PROD, code, message="upstream message", request_id="upstream-req-42")
    response = call(read_event("apigw_get_stats"))
    error = assert_error(response, status, code, request_id="upstream-req-42")
    entry = classify(code)
    assert (error["severity"], error["category"], error["retryable"], error["hint"]) == (
        entry.severity, entry.category, entry.retryable, entry.hint_en)
    expected_headers = {"Content-Type": JSON_CT}
    if retry_after is not None:
        expected_headers["Retry-After"] = retry_after
    assert response[1] == expected_headers
    # retryable codes were retried (with fake sleeps), the others asked once
    assert len(fetcher.calls) == (4 if entry.retryable else 1)


def test_transient_upstream_error_recovered_by_retry_is_200(call: Callable[..., Response],
                                                            fetcher: FakeFetcher) -> None:
    fetcher.fail(APP_PROD, "RequestLimitExceeded", times=1, request_id="limited-1")
    status, _, body = call(read_event("apigw_get_stats"))
    assert status == 200
    assert body["request_ids"] == ["limited-1", "req-0002"]


def test_missing_credentials_on_lookup_is_502_without_detail_leak(call: Callable[..., Response],
                                                                  make_deps: Callable[..., JobDeps]) -> None:
    deps = make_deps()
    deps.fetcher_factory = JobDeps().fetcher_factory  # the real SDK fetcher: fails before any request
    env = base_env(TENCENTCLOUD_SECRETID=None, TENCENTCLOUD_SECRETKEY=None)
    status, _, body = call(read_event("apigw_get_stats"), env=env, deps=deps)
    assert status == 502 and set(body["error"]) == ERROR_KEYS


def test_an_upstream_json_parse_fail_is_not_the_callers_unparseable_body(call: Callable[..., Response],
                                                                         fetcher: FakeFetcher) -> None:
    fetcher.fail(APP_PROD, "FailedOperation.JsonParseFail", request_id="upstream-req-43")
    upstream = assert_error(call(read_event("apigw_get_stats")), 502, "FailedOperation.JsonParseFail",
                            request_id="upstream-req-43")
    caller = assert_error(call(stats_event({}, raw_body="{not json", method="POST")), 400,
                          "FailedOperation.JsonParseFail")
    assert (upstream["category"], caller["category"]) == ("upstream", "input")
    assert "SMS_ENDPOINT" in upstream["hint"] and "query parameters" in caller["hint"]


@pytest.mark.parametrize(("code", "status", "message"), [
    ("RequestLimitExceeded", 429, "lookup failed upstream"),
    ("InvalidParameterValue.SdkAppIdNotExist", 400, "lookup failed upstream"),
    ("AuthFailure.SignatureFailure", 502, "lookup failed upstream"),
])
def test_upstream_refusals_are_logged_as_upstream_failures(call: Callable[..., Response], fetcher: FakeFetcher,
                                                           capsys: pytest.CaptureFixture[str], code: str,
                                                           status: int, message: str) -> None:
    fetcher.fail(APP_PROD, code)
    assert call(read_event("apigw_get_stats"))[0] == status
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [record] = [r for r in records if r.get("status") == status]
    assert (record["message"], record["code"]) == (message, code)


def test_local_refusals_are_logged_as_refused(call: Callable[..., Response],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert call(stats_event(token=None))[0] == 401
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [r["message"] for r in records if r.get("status") == 401] == ["lookup refused"]


def test_missing_credentials_message_names_the_variables(call: Callable[..., Response],
                                                         make_deps: Callable[..., JobDeps]) -> None:
    deps = make_deps()
    deps.fetcher_factory = JobDeps().fetcher_factory
    env = base_env(TENCENTCLOUD_SECRETID=None, TENCENTCLOUD_SECRETKEY=None,
                   NOTIFY_URLS="https://hooks.example.com/x#secret=set")
    _, _, body = call(read_event("apigw_get_stats"), env=env, deps=deps)
    message = body["error"]["message"]
    assert message.startswith("no credentials: set TENCENTCLOUD_SECRETID/TENCENTCLOUD_SECRETKEY"), message
    assert "TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY" in message and "***" not in message


def test_error_bodies_are_in_the_configured_language(call: Callable[..., Response], fetcher: FakeFetcher) -> None:
    fetcher.fail(APP_PROD, "UnauthorizedOperation.ServiceSuspendDueToArrears")
    _, _, body = call(read_event("apigw_get_stats"), env=base_env(REPORT_LANG="zh"))
    assert body["error"]["hint"] == classify("UnauthorizedOperation.ServiceSuspendDueToArrears").hint_zh


def test_upstream_message_echoing_a_secret_is_redacted(call: Callable[..., Response], fetcher: FakeFetcher) -> None:
    secret = base_env()["TENCENTCLOUD_SECRETKEY"]
    fetcher.fail(APP_PROD, "AuthFailure.SignatureFailure", message=f"key {secret} token {API_TOKEN} rejected")
    _, _, body = call(read_event("apigw_get_stats"))
    text = json.dumps(body)
    assert secret not in text and API_TOKEN not in text


def test_upstream_message_quoting_any_part_of_a_secret_is_scrubbed(call: Callable[..., Response],
                                                                   fetcher: FakeFetcher) -> None:
    secret = base_env()["TENCENTCLOUD_SECRETKEY"]
    encoded = base64.b64encode(f"id:{secret}".encode()).decode()
    fetcher.fail(APP_PROD, "AuthFailure.SignatureFailure",
                 message=f"expected ...{secret[-9:].upper()} ({encoded}) from {API_TOKEN[:6]}\n{API_TOKEN[6:]}")
    _, _, body = call(read_event("apigw_get_stats"))
    message = body["error"]["message"]
    assert message.startswith("expected ...") and "from" in message
    for part in (secret[-9:].lower(), encoded[4:16].lower(), API_TOKEN[:6].lower(), API_TOKEN[6:16].lower()):
        assert part not in message.lower(), message


def test_upstream_message_is_withheld_when_a_secret_is_too_short_to_mask(call: Callable[..., Response],
                                                                         fetcher: FakeFetcher) -> None:
    fetcher.fail(APP_PROD, "AuthFailure.SignatureFailure", message="token ab was refused")
    _, _, body = call(read_event("apigw_get_stats"), env=base_env(API_TOKENS=f"{API_TOKEN},ab"))
    assert body["error"]["message"] == WITHHELD
    assert body["error"]["code"] == "AuthFailure.SignatureFailure"


# -- fixtures stay in step with the CLI's templates ----------------------------------------------------------


def test_samples_mirror_the_event_fixtures() -> None:
    assert samples.timer_event() == read_event("timer_default")
    fixture = read_event("apigw_get_stats")
    template = samples.apigw_event({"app_id": APP_PROD, "window": "yesterday"}, token=API_TOKEN)
    assert set(template) == set(fixture)
    assert set(template["requestContext"]) == set(fixture["requestContext"])
    for key in ("path", "httpMethod", "queryString", "queryStringParameters", "isBase64Encoded"):
        assert template[key] == fixture[key]
    assert template["headers"]["authorization"] == fixture["headers"]["authorization"]


def test_an_oversized_base64_body_is_refused_before_it_is_decoded(call: Callable[..., Response],
                                                                  fetcher: FakeFetcher) -> None:
    event = stats_event(query={}, method="POST", body={"app_id": APP_PROD, "window": "yesterday"}, b64=True)
    # 1 MiB that is not even base64: the size answers first, so nothing was decoded
    event["body"] = "!" * (1024 * 1024)
    assert_error(call(event), 413, "RequestSizeLimitExceeded")
    assert fetcher.calls == []


def test_tokens_are_compared_as_fixed_length_digests(call: Callable[..., Response], fetcher: FakeFetcher) -> None:
    """A prefix of the token, or the token with a suffix, is refused like any wrong token."""
    for wrong in (API_TOKEN[:-1], API_TOKEN + "x", API_TOKEN[:1]):
        assert_error(call(stats_event(query={"app_id": APP_PROD, "window": "yesterday"}, token=wrong)),
                     401, "AuthFailure.Unauthorized")
    assert fetcher.calls == []

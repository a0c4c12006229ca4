"""API Gateway lookups under hostile input: the handler answers like a gateway, never like a crash.

Every property drives `app.handle` with a counting fake fetcher and checks the same
invariants: no exception escapes, no 500, the response has the integration shape and an
error body of docs/http-api.md "HTTP lookups", no stack trace or internals, and the upstream API is only
reached by a request that passed validation (and then only with an allowed app id and a
window the API accepts).
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any, Dict, Optional, Tuple

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sms_receipt_stats.app import handle
from sms_receipt_stats.config import APP_ID_PATTERN
from sms_receipt_stats.events import MAX_BODY_BYTES
from strategies import KEYS, NASTY, deep_json, hostile_text, json_values, scalars
from support import (
    API_TOKEN,
    APP_NOT_ALLOWED,
    APP_PROD,
    APP_STAGING,
    HEALTHY_STATS,
    OTHER_TOKENS,
    FakeFetcher,
    check_http_response,
    fake_deps,
    plain_env,
    property_settings,
    read_event,
    stats_event,
)

ENV = plain_env()
VALID_TOKENS = (API_TOKEN, *OTHER_TOKENS)
API_WINDOW_MAX_HOURS = 32 * 24


def _hour(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d%H")


def run(event: Any, tally: Any, name: str, context: Any = None) -> Tuple[Any, FakeFetcher]:
    """One handled event with a fresh fetcher; checks the fetches that happened are sane."""
    tally[f"cases:{name}"] += 1
    fetcher = FakeFetcher(HEALTHY_STATS)
    try:
        resp = handle(event, context, env=ENV, deps=fake_deps(fetcher))
    except BaseException as exc:  # pragma: no cover - the property failing is the report
        raise AssertionError(f"handle raised {type(exc).__name__}") from exc
    for app_id, begin, end in fetcher.calls:
        assert app_id in (APP_PROD, APP_STAGING, "1400000009"), app_id
        b, e = _hour(begin), _hour(end)  # both are yyyymmddhh
        # EndTime names the last hour counted: one hour is b == e (the API's inclusive rule)
        assert b <= e and (e - b).total_seconds() < API_WINDOW_MAX_HOURS * 3600
    return resp, fetcher


def assert_refused(resp: Any, fetcher: FakeFetcher) -> Tuple[int, Dict[str, Any]]:
    status, body = check_http_response(resp)
    assert status != 200, body
    assert fetcher.calls == [], "a refused request reached the upstream API"
    return status, body


def assert_gateway_answer(resp: Any, fetcher: FakeFetcher) -> Tuple[int, Dict[str, Any]]:
    """Any answer: 200 only after exactly the calls the window needs; otherwise no call at all."""
    status, body = check_http_response(resp)
    if status == 200:
        assert fetcher.calls, "a 200 answer without asking the API"
        assert body["app_id"] in (APP_PROD, APP_STAGING)
        assert body["stats"] is not None and body["error"] is None
    else:
        assert fetcher.calls == [], f"{status} {body['error']['code']} after calling the API"
    return status, body


# ---------------------------------------------------------------------------------------------
# 1. Anything at all: JSON of any shape as the event, and API-Gateway-shaped junk.
# ---------------------------------------------------------------------------------------------
@property_settings(300)
@given(event=json_values(max_leaves=20))
def test_any_json_event_is_answered_never_raised(event: Any, tally: Any) -> None:
    resp, fetcher = run(event, tally, "apigw: any JSON value as the event")
    assert fetcher.calls == []
    if isinstance(resp, dict) and "statusCode" in resp:
        check_http_response(resp)
    else:
        assert resp["errors"], resp


APIGW_FIELDS = ("httpMethod", "path", "headers", "queryString", "queryStringParameters", "body",
                "isBase64Encoded", "requestContext")


@st.composite
def apigw_shaped(draw: Any) -> Dict[str, Any]:
    """A real fixture whose fields are each kept, dropped or replaced by any JSON value."""
    event = stats_event(token=draw(st.sampled_from([*VALID_TOKENS, None, "nope"])))
    for name in APIGW_FIELDS:
        action = draw(st.sampled_from(["keep", "keep", "drop", "junk"]))
        if action == "drop" and name != "httpMethod":
            event.pop(name, None)
        elif action == "junk":
            event[name] = draw(json_values())
    for _ in range(draw(st.integers(0, 3))):
        event[draw(st.sampled_from(KEYS))] = draw(json_values(6))
    return event


@property_settings(300)
@given(event=apigw_shaped())
def test_apigw_shaped_junk_gets_a_gateway_answer(event: Dict[str, Any], tally: Any) -> None:
    resp, fetcher = run(event, tally, "apigw: fixture fields replaced by any JSON")
    if "statusCode" in resp:
        assert_gateway_answer(resp, fetcher)
    else:  # no longer recognisable as an API Gateway event
        assert resp["errors"] and fetcher.calls == []


# ---------------------------------------------------------------------------------------------
# 2. Hostile parameters: wrong types, huge and odd strings, repeated and conflicting values.
# ---------------------------------------------------------------------------------------------
PARAM_NAMES = ("app_id", "SmsSdkAppId", "begin", "BeginTime", "end", "EndTime", "window", "granularity",
               "Limit", "Offset", "limit", "offset")
VALID_BASES = (
    {"app_id": APP_PROD, "window": "yesterday"},
    {"SmsSdkAppId": APP_PROD, "BeginTime": "2026112000", "EndTime": "2026112400", "Limit": 0, "Offset": 0},
    {"app_id": APP_STAGING, "begin": "2026111800", "end": "2026112400", "granularity": "day"},
    {"app_id": APP_PROD, "window": "last_24h", "granularity": "hour"},
)


@st.composite
def hostile_lookup(draw: Any) -> Dict[str, Any]:
    params: Dict[str, Any] = dict(draw(st.sampled_from(VALID_BASES)))
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(PARAM_NAMES))
        how = draw(st.sampled_from(["scalar", "json", "repeat", "conflict", "drop"]))
        current = params.get(name, draw(scalars))
        if how == "scalar":
            params[name] = draw(scalars)
        elif how == "json":
            params[name] = draw(json_values(6))
        elif how == "repeat":
            params[name] = [current] * draw(st.integers(0, 3))
        elif how == "conflict":
            params[name] = [current, draw(scalars)]
        else:
            params.pop(name, None)
    where = draw(st.sampled_from(["query", "body", "base64", "split"]))
    method = "GET" if where == "query" else "POST"
    if where == "query":
        return stats_event(query=params, token=draw(st.sampled_from(VALID_TOKENS)), method=method)
    if where == "split":
        names = sorted(params)
        cut = draw(st.integers(0, len(names)))
        query = {k: params[k] for k in names[:cut]}
        body = {k: params[k] for k in names[cut:]}
        return stats_event(query=query, body=json.dumps(body), method=method)
    return stats_event(query={}, body=json.dumps(params), base64_body=where == "base64", method=method)


@property_settings(400)
@given(event=hostile_lookup())
def test_hostile_parameters_never_crash_and_only_valid_lookups_reach_the_api(event: Dict[str, Any],
                                                                               tally: Any) -> None:
    resp, fetcher = run(event, tally, "apigw: hostile parameters (types, strings, repeats, conflicts)")
    assert_gateway_answer(resp, fetcher)


# ---------------------------------------------------------------------------------------------
# 3. One defect at a time: the exact status and code of docs/http-api.md "HTTP lookups", and no upstream call.
# ---------------------------------------------------------------------------------------------
def _not_app_id(value: Any) -> bool:
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    return text is None or (text != "" and not APP_ID_PATTERN.match(text))


def _bad_hour(value: str) -> bool:
    text = value.strip()
    if not text or len(text) > 64:
        return False
    if len(text) == 10 and text.isascii() and text.isdigit():
        return not (1 <= int(text[4:6]) <= 12 and 1 <= int(text[6:8]) <= 28 and int(text[8:]) <= 23)
    return True


DEFECTS = {
    # name: (status, code, strategy of a mutation(params, event) -> None)
    "no token": (401, "AuthFailure.Unauthorized"),
    "wrong token": (401, "AuthFailure.Unauthorized"),
    "method": (405, "MethodNotAllowed"),
    "path": (404, "NotFound"),
    "missing app_id": (400, "MissingParameter"),
    "malformed app_id": (400, "InvalidParameter"),
    "app_id not allowed": (403, "UnauthorizedOperation.RequestPermissionDeny"),
    "Limit": (400, "InvalidParameterValue.LimitVerifyFail"),
    "Offset": (400, "InvalidParameterValue.OffsetVerifyFail"),
    "bad begin": (400, "InvalidParameterValue.BeginTimeVerifyFail"),
    "bad end": (400, "InvalidParameterValue.EndTimeVerifyFail"),
    "end before begin": (400, "InvalidParameterValue.EndTimeVerifyFail"),
    "span over the product limit": (400, "InvalidParameterValue.EndTimeVerifyFail"),
    "unknown window": (400, "InvalidParameterValue.BeginTimeVerifyFail"),
    "window and begin/end": (400, "InvalidParameter"),
    "begin without end": (400, "MissingParameter"),
    "bad granularity": (400, "InvalidParameterValue"),
    "conflict query/body": (400, "InvalidParameter"),
    "repeated with different values": (400, "InvalidParameter"),
    "parameter too long": (400, "InvalidParameter"),
    "wrong type": (400, "InvalidParameter"),
    "oversized body": (413, "RequestSizeLimitExceeded"),
    "oversized base64 body": (413, "RequestSizeLimitExceeded"),
    "invalid base64": (400, "FailedOperation.JsonParseFail"),
    "base64 of non-UTF-8": (400, "FailedOperation.JsonParseFail"),
    "body not JSON": (400, "FailedOperation.JsonParseFail"),
    "body JSON but not an object": (400, "FailedOperation.JsonParseFail"),
}


@st.composite
def one_defect(draw: Any) -> Tuple[str, Dict[str, Any]]:
    defect = draw(st.sampled_from(sorted(DEFECTS)))
    query: Dict[str, Any] = {"app_id": APP_PROD, "begin": "2026112000", "end": "2026112400"}
    body: Optional[Any] = None
    raw_body: Optional[str] = None
    b64 = False
    token: Optional[str] = draw(st.sampled_from(VALID_TOKENS))
    method, path = draw(st.sampled_from(["GET", "POST"])), draw(st.sampled_from(
        ["/release/stats", "/stats", "/prod/svc/stats/", "stats"]))
    if defect == "no token":
        token = None
    elif defect == "wrong token":
        token = draw(st.one_of(hostile_text, st.sampled_from([t + "x" for t in VALID_TOKENS]),
                               st.sampled_from([t[:-1] for t in VALID_TOKENS]),
                               st.sampled_from([t.upper() for t in VALID_TOKENS])))
        assume(token.strip() not in VALID_TOKENS)
    elif defect == "method":
        method = draw(st.sampled_from(["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", ""]))
    elif defect == "path":
        path = draw(st.one_of(st.sampled_from(["/", "", "/release/stat", "/release/stats.json", "/statsx",
                                               "/release/stats/extra", "/..%2fstats", "/release/STATS"]),
                              hostile_text.filter(lambda p: not p.rstrip("/").endswith(("stats", "health")))))
    elif defect == "missing app_id":
        del query["app_id"]
    elif defect == "malformed app_id":
        query["app_id"] = draw(st.one_of(hostile_text, numbers_not_app_ids).filter(_not_app_id).filter(
            lambda v: not isinstance(v, str) or len(v.strip()) <= 64))
        assume(isinstance(query["app_id"], (str, int)) and not isinstance(query["app_id"], bool))
    elif defect == "app_id not allowed":
        query["app_id"] = draw(st.sampled_from([APP_NOT_ALLOWED, "1999999999", "1000000000"]))
    elif defect in ("Limit", "Offset"):
        query[defect] = draw(st.one_of(st.integers(-(10**12), 10**12).filter(lambda n: n != 0),
                                       st.from_regex(r"\A[0-9]{1,12}\Z").filter(lambda s: s != "0")))
    elif defect == "bad begin":
        query["begin"] = draw(st.one_of(st.sampled_from(NASTY), st.text(max_size=64)).filter(_bad_hour))
    elif defect == "bad end":
        query["end"] = draw(st.one_of(st.sampled_from(NASTY), st.text(max_size=64)).filter(_bad_hour))
    elif defect == "end before begin":
        query["end"] = draw(st.sampled_from(["2026112000", "2026111923", "2020010100"]))
    elif defect == "span over the product limit":
        query.update(draw(st.sampled_from([
            {"begin": "2025010100", "end": "2026112400"},
            {"begin": "2026111000", "end": "2026112400", "granularity": "hour"},
        ])))
    elif defect == "unknown window":
        del query["begin"], query["end"]
        query["window"] = draw(hostile_text.filter(
            lambda w: w.strip() and len(w.strip()) <= 64 and w.strip() not in
            ("last_hour", "last_24h", "today", "yesterday", "last_7d", "last_30d")))
    elif defect == "window and begin/end":
        query["window"] = "yesterday"
    elif defect == "begin without end":
        del query["end"]
    elif defect == "bad granularity":
        query["granularity"] = draw(hostile_text.filter(
            lambda g: g.strip() and len(g.strip()) <= 64 and g.strip() not in ("total", "day", "hour")))
    elif defect == "conflict query/body":
        body, method = {"SmsSdkAppId": APP_STAGING}, "POST"
    elif defect == "repeated with different values":
        query["app_id"] = [APP_PROD, APP_STAGING]
    elif defect == "parameter too long":
        name = draw(st.sampled_from(["app_id", "begin", "end"]))
        query[name] = query[name] + " " * draw(st.integers(0, 3)) + "0" * draw(st.integers(56, 5000))
    elif defect == "wrong type":
        name = draw(st.sampled_from(["app_id", "begin", "end"]))
        query[name] = draw(st.one_of(st.booleans(), st.floats(), st.dictionaries(st.text(max_size=3), scalars,
                                                                                  max_size=2),
                                     st.lists(st.dictionaries(st.text(max_size=3), scalars, max_size=2),
                                              min_size=1, max_size=1)))
    elif defect in ("oversized body", "oversized base64 body"):
        method = "POST"
        pad = draw(st.integers(MAX_BODY_BYTES + 1, 4 * MAX_BODY_BYTES))
        raw_body = json.dumps({**query, "pad": "x" * pad})
        query = {}
        b64 = defect == "oversized base64 body"
        if b64:
            raw_body = base64.b64encode(raw_body.encode()).decode()
    elif defect == "invalid base64":
        method, b64 = "POST", True
        raw_body = draw(st.sampled_from(["not base64!", "eyJhcHBfaWQiOiAi", "====", "e30", "e30===x", "%%%%"]))
        query = {}
    elif defect == "base64 of non-UTF-8":
        method, b64 = "POST", True
        raw_body = base64.b64encode(b'{"app_id": "\xff\xfe"}').decode()
        query = {}
    elif defect == "body not JSON":
        method = "POST"
        raw_body = draw(st.sampled_from(["{", "app_id=1400006874&window=yesterday", "{'app_id': 1}", "NaN]",
                                         "\x00", "{\"app_id\": }", "[1,"]))
    elif defect == "body JSON but not an object":
        method = "POST"
        small = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
        raw_body = json.dumps(draw(st.one_of(st.lists(small, max_size=3), small)))
    event = stats_event(query=query, token=token, method=method, body=body)
    event["path"] = path
    if raw_body is not None:
        event["body"], event["isBase64Encoded"] = raw_body, b64
    return defect, event


numbers_not_app_ids = st.one_of(st.integers().filter(lambda n: not APP_ID_PATTERN.match(str(n))),
                                st.floats(), st.booleans(), st.none())


@property_settings(400)
@given(case=one_defect())
def test_each_defect_gets_its_own_status_and_code_without_an_upstream_call(case: Tuple[str, Dict[str, Any]],
                                                                         tally: Any) -> None:
    defect, event = case
    resp, fetcher = run(event, tally, "apigw: one defect -> exact status and code")
    status, body = assert_refused(resp, fetcher)
    expected_status, expected_code = DEFECTS[defect]
    assert (status, body["error"]["code"]) == (expected_status, expected_code), (defect, body)


def test_every_defect_kind_is_generated() -> None:
    """The strategy above reaches every defect (a catalogue entry nobody draws tests nothing)."""
    seen = set()

    @property_settings(300)
    @given(case=one_defect())
    def collect(case: Tuple[str, Dict[str, Any]]) -> None:
        seen.add(case[0])

    collect()
    assert seen == set(DEFECTS)


# ---------------------------------------------------------------------------------------------
# 4. Valid lookups in every transport: query, JSON body, base64 body, aliases, repeats, padding.
# ---------------------------------------------------------------------------------------------
@st.composite
def valid_lookup(draw: Any) -> Tuple[Dict[str, Any], int]:
    app = draw(st.sampled_from([APP_PROD, APP_STAGING]))
    shape = draw(st.sampled_from([
        ({"window": "yesterday"}, 1),
        ({"window": "last_7d", "granularity": "day"}, 7),
        ({"window": "last_hour", "granularity": "hour"}, 1),
        ({"begin": "2026112000", "end": "2026112400"}, 1),
        ({"BeginTime": "2025120100", "EndTime": "2026112400"}, 12),  # > 32 days: split
        ({"begin": "2026112300", "end": "2026112400", "granularity": "hour"}, 24),
    ]))
    params: Dict[str, Any] = {draw(st.sampled_from(["app_id", "SmsSdkAppId"])): app, **shape[0]}
    if draw(st.booleans()):
        params[draw(st.sampled_from(["Limit", "limit"]))] = draw(st.sampled_from([0, "0", " 0 ", [0, 0]]))
    if draw(st.booleans()):
        params["Offset"] = draw(st.sampled_from([0, "0"]))
    if draw(st.booleans()):
        name = draw(st.sampled_from(sorted(k for k, v in params.items() if not isinstance(v, list))))
        params[name] = [params[name]] * draw(st.integers(1, 3))  # the same value repeated
    if draw(st.booleans()):
        for _ in range(draw(st.integers(1, 3))):  # unknown parameters are ignored
            params[draw(st.text(max_size=8).filter(lambda k: k not in PARAM_NAMES))] = draw(json_values(4).filter(
                lambda v: len(json.dumps(v)) < 2000))
    where = draw(st.sampled_from(["query", "body", "base64"]))
    token = draw(st.sampled_from(VALID_TOKENS))
    if where == "query":
        event = stats_event(query=params, token=token)
    else:
        event = stats_event(query={}, token=token, method="POST", body=json.dumps(params),
                            base64_body=where == "base64")
    return event, shape[1]


@property_settings(300)
@given(case=valid_lookup())
def test_valid_lookups_in_any_transport_answer_200(case: Tuple[Dict[str, Any], int], tally: Any) -> None:
    event, calls = case
    resp, fetcher = run(event, tally, "apigw: valid lookups in every transport")
    status, body = assert_gateway_answer(resp, fetcher)
    assert status == 200, body
    assert len(fetcher.calls) == calls


# ---------------------------------------------------------------------------------------------
# 5. Transport never changes the answer: a body means the same plain or base64-encoded.
# ---------------------------------------------------------------------------------------------
@property_settings(300)
@given(params=st.dictionaries(st.sampled_from(PARAM_NAMES), st.one_of(scalars, json_values(4)), max_size=6),
       token=st.sampled_from(VALID_TOKENS))
def test_base64_encoding_of_the_body_changes_nothing(params: Dict[str, Any], token: str, tally: Any) -> None:
    plain, plain_calls = run(stats_event(query={}, token=token, method="POST", body=json.dumps(params)),
                             tally, "apigw: plain vs base64 body")
    encoded, encoded_calls = run(stats_event(query={}, token=token, method="POST", body=json.dumps(params),
                                             base64_body=True), tally, "apigw: plain vs base64 body")
    assert_gateway_answer(plain, plain_calls)
    assert_gateway_answer(encoded, encoded_calls)
    assert (plain["statusCode"], plain["body"]) == (encoded["statusCode"], encoded["body"])
    assert plain_calls.calls == encoded_calls.calls


# ---------------------------------------------------------------------------------------------
# 6. Body size: the cap holds at the boundary, for text and base64, with multi-byte characters.
# ---------------------------------------------------------------------------------------------
@property_settings(300)
@given(extra=st.integers(-64, 4 * MAX_BODY_BYTES), char=st.sampled_from(["x", "é", "中", "🙂"]),
       b64=st.booleans())
def test_bodies_over_the_cap_are_413_and_under_it_are_read(extra: int, char: str, b64: bool, tally: Any) -> None:
    params = {"app_id": APP_PROD, "window": "yesterday"}
    skeleton = json.dumps({**params, "pad": ""}, ensure_ascii=False).encode()
    room = MAX_BODY_BYTES + extra - len(skeleton)
    assume(room >= 0)
    pad = char * (room // len(char.encode()))
    text = json.dumps({**params, "pad": pad}, ensure_ascii=False)
    size = len(text.encode())
    resp, fetcher = run(stats_event(query={}, method="POST", body=text, base64_body=b64), tally,
                        "apigw: body size cap (413)")
    status, body = assert_gateway_answer(resp, fetcher)
    if size > MAX_BODY_BYTES:
        assert (status, body["error"]["code"]) == (413, "RequestSizeLimitExceeded")
    else:
        assert status == 200, body


# ---------------------------------------------------------------------------------------------
# 7. Health and routing stay cheap and unauthenticated whatever else the request carries.
# ---------------------------------------------------------------------------------------------
@property_settings(300)
@given(junk=st.dictionaries(st.sampled_from(["queryString", "body", "headers", "isBase64Encoded"]),
                            json_values(6), max_size=3))
def test_health_answers_without_auth_or_upstream_whatever_it_carries(junk: Dict[str, Any], tally: Any) -> None:
    event = read_event("apigw_health")
    event.update(junk)
    resp, fetcher = run(event, tally, "apigw: /health with junk")
    status, body = check_http_response(resp)
    assert fetcher.calls == []
    if status == 200:
        assert body["status"] == "ok"
    else:  # a malformed event (e.g. headers that are not an object) is a 400, never a crash
        assert status == 400


@pytest.mark.parametrize("name", ["apigw_get_stats", "apigw_post_stats", "apigw_post_base64"])
def test_the_fixtures_themselves_are_valid_lookups(name: str, tally: Any) -> None:
    resp, fetcher = run(read_event(name), tally, "apigw: fixtures")
    status, body = assert_gateway_answer(resp, fetcher)
    assert status == 200, body



# ---------------------------------------------------------------------------------------------
# 8. What the gateway itself puts in the event is still input: the request id is echoed safely.
# ---------------------------------------------------------------------------------------------
@property_settings(300)
@given(request_id=st.one_of(json_values(4), st.text(st.characters(exclude_categories=()), max_size=200),
                            st.sampled_from(["req\n", "x\ud800", "\x1f", "a" * 129, "a" * 128, "<script>",
                                             "b1f0c3a2-5d4e-4c6b-9a8f-7e6d5c4b3a21"])),
       token=st.sampled_from([API_TOKEN, "wrong"]))
def test_any_request_id_is_echoed_only_when_it_is_a_plain_identifier(request_id: Any, token: str,
                                                                    tally: Any) -> None:
    event = stats_event(token=token)
    event["requestContext"]["requestId"] = request_id
    resp, fetcher = run(event, tally, "apigw: hostile requestContext.requestId")
    status, body = assert_gateway_answer(resp, fetcher)
    if status != 200:
        echoed = body["error"]["request_id"]
        assert echoed is None or (echoed == request_id and echoed.isascii() and echoed.isprintable()
                                  and len(echoed) <= 128)


# ---------------------------------------------------------------------------------------------
# 9. Deeply nested bodies and parameters: a 400 naming the nesting, never a 500.
# ---------------------------------------------------------------------------------------------
@property_settings(150)
@given(deep=deep_json(max_depth=2_500), key=st.sampled_from([None, "app_id", "window", "x"]), b64=st.booleans(),
       token=st.sampled_from(VALID_TOKENS))
def test_a_deeply_nested_body_is_a_400_never_a_500(deep: Any, key: Optional[str], b64: bool, token: str,
                                                   tally: Any) -> None:
    text = deep.text(key)
    assume(len(text.encode()) <= MAX_BODY_BYTES)
    resp, fetcher = run(stats_event(query={}, token=token, method="POST", body=text, base64_body=b64), tally,
                        "apigw: body nested deeper than the limit")
    status, body = assert_refused(resp, fetcher)
    assert (status, body["error"]["code"]) == (400, "FailedOperation.JsonParseFail")
    assert "nested deeper than" in body["error"]["message"]


@property_settings(100)
@given(deep=deep_json(max_depth=50_000), name=st.sampled_from(["app_id", "window", "begin", "granularity", "x"]),
       token=st.sampled_from(VALID_TOKENS))
def test_deeply_nested_parameters_are_a_400_never_a_500(deep: Any, name: str, token: str, tally: Any) -> None:
    event = stats_event(query={"app_id": APP_PROD, "window": "yesterday"}, token=token)
    event["queryString"][name] = event["queryStringParameters"][name] = deep.value()
    resp, fetcher = run(event, tally, "apigw: parameter nested deeper than the limit")
    status, _ = check_http_response(resp)
    if name == "x":  # an unknown parameter is never read
        assert status == 200
    else:
        assert_refused(resp, fetcher)
        assert status == 400

"""Deeply nested JSON from outside: a clear 400 or config_error, never a RecursionError or a 500.

CPython's json decoder (and every recursive walk after it) gives up near 1,000 levels; a 2 KB
body of brackets gets there. The depth is bounded before anything walks the document.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List

import pytest

from sms_receipt_stats import jsonlimits, redaction
from support import API_TOKEN, APP_PROD, FakeFetcher, RecordingDeliver, read_event

Invoke = Callable[..., Dict[str, Any]]


def nested_list(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def nested_object(depth: int, key: str = "window") -> Any:
    value: Any = "yesterday"
    for _ in range(depth):
        value = {key: value}
    return value


def post(body: str) -> Dict[str, Any]:
    event = read_event("apigw_post_stats")
    event["body"] = body
    event["headers"]["authorization"] = f"Bearer {API_TOKEN}"
    return event


def timer(message: Any) -> Dict[str, Any]:
    event = read_event("timer_default")
    event["Message"] = message
    return event


# -- the scanner --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "depth"), [
    ("{}", 1), ("[]", 1), ("1", 0), ('"[[[["', 0), ('{"a": [1, {"b": []}]}', 4),
    ('["\\"[[[", [[]]]', 3), ('"\\\\"', 0), ('["\\\\", []]', 2), ("[" * 40 + "]" * 40, 40),
])
def test_depth_of_text_ignores_brackets_inside_strings(text: str, depth: int) -> None:
    assert jsonlimits.text_depth(text) == depth
    assert jsonlimits.value_depth(json.loads(text)) == depth


def test_loads_refuses_a_document_nested_past_the_limit_without_recursing() -> None:
    assert jsonlimits.loads("[" * jsonlimits.MAX_DEPTH + "]" * jsonlimits.MAX_DEPTH) == nested_list(
        jsonlimits.MAX_DEPTH - 1, [])
    for depth in (jsonlimits.MAX_DEPTH + 1, 1_000, 100_000):
        with pytest.raises(jsonlimits.JsonTooDeep) as info:
            jsonlimits.loads("[" * depth + "]" * depth)
        assert str(info.value) == f"nested deeper than {jsonlimits.MAX_DEPTH} levels"


def test_value_depth_walks_a_decoded_document_without_recursing() -> None:
    assert jsonlimits.value_depth(nested_list(100_000)) == 100_000
    assert jsonlimits.value_depth(nested_object(100_000)) == 100_000


# -- HTTP bodies ------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    "[" * 1000 + "]" * 1000,
    '{"app_id": ' + "[" * 1000 + "]" * 1000 + "}",
    '{"app_id": "1400006874", "window": "yesterday", "x": ' + "{\"a\":" * 2000 + "1" + "}" * 2000 + "}",
])
def test_a_deeply_nested_body_is_a_400_naming_the_nesting(invoke: Invoke, fetcher: FakeFetcher, body: str) -> None:
    response = invoke(post(body))
    assert response["statusCode"] == 400, response["body"]
    error = json.loads(response["body"])["error"]
    assert error["code"] == "FailedOperation.JsonParseFail"
    assert "nested deeper than" in error["message"]
    assert error["request_id"] == read_event("apigw_post_stats")["requestContext"]["requestId"]
    assert fetcher.calls == []


def test_deeply_nested_query_values_are_a_400(invoke: Invoke, fetcher: FakeFetcher) -> None:
    event = read_event("apigw_get_stats")
    event["queryString"] = event["queryStringParameters"] = {"app_id": nested_list(100_000, APP_PROD),
                                                             "window": "yesterday"}
    response = invoke(event)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] == "InvalidParameter"
    assert fetcher.calls == []


# -- timer Messages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("message", [
    "[" * 2000 + "]" * 2000,
    json.dumps({"job": "report"})[:-1] + ', "window": ' + "[" * 2000 + "]" * 2000 + "}",
    nested_object(2000),
    {"job": "report", "window": nested_list(100_000)},
])
def test_a_deeply_nested_message_is_a_delivered_config_error(invoke: Invoke, fetcher: FakeFetcher,
                                                             delivered: RecordingDeliver, message: Any) -> None:
    doc = invoke(timer(message))
    assert doc["kind"] == "report" and doc["results"] == [] and fetcher.calls == []
    assert doc["errors"] == [f"Message: nested deeper than {jsonlimits.MAX_DEPTH} levels"]
    assert [(a["rule"], a["severity"]) for a in doc["alerts"]] == [("config_error", "critical")]
    assert len(delivered.docs) == 1 and delivered.docs[0]["alerts"] == doc["alerts"]


# -- walking documents ------------------------------------------------------------------------------


def test_redaction_walks_any_depth() -> None:
    secrets = redaction.prepare(["deep-secret-value-0001"])
    deep: List[Any] = nested_list(50_000, "x deep-secret-value-0001 y")
    out = redaction.redact(deep, secrets)
    for _ in range(50_000):
        out = out[0]
    assert out == "x *** y"

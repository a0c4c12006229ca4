"""Every HTTP event shape SCF hands an event function routes alike: function URL, API Gateway, TSE.

Shapes (see the docstring of `sms_receipt_stats.events`): the function URL event has no
requestContext, no queryStringParameters and no isBase64Encoded (SCF docs 583/96099); the API
Gateway integration request has them and a stage prefix in `path` (583/31927); behind the TSE
cloud-native gateway the path keeps the route prefix unless the route strips it.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List

import pytest

from sms_receipt_stats.events import ApiGatewayEvent, event_kind
from sms_receipt_stats.jobs import JobDeps
from support import API_TOKEN, APP_PROD, JSON_CT, FakeFetcher, base_env, read_event

STATS_GET = ["apigw_get_stats", "url_get_stats", "tse_get_stats"]
HEALTH = ["apigw_health", "url_health", "tse_health_unstripped"]
ALL_HTTP = [*STATS_GET, *HEALTH, "apigw_post_stats", "url_post_stats", "url_unknown_path", "apigw_unknown_path"]


def answer(invoke: Callable[..., Dict[str, Any]], event: Dict[str, Any], **kwargs: Any) -> Dict[str, Any]:
    response = invoke(event, **kwargs)
    assert set(response) == {"isBase64Encoded", "statusCode", "headers", "body"}
    assert response["isBase64Encoded"] is False and response["headers"]["Content-Type"] == JSON_CT
    return response


def test_function_url_fixtures_carry_only_the_documented_fields() -> None:
    for name in ("url_get_stats", "url_post_stats", "url_health", "url_unknown_path"):
        assert set(read_event(name)) == {"body", "headers", "httpMethod", "path", "queryString"}, name


@pytest.mark.parametrize("name", ALL_HTTP)
def test_every_http_fixture_is_an_http_event(name: str) -> None:
    raw = read_event(name)
    assert event_kind(raw) == "apigw"
    event = ApiGatewayEvent.parse(raw)
    assert event is not None and event.httpMethod in ("GET", "POST")


@pytest.mark.parametrize("name", STATS_GET)
def test_stats_answers_the_same_result_whatever_the_shape(name: str, invoke: Callable[..., Dict[str, Any]],
                                                          fetcher: FakeFetcher) -> None:
    reference = json.loads(answer(invoke, read_event("apigw_get_stats"))["body"])
    fetcher.calls.clear()
    response = answer(invoke, read_event(name))
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"]) == reference
    assert reference["app_id"] == APP_PROD and reference["error"] is None
    assert len(fetcher.calls) == 1 and fetcher.calls[0][0] == APP_PROD


def test_function_url_post_reads_the_json_body(invoke: Callable[..., Dict[str, Any]]) -> None:
    via_url = answer(invoke, read_event("url_post_stats"))
    via_gateway = answer(invoke, read_event("apigw_post_stats"))
    assert via_url["statusCode"] == 200, via_url["body"]
    url_body, gateway_body = json.loads(via_url["body"]), json.loads(via_gateway["body"])
    assert url_body.pop("request_ids") and gateway_body.pop("request_ids")  # the fake numbers its calls
    assert url_body == gateway_body
    assert url_body["window"]["begin"] == "2026112000" and url_body["error"] is None


@pytest.mark.parametrize("name", HEALTH)
def test_health_needs_no_auth_and_calls_nothing(name: str, invoke: Callable[..., Dict[str, Any]],
                                                make_deps: Callable[..., JobDeps], fetcher: FakeFetcher) -> None:
    made: List[Any] = []
    deps = make_deps(fetcher_factory=lambda s: made.append(s) or fetcher)
    response = answer(invoke, read_event(name), env=base_env(API_TOKENS=None), deps=deps)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["status"] == "ok"
    assert made == [] and fetcher.calls == []


@pytest.mark.parametrize("name", STATS_GET)
def test_stats_without_the_token_is_refused(name: str, invoke: Callable[..., Dict[str, Any]],
                                            fetcher: FakeFetcher) -> None:
    event = read_event(name)
    event["headers"].pop("authorization")
    response = answer(invoke, event)
    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"]["code"] == "AuthFailure.Unauthorized"
    assert fetcher.calls == []


def test_unknown_path_on_the_function_url_is_404(invoke: Callable[..., Dict[str, Any]]) -> None:
    response = answer(invoke, read_event("url_unknown_path"))
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"]["code"] == "NotFound"


def test_error_body_of_a_function_url_event_names_the_invocation(invoke: Callable[..., Dict[str, Any]]) -> None:
    """No requestContext: the request id is SCF's own for this invocation (what its logs are filed under)."""
    event = read_event("url_get_stats")
    event["headers"]["authorization"] = "Bearer not-the-token"
    with_context = answer(invoke, event, context={"request_id": "3f2e1d0c-aaaa-4bbb-8ccc-123456789abc"})
    assert json.loads(with_context["body"])["error"]["request_id"] == "3f2e1d0c-aaaa-4bbb-8ccc-123456789abc"
    without = answer(invoke, read_event("url_unknown_path"))
    assert json.loads(without["body"])["error"]["request_id"] is None
    odd = answer(invoke, read_event("url_unknown_path"), context={"request_id": "<script>"})
    assert json.loads(odd["body"])["error"]["request_id"] is None


def test_api_gateway_request_id_still_wins(invoke: Callable[..., Dict[str, Any]]) -> None:
    response = answer(invoke, read_event("apigw_unknown_path"), context={"request_id": "scf-invocation-1"})
    assert json.loads(response["body"])["error"]["request_id"] == "99887766-5544-4332-a110-ffeeddccbbaa"


def test_the_fixture_token_is_the_configured_one() -> None:
    assert read_event("url_get_stats")["headers"]["authorization"] == f"Bearer {API_TOKEN}"

"""Two functions share one state store (SQLite file, the machine's Redis): an HTTP-only function
limited by API_ALLOWED_APP_IDS silences a rule, and the timer function's checks honour the
silence's scope: the allowed app is muted, the timer function's other apps are not."""

from __future__ import annotations

import json
from typing import Any, Dict

import pytest

from sms_receipt_stats.app import handle
from support import NOW, FakeFetcher, RecordingDeliver, base_env, fake_deps, read_event

pytestmark = pytest.mark.integration

PROD, STAGING = "1400006874", "1400000002"
BODY = json.loads(read_event("apigw_post_silences")["body"])


def post(body: Dict[str, Any]) -> Dict[str, Any]:
    event = read_event("apigw_post_silences")
    event["body"] = json.dumps(body)
    return event


@pytest.fixture()
def functions(state_env: Dict[str, str]) -> Dict[str, Dict[str, str]]:
    """The timer function (three apps) and an HTTP-only one (no apps, one allowed), one store."""
    http_only = base_env(SMS_SDK_APP_IDS=None, API_ALLOWED_APP_IDS=PROD, **state_env)
    return {"timer": base_env(**state_env), "http": http_only}


def run(event: Dict[str, Any], env: Dict[str, str], fetcher: FakeFetcher,
        deliver: RecordingDeliver) -> Dict[str, Any]:
    return handle(event, None, env=env, deps=fake_deps(fetcher, deliver, now=NOW))


def test_a_rule_only_silence_of_a_limited_caller_mutes_only_its_app(functions: Dict[str, Dict[str, str]]) -> None:
    fetcher, deliver = FakeFetcher(), RecordingDeliver()
    created = run(post({**BODY, "matchers": {"rule": "api_error"}}), functions["http"], fetcher, deliver)
    assert created["statusCode"] == 201 and json.loads(created["body"])["scope"] == [PROD]
    fetcher.fail(PROD, "UnauthorizedOperation.ServiceSuspendDueToArrears")
    fetcher.fail(STAGING, "UnauthorizedOperation.SdkAppIdIsDisabled")
    doc = run(read_event("timer_check_last_hour"), functions["timer"], fetcher, deliver)
    errors = {a["app_id"]: (a["silenced"], a["notified"]) for a in doc["alerts"] if a["rule"] == "api_error"}
    assert errors == {PROD: (True, False), STAGING: (False, True)}
    listed = run(read_event("apigw_get_silences"), functions["timer"], fetcher, deliver)
    assert [s["scope"] for s in json.loads(listed["body"])["silences"]] == [[PROD]]


def test_a_caller_allowed_no_app_stores_nothing(functions: Dict[str, Dict[str, str]]) -> None:
    fetcher, deliver = FakeFetcher(), RecordingDeliver()
    nothing = {**functions["http"]}
    nothing.pop("API_ALLOWED_APP_IDS")
    refused = run(post({**BODY, "matchers": {"rule": "api_error"}}), nothing, fetcher, deliver)
    assert refused["statusCode"] == 403
    fetcher.fail(STAGING, "UnauthorizedOperation.SdkAppIdIsDisabled")
    doc = run(read_event("timer_check_last_hour"), functions["timer"], fetcher, deliver)
    [error] = [a for a in doc["alerts"] if a["rule"] == "api_error"]
    assert (error["app_id"], error["silenced"], error["notified"]) == (STAGING, False, True)

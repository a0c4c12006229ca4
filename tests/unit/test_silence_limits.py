"""Silences at their limits: time range, control characters, app scoping, local times."""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, Optional

import pytest

from sms_receipt_stats.state.silences import SilenceError, new_silence
from support import APP_IDS_ENV, NOW, base_env, read_event

Invoke = Callable[..., Dict[str, Any]]
BODY = json.loads(read_event("apigw_post_silences")["body"])
PROD, STAGING = "1400006874", "1400000002"
APP_IDS_ENV_IDS = [entry.split("=")[0] for entry in APP_IDS_ENV.split(",")]


def post(body: Any) -> Dict[str, Any]:
    event = read_event("apigw_post_silences")
    event["body"] = json.dumps(body)
    return event


def answer(response: Dict[str, Any]) -> Any:
    return json.loads(response["body"])


@pytest.fixture()
def state(tmp_path) -> Callable[..., Dict[str, str]]:
    def env(**overrides: Optional[str]) -> Dict[str, str]:
        return base_env(STATE_URL=f"sqlite:///{tmp_path}/state.db", **overrides)

    return env


# -- times ------------------------------------------------------------------------------------


@pytest.mark.parametrize("change, field", [
    ({"starts_at": "0001-01-01T00:00:00+08:00"}, "starts_at: must be between 1970"),
    ({"starts_at": "0001-01-01T00:00:00Z"}, "starts_at: must be between 1970"),
    ({"starts_at": "1969-12-31T23:59:59Z"}, "starts_at: must be between 1970"),
    ({"ends_at": "9999-12-31T23:59:59-08:00"}, "ends_at: must be between 1970"),
    ({"starts_at": "9999-12-01T00:00:00Z", "ends_at": "9999-12-31T00:00:00Z"}, "starts_at: must be between 1970"),
    ({"starts_at": "2028-01-01T00:00:00Z", "ends_at": "2028-01-02T00:00:00Z"}, "starts_at: must be at most"),
])
def test_out_of_range_times_name_the_field(change: Dict[str, Any], field: str) -> None:
    with pytest.raises(SilenceError) as err:
        new_silence({**BODY, **change}, NOW)
    assert field in str(err.value)


@pytest.mark.parametrize("starts_at", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59Z"])
def test_out_of_range_times_are_400_not_500(invoke: Invoke, state: Callable[..., Dict[str, str]],
                                            starts_at: str) -> None:
    response = invoke(post({**BODY, "starts_at": starts_at}), env=state())
    assert response["statusCode"] == 400
    assert answer(response)["error"]["code"] == "InvalidParameterValue"


# -- control characters -------------------------------------------------------------------------


@pytest.mark.parametrize("change, field", [
    ({"matchers": {"app_id": PROD + "\n"}}, "matchers.app_id"),
    ({"matchers": {"rule": "api_error\n"}}, "matchers.rule"),
    ({"matchers": {"code": "FailedOperation\n"}}, "matchers.code"),
    ({"created_by": "ops\r\nX-Injected: 1"}, "created_by: must not contain control characters"),
    ({"comment": "top-up\x1b[31m"}, "comment: must not contain control characters"),
    ({"comment": "line\u2028break"}, "comment: must not contain control characters"),
])
def test_control_characters_are_refused(change: Dict[str, Any], field: str) -> None:
    with pytest.raises(SilenceError) as err:
        new_silence({**BODY, **change}, NOW)
    assert field in str(err.value)


def test_a_tab_free_unicode_comment_is_fine() -> None:
    assert new_silence({**BODY, "comment": "充值中，工单 4711 ✓"}, NOW).comment.startswith("充值中")


# -- scoping by API_ALLOWED_APP_IDS ------------------------------------------------------------------


def test_a_matcher_for_an_app_outside_the_allowed_ones_is_403(invoke: Invoke,
                                                              state: Callable[..., Dict[str, str]]) -> None:
    env = state(API_ALLOWED_APP_IDS=STAGING)
    response = invoke(post(BODY), env=env)  # BODY silences PROD
    assert response["statusCode"] == 403
    assert answer(response)["error"]["code"] == "UnauthorizedOperation.RequestPermissionDeny"
    assert invoke(post({**BODY, "matchers": {"app_id": STAGING}}), env=env)["statusCode"] == 201


def test_a_rule_only_silence_is_scoped_to_the_callers_apps(invoke: Invoke,
                                                           state: Callable[..., Dict[str, str]]) -> None:
    """Deliberately changed: a restricted caller used to be refused (403, "every app"); it may now
    silence a rule, and the silence binds the apps it is allowed, nothing more."""
    rule_only = {**BODY, "matchers": {"rule": "api_error"}}
    restricted = invoke(post(rule_only), env=state(API_ALLOWED_APP_IDS=STAGING))
    assert restricted["statusCode"] == 201 and answer(restricted)["scope"] == [STAGING]
    default = answer(invoke(post(rule_only), env=state()))  # default: all of SMS_SDK_APP_IDS
    assert default["scope"] == sorted(APP_IDS_ENV_IDS)
    wider = answer(invoke(post(rule_only), env=state(API_ALLOWED_APP_IDS=APP_IDS_ENV + ",1400000099")))
    assert wider["scope"] == sorted([*APP_IDS_ENV_IDS, "1400000099"])


def test_list_shows_only_allowed_apps_and_expire_of_another_app_is_404(invoke: Invoke,
                                                                       state: Callable[..., Dict[str, str]]) -> None:
    prod = answer(invoke(post(BODY), env=state()))
    staging = answer(invoke(post({**BODY, "matchers": {"app_id": STAGING}}), env=state()))
    rule_only = answer(invoke(post({**BODY, "matchers": {"rule": "api_error"}}), env=state()))
    env = state(API_ALLOWED_APP_IDS=STAGING)
    listed = answer(invoke(read_event("apigw_get_silences"), env=env))["silences"]
    # a rule-only silence applies to the allowed app too: listed
    assert sorted(s["id"] for s in listed) == sorted([staging["id"], rule_only["id"]])
    for silence, status in ((prod, 404), (rule_only, 403), (staging, 200)):
        delete = read_event("apigw_delete_silence")
        delete["path"] = f"/release/silences/{silence['id']}"
        assert invoke(delete, env=env)["statusCode"] == status
    listed = answer(invoke(read_event("apigw_get_silences"), env=state()))["silences"]
    states = {s["id"]: s["state"] for s in listed}
    assert states == {prod["id"]: "active", staging["id"]: "expired", rule_only["id"]: "active"}


# -- local times ---------------------------------------------------------------------------------


def test_times_are_answered_in_the_report_timezone(invoke: Invoke, state: Callable[..., Dict[str, str]]) -> None:
    body = {**BODY, "starts_at": "2026-11-25T01:00:00Z", "ends_at": "2026-11-24T21:00:00-08:00"}
    created = answer(invoke(post(body), env=state()))
    assert (created["starts_at"], created["ends_at"]) == ("2026-11-25T09:00:00+08:00", "2026-11-25T13:00:00+08:00")
    listed = answer(invoke(read_event("apigw_get_silences"), env=state(REPORT_TIMEZONE="Europe/Berlin")))
    assert listed["silences"][0]["ends_at"] == "2026-11-25T06:00:00+01:00"

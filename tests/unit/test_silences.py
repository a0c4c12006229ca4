"""Silences: validation, matching, the `/silences` HTTP API, and what a silence does to a check."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Callable, Dict

import pytest

from sms_receipt_stats.state.silences import SilenceError, new_silence
from support import API_TOKEN, NOW, FakeFetcher, RecordingDeliver, base_env, read_event

Invoke = Callable[..., Dict[str, Any]]
BODY = json.loads(read_event("apigw_post_silences")["body"])


def post(body: Any, raw: bool = False) -> Dict[str, Any]:
    event = read_event("apigw_post_silences")
    event["body"] = body if raw else json.dumps(body)
    return event


def answer(response: Dict[str, Any]) -> Any:
    return json.loads(response["body"])


# -- the model ------------------------------------------------------------------------------


def test_a_valid_silence_gets_an_id_and_utc_times() -> None:
    silence = new_silence(BODY, NOW)
    assert len(silence.id) == 16 and silence.matchers.app_id == "1400006874"
    assert silence.starts_at.isoformat() == "2026-11-25T01:00:00+00:00"
    assert silence.state_at(NOW) == "active" and silence.state_at(NOW + timedelta(hours=12)) == "expired"
    assert silence.matches("1400006874", "api_error", "AnyCode")
    assert not silence.matches("1400006874", "success_rate_below", None)
    assert not silence.matches("1400000002", "api_error", None)


def test_starts_at_defaults_to_now_and_ids_are_ours() -> None:
    body = {k: v for k, v in BODY.items() if k != "starts_at"}
    silence = new_silence({**body, "id": "mine"}, NOW)
    assert silence.starts_at == NOW and silence.id != "mine"


@pytest.mark.parametrize("change, field", [
    ({"matchers": {}}, "matchers: give at least one of app_id, rule, code"),
    ({"matchers": {"app_id": "123"}}, "matchers.app_id: must be an SmsSdkAppId"),
    ({"matchers": {"rule": "nope"}}, "matchers.rule: must be one of"),
    ({"matchers": {"code": "bad code!"}}, "matchers.code: must be an error code"),
    ({"matchers": {"app_id": "1400006874", "severity": "x"}}, "matchers.severity: unknown field"),
    ({"ends_at": "tomorrow"}, "ends_at: must be an ISO 8601 time"),
    ({"ends_at": "2026-11-25T21:00:00"}, "ends_at: needs a UTC offset"),
    ({"starts_at": "2026-11-26T00:00:00Z", "ends_at": "2026-11-25T12:00:00Z"}, "ends_at must be later than starts_at"),
    ({"starts_at": "2026-11-20T00:00:00Z", "ends_at": "2026-11-24T00:00:00Z"}, "ends_at: must be in the future"),
    ({"ends_at": "2028-01-01T00:00:00Z"}, "at most 366 days"),
    ({"created_by": ""}, "created_by: String should have at least 1 character"),
    ({"comment": None}, "comment: Input should be a valid string"),
    ({"extra": 1}, "extra: unknown field"),
])
def test_a_bad_silence_names_the_field(change: Dict[str, Any], field: str) -> None:
    with pytest.raises(SilenceError) as err:
        new_silence({**BODY, **change}, NOW)
    assert field in str(err.value)


@pytest.mark.parametrize("ends_at", ["2026-11-25T08:00:00+08:00", "2026-11-24T00:00:00Z"])
def test_an_end_in_the_past_is_called_in_the_past(ends_at: str) -> None:
    """Before an end before a start now-by-default read "must be later than starts_at", which a
    newcomer who gave no starts_at cannot act on."""
    with pytest.raises(SilenceError) as err:
        new_silence({**BODY, "ends_at": ends_at}, NOW)
    message = str(err.value)
    assert message.startswith("ends_at:") and "is in the past" in message and "later than starts_at" not in message
    assert "2026-11-25T01:00:00+00:00" in message  # what "now" is, so the caller sees the gap


@pytest.mark.parametrize("duration, ends", [("90s", "2026-11-25T01:01:30+00:00"), ("30m", "2026-11-25T01:30:00+00:00"),
                                            ("4h", "2026-11-25T05:00:00+00:00"), ("1d", "2026-11-26T01:00:00+00:00"),
                                            ("366d", "2027-11-26T01:00:00+00:00")])
def test_a_duration_stands_for_ends_at(duration: str, ends: str) -> None:
    body = {k: v for k, v in BODY.items() if k != "ends_at"}
    silence = new_silence({**body, "duration": duration}, NOW)
    assert silence.ends_at.isoformat() == ends


def test_an_empty_duration_is_no_duration() -> None:
    assert new_silence({**BODY, "duration": ""}, NOW).ends_at.isoformat() == "2026-11-25T13:00:00+00:00"


def test_a_duration_counts_from_a_given_start() -> None:
    body = {k: v for k, v in BODY.items() if k != "ends_at"}
    silence = new_silence({**body, "starts_at": "2026-11-26T09:00:00+08:00", "duration": "2h"}, NOW)
    assert silence.ends_at.isoformat() == "2026-11-26T03:00:00+00:00"


@pytest.mark.parametrize("change, words", [
    ({"duration": "2w"}, "duration: '2w' is not a whole number and a unit"),
    ({"duration": "0m"}, "duration: '0m' is not"),
    ({"duration": 3600}, "duration: must be a whole number and a unit"),
    ({"duration": "367d"}, "duration: '367d' is too long: a silence may last at most 366 days"),
    ({"duration": "9999d"}, "is too long"),
    ({"duration": "1h", "ends_at": "2026-11-25T21:00:00+08:00"}, "duration: give ends_at or duration, not both"),
    ({"duration": "1h", "starts_at": "soon"}, "starts_at: must be an ISO 8601 time"),
])
def test_a_bad_duration_names_the_field(change: Dict[str, Any], words: str) -> None:
    body = {k: v for k, v in BODY.items() if k != "ends_at"}
    with pytest.raises(SilenceError) as err:
        new_silence({**body, **change}, NOW)
    assert words in str(err.value)


def test_missing_fields_are_named() -> None:
    for name in ("matchers", "ends_at", "created_by", "comment"):
        with pytest.raises(SilenceError, match=f"^{name}: is required"):
            new_silence({k: v for k, v in BODY.items() if k != name}, NOW)


# -- HTTP -----------------------------------------------------------------------------------


@pytest.fixture()
def state(tmp_path) -> Dict[str, str]:
    return base_env(STATE_URL=f"sqlite:///{tmp_path}/state.db")


def test_post_get_delete(invoke: Invoke, state: Dict[str, str]) -> None:
    created = invoke(read_event("apigw_post_silences"), env=state)
    assert created["statusCode"] == 201
    silence = answer(created)
    assert silence["state"] == "active" and silence["matchers"] == BODY["matchers"]
    assert silence["created_by"] == "ops@example.com" and silence["ends_at"] == "2026-11-25T21:00:00+08:00"
    listed = answer(invoke(read_event("apigw_get_silences"), env=state))
    assert [s["id"] for s in listed["silences"]] == [silence["id"]]
    delete = read_event("apigw_delete_silence")
    delete["path"] = f"/release/silences/{silence['id']}"
    expired = invoke(delete, env=state)
    assert expired["statusCode"] == 200 and answer(expired)["state"] == "expired"
    listed = answer(invoke(read_event("apigw_get_silences"), env=state))
    assert [s["state"] for s in listed["silences"]] == ["expired"]  # listed a day after it ends


def test_post_with_a_duration(invoke: Invoke, state: Dict[str, str]) -> None:
    body = {k: v for k, v in BODY.items() if k not in ("ends_at", "starts_at")}
    created = invoke(post({**body, "duration": "4h"}), env=state)
    assert created["statusCode"] == 201, created["body"]
    assert answer(created)["ends_at"] == "2026-11-25T13:00:00+08:00" and "warnings" not in answer(created)


def test_post_with_an_end_in_the_past_says_so(invoke: Invoke, state: Dict[str, str]) -> None:
    body = {k: v for k, v in BODY.items() if k != "starts_at"}
    refused = invoke(post({**body, "ends_at": "2026-11-25T08:00:00+08:00"}), env=state)
    assert refused["statusCode"] == 400 and "is in the past" in answer(refused)["error"]["message"]


def test_post_with_an_uncatalogued_code_warns_and_one_in_the_wrong_case_is_refused(
        invoke: Invoke, state: Dict[str, str]) -> None:
    created = invoke(post({**BODY, "matchers": {"app_id": "1400006874",
                                                "code": "UnauthorizedOperation.ServiceSuspendDueToArrear"}}), env=state)
    assert created["statusCode"] == 201
    [warning] = answer(created)["warnings"]
    assert "not a code the error catalogue knows" in warning
    assert "did you mean UnauthorizedOperation.ServiceSuspendDueToArrears?" in warning
    refused = invoke(post({**BODY, "matchers": {"code": "unauthorizedoperation.servicesuspenddueToarrears"}}),
                     env=state)
    assert refused["statusCode"] == 400
    assert "is spelled UnauthorizedOperation.ServiceSuspendDueToArrears" in answer(refused)["error"]["message"]


def test_check_matchers_is_the_one_judgement() -> None:
    from sms_receipt_stats.config import load_settings
    from sms_receipt_stats.state.silences import Matchers, check_matchers

    settings, _ = load_settings(base_env())
    assert check_matchers(Matchers(app_id=PROD, code="FailedOperation.InsufficientBalanceInSmsPackage"),
                          settings) == ([], [])
    refused, _ = check_matchers(Matchers(app_id="1400099999"), settings)
    assert refused and "prod (1400006874)" in refused[0] and "1400099999 is not an app of this function" in refused[0]
    bare, _ = load_settings({})
    refused, warnings = check_matchers(Matchers(app_id=PROD), bare)
    assert refused == [] and "could not be checked" in warnings[0]


def test_delete_of_an_unknown_id_is_404(invoke: Invoke, state: Dict[str, str]) -> None:
    response = invoke(read_event("apigw_delete_silence"), env=state)
    assert response["statusCode"] == 404 and answer(response)["error"]["code"] == "ResourceNotFound.Silence"


@pytest.mark.parametrize("name", ["apigw_post_silences", "apigw_get_silences", "apigw_delete_silence"])
def test_every_silences_route_needs_the_token(invoke: Invoke, state: Dict[str, str], name: str) -> None:
    event = read_event(name)
    del event["headers"]["authorization"]
    response = invoke(event, env=state)
    assert response["statusCode"] == 401 and answer(response)["error"]["code"] == "AuthFailure.Unauthorized"
    event["headers"]["authorization"] = "Bearer wrong-token"
    assert invoke(event, env=state)["statusCode"] == 401


@pytest.mark.parametrize("method, path, status", [
    ("PUT", "/release/silences", 405), ("DELETE", "/release/silences", 405),
    ("GET", "/release/silences/abc", 405), ("GET", "/release/silences/a/b", 404),
])
def test_methods_and_paths(invoke: Invoke, state: Dict[str, str], method: str, path: str, status: int) -> None:
    event = read_event("apigw_get_silences")
    event["httpMethod"], event["path"] = method, path
    assert invoke(event, env=state)["statusCode"] == status


@pytest.mark.parametrize("body, status, code, words", [
    ({**BODY, "matchers": {"rule": "nope"}}, 400, "InvalidParameterValue", "matchers.rule"),
    ("not json", 400, "FailedOperation.JsonParseFail", "not valid JSON"),
    ("[1]", 400, "FailedOperation.JsonParseFail", "JSON object"),
    ("", 400, "MissingParameter", "matchers, ends_at"),
])
def test_a_bad_body_is_400_and_says_why(invoke: Invoke, state: Dict[str, str], body: Any, status: int, code: str,
                                       words: str) -> None:
    response = invoke(post(body, raw=isinstance(body, str)), env=state)
    error = answer(response)["error"]
    assert response["statusCode"] == status and error["code"] == code and words in error["message"]
    assert set(error) == {"code", "message", "request_id", "severity", "category", "retryable", "hint"}


def test_without_state_url_silences_answer_503(invoke: Invoke) -> None:
    response = invoke(read_event("apigw_get_silences"))
    error = answer(response)["error"]
    assert response["statusCode"] == 503 and error["code"] == "UnsupportedOperation.StateNotConfigured"
    assert "STATE_URL" in error["hint"]


def test_with_the_store_down_silences_answer_503_with_retry_after(invoke: Invoke) -> None:
    env = base_env(STATE_URL="redis://:pw-77c1@127.0.0.1:1/11")
    for name in ("apigw_get_silences", "apigw_post_silences", "apigw_delete_silence"):
        response = invoke(read_event(name), env=env)
        assert response["statusCode"] == 503 and response["headers"]["Retry-After"] == "5"
        assert answer(response)["error"]["code"] == "ResourceUnavailable.StateStore"
        assert "pw-77c1" not in response["body"]


# -- what a silence does ----------------------------------------------------------------------


def test_a_silenced_alert_is_in_the_check_but_not_sent(invoke: Invoke, fetcher: FakeFetcher,
                                                       delivered: RecordingDeliver, state: Dict[str, str]) -> None:
    fetcher.fail("1400006874", "UnauthorizedOperation.ServiceSuspendDueToArrears")
    assert invoke(read_event("apigw_post_silences"), env=state)["statusCode"] == 201
    doc = invoke(read_event("timer_check_last_hour"), env=state)
    by_app = {a["app_id"]: a for a in doc["alerts"]}
    silenced = by_app["1400006874"]
    assert silenced["rule"] == "api_error" and silenced["silenced"] is True and silenced["notified"] is False
    assert by_app["1400000009"]["notified"] is True  # the unhealthy app without a silence
    [sent] = delivered.docs  # the webhook-shaped document still carries both, flagged
    assert {a["app_id"]: a["notified"] for a in sent["alerts"]} == {"1400006874": False, "1400000009": True}
    assert API_TOKEN not in json.dumps(doc)


@pytest.mark.parametrize("after", [timedelta(0), timedelta(microseconds=472_910), timedelta(minutes=5),
                                   timedelta(hours=-1)])
def test_an_expired_silence_stays_listed_as_expired(tmp_path, after: timedelta) -> None:
    """Expiring within the second it started (or before it started) used to make it unreadable."""
    from sms_receipt_stats.state.flow import open_store
    from sms_receipt_stats.state.silences import SilenceStore
    from sms_receipt_stats.state.store import GuardedStore

    store = SilenceStore(GuardedStore(open_store(f"sqlite:///{tmp_path}/s.db", "t:")))
    silence = store.add(new_silence({**BODY, "starts_at": None}, NOW), NOW)
    ended = store.expire(silence.id, NOW + after)
    assert ended is not None and ended.state_at(NOW + after) == "expired"
    assert [(s.id, s.state_at(NOW + after)) for s in store.list()] == [(silence.id, "expired")]


# -- scoped by who may see them ------------------------------------------------------------------

PROD, STAGING, MARKETING = "1400006874", "1400000002", "1400000009"


def test_a_scoped_silence_matches_only_its_apps() -> None:
    silence = new_silence({**BODY, "matchers": {"rule": "api_error"}}, NOW, scope=[PROD])
    assert silence.scope == (PROD,)
    assert silence.matches(PROD, "api_error", "AnyCode")
    assert not silence.matches(STAGING, "api_error", "AnyCode")
    assert not silence.matches(None, "api_error", "AnyCode")  # an account-wide alert is every app's


def test_a_silence_stored_without_a_scope_keeps_its_meaning() -> None:
    """Stored before scopes existed (or made by the CLI): bounded by its matchers alone."""
    from sms_receipt_stats.state.silences import load_all

    old = new_silence({**BODY, "matchers": {"rule": "api_error"}}, NOW)
    stored = old.model_dump_json(exclude={"scope"})
    assert "scope" not in stored
    [loaded] = load_all({old.id: stored})
    assert loaded.scope is None and "scope" not in loaded.to_doc(NOW)
    assert loaded.matches(PROD, "api_error", None) and loaded.matches("1400000099", "api_error", None)
    assert loaded.matches(None, "api_error", None)


def test_a_body_cannot_choose_its_scope() -> None:
    with pytest.raises(SilenceError, match="scope: unknown field"):
        new_silence({**BODY, "matchers": {"rule": "api_error"}, "scope": [PROD]}, NOW)


def test_http_only_function_with_one_allowed_app_scopes_a_rule_only_silence(invoke: Invoke,
                                                                            state: Dict[str, str]) -> None:
    """The outside round's case: SMS_SDK_APP_IDS unset, API_ALLOWED_APP_IDS one app."""
    env = {**state, "API_ALLOWED_APP_IDS": PROD}
    env.pop("SMS_SDK_APP_IDS")
    created = invoke(post({**BODY, "matchers": {"rule": "api_error"}}), env=env)
    assert created["statusCode"] == 201
    assert answer(created)["scope"] == [PROD] and answer(created)["matchers"] == {"rule": "api_error"}


@pytest.mark.parametrize("matchers", [{"rule": "api_error"}, {"code": "FailedOperation.InsufficientBalance"}])
def test_a_caller_allowed_no_app_may_silence_nothing_app_wide(invoke: Invoke, state: Dict[str, str],
                                                              matchers: Dict[str, str]) -> None:
    env = dict(state)
    env.pop("SMS_SDK_APP_IDS")  # and API_ALLOWED_APP_IDS unset: no app at all
    refused = invoke(post({**BODY, "matchers": matchers}), env=env)
    assert refused["statusCode"] == 403
    error = answer(refused)["error"]
    assert error["code"] == "UnauthorizedOperation.RequestPermissionDeny"
    assert "allows no app" in error["message"] and "API_ALLOWED_APP_IDS" in error["hint"]
    assert answer(invoke(read_event("apigw_get_silences"), env=state))["silences"] == []  # nothing stored


def test_a_function_without_apps_cannot_expire_an_unscoped_silence(invoke: Invoke, state: Dict[str, str],
                                                                   tmp_path) -> None:
    """An unscoped silence (the CLI's) binds every function sharing the store: an HTTP caller of a
    function that has no apps of its own cannot end it."""
    from sms_receipt_stats.state.flow import open_store
    from sms_receipt_stats.state.silences import SilenceStore
    from sms_receipt_stats.state.store import GuardedStore

    store = GuardedStore(open_store(state["STATE_URL"], "sms-receipt-stats:"))
    unscoped = SilenceStore(store).add(new_silence({**BODY, "matchers": {"rule": "api_error"}}, NOW), NOW)
    store.close()
    env = {**state, "API_ALLOWED_APP_IDS": PROD}
    env.pop("SMS_SDK_APP_IDS")
    assert [s["id"] for s in answer(invoke(read_event("apigw_get_silences"), env=env))["silences"]] == [unscoped.id]
    delete = read_event("apigw_delete_silence")
    delete["path"] = f"/release/silences/{unscoped.id}"
    refused = invoke(delete, env=env)
    assert refused["statusCode"] == 403 and "CLI" in answer(refused)["error"]["hint"]
    assert invoke(delete, env=state)["statusCode"] == 200  # a function allowed every app of its own


def test_two_functions_sharing_a_store_a_scoped_silence_mutes_only_its_apps(
        invoke: Invoke, fetcher: FakeFetcher, delivered: RecordingDeliver, state: Dict[str, str]) -> None:
    """Function B answers HTTP only (no SMS_SDK_APP_IDS, API_ALLOWED_APP_IDS one app); function A
    runs the checks of three apps on the same store. B's rule-only silence mutes A's alert of
    B's app, never of A's other apps."""
    http_only = {**state, "API_ALLOWED_APP_IDS": PROD}
    http_only.pop("SMS_SDK_APP_IDS")
    created = invoke(post({**BODY, "matchers": {"rule": "api_error"}}), env=http_only)
    assert created["statusCode"] == 201
    fetcher.fail(PROD, "UnauthorizedOperation.ServiceSuspendDueToArrears")
    fetcher.fail(STAGING, "UnauthorizedOperation.SdkAppIdIsDisabled")
    doc = invoke(read_event("timer_check_last_hour"), env=state)  # function A
    errors = {a["app_id"]: a for a in doc["alerts"] if a["rule"] == "api_error"}
    assert errors[PROD]["silenced"] is True and errors[PROD]["notified"] is False
    assert errors[STAGING]["silenced"] is False and errors[STAGING]["notified"] is True
    [sent] = delivered.docs
    notified = {(a["app_id"], a["rule"]) for a in sent["alerts"] if a["notified"]}
    assert (STAGING, "api_error") in notified and (PROD, "api_error") not in notified

"""`handler.main_handler` end to end: the real tencentcloud SDK against the emulator over loopback.

The emulator's pure oracle (`window_stats`) says what any window must sum to, so every number
the product reports can be checked exactly, however the window was split.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

import handler
from sms_receipt_stats.app import handle
from sms_receipt_stats.dev.emulator import Emulator, window_stats
from sms_receipt_stats.jobs import JobDeps
from sms_receipt_stats.stats import STAT_FIELDS
from support import API_TOKEN, APP_IDS_ENV, APP_MARKETING, APP_PROD, APP_STAGING, ERROR_KEYS, JSON_CT, read_event

pytestmark = pytest.mark.integration

APPS = (APP_PROD, APP_STAGING, APP_MARKETING)
#: every variable of README "Configuration" (plus the proxies the SDK reads): cleared before each test
PRODUCT_VARS = (
    "TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN", "TENCENTCLOUD_SECRET_ID",
    "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN", "TENCENTCLOUD_REGION", "SMS_REGION", "SMS_ENDPOINT",
    "SMS_SDK_APP_IDS", "SMS_API_RPS", "REPORT_TIMEZONE", "REPORT_LANG", "NOTIFY_URLS", "API_TOKENS", "API_AUTH",
    "API_ALLOWED_APP_IDS", "ALERT_SUCCESS_RATE_MIN", "ALERT_SUCCESS_RATE_CRITICAL", "ALERT_RECEIPT_RATE_MIN",
    "ALERT_MIN_VOLUME", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy",
)
CANARY_KEY = "canary-SECRETKEY-5f0e9d8c7b6a"
CANARY_SESSION = "canary-SESSIONTOKEN-1a2b3c4d5e6f"
CANARY_API = "canary-API_TOKENS-9z8y7x6w5v"


def past_days(days_ago_end: int, length: int) -> Dict[str, str]:
    """An explicit window of `length` whole Beijing days ending `days_ago_end` days before today."""
    today = datetime.now(timezone(timedelta(hours=8))).replace(hour=0, minute=0, second=0, microsecond=0)
    end = today - timedelta(days=days_ago_end)
    begin = end - timedelta(days=length)
    return {"begin": begin.strftime("%Y%m%d%H"), "end": end.strftime("%Y%m%d%H")}


def timer(message: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    event = read_event("timer_default")
    if message is not None:
        event["Message"] = json.dumps(message)
    return event


def stats_calls(emulator: Emulator) -> List[Any]:
    """The CallbackStatusStatistics calls (a report also reads the balance: test_account_emulator.py)."""
    return [c for c in emulator.calls if c.action == "CallbackStatusStatistics"]


def calls_for(emulator: Emulator, app_id: str) -> List[Any]:
    """The stats calls for one app in window order (they arrive in whatever order the threads ran)."""
    return sorted((c for c in stats_calls(emulator) if c.params.get("SmsSdkAppId") == app_id),
                  key=lambda c: str(c.params.get("BeginTime")))


def oracle(result: Dict[str, Any]) -> Dict[str, int]:
    """The emulator's answer for the result's window (REPORT_TIMEZONE is Beijing here)."""
    assert result["window"]["timezone"] == "Asia/Shanghai"
    return window_stats(result["app_id"], result["window"]["begin"], result["window"]["end"])


@pytest.fixture()
def use_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[Dict[str, str]], None]:
    """Replace the process environment's product variables (main_handler reads os.environ)."""

    def apply(values: Dict[str, str]) -> None:
        for name in PRODUCT_VARS:
            monkeypatch.delenv(name, raising=False)
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return apply


@pytest.fixture()
def no_backoff() -> JobDeps:
    """Real clocks and SDK, but retries do not wait (keeps 4-attempt failures fast)."""
    return JobDeps(sleep=lambda seconds: None)


def api(event: Dict[str, Any]) -> Any:
    response = handler.main_handler(event, None)
    return response["statusCode"], response["headers"], json.loads(response["body"])


# -- timer reports ----------------------------------------------------------------------------------------


def test_timer_report_for_three_apps_matches_the_oracle(emulator: Emulator, env: Dict[str, str],
                                                        use_env: Callable[..., None]) -> None:
    use_env(env)
    doc = handler.main_handler(read_event("timer_default"), {"request_id": "scf-1", "time_limit_in_ms": 30000})
    assert doc["errors"] == [] and doc["kind"] == "report"
    assert [r["app_id"] for r in doc["results"]] == list(APPS)
    yesterday = past_days(0, 1)
    for result in doc["results"]:
        assert result["error"] is None
        assert (result["window"]["begin"], result["window"]["end"]) == (yesterday["begin"], yesterday["end"])
        assert result["stats"] == oracle(result)
        assert result["stats"]["RequestSuccessCount"] > 0
        assert len(result["request_ids"]) == 1
    assert len(stats_calls(emulator)) == 3
    for call in stats_calls(emulator):
        assert call.action == "CallbackStatusStatistics" and call.region == "ap-guangzhou"
        assert (call.params["Limit"], call.params["Offset"]) == (0, 0)
    # the unhealthy app of the emulator (id ending in 9) is alerted on
    assert {a["app_id"] for a in doc["alerts"] if a["rule"] == "success_rate_below"} == {APP_MARKETING}


def test_forty_day_window_is_split_and_sums_to_the_oracle(emulator: Emulator, env: Dict[str, str],
                                                         use_env: Callable[..., None]) -> None:
    use_env(env)
    window = past_days(3, 40)
    doc = handler.main_handler(timer({"window": window, "app_ids": [APP_PROD, APP_STAGING]}), None)
    assert doc["errors"] == []
    for result in doc["results"]:
        assert result["stats"] == window_stats(result["app_id"], window["begin"], window["end"])
        calls = calls_for(emulator, result["app_id"])
        assert len(calls) == 2
        calls.sort(key=lambda c: c.params["BeginTime"])  # they run concurrently
        last_hour = (datetime.strptime(window["end"], "%Y%m%d%H") - timedelta(hours=1)).strftime("%Y%m%d%H")
        assert calls[0].params["BeginTime"] == window["begin"] and calls[1].params["EndTime"] == last_hour
        seam = datetime.strptime(calls[0].params["EndTime"], "%Y%m%d%H") + timedelta(hours=1)
        assert seam.strftime("%Y%m%d%H") == calls[1].params["BeginTime"]  # the seam hour is counted once
        assert len(result["request_ids"]) == 2


def test_day_series_sums_to_the_total(emulator: Emulator, env: Dict[str, str], use_env: Callable[..., None]) -> None:
    use_env(env)
    doc = handler.main_handler(timer({"window": "last_7d", "granularity": "day", "app_ids": [APP_PROD]}), None)
    [result] = doc["results"]
    assert len(result["series"]) == 7 and len(stats_calls(emulator)) == 7
    for name in STAT_FIELDS:
        assert sum(p["stats"][name] for p in result["series"]) == result["stats"][name]
    assert result["stats"] == oracle(result)
    for point in result["series"]:
        assert point["stats"] == window_stats(APP_PROD, point["begin"], point["end"])


def test_rate_cap_keeps_the_emulator_limit(emulator: Emulator, env: Dict[str, str],
                                          use_env: Callable[..., None]) -> None:
    emulator.set_rate_limit(10)
    use_env(env)
    message = {"window": "last_7d", "granularity": "day", "app_ids": [APP_PROD, APP_STAGING]}
    doc = handler.main_handler(timer(message), None)  # 14 calls at the default SMS_API_RPS=10
    assert all(r["error"] is None for r in doc["results"])
    assert emulator.rejected_by_rate_limit == 0
    assert 8 <= emulator.max_rate_observed() <= 10  # near the limit, never above it
    assert len(stats_calls(emulator)) == 14


def test_injected_error_for_one_app_leaves_the_others_fine(emulator: Emulator, env: Dict[str, str],
                                                           use_env: Callable[..., None]) -> None:
    emulator.inject_error(APP_STAGING, "UnauthorizedOperation.SmsSdkAppIdVerifyFail", "not your app")
    use_env(env)
    doc = handler.main_handler(read_event("timer_default"), None)
    by_id = {r["app_id"]: r for r in doc["results"]}
    failed = by_id[APP_STAGING]
    assert failed["stats"] is None and failed["rates"] is None
    assert failed["error"]["code"] == "UnauthorizedOperation.SmsSdkAppIdVerifyFail"
    assert failed["error"]["message"] == "not your app"
    assert failed["error"]["request_id"] and failed["request_ids"] == [failed["error"]["request_id"]]
    for app in (APP_PROD, APP_MARKETING):
        assert by_id[app]["error"] is None and by_id[app]["stats"] == oracle(by_id[app])
    assert [(a["rule"], a["app_id"]) for a in doc["alerts"] if a["rule"] == "api_error"] == [
        ("api_error", APP_STAGING)]
    assert len(calls_for(emulator, APP_STAGING)) == 1  # not retryable: asked once


def test_rate_limit_answer_is_retried_transparently(emulator: Emulator, env: Dict[str, str],
                                                    use_env: Callable[..., None]) -> None:
    emulator.inject_error(APP_PROD, "RequestLimitExceeded", times=1)
    use_env(env)
    doc = handler.main_handler(timer({"app_ids": [APP_PROD]}), None)
    [result] = doc["results"]
    assert result["error"] is None and result["stats"] == oracle(result)
    assert len(calls_for(emulator, APP_PROD)) == 2
    assert len(result["request_ids"]) == 2
    assert doc["alerts"] == [] or all(a["rule"] != "api_error" for a in doc["alerts"])


def test_session_token_is_sent(env: Dict[str, str], use_env: Callable[..., None]) -> None:
    with Emulator(require_token=True) as emu:
        use_env({**env, "SMS_ENDPOINT": emu.endpoint, "TENCENTCLOUD_SESSIONTOKEN": "temporary-session-token"})
        doc = handler.main_handler(timer({"app_ids": [APP_PROD]}), None)
        assert doc["results"][0]["error"] is None
        assert [c.has_token for c in stats_calls(emu)] == [True]

        use_env({**env, "SMS_ENDPOINT": emu.endpoint})  # temporary credentials without their token
        doc = handler.main_handler(timer({"app_ids": [APP_PROD]}), None)
        assert doc["results"][0]["error"]["code"] == "AuthFailure.TokenFailure"


def test_sdk_credential_names_work_end_to_end(emulator: Emulator, env: Dict[str, str],
                                              use_env: Callable[..., None]) -> None:
    values = {k: v for k, v in env.items() if not k.startswith("TENCENTCLOUD_")}
    use_env({**values, "TENCENTCLOUD_SECRET_ID": emulator.secret_id, "TENCENTCLOUD_SECRET_KEY": emulator.secret_key})
    doc = handler.main_handler(timer({"app_ids": [APP_PROD]}), None)
    assert doc["results"][0]["error"] is None


def test_wrong_secret_key_is_a_signature_failure(emulator: Emulator, env: Dict[str, str],
                                                 use_env: Callable[..., None]) -> None:
    use_env({**env, "TENCENTCLOUD_SECRETKEY": "not-the-emulator-key"})
    doc = handler.main_handler(timer({"app_ids": [APP_PROD]}), None)
    error = doc["results"][0]["error"]
    assert error["code"] == "AuthFailure.SignatureFailure" and error["severity"] == "critical"


# -- HTTP lookups -------------------------------------------------------------------------------------------


def test_http_lookup_matches_the_oracle(emulator: Emulator, env: Dict[str, str], use_env: Callable[..., None]) -> None:
    use_env(env)
    status, headers, body = api(read_event("apigw_get_stats"))
    assert status == 200 and headers == {"Content-Type": JSON_CT}
    assert body["stats"] == oracle(body)
    assert body["request_ids"] == [] or len(body["request_ids"]) == 1
    assert len(stats_calls(emulator)) == 1

    status, _, body = api(read_event("apigw_post_base64"))
    assert status == 200
    assert body["stats"] == oracle(body) and len(body["series"]) == 7


@pytest.mark.parametrize(("code", "status", "retry_after"), [
    ("InvalidParameterValue.SdkAppIdNotExist", 400, None),
    ("RequestLimitExceeded", 429, "1"),
    ("InternalError.Timeout", 503, "5"),
    ("UnauthorizedOperation.ServiceSuspendDueToArrears", 502, None),
    ("UnauthorizedOperation.RequestIpNotInWhitelist", 502, None),
])
def test_upstream_codes_map_to_statuses(emulator: Emulator, env: Dict[str, str], no_backoff: JobDeps,
                                        code: str, status: int, retry_after: Optional[str]) -> None:
    emulator.inject_error(APP_PROD, code, "emulated")
    response = handle(read_event("apigw_get_stats"), None, env=env, deps=no_backoff)
    body = json.loads(response["body"])
    assert response["statusCode"] == status
    assert set(body["error"]) == ERROR_KEYS and body["error"]["code"] == code
    assert body["error"]["request_id"]  # the emulator's RequestId, for support tickets
    assert response["headers"].get("Retry-After") == retry_after


def test_unknown_app_id_upstream_is_400(env: Dict[str, str]) -> None:
    with Emulator(apps=[APP_PROD]) as emu:
        values = {**env, "SMS_ENDPOINT": emu.endpoint, "API_ALLOWED_APP_IDS": f"{APP_PROD},1400099999"}
        event = read_event("apigw_get_stats")
        event["queryString"]["app_id"] = event["queryStringParameters"]["app_id"] = "1400099999"
        response = handle(event, None, env=values)
        assert response["statusCode"] == 400
        assert json.loads(response["body"])["error"]["code"] == "InvalidParameterValue.SdkAppIdNotExist"


def test_wrong_signature_on_lookup_is_502(emulator: Emulator, env: Dict[str, str]) -> None:
    response = handle(read_event("apigw_get_stats"), None, env={**env, "TENCENTCLOUD_SECRETKEY": "wrong-key-0000"})
    assert response["statusCode"] == 502
    assert json.loads(response["body"])["error"]["code"] == "AuthFailure.SignatureFailure"


def test_unreachable_endpoint_is_503_and_names_no_host(env: Dict[str, str], no_backoff: JobDeps,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    with Emulator() as emu:
        endpoint = emu.endpoint  # stopped: nothing listens there any more
    host, port = endpoint.rsplit("//", 1)[1].rsplit(":", 1)
    response = handle(read_event("apigw_get_stats"), None, env={**env, "SMS_ENDPOINT": endpoint}, deps=no_backoff)
    assert response["statusCode"] == 503
    error = json.loads(response["body"])["error"]
    assert error["code"] == "ClientNetworkError"
    assert error["message"] == "endpoint unreachable: the endpoint refused the connection"
    assert "Retry-After" in response["headers"]
    logs = capsys.readouterr().out
    assert "ClientNetworkError" in logs
    for text in (response["body"], logs):
        assert host not in text and port not in text


def test_validation_errors_never_reach_the_emulator(emulator: Emulator, env: Dict[str, str],
                                                    use_env: Callable[..., None]) -> None:
    use_env(env)
    bad_queries = [{}, {"app_id": "abc", "window": "yesterday"}, {"app_id": APP_PROD, "window": "nope"},
                   {"app_id": APP_PROD, "begin": "2026112000", "end": "2026111900"},
                   {"app_id": APP_PROD, "window": "yesterday", "Limit": "5"},
                   {"app_id": "1400099999", "window": "yesterday"}]
    statuses = []
    for query in bad_queries:
        event = read_event("apigw_get_stats")
        event["queryString"] = event["queryStringParameters"] = query
        statuses.append(api(event)[0])
    unauthorized = read_event("apigw_get_stats")
    unauthorized["headers"]["authorization"] = "Bearer nope"
    statuses.append(api(unauthorized)[0])
    statuses += [api(read_event(name))[0] for name in ("apigw_unknown_path", "apigw_delete_stats", "apigw_health")]
    assert statuses == [400, 400, 400, 400, 400, 403, 401, 404, 405, 200]
    assert emulator.calls == []


# -- secrets ------------------------------------------------------------------------------------------------


@pytest.fixture()
def canary_emulator() -> Iterator[Emulator]:
    with Emulator(secret_key=CANARY_KEY, require_token=True) as emu:
        yield emu


def test_secrets_appear_nowhere(canary_emulator: Emulator, use_env: Callable[..., None],
                                capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    emu = canary_emulator
    use_env({
        "TENCENTCLOUD_SECRETID": emu.secret_id,
        "TENCENTCLOUD_SECRETKEY": CANARY_KEY,
        "TENCENTCLOUD_SESSIONTOKEN": CANARY_SESSION,
        "SMS_ENDPOINT": emu.endpoint,
        "SMS_SDK_APP_IDS": APP_IDS_ENV,
        "API_TOKENS": f"{API_TOKEN},{CANARY_API}",
    })
    # an upstream error that echoes every secret back must not carry them any further
    emu.inject_error(APP_STAGING, "AuthFailure.SignatureFailure",
                     f"key={CANARY_KEY} token {CANARY_SESSION} bearer {CANARY_API}")
    product_logger = logging.getLogger("sms_receipt_stats")
    product_logger.addHandler(caplog.handler)  # the product logger does not propagate to the root
    caplog.set_level(logging.DEBUG)
    try:
        outputs: List[Any] = [handler.main_handler(read_event("timer_default"), {"request_id": "r-1"})]
        ok = read_event("apigw_get_stats")
        ok["headers"]["authorization"] = f"Bearer {CANARY_API}"
        outputs.append(handler.main_handler(ok, None))
        failing = read_event("apigw_get_stats")
        failing["queryString"]["app_id"] = failing["queryStringParameters"]["app_id"] = APP_STAGING
        outputs.append(handler.main_handler(failing, None))
        outputs.append(handler.main_handler(read_event("apigw_unknown_path"), None))
        outputs.append(handler.main_handler(timer({"window": "nope"}), None))
    finally:
        product_logger.removeHandler(caplog.handler)
    assert outputs[0]["results"][0]["error"] is None
    assert outputs[0]["results"][1]["error"]["code"] == "AuthFailure.SignatureFailure"
    assert [o["statusCode"] for o in outputs[1:4]] == [200, 502, 404]
    assert len(stats_calls(emu)) == 5 and all(c.has_token for c in emu.calls)

    out, err = capsys.readouterr()
    texts = [json.dumps(o, ensure_ascii=False) for o in outputs] + [out, err]
    texts += [r.getMessage() + " " + json.dumps(r.__dict__, default=str) for r in caplog.records]
    assert out  # the product did log (so the check below is not vacuous)
    for text in texts:
        for secret in (CANARY_KEY, CANARY_SESSION, CANARY_API):
            assert secret not in text
        assert "Traceback" not in text

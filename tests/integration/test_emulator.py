"""The emulator, driven by the real tencentcloud SDK over loopback (plus its pure data)."""

from __future__ import annotations

import calendar
import hashlib
import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterator, List, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client

from sms_receipt_stats.dev import emulator as emulator_module
from sms_receipt_stats.dev.emulator import (
    SECRET_ID,
    SECRET_KEY,
    STAT_FIELDS,
    Emulator,
    api_stats,
    hourly_stats,
    parse_beijing_hour,
    tc3_signature,
    window_stats,
)

pytestmark = pytest.mark.integration

APP = "1400000001"
UNHEALTHY_APP = "1400000009"
FAILURE_FIELDS = (
    "InternalErrorCount",
    "InvalidNumberCount",
    "ShutdownErrorCount",
    "BlackListCount",
    "FrequencyLimitCount",
)


@pytest.fixture()
def emu() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


def _profile(emu: Emulator) -> ClientProfile:
    return ClientProfile(httpProfile=HttpProfile(endpoint=f"127.0.0.1:{emu.port}", protocol="http", reqTimeout=10))


def _sms(
    emu: Emulator, secret_id: str = SECRET_ID, secret_key: str = SECRET_KEY, token: Optional[str] = None
) -> sms_client.SmsClient:
    cred = credential.Credential(secret_id, secret_key, token)
    return sms_client.SmsClient(cred, "ap-guangzhou", _profile(emu))


def _tdmq(emu: Emulator) -> CommonClient:
    cred = credential.Credential(SECRET_ID, SECRET_KEY)
    return CommonClient("tdmq", "2020-02-17", cred, "ap-guangzhou", profile=_profile(emu))


def _request(begin: str, end: str, app_id: str = APP, **overrides: Any) -> models.CallbackStatusStatisticsRequest:
    req = models.CallbackStatusStatisticsRequest()
    req.BeginTime, req.EndTime, req.SmsSdkAppId, req.Limit, req.Offset = begin, end, app_id, 0, 0
    for name, value in overrides.items():
        setattr(req, name, value)
    return req


def _stats(client: sms_client.SmsClient, begin: str, end: str, app_id: str = APP, **kw: Any) -> Dict[str, int]:
    resp = client.CallbackStatusStatistics(_request(begin, end, app_id, **kw))
    return {name: getattr(resp.CallbackStatusStatistics, name) for name in STAT_FIELDS}


def _error_code(call: Any) -> str:
    with pytest.raises(TencentCloudSDKException) as info:
        call()
    return str(info.value.get_code())


# -- success, determinism, splits ---------------------------------------------------------


def test_success_shape_matches_window_stats_and_is_deterministic(emu: Emulator) -> None:
    client = _sms(emu)
    first = client.CallbackStatusStatistics(_request("2024050100", "2024050200"))
    second = client.CallbackStatusStatistics(_request("2024050100", "2024050200"))
    one = {name: getattr(first.CallbackStatusStatistics, name) for name in STAT_FIELDS}
    two = {name: getattr(second.CallbackStatusStatistics, name) for name in STAT_FIELDS}
    assert one == two == api_stats(APP, "2024050100", "2024050200")
    assert one["RequestSuccessCount"] > 0
    assert first.RequestId and second.RequestId and first.RequestId != second.RequestId
    record = emu.calls[-1]
    assert (record.action, record.region, record.has_token) == ("CallbackStatusStatistics", "ap-guangzhou", False)
    assert record.params == {
        "BeginTime": "2024050100",
        "EndTime": "2024050200",
        "SmsSdkAppId": APP,
        "Limit": 0,
        "Offset": 0,
    }


def test_raw_response_envelope_is_the_apis(emu: Emulator) -> None:
    body = CommonClient(
        "sms", "2021-01-11", credential.Credential(SECRET_ID, SECRET_KEY), "ap-guangzhou", profile=_profile(emu)
    ).call_json(
        "CallbackStatusStatistics",
        {"BeginTime": "2024050100", "EndTime": "2024050101", "SmsSdkAppId": APP, "Limit": 0, "Offset": 0},
    )
    response = body["Response"]
    assert set(response) == {"CallbackStatusStatistics", "RequestId"}
    assert list(response["CallbackStatusStatistics"]) == list(STAT_FIELDS)


def test_any_split_of_a_window_sums_to_the_whole(emu: Emulator) -> None:
    client = _sms(emu)
    whole = _stats(client, "2024050100", "2024050723")
    cuts = ["2024050100", "2024050105", "2024050213", "2024050400", "2024050723", "2024050800"]
    # EndTime's hour is counted: a piece ends an hour before the next one begins
    parts = [_stats(client, a, _beijing(_epoch(b) - 3600)) for a, b in zip(cuts, cuts[1:])]
    summed = {name: sum(p[name] for p in parts) for name in STAT_FIELDS}
    assert summed == whole
    assert whole["CallbackCount"] > sum(parts[0].values()) // 9  # the pieces are not all the whole


def _beijing(epoch: int) -> str:
    return time.strftime("%Y%m%d%H", time.gmtime(epoch + 8 * 3600))


def _epoch(beijing: str) -> int:
    return calendar.timegm(time.strptime(beijing, "%Y%m%d%H")) - 8 * 3600


def test_hours_not_yet_complete_are_empty() -> None:
    real_now = time.time()  # the clock also decides expiry, so keep it at real time
    hour = int(real_now) // 3600 * 3600
    begin, current, end = _beijing(hour - 3 * 3600), _beijing(hour), _beijing(hour + 3 * 3600)
    with Emulator(clock=lambda: real_now) as emu:
        got = _stats(_sms(emu), begin, end)
    assert got == window_stats(APP, begin, current) == api_stats(APP, begin, end, now=real_now)
    assert window_stats(APP, current, end, now=real_now) == dict.fromkeys(STAT_FIELDS, 0)


# -- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("begin", "end", "overrides", "code"),
    [
        ("2024050100", "2024050200", {"Limit": None}, "MissingParameter"),
        ("2024050100", "2024050200", {"SmsSdkAppId": None}, "MissingParameter"),
        ("2024133100", "2024050200", {}, "InvalidParameterValue.BeginTimeVerifyFail"),
        ("20240501", "2024050200", {}, "InvalidParameterValue.BeginTimeVerifyFail"),
        ("2024050124", "2024050200", {}, "InvalidParameterValue.BeginTimeVerifyFail"),
        ("2024050100", "2024-05-02", {}, "InvalidParameterValue.EndTimeVerifyFail"),
        ("2024050200", "2024050100", {}, "InvalidParameterValue.EndTimeVerifyFail"),
        ("2024050100", "2024060201", {}, "InvalidParameterValue.EndTimeVerifyFail"),
        ("2024050100", "2024050200", {"Limit": 10}, "InvalidParameterValue.LimitVerifyFail"),
        ("2024050100", "2024050200", {"Offset": 1}, "InvalidParameterValue.OffsetVerifyFail"),
        ("2024050100", "2024050200", {"SmsSdkAppId": "14000abc01"}, "InvalidParameterValue.SdkAppIdNotExist"),
        ("2024050100", "2024050200", {"SmsSdkAppId": "1234"}, "InvalidParameterValue.SdkAppIdNotExist"),
    ],
)
def test_validation_codes(emu: Emulator, begin: str, end: str, overrides: Dict[str, Any], code: str) -> None:
    client = _sms(emu)
    assert _error_code(lambda: client.CallbackStatusStatistics(_request(begin, end, **overrides))) == code


def test_end_time_minus_begin_time_of_exactly_32_days_is_accepted(emu: Emulator) -> None:
    # "EndTime 必须大于等于 BeginTime，且相差不超过32天": 32 days apart, 32 days and an hour counted
    got = _stats(_sms(emu), "2024050100", "2024060200")
    assert got == window_stats(APP, "2024050100", "2024060201")


def test_both_hours_are_counted_and_begin_equal_to_end_is_one_hour(emu: Emulator) -> None:
    client = _sms(emu)
    assert _stats(client, "2024050110", "2024050110") == window_stats(APP, "2024050110", "2024050111")
    # the API's own full-day example: 00 .. 23 is the whole day
    assert _stats(client, "2024050100", "2024050123") == window_stats(APP, "2024050100", "2024050200")


def test_the_other_hour_rule_is_available_for_doctor_tests() -> None:
    with Emulator(hour_rule="half_open") as emu:
        client = _sms(emu)
        assert _stats(client, "2024050100", "2024050200") == window_stats(APP, "2024050100", "2024050200")
        assert _error_code(lambda: client.CallbackStatusStatistics(_request("2024050110", "2024050110"))) == (
            "InvalidParameterValue.EndTimeVerifyFail")
    with pytest.raises(ValueError, match="hour_rule"):
        Emulator(hour_rule="closed")


def test_known_apps_restrict_app_ids() -> None:
    with Emulator(apps=["1400000001"]) as emu:
        client = _sms(emu)
        assert _stats(client, "2024050100", "2024050102") == api_stats(APP, "2024050100", "2024050102")
        code = _error_code(lambda: client.CallbackStatusStatistics(_request("2024050100", "2024050102", "1400000002")))
        assert code == "InvalidParameterValue.SdkAppIdNotExist"


def test_unknown_parameter_and_action_and_version(emu: Emulator) -> None:
    cred = credential.Credential(SECRET_ID, SECRET_KEY)
    sms = CommonClient("sms", "2021-01-11", cred, "ap-guangzhou", profile=_profile(emu))
    params = {"BeginTime": "2024050100", "EndTime": "2024050101", "SmsSdkAppId": APP, "Limit": 0, "Offset": 0}
    assert _error_code(lambda: sms.call_json("CallbackStatusStatistics", dict(params, Extra=1))) == "UnknownParameter"
    assert _error_code(lambda: sms.call_json("SendSms", params)) == "InvalidAction"
    old = CommonClient("sms", "2019-07-11", cred, "ap-guangzhou", profile=_profile(emu))
    assert _error_code(lambda: old.call_json("CallbackStatusStatistics", params)) == "NoSuchVersion"
    assert [c.action for c in emu.calls] == ["CallbackStatusStatistics", "SendSms", "CallbackStatusStatistics"]


# -- authentication ----------------------------------------------------------------------


def test_bad_secret_key_is_a_signature_failure(emu: Emulator) -> None:
    client = _sms(emu, secret_key="not-the-key")
    code = _error_code(lambda: client.CallbackStatusStatistics(_request("2024050100", "2024050200")))
    assert code == "AuthFailure.SignatureFailure"
    assert emu.calls == []


def test_unknown_secret_id(emu: Emulator) -> None:
    client = _sms(emu, secret_id="AKIDsomeoneelse")
    code = _error_code(lambda: client.CallbackStatusStatistics(_request("2024050100", "2024050200")))
    assert code == "AuthFailure.SecretIdNotFound"


@pytest.mark.parametrize(
    ("skew", "code"), [(400, "AuthFailure.SignatureExpire"), (-400, "AuthFailure.SignatureExpire")]
)
def test_timestamp_far_from_the_emulator_clock_expires(skew: int, code: str) -> None:
    with Emulator(clock=lambda: time.time() + skew) as emu:
        client = _sms(emu)
        assert _error_code(lambda: client.CallbackStatusStatistics(_request("2024050100", "2024050200"))) == code


def test_timestamp_within_tolerance_is_accepted() -> None:
    with Emulator(clock=lambda: time.time() + 250) as emu:
        assert _stats(_sms(emu), "2024050100", "2024050200") == api_stats(APP, "2024050100", "2024050200")


def test_token_required_and_accepted() -> None:
    with Emulator(require_token=True) as emu:
        code = _error_code(lambda: _sms(emu).CallbackStatusStatistics(_request("2024050100", "2024050200")))
        assert code == "AuthFailure.TokenFailure"
        _stats(_sms(emu, token="session-token"), "2024050100", "2024050200")
        assert emu.calls[-1].has_token is True


def _raw_post(emu: Emulator, body: bytes, headers: Dict[str, str]) -> Dict[str, Any]:
    req = urllib.request.Request(emu.endpoint + "/", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/json"
        return json.loads(resp.read())


def _signed_headers(emu: Emulator, body: bytes, action: str = "CallbackStatusStatistics") -> Dict[str, str]:
    ts = int(time.time())
    date = time.strftime("%Y-%m-%d", time.gmtime(ts))
    host = f"127.0.0.1:{emu.port}"
    sig = tc3_signature(
        SECRET_KEY,
        method="POST",
        uri="/",
        query="",
        content_type="application/json",
        host=host,
        payload_hash=hashlib.sha256(body).hexdigest(),
        timestamp=str(ts),
        date=date,
        service="sms",
    )
    return {
        "Content-Type": "application/json",
        "Host": host,
        "X-TC-Action": action,
        "X-TC-Version": "2021-01-11",
        "X-TC-Timestamp": str(ts),
        "Authorization": f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{date}/sms/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={sig}",
    }


def test_missing_authorization_and_malformed_json(emu: Emulator) -> None:
    body = b'{"BeginTime": '
    headers = _signed_headers(emu, body)
    answer = _raw_post(emu, body, {k: v for k, v in headers.items() if k != "Authorization"})
    assert answer["Response"]["Error"]["Code"] == "AuthFailure.InvalidAuthorization"
    assert answer["Response"]["RequestId"]
    answer = _raw_post(emu, body, headers)
    assert answer["Response"]["Error"]["Code"] == "FailedOperation.JsonParseFail"
    answer = _raw_post(emu, b'{"BeginTime": 1}', headers)  # body changed after signing
    assert answer["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"


# -- faults ------------------------------------------------------------------------------


def test_injected_error_once_then_success(emu: Emulator) -> None:
    client = _sms(emu)
    emu.inject_error(APP, "InternalError.Timeout", "slow backend", times=1)
    code = _error_code(lambda: client.CallbackStatusStatistics(_request("2024050100", "2024050200")))
    assert code == "InternalError.Timeout"
    assert _stats(client, "2024050100", "2024050200") == api_stats(APP, "2024050100", "2024050200")
    other = "1400000002"
    assert _stats(client, "2024050100", "2024050200", other) == api_stats(other, "2024050100", "2024050200")


def test_wildcard_and_forever_injection_until_reset(emu: Emulator) -> None:
    client = _sms(emu)
    emu.inject_error("*", "UnauthorizedOperation.SerivceSuspendDueToArrears")
    for app_id in (APP, "1400000002", APP):
        code = _error_code(lambda a=app_id: client.CallbackStatusStatistics(_request("2024050100", "2024050200", a)))
        assert code == "UnauthorizedOperation.SerivceSuspendDueToArrears"
    emu.reset_faults()
    assert _stats(client, "2024050100", "2024050200") == api_stats(APP, "2024050100", "2024050200")
    assert len(emu.calls) == 4


def test_rate_limit_answers_request_limit_exceeded(emu: Emulator) -> None:
    client = _sms(emu)
    emu.set_rate_limit(3)
    codes: List[str] = []
    for _ in range(6):
        try:
            _stats(client, "2024050100", "2024050101")
            codes.append("ok")
        except TencentCloudSDKException as err:
            codes.append(str(err.get_code()))
    assert codes[:3] == ["ok", "ok", "ok"]
    assert "RequestLimitExceeded" in codes[3:]
    assert emu.rejected_by_rate_limit == codes.count("RequestLimitExceeded")
    assert emu.max_rate_observed() >= 4


def test_latency_and_concurrent_requests(emu: Emulator) -> None:
    emu.set_latency(0.3)
    _stats(_sms(emu), "2024050100", "2024050101")
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: _stats(_sms(emu), "2024050100", "2024050101"), range(6)))
    assert len({json.dumps(r, sort_keys=True) for r in results}) == 1
    assert emu.max_in_flight >= 2  # served concurrently, not one after the other
    assert emu.in_flight == 0
    assert emu.max_rate_observed() >= 6


# -- CMQ -----------------------------------------------------------------------------------


def test_cmq_send_and_publish(emu: Emulator) -> None:
    client = _tdmq(emu)
    sent = client.call_json("SendCmqMsg", {"QueueName": "stats", "MsgContent": '{"a": 1}', "DelaySeconds": 0})
    published = client.call_json("PublishCmqMsg", {"TopicName": "alerts", "MsgContent": "hi", "MsgTag": ["sms"]})
    assert sent["Response"]["Result"] is True and sent["Response"]["MsgId"]
    assert published["Response"]["Result"] is True
    assert sent["Response"]["MsgId"] != published["Response"]["MsgId"]
    assert [(m["action"], m["name"], m["content"]) for m in emu.cmq_messages] == [
        ("SendCmqMsg", "stats", '{"a": 1}'),
        ("PublishCmqMsg", "alerts", "hi"),
    ]
    assert emu.calls[0].service == "tdmq"


def test_cmq_errors() -> None:
    with Emulator(queues=["stats"], topics=["alerts"]) as emu:
        client = _tdmq(emu)
        missing = _error_code(lambda: client.call_json("SendCmqMsg", {"QueueName": "stats", "MsgContent": "x"}))
        assert missing == "MissingParameter"
        unknown_queue = _error_code(
            lambda: client.call_json("SendCmqMsg", {"QueueName": "nope", "MsgContent": "x", "DelaySeconds": 0})
        )
        assert unknown_queue == "ResourceNotFound"
        unknown_topic = _error_code(lambda: client.call_json("PublishCmqMsg", {"TopicName": "x", "MsgContent": "x"}))
        assert unknown_topic == "ResourceNotFound"
        emu.inject_error("stats", "InternalError", times=1)
        injected = _error_code(
            lambda: client.call_json("SendCmqMsg", {"QueueName": "stats", "MsgContent": "x", "DelaySeconds": 0})
        )
        assert injected == "InternalError"
        assert emu.cmq_messages == []


# -- serve() and quietness -----------------------------------------------------------------


def test_server_is_quiet(emu: Emulator, capfd: pytest.CaptureFixture[str]) -> None:
    _stats(_sms(emu), "2024050100", "2024050101")
    _error_code(lambda: _sms(emu, secret_key="x").CallbackStatusStatistics(_request("2024050100", "2024050101")))
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_serve_prints_endpoint_and_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started: List[Emulator] = []
    real_start = Emulator.start

    def spy_start(self: Emulator) -> Emulator:
        started.append(self)
        return real_start(self)

    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Emulator, "start", spy_start)
    monkeypatch.setattr(emulator_module.time, "sleep", interrupt)
    emulator_module.serve(port=0, rate_limit=10, errors={APP: "InternalError"})
    line = capsys.readouterr().out.strip()
    assert len(line.splitlines()) == 1
    (emu,) = started
    assert emu.endpoint in line and SECRET_ID in line and SECRET_KEY in line
    assert emu._server is None  # stopped on Ctrl-C


# -- pure data -----------------------------------------------------------------------------

app_ids = st.from_regex(r"14\d{8}", fullmatch=True)
hours = st.integers(min_value=1_500_000_000 // 3600, max_value=2_000_000_000 // 3600).map(lambda h: h * 3600)


@settings(max_examples=300, deadline=None)
@given(app_ids, hours)
def test_hourly_stats_invariants(app_id: str, hour: int) -> None:
    s = hourly_stats(app_id, hour)
    assert list(s) == list(STAT_FIELDS)
    assert all(isinstance(v, int) and v >= 0 for v in s.values())
    assert s["CallbackCount"] <= s["RequestSuccessCount"]
    assert s["CallbackSuccessCount"] + s["CallbackFailCount"] == s["CallbackCount"]
    assert sum(s[f] for f in FAILURE_FIELDS) == s["CallbackFailCount"]
    assert hourly_stats(app_id, hour + 1234) == s  # floored to the hour


@settings(max_examples=50, deadline=None)
@given(app_ids, st.lists(st.integers(min_value=0, max_value=24 * 40), min_size=2, max_size=6, unique=True))
def test_window_stats_is_additive(app_id: str, offsets: List[int]) -> None:
    base = parse_beijing_hour("2024010100")
    cuts = sorted(offsets)
    names = [_beijing(base + c * 3600) for c in cuts]
    whole = window_stats(app_id, names[0], names[-1])
    parts = [window_stats(app_id, a, b) for a, b in zip(names, names[1:])]
    assert {f: sum(p[f] for p in parts) for f in STAT_FIELDS} == whole
    by_hour = [hourly_stats(app_id, base + h * 3600) for h in range(cuts[0], cuts[-1])]
    assert {f: sum(p[f] for p in by_hour) for f in STAT_FIELDS} == whole


def test_daily_curve_zero_hours_and_health() -> None:
    begin = parse_beijing_hour("2024040100")
    apps = [f"14000000{i:02d}" for i in range(10, 40)]
    day = [0] * 24
    zero_hours = 0
    for app_id in apps:
        for h in range(24 * 14):
            s = hourly_stats(app_id, begin + h * 3600)
            day[h % 24] += s["RequestSuccessCount"]
            zero_hours += s["RequestSuccessCount"] == 0
    assert min(day[10:18]) > 5 * max(day[1:6])  # Beijing daytime busier than night
    assert zero_hours > 0
    for app_id in apps:
        s = window_stats(app_id, "2024040100", "2024050100")
        rate = s["CallbackSuccessCount"] / s["CallbackCount"]
        if app_id.endswith("9"):
            assert 0.6 <= rate <= 0.7, (app_id, rate)
        else:
            assert 0.85 <= rate <= 0.98, (app_id, rate)
        assert 0.85 <= s["CallbackCount"] / s["RequestSuccessCount"] <= 1.0


def test_unhealthy_app_is_distinct() -> None:
    healthy = window_stats(APP, "2024050100", "2024050800")
    sick = window_stats(UNHEALTHY_APP, "2024050100", "2024050800")
    assert (
        sick["CallbackSuccessCount"] / sick["CallbackCount"]
        < 0.7
        < 0.85
        < (healthy["CallbackSuccessCount"] / healthy["CallbackCount"])
    )


def test_a_366_day_window_sums_its_hours() -> None:
    total = window_stats("1400000077", "2023010100", "2024010200")
    assert total["RequestSuccessCount"] > 0
    assert parse_beijing_hour("2024050100") == 1714492800  # 2024-04-30T16:00Z

"""The account calls end to end: `handler.main_handler` → the real SDK → the emulator (TC3 checked).

The emulator's oracle says what SendStatusStatistics must answer (`api_send`, whose accepted count
is the receipts' RequestSuccessCount of the same hours); its packages' usage grows with the sends.
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, Iterator

import pytest

import handler
from sms_receipt_stats.dev.emulator import Emulator, api_send, window_stats
from support import APP_MARKETING, APP_PROD, APP_STAGING, read_event

pytestmark = pytest.mark.integration

APPS = (APP_PROD, APP_STAGING, APP_MARKETING)


@pytest.fixture()
def emu() -> Iterator[Emulator]:
    with Emulator(apps=APPS) as emulator:
        yield emulator


@pytest.fixture()
def run(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("SMS_API_RPS", "NOTIFY_URLS", "STATE_URL", "REPORT_TIMEZONE", "REPORT_LANG", "PACKAGE_WARN_DAYS",
                 "TENCENTCLOUD_SESSIONTOKEN", "TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TENCENTCLOUD_SECRETID", emu.secret_id)
    monkeypatch.setenv("TENCENTCLOUD_SECRETKEY", emu.secret_key)
    monkeypatch.setenv("SMS_ENDPOINT", emu.endpoint)
    monkeypatch.setenv("SMS_SDK_APP_IDS", ",".join(APPS))

    def invoke(message: Any = None, **env: str) -> Dict[str, Any]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        event = read_event("timer_default")
        event["Time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if message is not None:
            event["Message"] = json.dumps(message)
        return handler.main_handler(event, None)  # type: ignore[no-any-return]

    return invoke


def test_the_daily_report_carries_send_counts_and_the_balance(run: Any, emu: Emulator) -> None:
    doc = run()
    assert doc["errors"] == []
    for result in doc["results"]:
        counted = result["window"]["begin"], result["window"]["end"]
        send = result["send"]
        hours = window_stats(result["app_id"], *counted)
        assert send["accepted"] == hours["RequestSuccessCount"] == result["stats"]["RequestSuccessCount"]
        assert send["submitted"] >= send["accepted"] and send["billed"] >= send["accepted"]
    packages = doc["packages"]
    assert packages["app_id"] == APP_PROD and packages["error"] is None
    assert packages["remaining"] == packages["amount"] - packages["used"] > 0
    # at most remaining / rate: the bought package expires first (the unit tests pin the arithmetic)
    assert 0 < packages["days_left"] <= packages["remaining"] / packages["daily_billed"]
    # per run: one stats call, a send call for the window and one for the last 7 days per app, one packages call
    actions = [c.action for c in emu.calls]
    assert actions.count("CallbackStatusStatistics") == 3 and actions.count("SendStatusStatistics") == 6
    assert actions.count("SmsPackagesStatistics") == 1


def test_send_calls_ask_for_the_reports_hours_like_the_stats_call(run: Any, emu: Emulator) -> None:
    run()
    stats = {(c.params["SmsSdkAppId"], c.params["BeginTime"], c.params["EndTime"])
             for c in emu.calls if c.action == "CallbackStatusStatistics"}
    send = {(c.params["SmsSdkAppId"], c.params["BeginTime"], c.params["EndTime"])
            for c in emu.calls if c.action == "SendStatusStatistics"}
    assert stats < send
    assert all(c.params["Limit"] == 0 and c.params["Offset"] == 0
               for c in emu.calls if c.action != "SmsPackagesStatistics")
    (packages,) = [c for c in emu.calls if c.action == "SmsPackagesStatistics"]
    assert packages.params["Limit"] == 500 and packages.params["Offset"] == 0
    assert packages.params["BeginTime"] < packages.params["EndTime"]


def test_usage_grows_with_the_sends(emu: Emulator) -> None:
    now = time.time()
    start = int(now) // 86400 * 86400 - 10 * 86400
    emu.set_packages([{"PackageId": 1, "PackageType": 1, "PackageAmount": 10**9, "PackageCreateTime": start,
                       "PackageEffectiveTime": start, "PackageExpiredTime": start + 400 * 86400}])
    answer = emu.handle_local("SmsPackagesStatistics", {"SmsSdkAppId": APP_PROD, "Limit": 10, "Offset": 0,
                                                        "BeginTime": "2020010100", "EndTime": _hour(now - 7200)})
    usage = answer["SmsPackagesStatisticsSet"][0]["CurrentUsage"]
    begin, end = _hour(start), _hour(now - 3600)
    billed = sum(api_send(app, begin, end, now)["FeeCount"] for app in APPS)
    assert usage == billed > 0


def _hour(epoch: float) -> str:
    return time.strftime("%Y%m%d%H", time.gmtime(epoch + 8 * 3600))


def test_a_low_balance_is_a_package_low_alert_in_chinese(run: Any, emu: Emulator) -> None:
    start = int(time.time()) - 30 * 86400

    def package(amount: int) -> Dict[str, int]:
        return {"PackageId": 7, "PackageType": 1, "PackageAmount": amount, "PackageCreateTime": start,
                "PackageEffectiveTime": start, "PackageExpiredTime": start + 365 * 86400}

    emu.set_packages([package(10**9)])
    first = run()
    assert not [a for a in first["alerts"] if a["rule"] == "package_low"]
    emu.set_packages([package(first["packages"]["used"] + int(first["packages"]["daily_billed"] * 4))])
    doc = run(REPORT_LANG="zh")
    alerts = [a for a in doc["alerts"] if a["rule"] == "package_low"]
    assert [(a["severity"], a["app_id"]) for a in alerts] == [("warning", None)]
    assert "短信套餐包剩余" in alerts[0]["message"]


def test_a_failing_packages_call_never_hides_the_receipt_stats(run: Any, emu: Emulator) -> None:
    emu.inject_error("*", "UnauthorizedOperation.RequestPermissionDeny", "no permission",
                     action="SmsPackagesStatistics")
    doc = run()
    assert [r["error"] for r in doc["results"]] == [None, None, None]
    assert all(r["stats"]["RequestSuccessCount"] == r["send"]["accepted"] for r in doc["results"])
    assert doc["packages"]["error"]["code"] == "UnauthorizedOperation.RequestPermissionDeny"
    assert doc["packages"]["remaining"] is None
    assert doc["errors"] == ["SmsPackagesStatistics failed: UnauthorizedOperation.RequestPermissionDeny"]
    assert not [a for a in doc["alerts"] if a["rule"] == "package_low"]


def test_a_failing_send_call_leaves_that_apps_send_out_and_nothing_else(run: Any, emu: Emulator) -> None:
    emu.inject_error(APP_STAGING, "InternalError", "boom", action="SendStatusStatistics")
    doc = run()
    by_app = {r["app_id"]: r for r in doc["results"]}
    assert "send" not in by_app[APP_STAGING] and by_app[APP_STAGING]["stats"] is not None
    assert "send" in by_app[APP_PROD] and "send" in by_app[APP_MARKETING]
    assert f"app {APP_STAGING}: SendStatusStatistics failed: InternalError" in doc["errors"]
    assert doc["packages"]["daily_billed"] is None  # the account's rate is not known without every app


def test_a_check_makes_no_account_call(run: Any, emu: Emulator) -> None:
    run({"job": "check", "window": "last_hour"})
    assert {c.action for c in emu.calls} == {"CallbackStatusStatistics"}


def test_the_account_calls_keep_to_the_rate_cap(run: Any, emu: Emulator) -> None:
    emu.set_rate_limit(10)
    doc = run({"job": "report", "window": "yesterday"}, SMS_API_RPS="10")
    assert emu.rejected_by_rate_limit == 0 and doc["errors"] == []
    for action in ("CallbackStatusStatistics", "SendStatusStatistics", "SmsPackagesStatistics"):
        assert emu.max_rate_observed(action) <= 10


def test_the_dashboard_shows_the_balance_and_send_counts(run: Any, emu: Emulator,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from support import API_TOKEN, APP_IDS_ENV

    monkeypatch.setenv("API_TOKENS", API_TOKEN)
    monkeypatch.setenv("SMS_SDK_APP_IDS", APP_IDS_ENV)
    event = read_event("function_url_get_dashboard")
    response = handler.main_handler(event, None)
    assert response["statusCode"] == 200
    html = response["body"]
    assert "SMS balance:" in html and "messages left" in html and "API accepted" in html
    assert {c.action for c in emu.calls} == {"CallbackStatusStatistics", "SendStatusStatistics",
                                             "SmsPackagesStatistics"}


def test_the_dashboard_without_packages_permission_still_shows_the_receipts(run: Any, emu: Emulator,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from support import API_TOKEN, APP_IDS_ENV

    monkeypatch.setenv("API_TOKENS", API_TOKEN)
    monkeypatch.setenv("SMS_SDK_APP_IDS", APP_IDS_ENV)
    emu.inject_error("*", "UnauthorizedOperation.RequestPermissionDeny", "no", action="SmsPackagesStatistics")
    response = handler.main_handler(read_event("function_url_get_dashboard"), None)
    assert response["statusCode"] == 200
    assert "SMS balance: unavailable" in response["body"] and 'class="charts"' in response["body"]


def test_a_secret_quoted_by_an_account_call_error_never_leaves(run: Any, emu: Emulator) -> None:
    emu.inject_error("*", "FailedOperation", f"bad key {emu.secret_key} here", action="SmsPackagesStatistics")
    emu.inject_error(APP_PROD, "InternalError", f"oops {emu.secret_key}", action="SendStatusStatistics")
    doc = run()
    assert doc["packages"]["error"]["code"] == "FailedOperation"
    assert emu.secret_key not in json.dumps(doc, ensure_ascii=False)


def test_when_every_stats_call_fails_no_account_call_is_made(run: Any, emu: Emulator) -> None:
    """They would fail alike (no permission, arrears, an endpoint too slow) and cost the time left."""
    emu.inject_error("*", "UnauthorizedOperation.ServiceSuspendDueToArrears", "arrears",
                     action="CallbackStatusStatistics")
    doc = run()
    assert all(r["error"] is not None for r in doc["results"]) and "packages" not in doc
    assert {c.action for c in emu.calls} == {"CallbackStatusStatistics"}


def test_a_report_of_one_app_measures_the_balance_against_every_apps_sends(run: Any, emu: Emulator) -> None:
    """The packages are the account's: the rate that empties them is every configured app's."""
    whole = run()
    emu.clear_records()
    one = run({"job": "report", "window": "yesterday", "app_ids": [APP_PROD]})
    assert [r["app_id"] for r in one["results"]] == [APP_PROD] and "send" in one["results"][0]
    assert one["packages"]["daily_billed"] == whole["packages"]["daily_billed"]
    send = [c.params["SmsSdkAppId"] for c in emu.calls if c.action == "SendStatusStatistics"]
    assert sorted(send) == sorted([APP_PROD, *APPS])  # its window, and every app's last 7 days

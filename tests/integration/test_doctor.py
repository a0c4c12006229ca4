"""`doctor`: the checklist of a real setup, driven through the real SDK against the emulator."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Dict, Iterator, List

import pytest

from sms_receipt_stats.app import handle
from sms_receipt_stats.config import load_settings
from sms_receipt_stats.dev import cli
from sms_receipt_stats.dev.emulator import Emulator
from sms_receipt_stats.dev.receiver import Receiver
from sms_receipt_stats.doctor import Check, format_checks, healthy, run_doctor
from sms_receipt_stats.jobs import JobDeps
from support import API_TOKEN, APP_IDS_ENV, APP_MARKETING, APP_PROD, APP_STAGING

NOW = datetime.now(timezone.utc)
#: a check names the app as APP_IDS_ENV names it, with its id
PERMISSION = {APP_PROD: f"permission prod ({APP_PROD})", APP_STAGING: f"permission staging ({APP_STAGING})",
              APP_MARKETING: f"permission marketing ({APP_MARKETING})"}


def _env(emu: Emulator, **extra: str) -> Dict[str, str]:
    env = {"TENCENTCLOUD_SECRETID": emu.secret_id, "TENCENTCLOUD_SECRETKEY": emu.secret_key,
           "SMS_ENDPOINT": emu.endpoint, "SMS_SDK_APP_IDS": APP_IDS_ENV, "API_TOKENS": API_TOKEN}
    env.update(extra)
    return env


def _doctor(env: Dict[str, str], server_time=None, send_test: bool = False) -> List[Check]:
    settings, issues = load_settings(env)
    deps = JobDeps()
    return run_doctor(settings, issues, fetcher_factory=deps.fetcher_factory, now=datetime.now(timezone.utc),
                      server_time=server_time or deps.server_time, deliver=deps.deliver, send_test=send_test)


def _by_name(checks: List[Check]) -> Dict[str, Check]:
    return {c.name: c for c in checks}


@pytest.fixture()
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def test_a_healthy_setup_passes_every_check(emu: Emulator) -> None:
    checks = _by_name(_doctor(_env(emu)))
    assert healthy(checks.values())
    for name in ("configuration", "credentials", "endpoint", "clock", PERMISSION[APP_PROD],
                 PERMISSION[APP_STAGING], PERMISSION[APP_MARKETING], "hour rule"):
        assert checks[name].status == "pass", (name, checks[name])
    assert "EndTime's hour is counted" in checks["hour rule"].detail
    # in words, not "Q(h..h) + Q(h+1..h+1) == Q(h..h+1)", and naming the app as the operator does
    detail = checks["hour rule"].detail
    assert detail.startswith("the API counts both hours it is given: hour ") and "Q(" not in detail
    assert "alone equals the two-hour query" in detail and f"on app prod ({APP_PROD})" in detail
    assert checks["state store"].status == "skip" and checks["sinks"].status == "skip"


def test_an_api_that_excludes_end_time_fails_the_hour_rule_and_says_so() -> None:
    with Emulator(hour_rule="half_open") as emu:
        checks = _by_name(_doctor(_env(emu)))
    rule = checks["hour rule"]
    assert rule.status == "fail"
    assert "refused BeginTime == EndTime" in rule.detail and "excluded" in rule.detail
    assert not healthy(checks.values())
    assert checks[PERMISSION[APP_PROD]].status == "pass"  # probed with two hours: valid either way


def test_a_denied_app_fails_its_permission_check_with_the_catalogue_hint(emu: Emulator) -> None:
    emu.inject_error(APP_STAGING, "UnauthorizedOperation.SmsSdkAppIdVerifyFail")
    checks = _by_name(_doctor(_env(emu)))
    denied = checks[PERMISSION[APP_STAGING]]
    assert denied.status == "fail" and denied.code == "UnauthorizedOperation.SmsSdkAppIdVerifyFail"
    assert denied.hint
    assert checks[PERMISSION[APP_PROD]].status == "pass"
    assert checks["hour rule"].status == "pass"  # checked on an app that can be queried


def test_clock_skew_beyond_the_apis_tolerance_fails(emu: Emulator) -> None:
    late = lambda settings: datetime.now(timezone.utc) - timedelta(minutes=10)  # noqa: E731
    clock = _by_name(_doctor(_env(emu), server_time=late))["clock"]
    assert clock.status == "fail" and clock.code == "InternalError.RequestTimeException"
    assert "+600 s" in clock.detail or "+599 s" in clock.detail
    fine = _by_name(_doctor(_env(emu)))["clock"]  # the emulator's real Date header
    assert fine.status == "pass"


def test_an_unreachable_endpoint_fails_and_skips_what_depends_on_it() -> None:
    with Emulator() as emu:
        env = _env(emu)
    checks = _by_name(_doctor(env))  # the emulator is gone: connection refused
    assert checks["endpoint"].status == "fail" and checks["endpoint"].hint
    assert checks["clock"].status == "skip"


def test_no_credentials_fail_and_skip_the_api_checks() -> None:
    checks = _by_name(_doctor({"SMS_SDK_APP_IDS": APP_PROD}))
    assert checks["credentials"].status == "fail"
    assert {checks[n].status for n in ("endpoint", "clock", "permission", "hour rule")} == {"skip"}


def test_sinks_are_parsed_and_send_test_delivers_a_report(emu: Emulator) -> None:
    with Receiver() as chat:
        env = _env(emu, NOTIFY_URLS=f"wecom+{chat.url}/cgi-bin/webhook/send?key=doctor-key-0001,"
                                    f"{chat.url}/hook#min_severity=critical,ftp://nope")
        parsed = _doctor(env)
        assert not chat.received
        sent = _doctor(env, send_test=True)
    by_status = {c.name: c.status for c in sent if c.name.startswith("sink")}
    assert list(by_status.values()).count("pass") == 1 and list(by_status.values()).count("skip") == 1
    assert [c for c in sent if c.name == "sink" and c.status == "fail"]  # the ftp:// entry
    assert len(chat.received) == 1 and "doctor-key-0001" not in json.dumps([c.model_dump() for c in sent])
    assert [c.status for c in parsed if c.name.startswith("sink ")] == ["pass", "pass"]


def test_cli_prints_one_line_per_check_and_exits_by_health(emu: Emulator, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    for key, value in _env(emu).items():
        monkeypatch.setenv(key, value)
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") >= 8 and "FAIL" not in out
    emu.inject_error("*", "UnauthorizedOperation.ServiceSuspendDueToArrears")
    assert cli.main(["doctor", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    assert failed and all(c["hint"] for c in failed)
    assert emu.secret_key not in json.dumps(report)


def test_the_doctor_timer_job_returns_its_checklist_and_alerts_on_failures(emu: Emulator) -> None:
    event = {"Type": "Timer", "TriggerName": "doctor", "Time": NOW.isoformat(), "Message": {"job": "doctor"}}
    doc = handle(event, None, env=_env(emu))
    assert doc["kind"] == "doctor" and doc["alerts"] == []
    assert all(c["status"] in ("pass", "skip") for c in doc["checks"])
    with Emulator(hour_rule="half_open") as other:
        doc = handle(event, None, env=_env(other))
    assert any(a["message"].startswith("doctor: hour rule") for a in doc["alerts"])


def test_format_checks_shows_hints_under_failures() -> None:
    text = format_checks([Check(name="clock", status="fail", detail="off", hint="fix the clock"),
                          Check(name="x", status="pass", detail="fine", hint="never shown")])
    assert "hint: fix the clock" in text and "never shown" not in text


def test_the_state_store_check_writes_and_reads_back(emu: Emulator, state_env: Dict[str, str]) -> None:
    assert _by_name(_doctor(_env(emu, **state_env)))["state store"].status == "pass"


def test_an_unreachable_state_store_fails_its_check_with_a_hint(emu: Emulator) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    check = _by_name(_doctor(_env(emu, STATE_URL=f"redis://:pw-doctor-secret@127.0.0.1:{port}/0")))["state store"]
    assert check.status == "fail" and check.hint and "pw-doctor-secret" not in check.detail


@pytest.mark.parametrize("lang, marker", [("en", "TEST message from sms-receipt-stats doctor"),
                                          ("zh", "测试消息")])
def test_send_test_is_marked_as_a_test_and_names_the_failed_app(emu: Emulator, lang: str, marker: str) -> None:
    emu.inject_error(APP_STAGING, "UnauthorizedOperation.SmsSdkAppIdVerifyFail")
    with Receiver() as chat:
        env = _env(emu, REPORT_LANG=lang, NOTIFY_URLS=f"wecom+{chat.url}/cgi-bin/webhook/send?key=doctor-key-0002")
        checks = _doctor(env, send_test=True)
        [message] = chat.received
    content = message.json["markdown"]["content"]
    first_line = content.strip().splitlines()[0]
    assert marker in first_line, content
    assert "all healthy" not in content and "全部正常" not in content
    assert PERMISSION[APP_STAGING] in content and "FAILED" in content
    # our own code span, copyable: the escaping of untrusted text put a zero-width space after its dot
    assert "\u200b" not in content and "`UnauthorizedOperation.SmsSdkAppIdVerifyFail`" in content
    assert [c for c in checks if c.name.startswith("sink ") and c.status == "pass"]


def test_cli_says_not_verified_and_exits_3_when_the_essentials_were_skipped(
        emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    env = _env(emu)
    del env["SMS_SDK_APP_IDS"]  # credentials found, nothing to check them on
    for key in ("SMS_SDK_APP_IDS", "NOTIFY_URLS", "STATE_URL"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert cli.main(["doctor"]) == 3
    out = capsys.readouterr().out
    assert "FAIL" not in out
    assert out.strip().splitlines()[-1].endswith("NOT VERIFIED (endpoint, permission did not run)")
    assert cli.main(["doctor", "--json"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["verdict"] == "not verified" and report["ran"] < report["total"]


def test_a_silent_endpoint_skips_the_apps_and_the_run_ends_within_its_limit() -> None:
    """A real socket that accepts and never answers: the probe times out within the limit's share."""
    import socket
    import time

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        env = {"TENCENTCLOUD_SECRETID": "AKIDsilent", "TENCENTCLOUD_SECRETKEY": "silent-key",
               "SMS_ENDPOINT": f"http://127.0.0.1:{silent.getsockname()[1]}", "SMS_SDK_APP_IDS": APP_IDS_ENV}
        settings, issues = load_settings(env)
        deps = JobDeps()
        deadline = time.monotonic() + 10.0
        checks = _by_name(run_doctor(settings, issues, fetcher_factory=deps.fetcher_factory, now=NOW,
                                     server_time=deps.server_time, deadline=deadline))
    assert checks["endpoint"].status == "fail"
    for app in (APP_PROD, APP_STAGING, APP_MARKETING):
        assert checks[PERMISSION[app]].status == "skip"
        assert "endpoint did not answer" in checks[PERMISSION[app]].detail


def test_an_unreachable_endpoint_says_which_failure_it_was() -> None:
    """Refused and DNS both read "no answer (ClientNetworkError)" with one hint: now the reason leads,
    and each reason has its own hint. Real sockets: a port nobody listens on, a reserved name."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    seen = {}
    for endpoint, reason in ((f"http://127.0.0.1:{port}", "the endpoint refused the connection"),
                             ("http://sms-doctor-test.invalid", "the endpoint's host name could not be resolved")):
        env = {"TENCENTCLOUD_SECRETID": "AKIDdoctorwire000000000000000001", "SMS_ENDPOINT": endpoint,
               "TENCENTCLOUD_SECRETKEY": "doctor-wire-secret-key-000000001", "SMS_SDK_APP_IDS": APP_PROD}
        check = _by_name(_doctor(env))["endpoint"]
        assert check.status == "fail" and check.code == "ClientNetworkError"
        assert check.detail.startswith(f"no answer: {reason}") and check.detail.endswith("(ClientNetworkError)")
        assert check.hint
        seen[reason] = check.hint
    assert len(set(seen.values())) == 2  # a hint for each, not the one network hint

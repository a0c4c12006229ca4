"""The backtest driver runs the product's real timer jobs over a short scenario, with one state
store for the whole replay, and finds the incidents injected into it; the CLI's error paths."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone

import pytest

from sms_receipt_stats.dev.backtest import command
from sms_receipt_stats.dev.backtest import scenario as sc
from sms_receipt_stats.dev.backtest.naive import naive_replay
from sms_receipt_stats.dev.backtest.replay import SimClock, replay, run_times
from sms_receipt_stats.dev.backtest.score import score

pytestmark = pytest.mark.integration

APPS = [sc.AppSpec("1400000001", "big", 3000, 0.98, 0.985), sc.AppSpec("1400000002", "mid", 800, 0.97, 0.985)]
START = sc.DEFAULT_START
OUTAGE = sc.Incident("O", "outage", ("1400000001",), sc.at(START, 2, 10, 20), sc.at(START, 2, 13, 40), rate=0.3)
DISABLED = sc.Incident("E", "api_error", ("1400000002",), sc.at(START, 1, 14, 0), sc.at(START, 1, 17, 0),
                       code="UnauthorizedOperation.SdkAppIdIsDisabled")


@pytest.fixture(scope="module")
def short() -> sc.Scenario:
    return sc.build(APPS, [OUTAGE, DISABLED], days=3, seed=11)


@pytest.fixture(scope="module")
def stateful(short):
    return replay(short.truth, {})


def test_the_shipped_schedule_runs_hourly_checks_and_one_report_a_day(short):
    times = run_times(short.start, short.end)
    assert len(times) == 3 * 24 + 3
    reports = [t for t, entry in times if entry.job == "report"]
    assert [sc.beijing(t).strftime("%H:%M") for t in reports] == ["03:00"] * 3
    assert {sc.beijing(t).minute for t, entry in times if entry.job == "check"} == {5}


def test_the_replay_finds_the_injected_incidents(short, stateful):
    assert len(stateful.runs) == 3 * 24 + 3 and stateful.api_calls > 0 and not stateful.config_issues
    card = score("product", stateful.notices, stateful.runs, short.incidents, short.detectable)
    assert short.detectable == {"O": True, "E": True}
    assert card.detected == 2
    outage = next(i for i in card.incidents if i.id == "O")
    assert outage.delay_hours is not None and 0 < outage.delay_hours <= 3
    codes = {n.code for n in stateful.notices if n.rule == "api_error" and n.status == "firing"}
    assert codes == {"UnauthorizedOperation.SdkAppIdIsDisabled"}


def test_one_store_lasts_the_whole_replay(short, stateful):
    """With the store, an alert that keeps firing for hours is notified far less often than it is
    found; without it (stateless: every alert is sent) it is sent at every run that finds it."""
    stateless = replay(short.truth, {}, stateful=False)
    firing = [n for n in stateful.notices if n.rule == "api_error" and n.status == "firing"]
    sent_every_run = [n for n in stateless.notices if n.rule == "api_error"]
    assert all(n.fingerprint for n in firing)  # the lifecycle ran
    assert len(sent_every_run) == 3 and len(firing) == 1  # checks at 14:05, 15:05, 16:05
    assert any(n.status == "resolved" for n in stateful.notices)
    assert all(n.status == "firing" for n in stateless.notices)


def test_sleep_advances_the_simulated_clocks_only():
    clock = SimClock()
    clock.set(1000.0)
    mono = clock.monotonic()
    clock.sleep(2.5)
    assert clock.monotonic() == mono + 2.5 and clock.time() == 1002.5
    assert clock.now() == datetime.fromtimestamp(1002.5, timezone.utc)


def test_the_naive_policy_waits_an_hour_and_repeats_every_four(short):
    result = naive_replay(short.truth, {})
    outage = [n for n in result.notices if n.app_id == "1400000001" and n.rule == "success_rate_below"]
    firing = [n for n in outage if n.status == "firing"]
    assert firing and firing[0].at >= OUTAGE.onset + 3600  # `for: 1h`: two bad evaluations in a row
    assert len(firing) == 1 and any(n.status == "resolved" for n in outage)
    assert all(r.job == "check" for r in result.runs)


def _args(**values):
    base = {"scenario": None, "seed": None, "days": None, "json": False, "stateless": False, "set": None,
            "progress": None, "jobs": 1}
    base.update(values)
    return argparse.Namespace(**base)


def test_cli_errors_are_one_line_and_exit_2(capsys):
    env = {"SMS_SDK_APP_IDS": "1400000001"}  # no credentials
    assert command.run(_args(), env) == 2
    err = capsys.readouterr().err
    assert err.startswith("backtest: no credentials") and err.count("\n") == 1 and "Traceback" not in err
    assert command.run(_args(), {}) == 2
    assert "SMS_SDK_APP_IDS" in capsys.readouterr().err
    assert command.run(_args(scenario="nope"), {}) == 2
    assert capsys.readouterr().err.strip() == ("backtest: unknown scenario 'nope'; expected one of: "
                                               "quarter, quarter-b, quiet, drop, stall, noisy, package")
    assert command.run(_args(scenario="quiet", days=0), {}) == 2
    assert command.run(_args(scenario="list"), {}) == 0
    assert "quarter-b" in capsys.readouterr().out


def test_cli_scenario_prints_both_scorecards(capsys):
    assert command.run(_args(scenario="quarter", days=10), {}) == 0
    out = capsys.readouterr().out
    assert "I01" in out and "product" in out and "naive" in out and "false firing notices" in out
    assert command.run(_args(scenario="quarter", days=10, json=True, stateless=True), {}) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["scorecards"]) == {"product", "stateless", "naive"}
    assert doc["scenario"]["incidents"][0]["id"] == "I01"
    cards = doc["scorecards"]
    # stateless, every alert is sent at every run that finds it
    assert cards["stateless"]["firing"] >= cards["product"]["firing"] and cards["stateless"]["resolved"] == 0


def test_a_replay_is_deterministic(short, stateful):
    again = replay(short.truth, {})
    assert again.notices == stateful.notices
    assert [(r.at, r.notices) for r in again.runs] == [(r.at, r.notices) for r in stateful.runs]


def test_cli_account_backtest_over_the_emulator(capsys, monkeypatch):
    """The account path: hourly series through the product's querier (real SDK, emulator), then
    the replay; the emulator's apps are healthy, so the command answers with a summary."""
    from sms_receipt_stats.dev.emulator import SECRET_ID, SECRET_KEY, Emulator

    monkeypatch.setattr(command, "LEAD_DAYS", 0)  # one API call per app-hour: keep it to one day

    with Emulator() as emulator:
        env = {"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
               "SMS_ENDPOINT": emulator.endpoint, "SMS_SDK_APP_IDS": "1400006874=prod"}
        assert command.run(_args(days=1, json=True), env) == 0
        calls = len(emulator.calls)
        out = capsys.readouterr().out
        assert command.run(_args(days=1), env) == 0
    doc = json.loads(out)
    assert set(doc) == {"begin", "end", "thresholds", "messages", "notices"} and isinstance(doc["notices"], list)
    assert doc["thresholds"]["ALERT_SUCCESS_RATE_MIN"] == "0.9"
    assert calls == 1 + 24  # a probe, then an hourly series is one call per hour
    assert capsys.readouterr().out.startswith("the last 1 days (")


def test_cli_account_backtest_names_the_failing_app(capsys):
    from sms_receipt_stats.dev.emulator import SECRET_ID, Emulator

    with Emulator() as emulator:
        env = {"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": "wrong-key-0123456789",
               "SMS_ENDPOINT": emulator.endpoint, "SMS_SDK_APP_IDS": "1400006874"}
        assert command.run(_args(days=1), env) == 2
    err = capsys.readouterr().err
    assert err.startswith("backtest: 1400006874: AuthFailure") and err.count("\n") == 1  # before any loading
    assert "wrong-key-0123456789" not in err


def test_the_memoized_codec_changes_nothing_measured(short, stateful, monkeypatch):
    """The replay's speed-ups (dev/backtest/fast.py) off: the same notices, runs and store effects."""
    from sms_receipt_stats.dev.backtest import fast

    monkeypatch.setattr(fast, "agrees", lambda *a: False)  # keep the product's own codec
    with fast.memo_codec() as active:
        assert not active
        slow = replay(short.truth, {})
    assert slow.notices == stateful.notices
    assert [(r.at, r.notices, r.firing, r.errors) for r in slow.runs] == \
        [(r.at, r.notices, r.firing, r.errors) for r in stateful.runs]


def test_cli_prints_the_thresholds_and_app_names(capsys):
    assert command.run(_args(scenario="quarter", days=10), {"ALERT_CONFIDENCE": "0.95"}) == 0
    out = capsys.readouterr().out
    assert "ALERT_CONFIDENCE=0.95*" in out and "ALERT_SUCCESS_RATE_MIN=0.9" in out
    i01 = next(line for line in out.splitlines() if line.strip().startswith("I01"))
    assert "1400000001 otp" in i01  # the incident's app, by id and name
    assert command.run(_args(scenario="quarter", days=10, json=True), {}) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["thresholds"]["ALERT_CONFIDENCE"] == "0.99"
    assert doc["scenario"]["incidents"][0]["apps"] == [{"app_id": "1400000001", "name": "otp"}]


def test_cli_set_compares_settings_side_by_side(capsys):
    args = _args(scenario="quarter", days=10, set=["ALERT_CONFIDENCE=0.95,0.99"])
    assert command.run(args, {}) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.strip().startswith("ALERT_CONFIDENCE=")]
    assert [r.split()[0] for r in rows] == ["ALERT_CONFIDENCE=0.95"] * 2 + ["ALERT_CONFIDENCE=0.99"] * 2
    assert "false notices" in out and "median delay" in out and "flaps" in out and "messages" in out
    args = _args(scenario="quarter", days=10, set=["ALERT_CONFIDENCE=0.95,0.99"], json=True)
    assert command.run(args, {}) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [s["set"] for s in doc["settings"]] == [{"ALERT_CONFIDENCE": "0.95"}, {"ALERT_CONFIDENCE": "0.99"}]
    assert doc["settings"][0]["thresholds"]["ALERT_CONFIDENCE"] == "0.95"
    assert set(doc["settings"][1]["scorecards"]) == {"product", "naive"}
    # the default setting's row is the plain run's scorecard
    assert command.run(_args(scenario="quarter", days=10, json=True), {}) == 0
    plain = json.loads(capsys.readouterr().out)
    assert doc["settings"][1]["scorecards"] == plain["scorecards"]


def test_cli_set_in_parallel_processes_gives_the_same_results(capsys):
    args = _args(scenario="quarter", days=3, set=["ALERT_MIN_VOLUME=50,100"], json=True)
    assert command.run(args, {}) == 0
    serial = json.loads(capsys.readouterr().out)
    args.jobs = 2
    assert command.run(args, {}) == 0
    parallel = json.loads(capsys.readouterr().out)
    assert [s["scorecards"] for s in parallel["settings"]] == [s["scorecards"] for s in serial["settings"]]


def test_cli_bad_set_is_one_line_exit_2(capsys):
    assert command.run(_args(scenario="quarter", days=3, set=["ALERT_CONFIDENCE=0.95,2"]), {}) == 2
    captured = capsys.readouterr()
    assert captured.err == "backtest: --set ALERT_CONFIDENCE: '2' is outside 0.5..0.9999\n"
    assert captured.out == ""
    assert command.run(_args(set=["ALERT_CONFIDENCE=0.95"]), {}) == 2
    assert capsys.readouterr().err == "backtest: --set needs --scenario\n"


def test_cli_progress_goes_to_stderr_and_leaves_the_json_alone(capsys):
    assert command.run(_args(scenario="quarter", days=7, json=True, progress=True), {}) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)
    assert "backtest: product day 7/7, " in captured.err
    assert command.run(_args(scenario="quarter", days=7, json=True), {}) == 0
    assert capsys.readouterr().err == ""  # not a terminal: quiet


def test_the_replay_reads_the_balance_and_package_low_warns_days_before_it_runs_out():
    """The report reads SmsPackagesStatistics and SendStatusStatistics from the simulated sends:
    a package running out at the apps' billed rate on day 9 is warned about at least two days
    before, critical before it is empty, and resolved by the top-up."""
    apps = [sc.AppSpec(a.app_id, a.name, a.peak, a.success_rate, a.receipt_rate, long_share=0.15) for a in APPS]
    scenario = sc.build(apps, [], days=12, seed=12)
    (empty,) = sc.run_out(scenario.truth, START, ((9, 14),))
    scenario.incidents.append(empty)
    scenario.detectable[empty.id] = True
    result = replay(scenario.truth, {})
    card = score("product", result.notices, result.runs, scenario.incidents, scenario.detectable)
    (mine,) = card.incidents
    assert mine.detected and mine.warning_lead_days is not None and mine.warning_lead_days >= 2
    assert mine.critical_lead_days is not None and 0 < mine.critical_lead_days <= 2
    assert mine.resolved == 1 and card.false_firing == 0
    package = [n for n in result.notices if n.rule == "package_low"]
    assert {n.job for n in package} == {"report"} and {n.app_id for n in package} == {None}
    assert package[-1].status == "resolved" and package[-1].at > empty.end

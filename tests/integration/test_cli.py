"""The command line, end to end over loopback: demo, invoke, query."""

from __future__ import annotations

import json
import os

import pytest

from sms_receipt_stats import cli
from sms_receipt_stats.emulator import SECRET_ID, SECRET_KEY, Emulator, window_stats

pytestmark = pytest.mark.integration


@pytest.fixture
def restore_environ():
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def emulator_env(monkeypatch):
    with Emulator() as emulator:
        for key in list(os.environ):
            if key.startswith(("TENCENTCLOUD_", "SMS_", "NOTIFY_", "API_", "ALERT_", "REPORT_")):
                monkeypatch.delenv(key)
        monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", SECRET_ID)
        monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)
        monkeypatch.setenv("SMS_ENDPOINT", emulator.endpoint)
        monkeypatch.setenv("SMS_SDK_APP_IDS", "1400006874=prod")
        yield emulator


def test_demo_runs_offline_and_shows_what_each_consumer_got(capsys, restore_environ):
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "demo finished: OK" in out
    assert "SMS receipts" in out  # the rendered chat message
    assert "(1 message(s) on CMQ)" in out
    assert "HTTP 200" in out and "HTTP 401" in out
    assert "RequestSuccessCount" in out
    assert "demo-wecom-key" not in out and cli.DEMO_TOKEN not in out


def test_demo_totals_are_the_sum_of_the_emulators_hours_of_yesterday(capsys, restore_environ):
    import re
    from datetime import datetime, timedelta, timezone

    from sms_receipt_stats.emulator import hourly_stats

    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    beijing = timezone(timedelta(hours=8))
    midnight = datetime.now(beijing).replace(hour=0, minute=0, second=0, microsecond=0)
    first = int((midnight - timedelta(days=1)).timestamp())
    shown = {m.group(1): int(m.group(2).replace(",", ""))
             for m in re.finditer(r"(14\d{8})  submitted +([\d,]+)", out)}
    assert set(shown) == {entry.split("=")[0] for entry in cli.DEMO_APPS.split(",")}
    for app_id, submitted in shown.items():
        hours = range(first, first + 24 * 3600, 3600)  # 00:00 .. 23:00, each once
        assert submitted == sum(hourly_stats(app_id, h)["RequestSuccessCount"] for h in hours)


def test_demo_in_chinese(capsys, restore_environ):
    assert cli.main(["demo", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "回执" in out


def test_query_json_matches_the_emulator_oracle(capsys, emulator_env):
    code = cli.main(["query", "--app-id", "1400006874", "--begin", "2026100100", "--end", "2026110500", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["stats"] == window_stats("1400006874", "2026100100", "2026110500")
    assert len(result["request_ids"]) == 2  # 35 days: split into two API calls


def test_query_table_and_bad_input(capsys, emulator_env):
    assert cli.main(["query", "--app-id", "1400006874", "--window", "last_7d", "--granularity", "day"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("prod (1400006874)") and table.count("→") == 8  # header + 7 days
    assert cli.main(["query", "--app-id", "42", "--window", "yesterday"]) == 2
    assert "SmsSdkAppId" in capsys.readouterr().err
    assert cli.main(["query", "--app-id", "1400006874", "--begin", "2026112500", "--end", "2026112400"]) == 2
    assert "EndTimeVerifyFail" in capsys.readouterr().err


def test_invoke_timer_and_apigw_print_the_handler_result(capsys, emulator_env, monkeypatch):
    assert cli.main(["invoke", "timer", "--message", '{"job": "report", "window": "last_24h"}']) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "report" and doc["results"][0]["stats"]["RequestSuccessCount"] > 0
    monkeypatch.setenv("API_TOKENS", "cli-token-123456")
    assert cli.main(["invoke", "apigw", "--query", "app_id=1400006874&window=yesterday",
                     "--token", "cli-token-123456"]) == 0
    response = json.loads(capsys.readouterr().out)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["app_id"] == "1400006874"


def test_invoke_event_file(capsys, emulator_env, tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"Type": "Timer", "TriggerName": "t", "Time": "", "Message": ""}))
    assert cli.main(["invoke", str(event), "--message", '{"job": "check", "window": "last_hour"}']) == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "check"
    assert cli.main(["invoke", str(tmp_path / "missing.json")]) == 2

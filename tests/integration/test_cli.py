"""The command line, end to end over loopback: demo, invoke, query."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from sms_receipt_stats.dev import cli
from sms_receipt_stats.dev.emulator import SECRET_ID, SECRET_KEY, Emulator, window_stats
from sms_receipt_stats.links import verify

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
    assert "Configuration problem" not in out and "config_error" not in out  # the demo's own settings are valid
    assert "SMS receipts" in out  # the rendered chat message
    assert "(1 message(s) on CMQ) through the data-flow API's SendMessage" in out
    assert "HTTP 200" in out and "HTTP 401" in out
    assert "RequestSuccessCount" in out
    assert "demo-wecom-key" not in out and cli.DEMO_TOKEN not in out


def test_the_demos_alerts_tell_their_time_right(capsys, restore_environ):
    """The daily report's verdict spans its day; the lifecycle's `since` is when the check of the
    first failing hour ran (minutes after that hour), not the moment the demo itself runs."""
    import re
    from datetime import datetime, timedelta

    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    alert = next(line for line in out.splitlines() if "ALERT critical:" in line)
    assert "receipts over 24 h)" in alert and "over 1 h" not in out
    first = re.search(r"a\) .*: check (\d\d):00-(\d\d):00 at (\d\d:\d\d)\n.*since=(\S+)", out)
    assert first, out
    since = datetime.fromisoformat(first.group(4))
    assert f"{since:%H:%M}" == first.group(3)
    hour_end = since.replace(hour=int(first.group(2)), minute=0, second=0)
    if hour_end > since:  # the hour ended at midnight: the day before
        hour_end -= timedelta(days=1)
    assert timedelta(0) <= since - hour_end < timedelta(hours=1)


def test_demo_totals_are_the_sum_of_the_emulators_hours_of_yesterday(capsys, restore_environ):
    import re
    from datetime import datetime, timedelta, timezone

    from sms_receipt_stats.dev.emulator import hourly_stats

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
def test_demo_writes_the_dashboard_and_links_to_it(capsys, restore_environ, tmp_path):
    target = tmp_path / "out" / "dashboard.html"
    assert cli.main(["demo", "--dashboard", str(target)]) == 0
    out = capsys.readouterr().out
    assert f"written to {target}" in out and target.as_uri() in out
    assert "sms-receipt-stats serve --emulator" in out
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count('<svg class="chart lines"') == 3  # three demo apps
    # the chat message links to the dashboard, and the link opens where `serve --emulator` listens
    link = re.search(r"\[📈 Dashboard\]\((http://127\.0\.0\.1:8000/dashboard\?[^)]+)\)", out)
    assert link, out
    query = {k: v[0] for k, v in parse_qs(urlsplit(link.group(1)).query).items()}
    verify(cli.DEMO_LINK_SECRET, app_id=query["app_id"], window=query["window"], exp=query["exp"], sig=query["sig"],
           now=datetime.now(timezone.utc))
    assert cli.DEMO_LINK_SECRET not in out


def test_serve_with_the_emulator_answers_its_printed_links(tmp_path):
    """`serve --emulator` as a developer runs it: a process of its own, a free port, the links it prints."""
    proc = subprocess.Popen([sys.executable, "-m", "sms_receipt_stats", "serve", "--emulator", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            env={k: v for k, v in os.environ.items() if not k.startswith(("TENCENTCLOUD_", "SMS_"))})
    try:
        banner = [proc.stdout.readline() for _ in range(6)]
        assert banner[0].startswith("serving main_handler on http://127.0.0.1:"), banner
        prod = next(line.split(": ", 1)[1].strip() for line in banner if line.strip().startswith("prod:"))
        with urllib.request.urlopen(prod, timeout=60) as answer:
            assert answer.status == 200 and answer.headers["Content-Type"] == "text/html; charset=utf-8"
            assert b'id="app-1400006874"' in answer.read()
    finally:  # SIGTERM, a process manager's stop: a runner in the background may have SIGINT ignored
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "GET /dashboard 200" in err and "sig=" not in err


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


def test_demo_marks_apps_by_the_alert_verdict_and_names_the_function_url(capsys, restore_environ):
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    table = {m.group(1): m.group(2) for m in re.finditer(r"(14\d{8})  submitted .*\[([^\]]+)\]$", out, re.M)}
    alerted = {m.group(2): m.group(1) for m in re.finditer(r"ALERT (\w+): .*\((14\d{8})\)", out)}
    assert alerted, out  # the demo data has an app below a threshold
    for app_id, severity in alerted.items():
        assert table[app_id] == severity.upper()  # never [ok] beside an app the rules flagged
    assert all(table[a] == "ok" for a in table if a not in alerted)
    assert "API Gateway" not in out and "function URL (HTTP trigger)" in out


def test_each_demo_run_writes_into_a_fresh_directory_of_its_own(capsys, restore_environ, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the runs' directories land in tmp_path
    written = []
    for _ in range(2):
        assert cli.main(["demo"]) == 0
        out = capsys.readouterr().out
        run_dir = Path(re.search(r"^files of this run: (.+)$", out, re.M).group(1))
        assert run_dir.parent == tmp_path
        page = run_dir / "dashboard.html"
        assert f"written to {page}" in out and page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
        assert (run_dir / "state.db").is_file()  # the lifecycle's store too: every file of the run in one place
        written.append(page)
    assert written[0].parent != written[1].parent and written[0].exists()  # the second run left the first alone

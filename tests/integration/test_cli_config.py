"""The command line reads the environment through the same declarations as the handler: no
environment makes a command print a traceback; a refused value is named on stderr or in the JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = {
    "receipt-delay": {"ALERT_RECEIPT_DELAY": "999999d"},
    "settle-hours": {"SETTLE_HOURS": "9" * 5000},
    "repeat-interval": {"ALERT_REPEAT_INTERVAL": "999999d"},
}


def run_cli(args: List[str], extra: Dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT / "src"), "HOME": str(tmp_path),
           **extra}
    return subprocess.run([sys.executable, "-m", "sms_receipt_stats", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_backtest_names_a_refused_variable_and_runs_on(name: str, tmp_path: Path) -> None:
    extra = ENVIRONMENTS[name]
    done = run_cli(["backtest", "--scenario", "quiet", "--days", "1", "--json"], extra, tmp_path)
    assert "Traceback" not in done.stderr and done.returncode == 0, done.stderr[-2000:]
    issues = json.loads(done.stdout)["config_issues"]
    assert [i for i in issues if i.startswith(f"{next(iter(extra))}: ")], issues


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_silence_list_answers_whatever_the_environment(name: str, tmp_path: Path) -> None:
    extra = {**ENVIRONMENTS[name], "STATE_URL": f"sqlite:///{tmp_path}/state.db"}
    done = run_cli(["silence", "add", "--rule", "api_error", "--duration", "1h", "--comment", "x"], extra, tmp_path)
    assert "Traceback" not in done.stderr and done.returncode == 0, done.stderr[-2000:]
    done = run_cli(["silence", "list", "--json"], extra, tmp_path)
    assert "Traceback" not in done.stderr and done.returncode == 0, done.stderr[-2000:]
    assert [s["matchers"] for s in json.loads(done.stdout)] == [{"rule": "api_error"}]
    if name == "settle-hours":  # the state's own variables are named on stderr
        assert "config: SETTLE_HOURS: the value is not a whole number of hours" in done.stderr


def test_an_unexpected_failure_of_a_command_is_one_line(tmp_path: Path) -> None:
    """A bug in a command answers one line naming its kind, never a traceback."""
    from sms_receipt_stats.dev import cli

    script = ("import sys\nfrom sms_receipt_stats.dev import cli, state_cli\n"
              "def boom(args):\n    raise ValueError('Exceeds the limit (4300 digits)')\n"
              "cli.cmd_silence = boom\nsys.exit(cli.main(['silence', 'list']))\n")
    assert hasattr(cli, "cmd_silence")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == ("sms-receipt-stats silence: unexpected failure (ValueError); "
                                   "please report it with the command you ran")

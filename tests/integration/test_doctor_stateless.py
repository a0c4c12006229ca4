"""`doctor` inside SCF without a store: a warning that says what running stateless costs.

SCF marks its runtime with built-in variables (SCF docs, product 583, "Environment Variables":
`TENCENTCLOUD_RUNENV=SCF`; the `SCF_` prefix is reserved for the platform, e.g. `SCF_RUNTIME`).
On a terminal the same configuration is a plain skip: a developer's shell has no store to check.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Dict, Iterator

import pytest

from sms_receipt_stats.app import handle
from sms_receipt_stats.config import load_settings
from sms_receipt_stats.dev.emulator import Emulator
from sms_receipt_stats.doctor import Check, check_state_store, format_checks, healthy, summarize
from support import API_TOKEN, APP_IDS_ENV

SCF_ENV = {"TENCENTCLOUD_RUNENV": "SCF", "SCF_RUNTIME": "Python3.10", "SCF_FUNCTIONNAME": "sms-receipt-stats-prod"}
#: what a stateless function gives up (docs/state.md): each must be named in the warning
COSTS = ("resolved", "alerts anew", "outbox", "cached")


@pytest.fixture()
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def _env(emu: Emulator, **extra: str) -> Dict[str, str]:
    env = {"TENCENTCLOUD_SECRETID": emu.secret_id, "TENCENTCLOUD_SECRETKEY": emu.secret_key,
           "SMS_ENDPOINT": emu.endpoint, "SMS_SDK_APP_IDS": APP_IDS_ENV, "API_TOKENS": API_TOKEN}
    env.update(extra)
    return env


def _stateless_settings():  # type: ignore[no-untyped-def]
    settings, issues = load_settings({"SMS_SDK_APP_IDS": APP_IDS_ENV})
    assert issues == [] and settings.state_url is None
    return settings


@pytest.mark.parametrize("marker", [{"TENCENTCLOUD_RUNENV": "SCF"}, {"SCF_RUNTIME": "Python3.10"},
                                    {"SCF_FUNCTIONNAME": "sms-receipt-stats-prod"}, SCF_ENV])
def test_inside_scf_a_function_without_a_store_is_warned_with_what_it_costs(marker: Dict[str, str]) -> None:
    check = check_state_store(_stateless_settings(), env=marker)
    assert check.status == "warn"
    for cost in COSTS:
        assert cost in check.detail, cost
    assert check.hint and "Redis" in check.hint and "VPC" in check.hint
    assert healthy([check])  # a warning fails nothing: stateless is a supported way to run


@pytest.mark.parametrize("env", [{}, {"TENCENTCLOUD_RUNENV": ""}, {"TENCENTCLOUD_RUNENV": "local"}])
def test_outside_scf_a_missing_store_is_only_skipped(env: Dict[str, str]) -> None:
    check = check_state_store(_stateless_settings(), env=env)
    assert (check.status, check.detail) == ("skip", "STATE_URL is not set: stateless")


@pytest.mark.parametrize("state_env", ["sqlite"], indirect=True)
def test_inside_scf_a_function_with_a_store_gets_no_warning(state_env: Dict[str, str]) -> None:
    settings, issues = load_settings({"SMS_SDK_APP_IDS": APP_IDS_ENV, **state_env})
    assert issues == []
    assert check_state_store(settings, env=SCF_ENV).status == "pass"


def test_the_warning_and_its_hint_are_printed() -> None:
    text = format_checks([check_state_store(_stateless_settings(), env=SCF_ENV)])
    assert "WARN  state store" in text and "hint: Give it a store" in text
    assert summarize([Check(name="state store", status="warn", detail="x")]).failed == 0


def test_the_doctor_timer_job_in_scf_lists_the_warning_and_stays_healthy(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through the handler, with the real SDK against the emulator, as SCF runs it (its variables set)."""
    for key, value in SCF_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("STATE_URL", raising=False)
    event = {"Type": "Timer", "TriggerName": "doctor", "Time": datetime.now(timezone.utc).isoformat(),
             "Message": {"job": "doctor"}}
    doc = handle(event, None, env=_env(emu, **SCF_ENV))
    checks = {c["name"]: c for c in doc["checks"]}
    assert checks["state store"]["status"] == "warn" and "resolved" in checks["state store"]["detail"]
    assert doc["errors"] == [] and doc["alerts"] == []  # healthy otherwise: the warning raises no alert
    assert all(c["status"] in ("pass", "skip", "warn") for c in doc["checks"])

"""`doctor` within its time limit, and honest about what it did not check (docs/troubleshooting.md, *doctor*).

The clock is fake: a call "takes" the time the fetcher says, so no test waits or measures.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import pytest

from sms_receipt_stats.config import load_settings
from sms_receipt_stats.dev.emulator import api_stats
from sms_receipt_stats.doctor import CALL_TIMEOUT, Check, format_checks, run_doctor, send_test_document, summarize
from sms_receipt_stats.jobs import JobDeps
from sms_receipt_stats.sdk import CloudError
from sms_receipt_stats.stats import Stats
from support import APP_PROD, NOW, FakeClock, base_env

MANY_APPS = ",".join(f"14000000{n:02d}" for n in range(10, 16))  # six apps


class HangingFetcher:
    """An endpoint that accepts and never answers: each call lasts its whole timeout, then fails."""

    def __init__(self, clock: FakeClock, answer_after: Optional[float] = None) -> None:
        self.clock = clock
        self.answer_after = answer_after  # set: answers after this long (if the timeout allows)
        self.timeouts: List[Tuple[float, Optional[float]]] = []  # (started at, timeout)

    def fetch(self, app_id: str, begin_time: str, end_time: str,
              timeout: Optional[float] = None) -> Tuple[Stats, Optional[str]]:
        self.timeouts.append((self.clock.monotonic(), timeout))
        limit = CALL_TIMEOUT if timeout is None else timeout
        if self.answer_after is not None and self.answer_after <= limit:
            self.clock.advance(self.answer_after)
            return Stats(**api_stats(app_id, begin_time, end_time)), "req-1"
        self.clock.advance(limit)
        raise CloudError("ClientNetworkError", "read timed out", None)


def _doctor(env: Dict[str, str], fetcher: Any, clock: FakeClock, limit: Optional[float]) -> List[Check]:
    settings, issues = load_settings(env)
    deadline = clock.monotonic() + limit if limit is not None else None
    return run_doctor(settings, issues, fetcher_factory=lambda s: fetcher, now=NOW,
                      server_time=lambda s: NOW, deadline=deadline, monotonic=clock.monotonic)


def _by_name(checks: List[Check]) -> Dict[str, Check]:
    return {c.name: c for c in checks}


def test_a_silent_endpoint_costs_one_call_and_skips_the_app_checks_with_that_reason() -> None:
    clock = FakeClock()
    fetcher = HangingFetcher(clock)
    started = clock.monotonic()
    checks = _doctor(base_env(SMS_SDK_APP_IDS=MANY_APPS), fetcher, clock, limit=60.0)
    assert clock.monotonic() - started <= 60.0
    assert len(fetcher.timeouts) == 1  # the endpoint probe, and no app check after it failed
    by_name = _by_name(checks)
    assert by_name["endpoint"].status == "fail"
    perms = [c for c in checks if c.name.startswith("permission")]
    assert len(perms) == 6 and all(c.status == "skip" and "endpoint did not answer" in c.detail for c in perms)
    assert by_name["hour rule"].status == "skip" and "endpoint did not answer" in by_name["hour rule"].detail


@pytest.mark.parametrize("latency", [0.2, 1.0, 3.0, 9.0, 30.0])
@pytest.mark.parametrize("limit", [8.0, 20.0, 60.0])
def test_a_slow_endpoint_never_takes_the_run_past_its_deadline(limit: float, latency: float) -> None:
    """The calls share the time left: no call may end after the deadline, whatever the latency."""
    clock = FakeClock()
    fetcher = HangingFetcher(clock, answer_after=latency)
    started = clock.monotonic()
    _doctor(base_env(SMS_SDK_APP_IDS=MANY_APPS), fetcher, clock, limit=limit)
    assert clock.monotonic() - started <= limit
    for at, timeout in fetcher.timeouts:
        assert timeout is not None and at + timeout <= started + limit


def test_with_no_time_left_for_a_call_the_api_checks_are_skipped_as_out_of_time() -> None:
    clock = FakeClock()
    fetcher = HangingFetcher(clock, answer_after=0.1)
    checks = _by_name(_doctor(base_env(SMS_SDK_APP_IDS=MANY_APPS), fetcher, clock, limit=3.0))
    assert not fetcher.timeouts
    for name in ("endpoint", "clock", "permission", "hour rule"):
        assert checks[name].status == "skip" and "out of time" in checks[name].detail
    assert summarize(list(checks.values())).verdict == "not verified"


def test_without_a_deadline_each_call_gets_the_full_timeout() -> None:
    clock = FakeClock()
    fetcher = HangingFetcher(clock, answer_after=1.0)
    _doctor(base_env(), fetcher, clock, limit=None)
    assert fetcher.timeouts and all(t == CALL_TIMEOUT for _, t in fetcher.timeouts)


def test_skipped_essentials_are_not_verified_and_the_summary_counts_what_ran() -> None:
    clock = FakeClock()
    checks = _doctor(base_env(SMS_SDK_APP_IDS=None), HangingFetcher(clock, 0.1), clock, limit=None)
    summary = summarize(checks)
    assert summary.failed == 0 and summary.skipped >= 4
    assert summary.verdict == "not verified" and not summary.ok
    assert set(summary.unverified) == {"endpoint", "permission"}
    last = format_checks(checks).splitlines()[-1]
    assert last.startswith(f"{summary.ran} of {summary.total} checks ran, {summary.skipped} skipped")
    assert "NOT VERIFIED" in last


def test_a_full_pass_is_healthy() -> None:
    clock = FakeClock()
    checks = _doctor(base_env(), HangingFetcher(clock, answer_after=0.1), clock, limit=None)
    summary = summarize(checks)
    assert summary.verdict == "healthy" and summary.ok, format_checks(checks)
    assert format_checks(checks).splitlines()[-1].endswith("healthy")


def test_the_doctor_job_alerts_when_it_could_not_verify(make_deps: Any) -> None:
    from sms_receipt_stats.jobs import run_doctor_job

    settings, _ = load_settings(base_env(SMS_SDK_APP_IDS=None))
    deps: JobDeps = make_deps()
    doc = run_doctor_job(settings=settings, issues=[], deps=deps, deadline=None)
    [alert] = [a for a in doc.alerts if "NOT VERIFIED" in a.message]
    assert alert.severity == "critical" and "checks ran" in alert.message


def test_the_send_test_document_carries_its_checks_and_lists_the_failed_ones() -> None:
    settings, _ = load_settings(base_env())
    checks = [Check(name="credentials", status="pass", detail="found"),
              Check(name=f"permission {APP_PROD}", status="fail", detail="UnauthorizedOperation.X: denied"),
              Check(name="hour rule", status="skip", detail="skipped")]
    doc = send_test_document(settings, [], NOW, checks)
    assert doc.kind == "report" and doc.checks is not None and len(doc.checks) == 3
    assert doc.errors == [f"doctor test: permission {APP_PROD}: FAILED: UnauthorizedOperation.X: denied"]


class UnroutableFetcher:
    """An endpoint behind no route: what `requests` says for it, through the SDK's own mapping."""

    def fetch(self, app_id: str, begin_time: str, end_time: str,
              timeout: Optional[float] = None) -> Tuple[Stats, Optional[str]]:
        from sms_receipt_stats.sdk import network_error

        raise network_error("HTTPSConnectionPool(host='sms.tencentcloudapi.com', port=443): Max retries exceeded "
                            "(Caused by NewConnectionError(': Failed to establish a new connection: [Errno 113] "
                            "No route to host'))")


def test_an_unroutable_endpoint_is_named_as_such_with_its_own_hint() -> None:
    clock = FakeClock()
    endpoint = _by_name(_doctor(base_env(), UnroutableFetcher(), clock, limit=60.0))["endpoint"]
    assert endpoint.detail == "no answer: there is no network route to the endpoint (ClientNetworkError)"
    assert endpoint.hint is not None and "NAT gateway" in endpoint.hint and "sms.tencentcloudapi.com" not in (
        endpoint.detail)
    zh = _by_name(_doctor(base_env(REPORT_LANG="zh"), UnroutableFetcher(), clock, limit=60.0))["endpoint"]
    assert zh.hint is not None and "NAT 网关" in zh.hint


def test_the_permission_checks_name_the_app() -> None:
    clock = FakeClock()
    checks = _doctor(base_env(), HangingFetcher(clock, answer_after=0.1), clock, limit=None)
    names = [c.name for c in checks if c.name.startswith("permission")]
    assert names == [f"permission prod ({APP_PROD})", "permission staging (1400000002)",
                     "permission marketing (1400000009)"]
    unnamed = _doctor(base_env(SMS_SDK_APP_IDS=APP_PROD), HangingFetcher(clock, answer_after=0.1), clock, limit=None)
    assert [c.name for c in unnamed if c.name.startswith("permission")] == [f"permission {APP_PROD}"]


@pytest.mark.parametrize("limit", [6.5, 7.0, 7.4, 8.0, 20.0])
def test_the_clock_check_starts_only_when_its_request_fits_before_the_reserve(limit: float) -> None:
    """The server's Date header is fetched with its own 5 s timeout: it must not eat the time kept
    for the state store (and the sinks)."""
    from sms_receipt_stats.doctor import SERVER_TIME_TIMEOUT, STORE_RESERVE_SECONDS

    clock = FakeClock()
    started = clock.monotonic()
    asked: List[float] = []

    def slow_server_time(settings: Any) -> Any:
        asked.append(clock.monotonic())
        clock.advance(SERVER_TIME_TIMEOUT)  # it answers only at its timeout
        return NOW

    settings, issues = load_settings(base_env())
    checks = run_doctor(settings, issues, fetcher_factory=lambda s: HangingFetcher(clock, answer_after=0.1),
                        now=NOW, server_time=slow_server_time, deadline=started + limit, monotonic=clock.monotonic)
    for at in asked:
        assert at + SERVER_TIME_TIMEOUT <= started + limit - STORE_RESERVE_SECONDS
    assert _by_name(checks)["clock"].status in ("pass", "skip")

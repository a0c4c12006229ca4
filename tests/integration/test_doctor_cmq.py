"""`doctor` on CMQ entries (docs/sinks.md, *CMQ*): a `cmq://` address is checked for an answer
without sending anything; a `cmq+api://` entry is a warning (test-only management API)."""

from __future__ import annotations

import socket
from typing import Dict, List, Optional

import pytest

from sms_receipt_stats.config import load_settings
from sms_receipt_stats.dev.cmq_dataflow import CmqDataflowFake
from sms_receipt_stats.doctor import Check, format_checks, run_doctor, summarize
from support import NOW, FakeClock, FakeFetcher, base_env

pytestmark = pytest.mark.integration


def doctor(notify: str, deadline_in: Optional[float] = None) -> List[Check]:
    settings, issues = load_settings(base_env(NOTIFY_URLS=notify))
    assert [i for i in issues if str(i).startswith("NOTIFY_URLS")] == []
    clock = FakeClock()
    deadline = None if deadline_in is None else clock.monotonic() + deadline_in
    return run_doctor(settings, issues, fetcher_factory=lambda s: FakeFetcher(), now=NOW,
                      server_time=lambda s: NOW, deadline=deadline, monotonic=clock.monotonic)


def by_name(checks: List[Check]) -> Dict[str, Check]:
    return {c.name: c for c in checks}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_reachable_address_passes_and_nothing_is_sent() -> None:
    with CmqDataflowFake(queues=("q",)) as fake:
        checks = by_name(doctor(f"cmq://queue/q#endpoint={fake.address}"))
        assert fake.requests == [] and fake.messages == []  # a TCP connection only
    check = checks["sink cmq_queue#1(q) address"]
    assert check.status == "pass" and "--send-test" in check.detail


def test_an_address_that_does_not_answer_fails_with_where_to_copy_it() -> None:
    port = closed_port()
    checks = doctor(f"cmq://topic/t#endpoint=http://127.0.0.1:{port}")
    check = by_name(checks)["sink cmq_topic#1(t) address"]
    assert check.status == "fail" and "does not answer" in check.detail
    assert check.hint and "Queue Service > API request address" in check.hint
    assert str(port) not in check.detail and "127.0.0.1" not in check.detail
    assert summarize(checks).verdict == "failed"


def test_no_time_left_skips_the_address_check() -> None:
    checks = by_name(doctor("cmq://queue/q#endpoint=http://127.0.0.1:9", deadline_in=1.0))
    assert checks["sink cmq_queue#1(q) address"].status == "skip"


def test_cmq_api_is_a_warning_that_fails_nothing() -> None:
    checks = doctor("cmq+api://queue/q")
    [warning] = [c for c in checks if c.status == "warn"]
    assert warning.name == "sink cmq_api_queue#1(q)"
    assert "testing only" in warning.detail and "20 requests/s" in warning.detail
    assert warning.hint and "cmq://queue|topic/NAME#endpoint=ADDR" in warning.hint
    assert summarize(checks).verdict == "healthy"
    text = format_checks(checks)
    assert "WARN  sink cmq_api_queue#1(q)" in text and "hint: Use cmq://" in text

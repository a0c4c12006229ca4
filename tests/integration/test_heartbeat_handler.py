"""The heartbeat through the handler (docs/deploy.md, *Heartbeat*): a receiver sees one ping per
successful timer run, the /fail form when a run could not do its job, none for HTTP events, and the
ping key never appears in the returned document or the logs."""

from __future__ import annotations

from typing import Any, List, Optional

import pytest

from sms_receipt_stats.app import handle
from sms_receipt_stats.config import Settings
from sms_receipt_stats.documents import Delivery, ResultDocument
from support import (
    HeartbeatReceiver,
    RecordingDeliver,
    base_env,
    fake_deps,
    read_event,
    stats_event,
)

KEY = "5c1f0e2a-ping-key-41d7"
CONTEXT = {"time_limit_in_ms": 30_000}


class FailingDeliver(RecordingDeliver):
    """Every configured sink fails."""

    def __call__(self, doc: ResultDocument, settings: Settings, deadline: Optional[float]) -> List[Delivery]:
        super().__call__(doc, settings, deadline)
        return [Delivery(sink=s.kind, ok=False, attempts=3, error="HTTP 502") for s in settings.sinks]


@pytest.fixture
def receiver() -> Any:
    with HeartbeatReceiver() as server:
        yield server


def test_a_successful_run_pings_once_with_its_duration(receiver: HeartbeatReceiver,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    env = base_env(HEARTBEAT_URL=receiver.url(KEY), NOTIFY_URLS="https://hooks.example/sms")
    doc = handle(read_event("timer_default"), CONTEXT, env=env, deps=fake_deps())
    assert doc["errors"] == []
    ((path, query),) = receiver.pings
    assert path == f"/ping/{KEY}"
    assert float(query["duration"]) >= 0
    assert doc["deliveries"][-1] == {"sink": "heartbeat", "ok": True, "attempts": 1, "error": None}
    assert KEY not in str(doc) and KEY not in caplog.text


def test_a_run_with_a_configuration_error_pings_fail(receiver: HeartbeatReceiver) -> None:
    env = base_env(HEARTBEAT_URL=receiver.url(KEY), REPORT_LANG="klingon")
    doc = handle(read_event("timer_default"), CONTEXT, env=env, deps=fake_deps())
    assert any("REPORT_LANG" in e for e in doc["errors"])
    assert [p for p, _ in receiver.pings] == [f"/ping/{KEY}/fail"]


def test_a_run_whose_sinks_all_failed_pings_fail(receiver: HeartbeatReceiver) -> None:
    env = base_env(HEARTBEAT_URL=receiver.url(KEY), NOTIFY_URLS="https://a.example/x,https://b.example/y")
    doc = handle(read_event("timer_default"), CONTEXT, env=env, deps=fake_deps(deliver=FailingDeliver()))
    assert doc["errors"] == [] and not any(d["ok"] for d in doc["deliveries"][:-1])
    assert [p for p, _ in receiver.pings] == [f"/ping/{KEY}/fail"]
    assert doc["deliveries"][-1]["ok"] is True  # the fail ping itself was delivered


def test_http_events_never_ping(receiver: HeartbeatReceiver) -> None:
    env = base_env(HEARTBEAT_URL=receiver.url(KEY))
    handle(stats_event({"app_id": "1400006874", "window": "yesterday"}), CONTEXT, env=env, deps=fake_deps())
    assert receiver.pings == []


def test_a_watcher_that_answers_an_error_is_named_without_its_key() -> None:
    with HeartbeatReceiver(status=404) as receiver:
        env = base_env(HEARTBEAT_URL=receiver.url(KEY))
        doc = handle(read_event("timer_default"), CONTEXT, env=env, deps=fake_deps())
    assert doc["deliveries"][-1] == {"sink": "heartbeat", "ok": False, "attempts": 1,
                                     "error": "heartbeat (success ping): HTTP 404"}
    assert len(receiver.pings) == 1


def test_an_unreachable_watcher_costs_the_run_nothing_but_a_named_delivery() -> None:
    env = base_env(HEARTBEAT_URL=f"http://127.0.0.1:1/ping/{KEY}")
    doc = handle(read_event("timer_default"), CONTEXT, env=env, deps=fake_deps())
    assert doc["errors"] == [] and len(doc["results"]) == 3
    assert doc["deliveries"][-1]["error"] == "heartbeat (success ping): network error (ConnectionError)"
    assert KEY not in str(doc)

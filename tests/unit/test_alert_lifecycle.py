"""Alert lifecycle: notify on start, on rising severity, after the repeat interval; one resolved notice,
only after the rule's verdict was *clear* for its `clear_runs` runs in a row (docs/alerts.md).

The decisions are pure (`lifecycle`); `track_alerts` runs them against a real SQLite store
with the clock passed in, so every step of an alert's life is one call at a chosen instant.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import List, Optional

import pytest

from sms_receipt_stats.documents import Alert
from sms_receipt_stats.state.alerts import active_silences, current_alerts, track_alerts
from sms_receipt_stats.state.flow import open_store
from sms_receipt_stats.state.lifecycle import fingerprint
from sms_receipt_stats.state.silences import SilenceStore, new_silence
from sms_receipt_stats.state.store import GuardedStore
from sms_receipt_stats.vocabulary import rule_names
from support import NOW

APP, OTHER = "1400006874", "1400000002"
REPEAT = timedelta(hours=4)
TZ = "Asia/Shanghai"


@pytest.fixture()
def store(sqlite_store: GuardedStore) -> GuardedStore:
    return sqlite_store


def rate_alert(severity: str = "warning", app_id: str = APP, value: float = 0.85) -> Alert:
    return Alert(rule="success_rate_below", severity=severity, app_id=app_id, value=value,  # type: ignore[arg-type]
                 threshold=0.9 if severity == "warning" else 0.7, message=f"{app_id}: success rate {value}")


def api_alert(code: str = "UnauthorizedOperation.ServiceSuspendDueToArrears", app_id: str = APP) -> Alert:
    return Alert(rule="api_error", severity="critical", app_id=app_id, value=code, message=f"failed with {code}",
                 code=code)


def clear_for(*app_ids: str) -> set:
    """Every rule found clear for these apps (and the run-wide ones): a healthy run."""
    return {(a, r) for a in app_ids for r in rule_names()} | {(None, "config_error"), (None, "api_error")}


def run(store: GuardedStore, alerts: List[Alert], at: datetime, clear_apps=(APP, OTHER),
        clear: Optional[set] = None, pending: Optional[dict] = None) -> List[Alert]:
    clear = clear_for(*clear_apps) if clear is None else clear
    tracked = track_alerts(store, alerts, clear, at, repeat=REPEAT, tz=TZ, pending=pending)
    assert tracked is not None
    return tracked


def firing(alerts: List[Alert]) -> List[Alert]:
    return [a for a in alerts if a.status == "firing"]


def test_a_new_alert_is_notified_with_its_fingerprint_and_since(store: GuardedStore) -> None:
    [alert] = run(store, [rate_alert()], NOW)
    assert alert.notified is True and alert.status == "firing" and alert.silenced is False
    assert alert.fingerprint == fingerprint(APP, "success_rate_below", None)
    assert alert.since == "2026-11-25T09:00:00+08:00"  # NOW in REPORT_TIMEZONE


def test_the_same_alert_stays_quiet_until_the_repeat_interval(store: GuardedStore) -> None:
    run(store, [rate_alert()], NOW)
    [again] = run(store, [rate_alert()], NOW + timedelta(hours=1))
    assert again.notified is False and again.status == "firing"
    assert again.since == "2026-11-25T09:00:00+08:00"  # since the start, not since this run
    [still] = run(store, [rate_alert()], NOW + REPEAT - timedelta(seconds=1))
    assert still.notified is False
    [repeated] = run(store, [rate_alert()], NOW + REPEAT)
    assert repeated.notified is True
    [after] = run(store, [rate_alert()], NOW + REPEAT + timedelta(hours=1))
    assert after.notified is False  # the interval counts from the last notice


def test_rising_severity_is_notified_at_once_and_falling_is_not(store: GuardedStore) -> None:
    run(store, [rate_alert("warning")], NOW)
    [rise] = run(store, [rate_alert("critical", value=0.6)], NOW + timedelta(minutes=10))
    assert rise.notified is True
    [fall] = run(store, [rate_alert("warning")], NOW + timedelta(minutes=20))
    assert fall.notified is False
    [rise_again] = run(store, [rate_alert("critical", value=0.6)], NOW + timedelta(minutes=30))
    assert rise_again.notified is True  # after calming down, a new rise is news


def test_one_resolved_notice_after_two_clear_runs_in_a_row(store: GuardedStore) -> None:
    run(store, [rate_alert("critical", value=0.6)], NOW)
    [waiting] = run(store, [], NOW + timedelta(minutes=30))  # one clear run: not yet
    assert waiting.status == "firing" and waiting.notified is False and waiting.severity == "critical"
    [resolved] = run(store, [], NOW + timedelta(hours=1))
    assert resolved.status == "resolved" and resolved.notified is True
    assert resolved.rule == "success_rate_below" and resolved.app_id == APP
    assert resolved.severity == "critical"  # reaches the sinks that heard it firing
    assert resolved.since == "2026-11-25T09:00:00+08:00"
    assert resolved.message.startswith("Resolved: ")
    assert run(store, [], NOW + timedelta(hours=2)) == []  # once only
    [back] = run(store, [rate_alert()], NOW + timedelta(hours=3))
    assert back.notified is True and back.since == "2026-11-25T12:00:00+08:00"  # a new episode


def test_a_run_that_cannot_tell_holds_the_alert_and_breaks_no_streak(store: GuardedStore) -> None:
    run(store, [rate_alert()], NOW)
    [held] = run(store, [], NOW + timedelta(hours=1), clear_apps=(OTHER,))  # a check of another app
    assert (held.status, held.notified, held.app_id) == ("firing", False, APP)
    [held] = run(store, [], NOW + timedelta(hours=2), clear=set())  # too little volume, a failed query
    assert held.status == "firing"
    run(store, [], NOW + timedelta(hours=3))  # clear once
    [held] = run(store, [], NOW + timedelta(hours=4), clear=set())  # unknown in between: no reset
    assert held.status == "firing"
    [resolved] = run(store, [], NOW + timedelta(hours=5))
    assert resolved.status == "resolved" and resolved.notified is True


def test_firing_again_restarts_the_clear_count(store: GuardedStore) -> None:
    run(store, [rate_alert()], NOW)
    run(store, [], NOW + timedelta(hours=1))  # clear once
    [again] = run(store, [rate_alert()], NOW + timedelta(hours=2))  # fires again: no new notice, same episode
    assert again.notified is False and again.since == "2026-11-25T09:00:00+08:00"
    assert firing(run(store, [], NOW + timedelta(hours=3)))  # one clear run is not enough again
    [resolved] = run(store, [], NOW + timedelta(hours=4))
    assert resolved.status == "resolved"


def test_a_pending_alert_is_notified_only_when_it_fires_again(store: GuardedStore) -> None:
    timeout = api_alert("InternalError.Timeout")
    key = {(APP, "api_error", "InternalError.Timeout"): 2}
    [first] = run(store, [timeout], NOW, pending=key)
    assert first.status == "firing" and first.notified is False
    [second] = run(store, [timeout], NOW + timedelta(hours=1), pending=key)
    assert second.notified is True and second.since == "2026-11-25T09:00:00+08:00"


def test_a_pending_alert_that_clears_leaves_without_a_notice(store: GuardedStore) -> None:
    key = {(APP, "api_error", "InternalError.Timeout"): 2}
    run(store, [api_alert("InternalError.Timeout")], NOW, pending=key)
    run(store, [], NOW + timedelta(hours=1))
    [gone] = run(store, [], NOW + timedelta(hours=2))
    assert gone.status == "resolved" and gone.notified is False  # nobody heard it firing
    assert run(store, [], NOW + timedelta(hours=3)) == []


def test_fingerprint_includes_the_code(store: GuardedStore) -> None:
    run(store, [api_alert("UnauthorizedOperation.ServiceSuspendDueToArrears")], NOW)
    clear = clear_for(APP)
    for minutes in (5, 10):
        alerts = run(store, [api_alert("AuthFailure.SecretIdNotFound")], NOW + timedelta(minutes=minutes), clear=clear)
    by_status = {a.status: a for a in alerts}
    assert by_status["firing"].code == "AuthFailure.SecretIdNotFound"
    assert by_status["resolved"].code == "UnauthorizedOperation.ServiceSuspendDueToArrears"


def test_config_errors_share_one_fingerprint(store: GuardedStore) -> None:
    issues = [Alert(rule="config_error", severity="critical", message=m, code="ConfigError") for m in ("a", "b")]
    first = run(store, issues, NOW)
    assert [a.notified for a in first] == [True, True] and first[0].fingerprint == first[1].fingerprint
    assert [a.notified for a in run(store, issues, NOW + timedelta(minutes=5))] == [False, False]
    [resolved] = run(store, [], NOW + timedelta(minutes=10))  # one run without issues is enough
    assert resolved.rule == "config_error" and resolved.notified is True


def test_state_unavailable_is_never_tracked(store: GuardedStore) -> None:
    warning = Alert(rule="state_unavailable", severity="warning", message="down")
    for minutes in (0, 5):
        [alert] = run(store, [warning], NOW + timedelta(minutes=minutes))
        assert alert.notified is None and alert.fingerprint is None


def silence(store: GuardedStore, hours: float = 2, **matchers: str) -> str:
    body = {"matchers": matchers, "ends_at": (NOW + timedelta(hours=hours)).isoformat(), "created_by": "ops",
            "comment": "known: carrier outage"}
    return SilenceStore(store).add(new_silence(body, NOW), NOW).id


def test_a_silenced_alert_stays_in_the_document_and_is_not_notified(store: GuardedStore) -> None:
    silence(store, app_id=APP, rule="success_rate_below")
    alerts = run(store, [rate_alert(), rate_alert(app_id=OTHER)], NOW)
    assert [(a.app_id, a.silenced, a.notified) for a in alerts] == [(APP, True, False), (OTHER, False, True)]
    # the silence ends: the alert is notified, never having been before
    [later, _held] = run(store, [rate_alert()], NOW + timedelta(hours=2), clear_apps=(APP,))
    assert later.silenced is False and later.notified is True


def test_the_resolution_of_a_never_notified_alert_is_not_sent(store: GuardedStore) -> None:
    silence(store, code="UnauthorizedOperation.ServiceSuspendDueToArrears")
    run(store, [api_alert()], NOW)
    run(store, [], NOW + timedelta(minutes=30))
    [resolved] = run(store, [], NOW + timedelta(minutes=90))
    assert resolved.status == "resolved" and resolved.notified is False


def test_two_runs_at_once_notify_an_alert_once(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    stores = [GuardedStore(open_store(url, "t:")) for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    notified: List[bool] = []

    def one_run(s: GuardedStore) -> None:
        barrier.wait()
        tracked = track_alerts(s, [rate_alert()], clear_for(APP), NOW, repeat=REPEAT, tz=TZ)
        assert tracked is not None
        notified.append(bool(tracked[0].notified))

    threads = [threading.Thread(target=one_run, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert sorted(notified) == [False] * 5 + [True]


def test_a_store_failure_during_tracking_answers_none(tmp_path) -> None:
    class Flaky(GuardedStore):
        def replace(self, *args, **kwargs):  # the store breaks after the reads
            self.fail("write: TimeoutError")
            return None

    flaky = Flaky(open_store(f"sqlite:///{tmp_path}/s.db", "t:"))
    assert track_alerts(flaky, [rate_alert()], clear_for(APP), NOW, repeat=REPEAT, tz=TZ) is None
    assert flaky.problem == "write: TimeoutError"


def test_current_alerts_and_active_silences_for_the_dashboard(store: GuardedStore) -> None:
    sid = silence(store, app_id=OTHER)
    run(store, [rate_alert(), api_alert(app_id=OTHER)], NOW)
    current = current_alerts(store, NOW + timedelta(minutes=1))
    assert {(a["app_id"], a["rule"], a["status"], a["silenced"]) for a in current} == {
        (APP, "success_rate_below", "firing", False), (OTHER, "api_error", "firing", True)}
    assert all(a["since"] == "2026-11-25T09:00:00+08:00" and a["fingerprint"] for a in current)
    [active] = active_silences(store, NOW + timedelta(minutes=1))
    assert active["id"] == sid and active["state"] == "active" and active["matchers"] == {"app_id": OTHER}
    assert active_silences(store, NOW + timedelta(hours=3)) == []
    assert current_alerts(GuardedStore(opener=lambda: (_ for _ in ()).throw(OSError())), NOW) == []


def test_times_are_utc_instants_whatever_the_clock_zone(store: GuardedStore) -> None:
    local = NOW.astimezone(timezone(timedelta(hours=-7)))
    [alert] = run(store, [rate_alert()], local)
    assert alert.since == "2026-11-25T09:00:00+08:00"

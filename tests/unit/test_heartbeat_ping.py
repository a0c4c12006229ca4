"""The heartbeat ping (docs/deploy.md, *Heartbeat*): success or fail judged from the run's document,
healthchecks.io's URL forms, and a ping key that never reaches a log or an error."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
import requests
import responses

from sms_receipt_stats.notify.heartbeat import Beat, judge, ping_url, send

PING = "https://hc-ping.example/3f0c8d1e-ping-key-7a2b"


def _doc(errors: List[str] = (), deliveries: List[Dict[str, Any]] = ()) -> Dict[str, Any]:  # type: ignore[assignment]
    return {"errors": list(errors), "deliveries": list(deliveries)}


@pytest.mark.parametrize(("doc", "sinks", "ok", "reason"), [
    (_doc(), True, True, None),  # a check with nothing to send still ran
    (_doc(deliveries=[{"ok": True}, {"ok": False}]), True, True, None),  # one sink reached is enough
    (_doc(deliveries=[{"ok": False}, {"ok": False}]), True, False, "no sink was reached"),
    (_doc(errors=["NOTIFY_URLS: entry 1 …"]), True, False, "1 error(s) in the result"),
    (_doc(errors=["internal error: KeyError"], deliveries=[{"ok": True}]), True, False, "1 error(s) in the result"),
    (_doc(), False, True, None),
])
def test_a_run_fails_on_errors_or_when_no_sink_was_reached(doc: Dict[str, Any], sinks: bool, ok: bool,
                                                            reason: str) -> None:
    beat = judge(doc, sinks, 1.5)
    assert (beat.ok, beat.reason, beat.seconds) == (ok, reason, 1.5)


@pytest.mark.parametrize(("url", "ok", "expected"), [
    ("https://hc-ping.com/uuid", True, "https://hc-ping.com/uuid?duration=2.250"),
    ("https://hc-ping.com/uuid", False, "https://hc-ping.com/uuid/fail?duration=2.250"),
    ("https://hc-ping.com/uuid/", False, "https://hc-ping.com/uuid/fail?duration=2.250"),
    ("https://ops.example/hb?k=1", False, "https://ops.example/hb/fail?k=1&duration=2.250"),
])
def test_the_ping_url_is_healthchecks_style(url: str, ok: bool, expected: str) -> None:
    """healthchecks.io (and any receiver of its protocol): URL or URL/fail (its docs, *Signaling failures*)."""
    assert ping_url(url, Beat(ok, 2.25)) == expected


@pytest.mark.parametrize(("url", "ok", "expected"), [
    # the push URL as Kuma shows it: status, msg and ping are the beat's own
    ("https://kuma.example/api/push/T0k?status=up&msg=OK&ping=", True,
     "https://kuma.example/api/push/T0k?status=up&msg=OK&ping=2250"),
    ("https://kuma.example/api/push/T0k?status=up&msg=OK&ping=", False,
     "https://kuma.example/api/push/T0k?status=down&msg=no+sink+was+reached&ping=2250"),
    ("http://10.0.0.9:3001/api/push/T0k", False,
     "http://10.0.0.9:3001/api/push/T0k?status=down&msg=no+sink+was+reached&ping=2250"),
])
def test_an_uptime_kuma_push_url_says_down_in_its_query(url: str, ok: bool, expected: str) -> None:
    """Kuma's push route is /api/push/<token> and reads status=up|down from the query: a path
    suffix would be a route it does not know, so a failed run would read as a missing beat."""
    assert ping_url(url, Beat(ok, 2.25, None if ok else "no sink was reached")) == expected


@pytest.mark.parametrize(("ok", "state"), [(True, "complete"), (False, "fail")])
def test_a_cronitor_telemetry_url_gets_its_state_and_duration_metric(ok: bool, state: str) -> None:
    """Cronitor's telemetry API: /p/<api key>/<monitor>?state=run|complete|fail, metric=duration:<s>."""
    url = ping_url("https://cronitor.link/p/KEY0/sms-hourly?env=production", Beat(ok, 2.25))
    assert url == f"https://cronitor.link/p/KEY0/sms-hourly?env=production&state={state}&metric=duration%3A2.250"


@responses.activate
def test_a_failed_run_reaches_kuma_as_down() -> None:
    kuma = "https://kuma.example/api/push/T0k"
    responses.get(kuma, json={"ok": True})
    assert send(kuma + "?status=up&msg=OK&ping=", Beat(False, 0.5, "1 error(s) in the result"), time_left=30.0) is None
    (call,) = responses.calls
    assert call.request.url == kuma + "?status=down&msg=1+error%28s%29+in+the+result&ping=500"


@responses.activate
def test_a_successful_ping_is_one_get() -> None:
    responses.get(PING, body="OK")
    assert send(PING, Beat(True, 0.5), time_left=30.0) is None
    (call,) = responses.calls
    assert call.request.method == "GET" and call.request.url == PING + "?duration=0.500"


@responses.activate
def test_failures_are_named_without_the_url(caplog: pytest.LogCaptureFixture) -> None:
    responses.get(PING + "/fail", status=404)
    assert send(PING, Beat(False, 0.5), time_left=30.0) == "HTTP 404"
    responses.replace(responses.GET, PING + "/fail", body=requests.ConnectionError(f"cannot reach {PING}/fail"))
    assert send(PING, Beat(False, 0.5), time_left=30.0) == "network error (ConnectionError)"
    assert "ping-key" not in caplog.text and "hc-ping" not in caplog.text


def test_no_ping_without_time_left_and_the_timeout_is_bounded_by_the_invocation() -> None:
    seen: List[float] = []

    class Answer:
        status_code = 200

    def get(url: str, timeout: float, **_: Any) -> Answer:
        seen.append(timeout)
        return Answer()

    assert send(PING, Beat(True, 1.0), time_left=0.1, get=get) == "no time left in the invocation"
    assert send(PING, Beat(True, 1.0), time_left=2.0, get=get) is None
    assert send(PING, Beat(True, 1.0), time_left=None, get=get) is None
    assert seen == [2.0, 5.0]

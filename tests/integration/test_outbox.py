"""The outbox: a notice a sink did not get is kept in the store and sent by the next runs.

Real stores (SQLite and Redis); the sinks are a fake deliverer that fails the sinks marked
down, recording what each sink was sent, so every test asserts who got what, in which order.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import pytest

from sms_receipt_stats.config import Settings
from sms_receipt_stats.documents import Delivery, ResultDocument
from support import NOW, LoopbackServer, base_env, read_event

Invoke = Callable[..., Dict[str, Any]]
CONTEXT = {"request_id": "r-1", "time_limit_in_ms": 30_000}
CHAT_KEY = "0f9c2b7e-outbox-chat-key-5d1a"
HOOK_SECRET = "outbox-hook-signing-secret-77"
SINKS = (f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={CHAT_KEY},"
         f"https://hooks.example.com/receive#secret={HOOK_SECRET}")


class FlakyDeliver:
    """`JobDeps.deliver`: one outcome per configured sink; sinks whose index is in `down` fail."""

    def __init__(self) -> None:
        self.down: Set[int] = set()
        self.raising: Set[int] = set()  # sinks whose delivery raises (a bug), instead of failing
        self.sent: List[Tuple[int, Optional[str], str]] = []  # (sink index, message_id, generated_at) delivered
        self.calls = 0

    def __call__(self, doc: ResultDocument, settings: Settings, deadline: Optional[float]) -> List[Delivery]:
        self.calls += 1
        out = []
        for spec in settings.sinks:
            if spec.index in self.raising:
                raise RuntimeError("bug in a sink")
            if spec.index in self.down:
                out.append(Delivery(sink=spec.kind, ok=False, attempts=3, error=f"{spec.label}: HTTP 502"))
            else:
                self.sent.append((spec.index, doc.message_id, doc.generated_at))
                out.append(Delivery(sink=spec.kind, ok=True, attempts=1))
        return out

    def to(self, index: int) -> List[Tuple[Optional[str], str]]:
        return [(m, g) for i, m, g in self.sent if i == index]


def report(day: int) -> Dict[str, Any]:
    """A report over one day of November: a distinct run (and notice) per day."""
    window = {"begin": f"202611{day:02d}00", "end": f"202611{day + 1:02d}00"}
    return dict(read_event("timer_default"), Message=json.dumps({"job": "report", "window": window}))


@pytest.fixture()
def flaky() -> FlakyDeliver:
    return FlakyDeliver()


@pytest.fixture()
def run(invoke: Invoke, make_deps: Callable[..., Any], flaky: FlakyDeliver,
        state_env: Dict[str, str]) -> Callable[..., Dict[str, Any]]:
    env = base_env(NOTIFY_URLS=SINKS, **state_env)

    def go(event: Dict[str, Any], at: datetime = NOW, **overrides: Optional[str]) -> Dict[str, Any]:
        return invoke(event, env=dict(env, **overrides), deps=make_deps(now=at, deliver=flaky), context=CONTEXT)

    return go


def test_a_chat_down_for_two_hours_gets_what_it_missed_in_order(run: Callable[..., Dict[str, Any]],
                                                                flaky: FlakyDeliver) -> None:
    flaky.down = {1}
    first = run(report(20), NOW)
    second = run(report(21), NOW + timedelta(hours=1))
    assert [d["ok"] for d in first["deliveries"]] == [False, True]
    assert [p["message_id"] for p in second["pending"]] == [first["message_id"], second["message_id"]]
    assert second["pending"][0]["sink"].startswith("wecom#1") and second["pending"][0]["attempts"] == 6
    assert [(d["sink"], d["ok"]) for d in second["deliveries"]] == [("wecom", False), ("wecom", False),
                                                                    ("webhook", True)]
    flaky.down = set()
    third = run(report(22), NOW + timedelta(hours=2))
    ids = [first["message_id"], second["message_id"], third["message_id"]]
    assert [m for m, _ in flaky.to(1)] == ids  # oldest first, each once, then this run's
    assert [m for m, _ in flaky.to(2)] == ids  # the webhook was up all along: each once
    assert third["pending"] == [] and all(d["ok"] for d in third["deliveries"])


def test_a_sink_stays_blocked_behind_its_oldest_notice(run: Callable[..., Dict[str, Any]],
                                                       flaky: FlakyDeliver) -> None:
    flaky.down = {1}
    run(report(20), NOW)
    second = run(report(21), NOW + timedelta(hours=1))
    # the wecom sink tried the oldest notice once; the new one waited behind it (no attempt)
    wecom = [d for d in second["deliveries"] if d["sink"] == "wecom"]
    assert [d["attempts"] for d in wecom] == [3, 0] and "held back" in wecom[1]["error"]
    assert flaky.to(1) == []


def test_a_resent_event_retries_the_sinks_that_failed(run: Callable[..., Dict[str, Any]],
                                                      flaky: FlakyDeliver) -> None:
    flaky.down = {1}
    first = run(report(20))
    assert len(first["pending"]) == 1
    flaky.down = set()
    again = run(report(20))
    assert again["replayed"] is True
    assert flaky.to(1) == [(first["message_id"], first["generated_at"])]  # the same notice, same id
    assert [m for m, _ in flaky.to(2)] == [first["message_id"]]  # the webhook is not sent it twice
    assert again["pending"] == [] and [d["ok"] for d in again["deliveries"]] == [True]
    third = run(report(20))
    assert third["replayed"] is True and len(flaky.sent) == 2  # nothing left to send


def test_a_notice_a_day_old_is_dropped_unsent(run: Callable[..., Dict[str, Any]], flaky: FlakyDeliver) -> None:
    flaky.down = {1}
    run(report(20), NOW)
    flaky.down = set()
    later = run(report(21), NOW + timedelta(hours=25))
    assert later["pending"] == []
    assert [m for m, _ in flaky.to(1)] == [later["message_id"]]


def test_without_a_store_nothing_changes(invoke: Invoke, make_deps: Callable[..., Any], flaky: FlakyDeliver) -> None:
    flaky.down = {1}
    doc = invoke(report(20), env=base_env(NOTIFY_URLS=SINKS), deps=make_deps(deliver=flaky), context=CONTEXT)
    assert "pending" not in doc and "message_id" not in doc
    assert flaky.calls == 1 and [d["ok"] for d in doc["deliveries"]] == [False, True]


def stored_outbox(state_env: Dict[str, str]) -> Dict[str, str]:
    from sms_receipt_stats.config import load_settings
    from sms_receipt_stats.state.flow import open_state

    settings, _ = load_settings(base_env(**state_env))
    state = open_state(settings)
    assert state is not None
    try:
        return state.items("outbox") or {}
    finally:
        state.close()


def test_the_store_keeps_no_sink_secret(run: Callable[..., Dict[str, Any]], flaky: FlakyDeliver,
                                        state_env: Dict[str, str]) -> None:
    flaky.down = {1, 2}
    doc = run(report(20))
    stored = stored_outbox(state_env)
    assert len(stored) == 2
    text = json.dumps(stored)
    for secret in (CHAT_KEY, HOOK_SECRET, "qyapi.weixin.qq.com/cgi-bin", "hooks.example.com/receive",
                   base_env()["TENCENTCLOUD_SECRETKEY"]):
        assert secret not in text
    assert doc["message_id"] in text


def test_two_sinks_failing_never_hide_each_other(run: Callable[..., Dict[str, Any]], flaky: FlakyDeliver) -> None:
    flaky.down = {1, 2}
    first = run(report(20))
    assert {p["sink"].split("#")[0] for p in first["pending"]} == {"wecom", "webhook"}
    flaky.down = {2}
    second = run(report(21), NOW + timedelta(hours=1))
    assert [m for m, _ in flaky.to(1)] == [first["message_id"], second["message_id"]]
    assert [p["message_id"] for p in second["pending"]] == [first["message_id"], second["message_id"]]


def test_a_sink_keeps_at_most_its_cap_newest_first_kept(run: Callable[..., Dict[str, Any]], flaky: FlakyDeliver,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from sms_receipt_stats.state import outbox

    monkeypatch.setattr(outbox, "MAX_PER_SINK", 2)
    flaky.down = {1}
    docs = [run(report(day), NOW + timedelta(hours=i)) for i, day in enumerate((20, 21, 22))]
    wecom = [p["message_id"] for p in docs[-1]["pending"] if p["sink"].startswith("wecom")]
    assert wecom == [docs[1]["message_id"], docs[2]["message_id"]]  # the oldest was dropped


class Hook(LoopbackServer):
    """A webhook receiver that refuses (HTTP 400: not retried within the run) while `down`."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.received: List[Tuple[str, Dict[str, Any]]] = []

    def do_post(self, request: Any) -> None:
        body = request.rfile.read(int(request.headers["Content-Length"]))
        if self.down:
            request.send_response(400)
        else:
            self.received.append((request.headers["webhook-id"], json.loads(body)))
            request.send_response(204)
        request.send_header("Content-Length", "0")
        request.end_headers()


def test_a_run_whose_only_sink_failed_is_not_final(invoke: Invoke, make_deps: Callable[..., Any],
                                                   state_env: Dict[str, str]) -> None:
    """Real delivery to a real receiver: the re-sent event sends the stored notice, same webhook-id."""
    from sms_receipt_stats.jobs import JobDeps

    with Hook() as hook:
        env = base_env(NOTIFY_URLS=f"webhook+{hook.url}/hook#secret={HOOK_SECRET}", **state_env)
        deps = make_deps(deliver=JobDeps().deliver)
        no_limit = {"request_id": "r-1"}  # the real delivery reads the real clock: no fake-clock deadline
        first = invoke(report(20), env=env, deps=deps, context=no_limit)
        assert [d["ok"] for d in first["deliveries"]] == [False] and len(first["pending"]) == 1
        hook.down = False
        again = invoke(report(20), env=env, deps=deps, context=no_limit)
        assert again["replayed"] is True and [d["ok"] for d in again["deliveries"]] == [True]
        [(webhook_id, body)] = hook.received
        assert webhook_id == first["message_id"] == body["message_id"]
        assert again["pending"] == []


def test_a_deliverer_that_raises_keeps_the_notice(run: Callable[..., Dict[str, Any]], flaky: FlakyDeliver) -> None:
    flaky.raising = {1}
    first = run(report(20))
    assert [p["sink"].split("#")[0] for p in first["pending"]] == ["wecom"]
    assert "unexpected RuntimeError" in first["pending"][0]["error"]
    assert [m for m, _ in flaky.to(2)] == [first["message_id"]]  # the other sink is not held up

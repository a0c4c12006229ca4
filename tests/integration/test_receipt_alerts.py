"""The minute rule judged by the receipts callback (docs/alerts.md, *Alerts in minutes*), on both
real back ends (the machine's Redis, SQLite): throttled to once a minute per app, through the
alert lifecycle (pending, repeat, clear runs, one resolved, silences), delivered to the sinks;
and the callback's answer to Tencent never depends on it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, Iterator, List, Optional

import pytest

from sms_receipt_stats.app import handle
from sms_receipt_stats.config import Settings, load_settings
from sms_receipt_stats.documents import Delivery, ResultDocument
from sms_receipt_stats.receipts.alerting import Judgment, judge_recent, judged_key
from sms_receipt_stats.receipts.credential import receipts_token
from sms_receipt_stats.receipts.intake import Receipt, sid_key
from sms_receipt_stats.rules.delivery_failures import CLEAR_JUDGMENTS
from sms_receipt_stats.state.flow import open_store
from sms_receipt_stats.state.receipts import count_batch, minute_key, read_recent
from sms_receipt_stats.state.silences import COLLECTION as SILENCES
from sms_receipt_stats.state.sqlite_store import SqliteStore
from sms_receipt_stats.state.store import GuardedStore
from support import APP_PROD, FakeClock, RecordingDeliver, base_env, log_lines, read_event

T0 = datetime(2026, 11, 25, 2, 0, 0, tzinfo=timezone.utc)  # 10:00 Beijing
SECRET = "fixture-receipts-Kq7vT2xW9mB4"
HOOK_KEY = "hook-secret-3f9a8b7c6d5e"
NOTIFY = f"webhook+https://hooks.example.com/sms?key={HOOK_KEY}"


class Minutes:
    """A fake wall clock and the receipts of each minute: `push(ok, failed)` counts a batch as the
    callback does, `judge()` judges as it does after that batch."""

    def __init__(self, state: GuardedStore, settings: Settings, deliver: Any):
        self.state, self.settings, self.now, self.serial = state, settings, T0, 0
        self.deps = SimpleNamespace(now=lambda: self.now, monotonic=FakeClock().monotonic, deliver=deliver)

    def batch(self, ok: int, failed: int, *, at: Optional[datetime] = None) -> List[Receipt]:
        when = int((at or self.now).timestamp())
        out = []
        for status, n in (("SUCCESS", ok), ("FAIL", failed)):
            for _ in range(n):
                self.serial += 1
                code = "DELIVRD" if status == "SUCCESS" else "MK:0005"
                out.append(Receipt(hour=when // 3600, status=status, code=code, nationcode="86",
                                   sid_key=sid_key(f"sid-{self.serial}"), latency="1m"))
        return out

    def push(self, ok: int, failed: int, *, at: Optional[datetime] = None) -> Optional[int]:
        return count_batch(self.state, APP_PROD, self.batch(ok, failed, at=at), self.now.timestamp())

    def judge(self, *, throttled: bool = False) -> Judgment:
        if not throttled:  # a minute has passed: on Redis the claim's expiry is the server's, so drop it
            self.state.delete(judged_key(APP_PROD))
        return judge_recent(self.state, self.settings, APP_PROD, self.now, self.deps, None)

    def minute(self, ok: int, failed: int) -> Judgment:
        self.now += timedelta(minutes=1)
        self.push(ok, failed)
        return self.judge()


def settings_for(state_env: Dict[str, str], **extra: str) -> Settings:
    settings, issues = load_settings(base_env(NOTIFY_URLS=NOTIFY, **state_env, **extra))
    assert not issues, issues
    return settings


@pytest.fixture()
def guarded(state_env: Dict[str, str]) -> Iterator[GuardedStore]:
    state = GuardedStore(open_store(state_env["STATE_URL"], state_env["STATE_PREFIX"]))
    yield state
    state.close()


def history(m: Minutes, fail_share: float = 0.02) -> None:
    """A day of the app's receipts at its usual share, in the hourly counters (its baseline)."""
    for back in range(2, 25):
        at = T0 - timedelta(hours=back)
        failed = round(400 * fail_share)
        count_batch(m.state, APP_PROD, m.batch(400 - failed, failed, at=at), T0.timestamp())


def test_minutes_are_counted_by_arrival_beside_the_hours(guarded: GuardedStore, state_env: Dict[str, str]) -> None:
    m = Minutes(guarded, settings_for(state_env), RecordingDeliver())
    late = m.batch(3, 2, at=T0 - timedelta(hours=5))  # receipts of 5 hours ago, arriving now
    assert count_batch(guarded, APP_PROD, late, T0.timestamp()) == 5
    assert count_batch(guarded, APP_PROD, late, T0.timestamp() + 30) == 0  # pushed again: nothing
    found = read_recent(guarded, APP_PROD, [int(T0.timestamp()) // 60, int(T0.timestamp()) // 60 - 1])
    assert found is not None
    now_minute, before = found[0]
    assert now_minute.by_status == {"S": 3, "F": 2} and now_minute.codes == {("F", "MK:0005"): 2}
    assert before.total == 0
    assert minute_key(APP_PROD, int(T0.timestamp()) // 60).endswith(":m:202611251000")


def test_an_outage_fires_after_two_judgments_repeats_and_resolves_once(guarded: GuardedStore,
                                                                       state_env: Dict[str, str]) -> None:
    deliver = RecordingDeliver(needs_sinks=True)
    m = Minutes(guarded, settings_for(state_env, ALERT_REPEAT_INTERVAL="4h"), deliver)
    history(m)
    for _ in range(10):  # a healthy app: clear, nothing sent
        assert m.minute(40, 1).alerts == []
    first = m.minute(10, 40)  # the outage begins: one bad minute of 10 is not confident yet
    assert first.judged and not first.notified
    pending = m.minute(10, 40)
    assert [a.status for a in pending.alerts] == ["firing"] and not pending.notified  # pending: 1 of 2
    notified = m.minute(10, 40)
    assert [(a.rule, a.severity, a.notified) for a in notified.alerts] == [("delivery_failures", "warning", True)]
    sent = deliver.docs[-1]
    assert sent["kind"] == "check" and [a["rule"] for a in sent["alerts"]] == ["delivery_failures"]
    assert sent["message_id"].startswith("msg_")
    since = notified.alerts[0].since
    again = []
    for _ in range(20):  # still failing: quiet until the repeat interval, except when it gets worse
        quiet = m.minute(10, 40)
        assert quiet.alerts[0].status == "firing" and quiet.alerts[0].since == since
        again += quiet.notified
    assert [a.severity for a in again] == ["critical"]  # the window filled with bad minutes: severity up, once
    assert len(deliver.docs) == 2
    resolved = []
    for _ in range(CLEAR_JUDGMENTS + 15):  # recovered: the window empties, then an hour of clear judgments
        resolved += [a for a in m.minute(40, 1).alerts if a.status == "resolved"]
    assert len(resolved) == 1 and resolved[0].notified
    assert [a["status"] for d in deliver.docs for a in d["alerts"]] == ["firing", "firing", "resolved"]


def test_a_silenced_app_is_judged_but_never_notified(guarded: GuardedStore, state_env: Dict[str, str]) -> None:
    from sms_receipt_stats.state.silences import Silence

    deliver = RecordingDeliver(needs_sinks=True)
    m = Minutes(guarded, settings_for(state_env), deliver)
    silence = Silence(id="s1", matchers={"app_id": APP_PROD, "rule": "delivery_failures"},
                      starts_at=(T0 - timedelta(hours=1)).isoformat(), ends_at=(T0 + timedelta(hours=5)).isoformat(),
                      created_by="test", comment="maintenance")
    assert guarded.replace(SILENCES, "s1", None, silence.model_dump_json(), 86400.0)
    for _ in range(5):
        last = m.minute(10, 90)
    assert last.alerts and last.alerts[0].status == "firing" and last.alerts[0].silenced
    assert deliver.docs == []


def test_two_batches_within_a_minute_are_judged_once(tmp_path: Path) -> None:
    wall = [T0.timestamp()]
    store = SqliteStore(f"sqlite:///{tmp_path}/state.db", "t:", clock=lambda: wall[0])
    state = GuardedStore(store)
    settings = settings_for({"STATE_URL": f"sqlite:///{tmp_path}/state.db"})
    m = Minutes(state, settings, RecordingDeliver())
    try:
        m.push(10, 90)
        assert m.judge(throttled=True).judged
        wall[0] += 30
        m.now += timedelta(seconds=30)
        m.push(10, 90)
        assert not m.judge(throttled=True).judged  # 30 s later: throttled
        wall[0] += 31
        m.now += timedelta(seconds=31)
        assert m.judge(throttled=True).judged  # past the minute's claim
    finally:
        state.close()


def test_concurrent_batches_on_the_real_store_judge_once(guarded: GuardedStore, state_env: Dict[str, str]) -> None:
    m = Minutes(guarded, settings_for(state_env), RecordingDeliver())
    m.push(10, 90)
    assert [m.judge(throttled=True).judged for _ in range(3)] == [True, False, False]


# -- through the callback ---------------------------------------------------------------------------

class BrokenSink:
    """`JobDeps.deliver` of a sink that blows up."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, doc: ResultDocument, settings: Settings, deadline: Optional[float]) -> List[Delivery]:
        self.calls += 1
        raise RuntimeError(f"sink exploded with {HOOK_KEY}")


def post(env: Dict[str, str], records: List[Dict[str, Any]], deliver: Any, now: datetime, capsys: Any) -> Any:
    from sms_receipt_stats.jobs import JobDeps

    event = read_event("url_post_receipts")
    event["path"] = f"/receipts/{APP_PROD}"
    event["queryString"] = {"token": receipts_token(SECRET, APP_PROD)}
    event["body"] = json.dumps(records, ensure_ascii=False)
    capsys.readouterr()
    clock = FakeClock()
    deps = JobDeps(now=lambda: now, monotonic=clock.monotonic, sleep=clock.sleep, deliver=deliver)
    answer = handle(event, {"request_id": "receipts-alerts"}, env=env, deps=deps)
    return answer, capsys.readouterr().out


def failing(start: int, n: int, now: datetime) -> List[Dict[str, Any]]:
    at = (now - timedelta(seconds=20)).astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
    return [{"user_receive_time": at, "nationcode": "86", "mobile": f"139{i:08d}", "report_status": "FAIL",
             "errmsg": "MK:0005", "description": "x", "sid": f"sid-{i:06d}"} for i in range(start, start + n)]


@pytest.mark.parametrize("sink", ["raises", "fails"])
def test_the_callback_answers_ok_when_the_judgment_or_its_sink_fails(state_env: Dict[str, str], capsys: Any,
                                                                     sink: str) -> None:
    env = base_env(RECEIPTS_SECRET=SECRET, NOTIFY_URLS=NOTIFY, **state_env)
    deliver: Any = BrokenSink() if sink == "raises" else RecordingDeliver()
    if sink == "fails":
        deliver = lambda doc, settings, deadline: [Delivery(sink="webhook", ok=False, attempts=3,  # noqa: E731
                                                            error="HTTP 500")]
    state = GuardedStore(open_store(state_env["STATE_URL"], state_env["STATE_PREFIX"]))
    logs = ""
    try:
        for k in range(3):  # pending, then notified: each push a minute later
            now = T0 + timedelta(minutes=k)
            state.delete(judged_key(APP_PROD))
            answer, out = post(env, failing(200 * k, 200, now), deliver, now, capsys)
            logs += out
            assert answer["statusCode"] == 200 and json.loads(answer["body"]) == {"result": 0, "errmsg": "OK"}
        found = read_recent(state, APP_PROD, [int((T0 + timedelta(minutes=k)).timestamp()) // 60 for k in range(3)])
        assert found is not None and [t.by_status["F"] for t in found[0]] == [200, 200, 200]
    finally:
        state.close()
    if sink == "raises":
        assert deliver.calls >= 1
    records = log_lines(logs)
    assert any("judged" in r["message"] for r in records)
    for secret in (SECRET, receipts_token(SECRET, APP_PROD), HOOK_KEY, "13900000001"):
        assert secret not in logs

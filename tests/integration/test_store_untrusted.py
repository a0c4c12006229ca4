"""Records read from the store are untrusted input (real SQLite and real Redis).

A bad write, another version or a tampered store can leave any record unreadable: a claim
whose deadline is NaN or 1e300, a stored document or an outbox notice that no longer
validates, an alert record whose times do not parse, a ledger of the wrong shape. Each is
written here directly with the back end, under the keys the product uses; the run must go on
(never `internal error`), drop the record (logged once, with its key) and still notify.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from sms_receipt_stats.config import Settings, load_settings
from sms_receipt_stats.documents import Delivery, ResultDocument
from sms_receipt_stats.state.flow import open_store
from sms_receipt_stats.state.store import Store
from sms_receipt_stats.stats import Stats
from support import APPS, NOW, FakeFetcher, RecordingDeliver, base_env, log_lines, read_event

Invoke = Callable[..., Dict[str, Any]]
CONTEXT = {"request_id": "r-untrusted", "time_limit_in_ms": 30_000}
#: a success rate of 52 %: every app fires `success_rate_below` on a check and a report
BAD = Stats(RequestSuccessCount=1000, CallbackCount=950, CallbackSuccessCount=500, CallbackFailCount=450,
            InvalidNumberCount=50)
HOOK = "webhook+https://hooks.example.com/receive"


@pytest.fixture()
def raw(state_env: Dict[str, str]) -> Iterator[Store]:
    """The back end itself, to write records as a bad writer would."""
    store = open_store(state_env["STATE_URL"], state_env["STATE_PREFIX"])
    yield store
    store.close()


@pytest.fixture()
def env(state_env: Dict[str, str]) -> Dict[str, str]:
    return base_env(NOTIFY_URLS=HOOK, **state_env)


@pytest.fixture()
def bad_fetcher() -> FakeFetcher:
    return FakeFetcher(BAD)


@pytest.fixture()
def go(invoke: Invoke, make_deps: Callable[..., Any], bad_fetcher: FakeFetcher,
       env: Dict[str, str]) -> Callable[..., Dict[str, Any]]:
    def run(event: str = "timer_default", deliver: Any = None) -> Dict[str, Any]:
        deps = make_deps(fetcher=bad_fetcher) if deliver is None else make_deps(fetcher=bad_fetcher, deliver=deliver)
        return invoke(read_event(event), env=env, deps=deps, context=CONTEXT)

    return run


def settings_of(env: Dict[str, str]) -> Settings:
    settings, issues = load_settings(env)
    assert not issues
    return settings


def report_key(env: Dict[str, str]) -> str:
    from sms_receipt_stats.state.runs import run_key
    from sms_receipt_stats.windows import named_window

    return run_key("daily-report", "report", named_window("yesterday", NOW, "Asia/Shanghai"), list(APPS), "total")


def assert_ran_and_notified(doc: Dict[str, Any], delivered: RecordingDeliver) -> None:
    assert doc["kind"] in ("report", "check") and not doc["errors"], doc["errors"]
    assert [r["app_id"] for r in doc["results"]] == list(APPS)
    assert len(delivered.docs) == 1
    sent = {a["app_id"] for a in delivered.docs[0]["alerts"] if a["rule"] == "success_rate_below"}
    assert sent == set(APPS)


def dropped(capsys: Any, what: str) -> List[str]:
    """The product's log lines (JSON on stdout) that dropped a record of `what` so far."""
    return [r["message"] for r in log_lines(capsys.readouterr().out)
            if f"dropping an unreadable {what}" in r["message"]]


# -- run claims and stored documents ---------------------------------------------------------------

@pytest.mark.parametrize("until", ["NaN", "Infinity", "-Infinity", "1e300", '"soon"', "true", "null"])
def test_a_claim_with_a_bogus_deadline_is_dropped_and_the_run_goes_on(
        go: Callable[..., Dict[str, Any]], raw: Store, env: Dict[str, str], delivered: RecordingDeliver,
        capsys: Any, until: str) -> None:
    key = report_key(env)
    raw.set(key, '{"state":"running","until":' + until + '}', 3600)
    doc = go()
    assert_ran_and_notified(doc, delivered)
    assert dropped(capsys, "run record") == [f"state store: dropping an unreadable run record ({key})"]
    assert go()["replayed"] is True and len(delivered.docs) == 1  # its own record is good


@pytest.mark.parametrize("document", [
    {"kind": "bogus", "generated_at": "x"},
    {"generated_at": 5, "results": "none"},
    {"results": [{"app_id": 1}]},
])
def test_a_stored_document_that_no_longer_validates_is_run_again(
        go: Callable[..., Dict[str, Any]], raw: Store, env: Dict[str, str], delivered: RecordingDeliver,
        capsys: Any, document: Dict[str, Any]) -> None:
    raw.set(report_key(env), json.dumps({"state": "done", "document": document}), 3600)
    doc = go()
    assert "replayed" not in doc
    assert_ran_and_notified(doc, delivered)
    assert len(dropped(capsys, "run record")) == 1


def test_a_live_claim_far_ahead_but_plausible_still_answers_busy(go: Callable[..., Dict[str, Any]], raw: Store,
                                                                  env: Dict[str, str],
                                                                  delivered: RecordingDeliver) -> None:
    """The check stays narrow: an owner with a day-long async limit is still an owner."""
    raw.set(report_key(env), json.dumps({"state": "running", "until": NOW.timestamp() + 20 * 3600}), 3600)
    doc = go()
    assert "duplicate delivery" in doc["errors"][0] and not delivered.docs


# -- outbox notices -----------------------------------------------------------------------------

def notice_of(env: Dict[str, str], *, since: Any = None, document: Any = None, attempts: Any = 1,
              message_id: str = "msg_earlier") -> Tuple[str, str]:
    """(item id, stored text) of an outbox notice for the configured webhook."""
    from sms_receipt_stats.state.outbox import sink_id

    sid = sink_id(settings_of(env).sinks[0])
    if document is None:
        document = ResultDocument(kind="check", generated_at="2026-11-25T08:00:00+08:00",
                                  message_id=message_id).to_json_dict()
    text = json.dumps({"sink_id": sid, "message_id": message_id,
                       "since": NOW.timestamp() - 600 if since is None else since,
                       "attempts": attempts, "error": "HTTP 502", "document": document})
    return f"{sid}.{message_id}", text


class ByMessage:
    """`JobDeps.deliver` recording which notice (message_id, kind) each sink got; all succeed."""

    def __init__(self) -> None:
        self.sent: List[Tuple[Optional[str], str]] = []

    def __call__(self, doc: ResultDocument, settings: Settings, deadline: Optional[float]) -> List[Delivery]:
        self.sent.append((doc.message_id, doc.kind))
        return [Delivery(sink=spec.kind, ok=True, attempts=1) for spec in settings.sinks]


@pytest.mark.parametrize("poison", [
    {"document": {"kind": "bogus", "generated_at": "2026-11-25T08:00:00+08:00"}},
    {"document": {"generated_at": None}},
    {"document": "not a document"},
    {"since": "NaN"},
    {"since": 1e300},
    {"attempts": 1e300},
    {"attempts": "three"},
])
def test_a_poisoned_outbox_notice_is_dropped_and_the_rest_still_go(
        go: Callable[..., Dict[str, Any]], raw: Store, env: Dict[str, str], capsys: Any,
        poison: Dict[str, Any]) -> None:
    good_id, good = notice_of(env, message_id="msg_good", since=NOW.timestamp() - 900)
    since = poison.get("since")
    bad_id, bad = notice_of(env, message_id="msg_bad", document=poison.get("document"),
                            attempts=poison.get("attempts", 1))
    if since is not None:
        bad = bad.replace(f'"since": {NOW.timestamp() - 600}', f'"since": {since}')
    raw.replace("outbox", good_id, None, good, 3600)
    raw.replace("outbox", bad_id, None, bad, 3600)
    deliver = ByMessage()
    doc = go(deliver=deliver)
    assert not doc["errors"]
    assert deliver.sent == [("msg_good", "check"), (doc["message_id"], "report")]  # backlog first, then today's
    assert doc["pending"] == [] and all(d["ok"] for d in doc["deliveries"])
    assert dropped(capsys, "outbox notice") == [f"state store: dropping an unreadable outbox notice (outbox/{bad_id})"]
    assert raw.items("outbox") == {}


class DownFor:
    """`JobDeps.deliver` failing the sinks whose host is in `down`; records (host, message_id) sent."""

    def __init__(self, *down: str) -> None:
        self.down = set(down)
        self.sent: List[Tuple[str, Optional[str]]] = []

    def __call__(self, doc: ResultDocument, settings: Settings, deadline: Optional[float]) -> List[Delivery]:
        out = []
        for spec in settings.sinks:
            if spec.host in self.down:
                out.append(Delivery(sink=spec.kind, ok=False, attempts=1, error=f"{spec.label}: HTTP 502"))
            else:
                self.sent.append((spec.host, doc.message_id))
                out.append(Delivery(sink=spec.kind, ok=True, attempts=1))
        return out


def test_reordering_notify_urls_keeps_each_sinks_backlog(invoke: Invoke, make_deps: Callable[..., Any],
                                                         state_env: Dict[str, str]) -> None:
    one, two = "webhook+https://one.example.com/hook", "webhook+https://two.example.com/hook"
    day = dict(read_event("timer_default"), Message=json.dumps({"job": "report", "window": "yesterday"}))
    first = invoke(day, env=base_env(NOTIFY_URLS=f"{one},{two}", **state_env),
                   deps=make_deps(deliver=DownFor("one.example.com")), context=CONTEXT)
    assert [p["sink"] for p in first["pending"]] == ["webhook#1(one.example.com)"]
    later = DownFor()
    check = invoke(read_event("timer_check_last_hour"), env=base_env(NOTIFY_URLS=f"{two},{one}", **state_env),
                   deps=make_deps(deliver=later), context=CONTEXT)
    assert ("one.example.com", first["message_id"]) in later.sent  # its missed report, under its new position
    assert check["pending"] == []


def test_identical_entries_keep_a_backlog_each(state_env: Dict[str, str]) -> None:
    from sms_receipt_stats.state.outbox import sink_ids

    settings = settings_of(base_env(NOTIFY_URLS=f"{HOOK},{HOOK},webhook+https://other.example.com/x",
                                    **state_env))
    ids = sink_ids(settings.sinks)
    assert len(set(ids)) == 3 and ids[1] == ids[0] + "~2"
    assert all(not i[0].isdigit() and "example.com" not in i for i in ids)  # no position, no URL


def big_notice(env: Dict[str, str], message_id: str, since: float, size: int) -> Tuple[str, str]:
    document = ResultDocument(kind="report", generated_at="2026-11-25T08:00:00+08:00", message_id=message_id,
                              errors=["x" * size]).to_json_dict()
    return notice_of(env, message_id=message_id, since=since, document=document)


def test_the_outbox_stays_far_below_the_stores_reply_cap(go: Callable[..., Dict[str, Any]], raw: Store,
                                                         env: Dict[str, str]) -> None:
    """A chat down for a day with large reports: the outbox never grows past what one reply
    may carry (`resp.MAX_REPLY`), which would make every later run stateless for a day."""
    from sms_receipt_stats.state.outbox import MAX_BYTES
    from sms_receipt_stats.state.resp import MAX_REPLY

    mib = 1024 * 1024
    for n in range(5):  # 7 MiB of backlog: readable (under 16 MiB), but over the outbox's own bound
        item_id, text = big_notice(env, f"msg_big{n}", NOW.timestamp() - 3600 + n, int(1.4 * mib))
        raw.replace("outbox", item_id, None, text, 3600)
    doc = go(deliver=DownFor("hooks.example.com"))
    kept = raw.items("outbox")
    total = sum(len(v.encode("utf-8")) for v in kept.values())
    assert total <= MAX_BYTES < MAX_REPLY // 2
    assert [p["message_id"] for p in doc["pending"]][-1] == doc["message_id"]  # today's notice is kept
    assert not any(k.endswith("msg_big0") for k in kept)  # the oldest went first


def test_a_notice_too_large_to_keep_is_sent_but_not_kept(raw: Store, env: Dict[str, str]) -> None:
    from sms_receipt_stats.state.outbox import MAX_NOTICE_BYTES, Outbox
    from sms_receipt_stats.state.store import GuardedStore

    state = GuardedStore(raw)
    doc = ResultDocument(kind="report", generated_at="2026-11-25T08:00:00+08:00", message_id="msg_huge",
                         errors=["x" * (MAX_NOTICE_BYTES + 1)])
    down = DownFor("hooks.example.com")
    outcomes = Outbox(state, settings_of(env), NOW).deliver(doc, down, None)
    assert [d.ok for d in outcomes] == [False] and state.available
    assert raw.items("outbox") == {}


# -- alert records, silences, ledgers, cache entries ------------------------------------------------

def record_of(app_id: str, **over: Any) -> Tuple[str, str]:
    from sms_receipt_stats.state.lifecycle import fingerprint

    fp = fingerprint(app_id, "success_rate_below", None)
    record = {"fingerprint": fp, "app_id": app_id, "rule": "success_rate_below", "code": None,
              "severity": "warning", "message": "m", "since": "2026-11-24T00:00:00+00:00",
              "last_notified": None, "notified_severity": None, "fired_runs": 1, "clear_runs": 0}
    record.update(over)
    return fp, json.dumps(record)


@pytest.mark.parametrize("over", [
    {"since": "not a time"},
    {"since": "2026-11-24T00:00:00"},  # no offset
    {"last_notified": "yesterday"},
    {"severity": "apocalyptic"},
    {"fired_runs": -3},
    {"fingerprint": "0000000000000000"},
])
def test_a_poisoned_alert_record_starts_afresh(go: Callable[..., Dict[str, Any]], raw: Store,
                                               delivered: RecordingDeliver, capsys: Any, over: Dict[str, Any]) -> None:
    fp, text = record_of(APPS[0], **over)
    raw.replace("alerts", fp, None, text, 3600)
    doc = go("timer_check_last_hour")
    assert_ran_and_notified(doc, delivered)
    assert all(a["notified"] for a in doc["alerts"])
    assert dropped(capsys, "alert record") == [f"state store: dropping an unreadable alert record (alerts/{fp})"]


def test_a_poisoned_record_of_another_alert_is_dropped(go: Callable[..., Dict[str, Any]], raw: Store,
                                                        delivered: RecordingDeliver) -> None:
    """A record the run does not fire again is shown as held: its times must parse first."""
    fp, text = record_of("1400000077", since="garbage")
    raw.replace("alerts", fp, None, text, 3600)
    doc = go("timer_check_last_hour")
    assert_ran_and_notified(doc, delivered)
    assert fp not in raw.items("alerts")


def test_poisoned_silences_are_dropped_and_the_rest_apply(go: Callable[..., Dict[str, Any]], raw: Store,
                                                          delivered: RecordingDeliver) -> None:
    from sms_receipt_stats.state.silences import new_silence

    good = new_silence({"matchers": {"app_id": APPS[1]}, "ends_at": (NOW + timedelta(days=1)).isoformat(),
                        "created_by": "ops", "comment": "known"}, NOW)
    raw.replace("silences", good.id, None, good.model_dump_json(), 3600)
    raw.replace("silences", "bad1", None, '{"id": "bad1", "matchers": {}}', 3600)
    raw.replace("silences", "bad2", None, "[1, 2", 3600)
    raw.replace("silences", "bad3", None, good.model_copy(update={"id": "other"}).model_dump_json(), 3600)
    doc = go("timer_check_last_hour")
    assert not doc["errors"]
    silenced = {a["app_id"] for a in doc["alerts"] if a.get("silenced")}
    assert silenced == {APPS[1]}
    assert set(raw.items("silences")) == {good.id}


def test_expiring_an_unreadable_silence_answers_not_found(raw: Store) -> None:
    from sms_receipt_stats.state.silences import SilenceStore
    from sms_receipt_stats.state.store import GuardedStore

    raw.replace("silences", "abc123", None, '{"id": "abc123", "ends_at": 1e300}', 3600)
    assert SilenceStore(GuardedStore(raw)).expire("abc123", NOW) is None
    assert raw.items("silences") == {}


@pytest.mark.parametrize("ledger", [
    '{"494000": [1, 2, 3, 4, 5, 6, 7, 8, 9, NaN]}',
    '{"494000": [1, 2, 3, 4, 5, 6, 7, 8, 9, 1e999]}',
    '{"99999999999999999999": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}',
    '{"494000": [-1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}',
    '{"494000": [1, 2, 3]}',
    '{"494000": "x"}',
    "[1, 2]",
    "{{",
])
def test_a_poisoned_evidence_ledger_starts_afresh(go: Callable[..., Dict[str, Any]], raw: Store,
                                                  delivered: RecordingDeliver, ledger: str) -> None:
    raw.set(f"evidence:{APPS[0]}", ledger, 3600)
    doc = go("timer_check_last_hour")
    assert_ran_and_notified(doc, delivered)
    kept = json.loads(raw.get(f"evidence:{APPS[0]}") or "{}")
    newest = int(NOW.timestamp()) // 3600 - 1
    assert str(newest) in kept and all(newest - 24 < int(i) <= newest for i in kept)  # what this run saw, only


@pytest.mark.parametrize("entry", ['{"RequestSuccessCount": -5}', '{"CallbackCount": "many"}', "[]", "NaN"])
def test_a_poisoned_cache_entry_is_fetched_again(raw: Store, bad_fetcher: FakeFetcher, caplog: Any,
                                                 entry: str) -> None:
    from sms_receipt_stats.state.cache import SettledCache
    from sms_receipt_stats.state.store import GuardedStore

    state = GuardedStore(raw)
    cache = SettledCache(bad_fetcher, state, now=lambda: NOW, settle_hours=72)
    span = (APPS[0], "2026110100", "2026110123")
    raw.set(cache.key(*span), entry, 3600)
    with caplog.at_level(logging.WARNING, logger="sms_receipt_stats.state"):
        stats, _ = cache.fetch(*span)
    assert stats == BAD and len(bad_fetcher.calls) == 1 and state.available
    assert Stats.model_validate_json(raw.get(cache.key(*span)) or "") == BAD  # replaced by the good answer
    assert [r.getMessage() for r in caplog.records if "dropping" in r.getMessage()] == [
        f"state store: dropping an unreadable cache entry ({cache.key(*span)})"]


def test_a_poisoned_baseline_is_computed_afresh(go: Callable[..., Dict[str, Any]], raw: Store,
                                                delivered: RecordingDeliver) -> None:
    from sms_receipt_stats.state.baseline import _key, baseline_window
    from sms_receipt_stats.windows import named_window

    base = baseline_window(named_window("yesterday", NOW, "Asia/Shanghai"))
    raw.set(_key(APPS[0], base), '{"CallbackCount": -1}', 3600)
    doc = go()
    assert_ran_and_notified(doc, delivered)
    assert all(r["trend"] is not None for r in doc["results"])


def test_a_value_that_is_not_text_is_a_store_failure(invoke: Invoke, make_deps: Callable[..., Any],
                                                     bad_fetcher: FakeFetcher, delivered: RecordingDeliver,
                                                     tmp_path: Any) -> None:
    """SQLite keeps whatever type a row was given: a BLOB where text belongs is not a record."""
    import sqlite3

    env = base_env(NOTIFY_URLS=HOOK, STATE_URL=f"sqlite:///{tmp_path}/state.db", STATE_PREFIX="t:")
    open_store(env["STATE_URL"], "t:").close()  # the schema
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("INSERT INTO items (collection, id, value, expires) VALUES ('t:alerts', 'x', ?, 1e12)",
                   (b"\x00\xff",))
    doc = invoke(read_event("timer_check_last_hour"), env=env, deps=make_deps(fetcher=bad_fetcher), context=CONTEXT)
    assert_ran_and_notified(doc, delivered)
    [failure] = [a["message"] for a in doc["alerts"] if a["rule"] == "state_unavailable"]
    assert "unexpected reply to items" in failure

"""Idempotent timer runs: a duplicate delivery replays, two copies at once send once."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict, List

import pytest

from support import FakeFetcher, RecordingDeliver, base_env, read_event, redis_client

Invoke = Callable[..., Dict[str, Any]]
CONTEXT = {"request_id": "r-1", "time_limit_in_ms": 30_000}


def test_a_duplicate_delivery_replays_the_stored_document(invoke: Invoke, fetcher: FakeFetcher,
                                                          delivered: RecordingDeliver,
                                                          state_env: Dict[str, str]) -> None:
    env = base_env(**state_env)
    first = invoke(read_event("timer_default"), env=env, context=CONTEXT)
    calls, sent = len(fetcher.calls), len(delivered.docs)
    assert calls > 0 and sent == 1 and "replayed" not in first
    again = invoke(read_event("timer_default"), env=env, context=CONTEXT)
    assert again["replayed"] is True
    assert len(fetcher.calls) == calls and len(delivered.docs) == sent  # no API call, no sink
    assert {k: v for k, v in again.items() if k != "replayed"} == first


def test_without_a_store_every_delivery_runs(invoke: Invoke, fetcher: FakeFetcher,
                                             delivered: RecordingDeliver) -> None:
    for _ in range(2):
        assert "replayed" not in invoke(read_event("timer_default"), context=CONTEXT)
    assert len(delivered.docs) == 2


def test_another_trigger_or_window_is_not_a_duplicate(invoke: Invoke, delivered: RecordingDeliver,
                                                      state_env: Dict[str, str]) -> None:
    env = base_env(**state_env)
    invoke(read_event("timer_default"), env=env, context=CONTEXT)
    other_trigger = dict(read_event("timer_default"), TriggerName="second-daily-report")
    assert "replayed" not in invoke(other_trigger, env=env, context=CONTEXT)
    last_7d = dict(read_event("timer_default"), Message='{"job": "report", "window": "last_7d"}')
    assert "replayed" not in invoke(last_7d, env=env, context=CONTEXT)
    assert len(delivered.docs) == 3


def test_two_copies_at_once_send_once(invoke: Invoke, fetcher: FakeFetcher, delivered: RecordingDeliver,
                                      redis_url: str, redis_prefix: str) -> None:
    env = base_env(STATE_URL=redis_url, STATE_PREFIX=redis_prefix)
    fetcher.on_fetch = lambda *_: time.sleep(0.05)  # the copies overlap for a while
    barrier = threading.Barrier(2)
    docs: List[Dict[str, Any]] = []

    def copy() -> None:
        barrier.wait()
        docs.append(invoke(read_event("timer_default"), env=env, context=CONTEXT))

    threads = [threading.Thread(target=copy) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(docs) == 2 and len(delivered.docs) == 1
    ran = [d for d in docs if d["results"]]
    duplicate = [d for d in docs if not d["results"]]
    assert len(ran) == 1 and len(duplicate) == 1
    assert any("duplicate delivery" in e for e in duplicate[0]["errors"])
    assert duplicate[0]["deliveries"] == []
    assert len({c[0] for c in fetcher.calls}) == 3 and len(fetcher.calls) == len(set(fetcher.calls))


def run_keys(prefix: str) -> Dict[str, int]:
    client = redis_client()
    try:
        return {k: client.pttl(k) for k in client.scan_iter(match=f"{prefix}run:*")}
    finally:
        client.close()


def test_the_claim_lasts_the_time_limit_and_the_result_two_days(invoke: Invoke, fetcher: FakeFetcher,
                                                                redis_url: str, redis_prefix: str) -> None:
    env = base_env(STATE_URL=redis_url, STATE_PREFIX=redis_prefix)
    seen: List[Dict[str, int]] = []
    once = threading.Lock()  # the queries run in threads: look once, from the first
    fetcher.on_fetch = lambda *_: seen.append(run_keys(redis_prefix)) if once.acquire(blocking=False) else None
    invoke(read_event("timer_default"), env=env, context={"time_limit_in_ms": 20_000})
    [during] = seen
    [claim_ms] = during.values()
    assert 15_000 < claim_ms <= 20_000  # a copy that dies lets a retry run once SCF would have stopped it
    [done_ms] = run_keys(redis_prefix).values()
    assert 2 * 86_400_000 - 60_000 < done_ms <= 2 * 86_400_000


def test_an_in_progress_claim_that_expired_lets_a_retry_run(invoke: Invoke, delivered: RecordingDeliver,
                                                            redis_url: str, redis_prefix: str) -> None:
    env = base_env(STATE_URL=redis_url, STATE_PREFIX=redis_prefix)
    fast = {"time_limit_in_ms": 1_600}  # the claim lasts 1.6 s
    # a copy that claimed the run and died: its claim is what a real run leaves while it runs
    from sms_receipt_stats.config import load_settings
    from sms_receipt_stats.state.flow import open_state
    from sms_receipt_stats.state.runs import claim_run, run_key
    from sms_receipt_stats.windows import named_window
    from support import NOW

    settings, _ = load_settings(env)
    state = open_state(settings)
    key = run_key("daily-report", "report", named_window("yesterday", NOW, "Asia/Shanghai"),
                  [a.app_id for a in settings.apps], "total")
    assert claim_run(state, key, 1.0, NOW.timestamp()).outcome == "claimed"
    state.close()
    blocked = invoke(read_event("timer_default"), env=env, context=fast)
    assert any("duplicate delivery" in e for e in blocked["errors"]) and not delivered.docs
    time.sleep(1.1)
    retried = invoke(read_event("timer_default"), env=env, context=fast)
    assert retried["results"] and len(delivered.docs) == 1


def test_a_run_that_dies_gives_its_claim_back(invoke: Invoke, make_deps: Callable[..., Any],
                                              state_env: Dict[str, str]) -> None:
    env = base_env(**state_env)

    def interrupted(*_: Any) -> List[Any]:
        raise KeyboardInterrupt  # not an Exception: it passes every handler, as a real kill would

    with pytest.raises(KeyboardInterrupt):
        invoke(read_event("timer_default"), env=env, deps=make_deps(deliver=interrupted), context=CONTEXT)
    delivered = RecordingDeliver()
    doc = invoke(read_event("timer_default"), env=env, deps=make_deps(deliver=delivered), context=CONTEXT)
    assert "replayed" not in doc and doc["results"] and len(delivered.docs) == 1


def _key_and_state(env: Dict[str, str]) -> Any:
    from sms_receipt_stats.config import load_settings
    from sms_receipt_stats.state.flow import open_state
    from sms_receipt_stats.state.runs import run_key
    from sms_receipt_stats.windows import named_window
    from support import NOW

    settings, _ = load_settings(env)
    key = run_key("daily-report", "report", named_window("yesterday", NOW, "Asia/Shanghai"),
                  [a.app_id for a in settings.apps], "total")
    return key, open_state(settings)


def test_a_dead_copys_claim_past_its_deadline_is_taken_over(invoke: Invoke, delivered: RecordingDeliver,
                                                            state_env: Dict[str, str]) -> None:
    """A copy that was killed (timeout, out of memory) leaves its claim behind; once the deadline it
    wrote has passed, the next delivery does the work instead of answering busy with nothing sent."""
    import json

    from support import NOW

    env = base_env(**state_env)
    key, state = _key_and_state(env)
    dead = json.dumps({"state": "running", "until": NOW.timestamp() - 1})
    state.set(key, dead, 3600)  # the key outlives the owner (a default TTL, a clock that differs)
    state.close()
    doc = invoke(read_event("timer_default"), env=env, context=CONTEXT)
    assert doc["results"] and not doc["errors"] and len(delivered.docs) == 1
    again = invoke(read_event("timer_default"), env=env, context=CONTEXT)
    assert again["replayed"] is True and len(delivered.docs) == 1


def test_a_live_claim_answers_busy_with_its_deadline_in_errors(invoke: Invoke, delivered: RecordingDeliver,
                                                               state_env: Dict[str, str]) -> None:
    import json

    from support import NOW

    env = base_env(**state_env)
    key, state = _key_and_state(env)
    state.set(key, json.dumps({"state": "running", "until": NOW.timestamp() + 600}), 3600)
    state.close()
    doc = invoke(read_event("timer_default"), env=env, context=CONTEXT)
    assert not doc["results"] and doc["deliveries"] == [] and not delivered.docs
    [error] = doc["errors"]
    assert "duplicate delivery" in error and "sent nothing" in error
    assert "+08:00" in error  # the owner's deadline, in REPORT_TIMEZONE


def test_only_one_of_two_late_copies_takes_over(state_env: Dict[str, str]) -> None:
    import json

    from sms_receipt_stats.state.runs import claim_run
    from support import NOW

    key, state = _key_and_state(base_env(**state_env))
    try:
        state.set(key, json.dumps({"state": "running", "until": NOW.timestamp() - 5}), 3600)
        outcomes = [claim_run(state, key, 30, NOW.timestamp()) for _ in range(2)]
        assert [o.outcome for o in outcomes] == ["claimed", "busy"] and outcomes[0].took_over
        assert outcomes[1].until == NOW.timestamp() + 30
    finally:
        state.close()

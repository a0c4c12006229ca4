"""Store replies are checked for shape, and a slow store is budgeted (real Redis behind a RESP proxy).

A reply of the wrong shape (`MGET` answered `*0` or `+OK`, a script answered nil, `SET NX`
answered `:1`) is a store failure: the run goes on stateless and names it, never an internal
error, never a quiet run. A store that answers every command slowly costs a run its store
budget (a share of the invocation's time limit), then the run goes on stateless.
"""

from __future__ import annotations

import uuid
from typing import Any, Dict, Iterator, List

import pytest

from resp_proxy import APPS, EMPTY_ARRAY, NIL, OK, ONE, SHAPES, RespProxy, check_outcome, delete_prefix, run_job
from sms_receipt_stats.state.redis_store import RedisStore
from sms_receipt_stats.state.store import StoreError


@pytest.fixture()
def proxy() -> Iterator[RespProxy]:
    with RespProxy() as p:
        yield p


@pytest.fixture()
def prefix() -> Iterator[str]:
    name = f"replies-{uuid.uuid4().hex[:12]}:"
    yield name
    delete_prefix(name)


ERROR = "error"
#: each operation of the Redis back end, and what it makes of each shape in place of its reply
#: (ERROR: a StoreError; else the value it returns, for a shape the command may really answer)
CALLS: Dict[str, Any] = {
    "get": lambda s: s.get("k"),
    "get_many": lambda s: s.get_many(["a", "b"]),
    "set": lambda s: s.set("k", "v", 10),
    "claim": lambda s: s.claim("k", "v", 10),
    "swap": lambda s: s.swap("k", "v", "w", 10),
    "delete": lambda s: s.delete("k"),
    "items": lambda s: s.items("c"),
    "get_item": lambda s: s.get_item("c", "i"),
    "replace": lambda s: s.replace("c", "i", None, "v", 10),
    "sum_counters": lambda s: s.sum_counters([["a", "b"], ["c"]]),
    "ping": lambda s: s.ping(),
}
EXPECTED = {
    "get": {"*0": ERROR, "+OK": ERROR, "nil": None, ":1": ERROR},
    "get_many": {"*0": ERROR, "+OK": ERROR, "nil": ERROR, ":1": ERROR},
    "set": {"*0": ERROR, "+OK": None, "nil": ERROR, ":1": ERROR},
    "claim": {"*0": ERROR, "+OK": True, "nil": False, ":1": ERROR},
    "swap": {"*0": ERROR, "+OK": ERROR, "nil": ERROR, ":1": True},
    "delete": {"*0": ERROR, "+OK": ERROR, "nil": ERROR, ":1": None},
    "items": {"*0": {}, "+OK": ERROR, "nil": ERROR, ":1": ERROR},
    "get_item": {"*0": ERROR, "+OK": ERROR, "nil": None, ":1": ERROR},
    "replace": {"*0": ERROR, "+OK": ERROR, "nil": ERROR, ":1": True},
    "sum_counters": {"*0": ERROR, "+OK": ERROR, "nil": ERROR, ":1": ERROR},
    "ping": {"*0": ERROR, "+OK": ERROR, "nil": ERROR, ":1": ERROR},
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("operation", sorted(CALLS))
def test_every_reply_is_checked_for_its_shape(proxy: RespProxy, prefix: str, operation: str, shape: str) -> None:
    store = RedisStore(proxy.url, prefix)
    try:
        proxy.inject("wrong", at=2, count=1, shape=SHAPES[shape])  # after SELECT and CLIENT SETNAME
        expected = EXPECTED[operation][shape]
        if expected == ERROR:
            with pytest.raises(StoreError, match="ProtocolError: unexpected reply"):
                CALLS[operation](store)
        else:
            assert CALLS[operation](store) == expected
        assert proxy.faults_hit == 1
    finally:
        store.close()


@pytest.mark.parametrize("shape", [EMPTY_ARRAY, NIL, ONE])
def test_a_wrong_answer_to_the_connection_set_up_is_a_failure(proxy: RespProxy, prefix: str, shape: bytes) -> None:
    store = RedisStore(proxy.url, prefix)
    try:
        proxy.inject("wrong", at=0, count=1, shape=shape)  # SELECT
        with pytest.raises(StoreError, match="unexpected reply to SELECT"):
            store.get("k")
    finally:
        store.close()


# -- whole runs --------------------------------------------------------------------------------

def failure_named(doc: Dict[str, Any]) -> List[str]:
    return [a["message"] for a in doc["alerts"] if a["rule"] == "state_unavailable"]


@pytest.mark.parametrize("shape", [EMPTY_ARRAY, OK, NIL, ONE], ids=["*0", "+OK", "nil", ":1"])
def test_a_wrong_shaped_mget_is_a_store_failure(proxy: RespProxy, prefix: str, shape: bytes) -> None:
    """It used to end the check as `internal error: KeyError`, with nothing sent."""
    proxy.inject("wrong", only="MGET", count=1, shape=shape)
    run = run_job("check", proxy.url, prefix, limit_ms=30_000)
    assert check_outcome(run) == "stateless" and proxy.faults_hit == 1
    assert "unexpected reply to MGET" in failure_named(run.answer)[0]
    assert failure_named(run.delivered.docs[0])  # the sink hears about it too


def test_scripts_answering_nil_are_a_store_failure_not_quiet_alerts(proxy: RespProxy, prefix: str) -> None:
    """It used to fire the check's alerts without ever notifying them, and say nothing."""
    proxy.inject("wrong", only="EVALSHA", shape=NIL)
    run = run_job("check", proxy.url, prefix, limit_ms=30_000)
    assert check_outcome(run) == "stateless"
    assert "unexpected reply to EVALSHA" in failure_named(run.answer)[0]


def test_a_claim_answered_with_an_integer_is_a_store_failure(proxy: RespProxy, prefix: str) -> None:
    """It used to make every run believe a duplicate held the claim, and send nothing."""
    proxy.inject("wrong", only="SET", count=1, shape=ONE)
    run = run_job("report", proxy.url, prefix, limit_ms=30_000)
    assert check_outcome(run) == "stateless"
    assert "unexpected reply to SET NX" in failure_named(run.answer)[0]


def test_a_claim_whose_answer_was_lost_is_still_this_runs(proxy: RespProxy, prefix: str) -> None:
    """`SET NX` went through, its `+OK` did not (answered nil): the claim read back is our own."""
    proxy.inject("wrong", only="SET", count=1, shape=NIL)
    run = run_job("report", proxy.url, prefix, limit_ms=30_000)
    assert check_outcome(run) == "stateful" and proxy.faults_hit == 1
    proxy.reset()
    again = run_job("report", proxy.url, prefix, limit_ms=30_000)
    assert again.answer["replayed"] is True and not again.delivered.docs


# -- a slow store --------------------------------------------------------------------------------

@pytest.mark.parametrize("job", ["check", "report"])
def test_a_slow_store_costs_a_run_its_budget_then_the_run_goes_on_stateless(proxy: RespProxy, prefix: str,
                                                                             job: str) -> None:
    """Each reply 0.15 s late: a 3-app report used to spend 32 s on its ~200 commands and deliver
    nothing. With a 5 s limit the store's budget is 0.5 s: a handful of commands, then stateless."""
    from sms_receipt_stats.state.store import budget_for

    delay, budget = 0.15, budget_for(5.0)
    proxy.inject("drip", delay=delay)
    run = run_job(job, proxy.url, prefix, limit_ms=5_000)
    assert check_outcome(run) == "stateless"
    assert f"the store took over {budget:g} s this run" in failure_named(run.answer)[0]
    connections = 2 if job == "report" else 1  # the report's warm-up has its own, budgeted from the time left
    assert len(proxy.commands) <= connections * (budget / delay + 2)
    assert [r["app_id"] for r in run.answer["results"]] == list(APPS)


def test_a_slow_store_within_the_budget_keeps_the_run_stateful(proxy: RespProxy, prefix: str) -> None:
    proxy.inject("drip", delay=0.01)
    run = run_job("check", proxy.url, prefix, limit_ms=60_000)  # serverless.yml's limit: a 6 s budget
    assert check_outcome(run) == "stateful"

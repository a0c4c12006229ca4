"""Each store command of a check, a report and a lookup, broken in turn (real Redis behind a RESP proxy).

For every N from 0 to the number of commands the job makes (measured first, on a clean run),
the proxy breaks command N (and, for kill, stall and drip, every later one): it kills the
connection, never answers, answers slowly, or answers a wrong shape (`*0`, `+OK`, nil, `:1`).
Whatever N, the job must answer with no internal error and its alerts notified (a lookup: its
numbers), naming the store's failure when it went on stateless. One test per (job, fault)
sweeps every N, so a failure lists every N that broke.

The store's own timeouts and budget are shortened (a stall costs 0.2 s, not 1 s) to keep the
sweep quick; bench/bench_store_chaos.py measures with the real ones.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterator, List, Tuple

import pytest

from resp_proxy import JOBS, SHAPES, RespProxy, check_outcome, count_commands, delete_prefix, run_job

#: the fake context's time limit (the fake API's rate limiter spends the fake clock's time)
LIMIT_MS = 5_000
FAULTS = [("kill", ""), ("stall", ""), ("drip", ""), ("wrong", "*0"), ("wrong", "+OK"), ("wrong", "nil"),
          ("wrong", ":1")]
#: the most commands each job may make on a fresh prefix: reads are batched (a report made 339
#: before its settled spans were read ahead in one MGET; a check firing for several apps reads and
#: writes their alert group)
MOST_COMMANDS = {"check": 17, "report": 130, "lookup": 20}


@pytest.fixture(scope="module")
def proxy() -> Iterator[RespProxy]:
    with RespProxy() as p:
        yield p


@pytest.fixture()
def quick_store(monkeypatch: Any) -> None:
    """Short call deadlines and a small budget: the behaviour is the same, the sweep is faster."""
    import sms_receipt_stats.state.redis_store as redis_store
    import sms_receipt_stats.state.store as store

    monkeypatch.setattr(redis_store, "CALL_TIMEOUT", 0.2)
    monkeypatch.setattr(redis_store, "CONNECT_TIMEOUT", 0.1)
    monkeypatch.setattr(redis_store, "COMMAND_TIMEOUT", 0.1)
    monkeypatch.setattr(store, "BUDGET_SHARE", 0.08)  # 0.4 s of the 5 s limit: a report's 44 commands fit
    # on a busy machine, a stall still costs one command's 0.2 s
    monkeypatch.setattr(store, "MIN_BUDGET", 0.1)


@pytest.mark.parametrize("job", JOBS)
def test_each_job_makes_few_store_commands(proxy: RespProxy, job: str, tally: Any) -> None:
    commands = count_commands(proxy, job, LIMIT_MS)
    tally[f"cases:store commands of a {job}"] += commands
    assert 0 < commands <= MOST_COMMANDS[job], proxy.names()


@pytest.mark.parametrize("kind,shape", FAULTS, ids=[f"{k}{s}" for k, s in FAULTS])
@pytest.mark.parametrize("job", JOBS)
def test_a_fault_at_every_command_never_silences_the_job(proxy: RespProxy, quick_store: None, tally: Any,
                                                         job: str, kind: str, shape: str) -> None:
    commands = count_commands(proxy, job, LIMIT_MS)
    broken: List[Tuple[int, str, str]] = []
    outcomes: List[str] = []
    for at in range(commands + 1):  # one past the last: the fault never comes
        prefix = f"every-{uuid.uuid4().hex[:12]}:"
        proxy.reset()
        proxy.inject(kind, at=at, count=1 if kind == "wrong" else None, delay=0.05, shape=SHAPES.get(shape, b""))
        try:
            outcome = check_outcome(run_job(job, proxy.url, prefix, limit_ms=LIMIT_MS))
            outcomes.append(outcome)
            names = proxy.names()
            assert at >= commands or proxy.faults_hit, f"the fault at {at} never came ({len(names)} commands)"
        except AssertionError as exc:
            names = proxy.names()
            broken.append((at, names[at] if at < len(names) else "-", str(exc)[:200]))
        finally:
            delete_prefix(prefix)
    tally[f"cases:store fault at every command ({job})"] += commands + 1
    tally["faults"] += commands
    assert not broken, broken
    if job != "lookup" and kind in ("kill", "stall"):  # the store gone before the end: said so
        assert outcomes[0] == "stateless" and outcomes[-1] == "stateful"

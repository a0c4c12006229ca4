"""A store that is down, stalled or restarted never loses a report (real Redis, real SQLite).

Each fault makes the run go on stateless: the report is still queried and delivered, one
`state_unavailable` warning says so, and the store costs the run about a second at most.
The stall uses `CLIENT PAUSE` for a moment; the restart is simulated by killing this test's
own connections (the shared server is never stopped).
"""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
from typing import Any, Callable, Dict, Iterator, List

import pytest

from sms_receipt_stats.state.redis_store import client_name_for
from support import FakeFetcher, RecordingDeliver, base_env, read_event, redis_client

Invoke = Callable[..., Dict[str, Any]]
#: what a store fault may add to a run: CALL_TIMEOUT plus scheduling slack on a busy machine
STORE_BUDGET = 1.6


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unavailable(doc: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [a for a in doc["alerts"] if a["rule"] == "state_unavailable"]


def assert_reported_stateless(doc: Dict[str, Any], delivered: RecordingDeliver) -> None:
    assert [r["app_id"] for r in doc["results"]] == ["1400006874", "1400000002", "1400000009"]
    assert all(r["stats"] is not None for r in doc["results"])
    warning = unavailable(doc)
    assert len(warning) == 1 and warning[0]["severity"] == "warning"
    assert len(delivered.docs) == 1 and unavailable(delivered.docs[0])  # the sinks hear about it too
    # stateless alerts: every one is sent, none carries lifecycle fields
    rate_alerts = [a for a in doc["alerts"] if a["rule"] != "state_unavailable"]
    assert rate_alerts and all("notified" not in a for a in rate_alerts)


def timed(fn: Callable[[], Dict[str, Any]]) -> tuple:
    started = time.monotonic()
    doc = fn()
    return doc, time.monotonic() - started


def baseline_seconds(invoke: Invoke) -> float:
    """The same report without a store, to compare the faulty runs with."""
    _, seconds = timed(lambda: invoke(read_event("timer_default"), env=base_env()))
    return seconds


def test_closed_port_goes_on_stateless_within_the_budget(invoke: Invoke, delivered: RecordingDeliver) -> None:
    plain = baseline_seconds(invoke)
    delivered.docs.clear()
    env = base_env(STATE_URL=f"redis://127.0.0.1:{closed_port()}/11", STATE_PREFIX="never:")
    doc, seconds = timed(lambda: invoke(read_event("timer_default"), env=env))
    assert_reported_stateless(doc, delivered)
    assert "ConnectionError" in unavailable(doc)[0]["message"]
    assert seconds - plain < STORE_BUDGET


@pytest.fixture()
def pause_redis() -> Iterator[Callable[[int, str], None]]:
    """`pause(ms, mode)`: CLIENT PAUSE the shared server briefly; always unpaused afterwards."""
    client = redis_client()

    def pause(ms: int, mode: str = "ALL") -> None:
        client.execute_command("CLIENT", "PAUSE", ms, mode)

    try:
        yield pause
    finally:
        client.execute_command("CLIENT", "UNPAUSE")
        client.close()


def test_a_stalled_redis_at_the_start_costs_at_most_the_budget(invoke: Invoke, delivered: RecordingDeliver,
                                                               redis_url: str, redis_prefix: str,
                                                               pause_redis: Callable[[int, str], None]) -> None:
    plain = baseline_seconds(invoke)
    delivered.docs.clear()
    env = base_env(STATE_URL=redis_url, STATE_PREFIX=redis_prefix)
    pause_redis(3000, "WRITE")  # the run's first call, the claim, is a write
    doc, seconds = timed(lambda: invoke(read_event("timer_default"), env=env))
    assert_reported_stateless(doc, delivered)
    assert "TimeoutError" in unavailable(doc)[0]["message"]
    assert seconds - plain < STORE_BUDGET  # did not wait for the 3 s pause to end


def test_a_redis_stall_in_the_middle_of_a_run(invoke: Invoke, fetcher: FakeFetcher, delivered: RecordingDeliver,
                                              redis_url: str, redis_prefix: str,
                                              pause_redis: Callable[[int, str], None]) -> None:
    env = base_env(STATE_URL=redis_url, STATE_PREFIX=redis_prefix)
    once = threading.Lock()

    def stall(*_: Any) -> None:
        if once.acquire(blocking=False):
            pause_redis(3000, "ALL")  # after the claim: the cache and the lifecycle meet the stall

    fetcher.on_fetch = stall
    doc, seconds = timed(lambda: invoke(read_event("timer_default"), env=env))
    assert_reported_stateless(doc, delivered)
    assert seconds < 2.5  # the pause lasts 3 s: the run did not sit it out


def kill_own_connections(prefix: str) -> int:
    client = redis_client()
    try:
        mine = [c for c in client.client_list() if c.get("name") == client_name_for(prefix)]
        for conn in mine:
            client.client_kill_filter(_id=conn["id"])
        return len(mine)
    finally:
        client.close()


def test_a_restart_mid_run_goes_on_stateless(invoke: Invoke, fetcher: FakeFetcher, delivered: RecordingDeliver,
                                             redis_url: str, redis_prefix: str,
                                             pause_redis: Callable[[int, str], None]) -> None:
    """Connections drop and the server does not answer for a moment, as during a restart."""
    env = base_env(STATE_URL=redis_url, STATE_PREFIX=redis_prefix)
    killed: List[int] = []
    once = threading.Lock()

    def restart(*_: Any) -> None:
        if once.acquire(blocking=False):
            killed.append(kill_own_connections(redis_prefix))
            pause_redis(2000, "ALL")

    fetcher.on_fetch = restart
    doc, seconds = timed(lambda: invoke(read_event("timer_default"), env=env))
    assert killed and killed[0] >= 1  # the run's claim had opened a connection
    assert_reported_stateless(doc, delivered)
    assert seconds < 2.0


def test_connections_killed_but_redis_up_reconnects_and_keeps_state(invoke: Invoke, fetcher: FakeFetcher,
                                                                    delivered: RecordingDeliver, redis_url: str,
                                                                    redis_prefix: str) -> None:
    env = base_env(STATE_URL=redis_url, STATE_PREFIX=redis_prefix)
    once = threading.Lock()
    killed: List[int] = []

    def kill(*_: Any) -> None:
        if once.acquire(blocking=False):
            killed.append(kill_own_connections(redis_prefix))

    fetcher.on_fetch = kill
    doc = invoke(read_event("timer_default"), env=env)
    assert killed and killed[0] >= 1
    assert not unavailable(doc)
    assert all(a["status"] == "firing" and a["notified"] is True for a in doc["alerts"])


def test_sqlite_in_a_missing_directory_goes_on_stateless(invoke: Invoke, delivered: RecordingDeliver,
                                                         tmp_path) -> None:
    env = base_env(STATE_URL=f"sqlite:///{tmp_path}/no/such/dir/state.db")
    doc = invoke(read_event("timer_default"), env=env)
    assert_reported_stateless(doc, delivered)


def test_a_locked_sqlite_database_costs_at_most_the_budget(invoke: Invoke, delivered: RecordingDeliver,
                                                           tmp_path) -> None:
    path = tmp_path / "state.db"
    env = base_env(STATE_URL=f"sqlite:///{path}")
    invoke(read_event("timer_check_last_hour"), env=env)  # creates the schema
    delivered.docs.clear()
    plain = baseline_seconds(invoke)
    delivered.docs.clear()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        doc, seconds = timed(lambda: invoke(read_event("timer_default"), env=env))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_reported_stateless(doc, delivered)
    assert "OperationalError" in unavailable(doc)[0]["message"]
    assert seconds - plain < STORE_BUDGET


def test_the_redis_password_never_shows(invoke: Invoke, delivered: RecordingDeliver, capsys,
                                        redis_prefix: str) -> None:
    password = "state-pass-9d1c7e"
    for url in (f"redis://:{password}@127.0.0.1:{closed_port()}/11",  # unreachable
                f"redis://:{password}@127.0.0.1:6379/11"):  # reachable, refuses the password
        doc = invoke(read_event("timer_default"), env=base_env(STATE_URL=url, STATE_PREFIX=redis_prefix))
        assert unavailable(doc)
        out = capsys.readouterr()
        assert password not in json.dumps(doc) + json.dumps(delivered.docs) + out.out + out.err

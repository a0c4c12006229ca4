"""A store that is down, stalled or restarted never loses a report (real Redis, real SQLite).

Each fault makes the run go on stateless: the report is still queried and delivered and one
`state_unavailable` warning says so. What a fault costs in time is measured, not asserted here:
`bench/bench_store_chaos.py`.
Stalls and restarts happen in a fault proxy in front of the real Redis (`tests/resp_proxy.py`), or by
killing this test's own connections: the shared server is never paused or stopped.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
from typing import Any, Callable, Dict, Iterator, List

import pytest

from resp_proxy import RespProxy
from sms_receipt_stats.state.redis_store import client_name_for
from support import FakeFetcher, RecordingDeliver, base_env, read_event, redis_client, redis_state_url

Invoke = Callable[..., Dict[str, Any]]


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


def test_closed_port_goes_on_stateless(invoke: Invoke, delivered: RecordingDeliver) -> None:
    env = base_env(STATE_URL=f"redis://127.0.0.1:{closed_port()}/11", STATE_PREFIX="never:")
    doc = invoke(read_event("timer_default"), env=env)
    assert_reported_stateless(doc, delivered)
    assert "ConnectionError" in unavailable(doc)[0]["message"]


@pytest.fixture()
def proxy() -> Iterator[RespProxy]:
    """The real Redis behind a fault proxy: a stall or a restart is the proxy's, never the shared server's."""
    with RespProxy() as server:
        yield server


def test_a_stalled_redis_at_the_start_costs_at_most_the_budget(invoke: Invoke, delivered: RecordingDeliver,
                                                               proxy: RespProxy, redis_prefix: str) -> None:
    env = base_env(STATE_URL=proxy.url, STATE_PREFIX=redis_prefix)
    proxy.inject("stall", at=0)  # no command is ever answered: the run cannot wait it out
    doc = invoke(read_event("timer_default"), env=env)
    assert_reported_stateless(doc, delivered)
    assert "TimeoutError" in unavailable(doc)[0]["message"]


def test_a_redis_stall_in_the_middle_of_a_run(invoke: Invoke, fetcher: FakeFetcher, delivered: RecordingDeliver,
                                              proxy: RespProxy, redis_prefix: str) -> None:
    env = base_env(STATE_URL=proxy.url, STATE_PREFIX=redis_prefix)
    once = threading.Lock()

    def stall(*_: Any) -> None:
        if once.acquire(blocking=False):  # after the claim: the cache and the lifecycle meet the stall
            proxy.inject("stall", at=len(proxy.names()))

    fetcher.on_fetch = stall
    doc = invoke(read_event("timer_default"), env=env)
    assert proxy.names()[0] in ("SELECT", "CLIENT", "EVALSHA", "SET", "EVAL")  # the run had begun statefully
    assert_reported_stateless(doc, delivered)


def test_a_restart_mid_run_goes_on_stateless(invoke: Invoke, fetcher: FakeFetcher, delivered: RecordingDeliver,
                                             proxy: RespProxy, redis_prefix: str) -> None:
    """Connections drop and the server does not answer for a while, as during a restart."""
    env = base_env(STATE_URL=proxy.url, STATE_PREFIX=redis_prefix)
    once = threading.Lock()

    def restart(*_: Any) -> None:
        if once.acquire(blocking=False):
            proxy.inject("kill", at=len(proxy.names()))  # every later command: its connection is dropped

    fetcher.on_fetch = restart
    doc = invoke(read_event("timer_default"), env=env)
    assert proxy.faults_hit >= 1  # the run met the restart
    assert_reported_stateless(doc, delivered)


def kill_own_connections(prefix: str) -> int:
    client = redis_client()
    try:
        mine = [c for c in client.client_list() if c.get("name") == client_name_for(prefix)]
        for conn in mine:
            client.client_kill_filter(_id=conn["id"])
        return len(mine)
    finally:
        client.close()


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


def test_a_locked_sqlite_database_goes_on_stateless(invoke: Invoke, delivered: RecordingDeliver,
                                                     tmp_path) -> None:
    path = tmp_path / "state.db"
    env = base_env(STATE_URL=f"sqlite:///{path}")
    invoke(read_event("timer_check_last_hour"), env=env)  # creates the schema
    delivered.docs.clear()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        doc = invoke(read_event("timer_default"), env=env)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_reported_stateless(doc, delivered)
    assert "OperationalError" in unavailable(doc)[0]["message"]


def test_the_redis_password_never_shows(invoke: Invoke, delivered: RecordingDeliver, capsys,
                                        redis_prefix: str) -> None:
    password = "state-pass-9d1c7e"
    for url in (f"redis://:{password}@127.0.0.1:{closed_port()}/11",  # unreachable
                redis_state_url(f":{password}")):  # reachable, refuses the password
        doc = invoke(read_event("timer_default"), env=base_env(STATE_URL=url, STATE_PREFIX=redis_prefix))
        assert unavailable(doc)
        out = capsys.readouterr()
        assert password not in json.dumps(doc) + json.dumps(delivered.docs) + out.out + out.err

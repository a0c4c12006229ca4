"""A Redis-speaking server that dribbles or announces a huge reply cannot hold or swell a run.

A fake server on loopback answers the connection set-up like Redis, then misbehaves on the
run's first real command. The client must give up by its call deadline (not per read) and
refuse an oversized reply from its header, and the run goes on stateless and still reports.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable, Dict, Iterator, List

import pytest

from sms_receipt_stats.state.resp import MAX_BULK, MAX_ITEMS, RespClient
from sms_receipt_stats.state.store import StoreError
from support import RecordingDeliver, base_env, read_event

Invoke = Callable[..., Dict[str, Any]]


class FakeRedis:
    """Answers `+OK` to the set-up commands (CLIENT, AUTH, SELECT, PING), then `misbehave(conn)`."""

    def __init__(self, misbehave: Callable[[socket.socket], None]):
        self.misbehave = misbehave
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.sent: List[int] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(conn,), daemon=True).start()

    def _conn(self, conn: socket.socket) -> None:
        with conn:
            buf = b""
            try:
                while not self.stop.is_set():
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                    if b"CLIENT" in buf or b"AUTH" in buf or b"SELECT" in buf:
                        buf = b""
                        conn.sendall(b"+OK\r\n")
                        continue
                    self.misbehave(conn)
                    buf = b""
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture()
def fake_redis() -> Iterator[Callable[[Callable[[socket.socket], None]], FakeRedis]]:
    servers: List[FakeRedis] = []

    def start(misbehave: Callable[[socket.socket], None]) -> FakeRedis:
        servers.append(FakeRedis(misbehave))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def drip(stop: threading.Event) -> Callable[[socket.socket], None]:
    """One byte every 0.2 s of a 200-byte bulk reply: 40 s if a client waited per read."""

    def misbehave(conn: socket.socket) -> None:
        payload = b"$200\r\n" + b"x" * 200 + b"\r\n"
        for byte in payload:
            if stop.is_set():
                return
            conn.sendall(bytes([byte]))
            time.sleep(0.2)

    return misbehave


def announce(header: bytes) -> Callable[[socket.socket], None]:
    """Send only a reply header and then nothing: a client that tried to read the body would time out."""

    def misbehave(conn: socket.socket) -> None:
        conn.sendall(header)

    return misbehave


def client(port: int, call_timeout: float = 1.0) -> RespClient:
    return RespClient(f"redis://127.0.0.1:{port}/0", connect_timeout=0.4, command_timeout=0.3,
                      call_timeout=call_timeout, client_name="t")


def test_a_dribbled_reply_ends_at_the_call_deadline(fake_redis: Any) -> None:
    stop = threading.Event()
    server = fake_redis(drip(stop))
    with pytest.raises(StoreError, match="TimeoutError"):  # the whole reply would have taken 40 s
        client(server.port).execute("GET", "k")
    stop.set()


def test_the_deadline_counts_on_the_injected_clock(fake_redis: Any) -> None:
    """Each read is given only what is left of the call: with a clock that says the time is up
    after the set-up, the command fails at once instead of waiting for the slow bytes."""
    stop = threading.Event()
    server = fake_redis(drip(stop))
    ticks = iter([0.0, 0.1, 0.2, 0.3, 0.4] + [5.0] * 1000)
    c = RespClient(f"redis://127.0.0.1:{server.port}/0", connect_timeout=0.4, command_timeout=0.3,
                   call_timeout=1.0, client_name="t", clock=lambda: next(ticks))
    with pytest.raises(StoreError, match="TimeoutError"):
        c.execute("GET", "k")
    stop.set()


@pytest.mark.parametrize("header", [b"$2000000000\r\n", b"$%d\r\n" % (MAX_BULK + 1)])
def test_a_huge_bulk_is_refused_from_its_header(fake_redis: Any, header: bytes) -> None:
    server = fake_redis(announce(header))
    with pytest.raises(StoreError, match="too large"):  # not TimeoutError: the body was never awaited
        client(server.port, call_timeout=5.0).execute("GET", "k")


def test_a_huge_array_is_refused_from_its_header(fake_redis: Any) -> None:
    server = fake_redis(announce(b"*%d\r\n" % (MAX_ITEMS + 1)))
    with pytest.raises(StoreError, match="too large"):
        client(server.port, call_timeout=5.0).execute("MGET", "a")


def test_many_bulks_within_the_cap_are_refused_past_the_reply_budget(fake_redis: Any) -> None:
    header = b"*4\r\n" + b"$%d\r\n" % MAX_BULK + b"x" * MAX_BULK + b"\r\n" + b"$%d\r\n" % MAX_BULK
    server = fake_redis(lambda conn: conn.sendall(header + b"x" * MAX_BULK + b"\r\n" + b"$%d\r\n" % MAX_BULK))
    with pytest.raises(StoreError, match="too large"):
        client(server.port, call_timeout=10.0).execute("MGET", "a", "b", "c", "d")


def test_a_normal_reply_still_reads(fake_redis: Any) -> None:
    server = fake_redis(lambda conn: conn.sendall(b"*3\r\n$3\r\nabc\r\n$-1\r\n:7\r\n"))
    assert client(server.port).execute("MGET", "a", "b", "c") == ["abc", None, 7]


@pytest.mark.parametrize("kind", ["drip", "huge"])
def test_the_run_goes_stateless_and_still_reports(invoke: Invoke, delivered: RecordingDeliver, fake_redis: Any,
                                                  kind: str) -> None:
    stop = threading.Event()
    server = fake_redis(drip(stop) if kind == "drip" else announce(b"$2000000000\r\n"))
    env = base_env(STATE_URL=f"redis://127.0.0.1:{server.port}/11", STATE_PREFIX="bounds:")
    doc = invoke(read_event("timer_default"), env=env, context={"time_limit_in_ms": 30_000})
    stop.set()
    assert all(r["stats"] is not None for r in doc["results"]) and len(doc["results"]) == 3
    warnings = [a for a in doc["alerts"] if a["rule"] == "state_unavailable"]
    assert len(warnings) == 1
    assert ("TimeoutError" if kind == "drip" else "too large") in warnings[0]["message"]
    assert len(delivered.docs) == 1

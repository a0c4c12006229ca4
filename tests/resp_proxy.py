"""A RESP-aware fault proxy in front of the real Redis: counts commands, then breaks one.

The state store's client speaks RESP (https://redis.io/docs/latest/develop/reference/protocol-spec/):
a command is an array of bulk strings, a reply is one RESP value (`+` simple string, `-` error,
`:` integer, `$` bulk string or nil, `*` array, nested). The proxy reads whole commands and whole
replies, so it can number the commands of a run (set-up ones included: `SELECT`, `CLIENT SETNAME`)
and, from command `at` on (for `count` commands, or every later one; only the commands named
`only` when given), do one of:

- `kill`: close the client's connection instead of answering (the command never reaches Redis);
- `stall`: never answer (the command never reaches Redis) until the client gives up;
- `drip`: forward the command and answer after `delay` seconds (a slow network or server);
- `wrong`: forward the command (so Redis acts on it) and answer `shape` instead of the real
  reply: `*0`, `+OK`, nil (`$-1`) or `:1`.

    with RespProxy() as proxy:
        proxy.inject("wrong", at=5, count=1, shape=NIL)
        env["STATE_URL"] = proxy.url
        ...
        proxy.commands   # every command seen, as [name, args...] (str)

The real server is never paused, flushed or stopped: faults live in the proxy only.
`run_job` and `check_outcome` drive a check, a report or a lookup through it (the fault tests,
the chaos test and `bench/bench_store_chaos.py` share them).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from sms_receipt_stats.stats import Stats
from support import (
    APP_IDS_ENV,
    APP_PROD,
    APPS,
    REDIS_HOST,
    REDIS_PORT,
    REDIS_TEST_DB,
    FakeFetcher,
    RecordingDeliver,
    base_env,
    before_the_limit,
    check_http_response,
    check_result_document,
    fake_deps,
    read_event,
    redis_client,
    stats_event,
)

EMPTY_ARRAY, OK, NIL, ONE = b"*0\r\n", b"+OK\r\n", b"$-1\r\n", b":1\r\n"
#: the wrong shapes the proxy can answer with
SHAPES = {"*0": EMPTY_ARRAY, "+OK": OK, "nil": NIL, ":1": ONE}
KINDS = ("kill", "stall", "drip", "wrong")


@dataclass
class Fault:
    kind: str
    at: int  # the first command (0-based, across connections) it may hit
    count: Optional[int] = None  # how many commands it hits; None: every one from `at` on
    delay: float = 0.15
    shape: bytes = EMPTY_ARRAY
    only: Optional[str] = None  # hit only commands of this name (`MGET`, `EVALSHA`, `SET`)
    hit: int = 0

    def hits(self, index: int, name: str) -> bool:
        """Whether the command `index` named `name` is hit (counts the hit)."""
        if index < self.at or (self.only is not None and name.upper() != self.only):
            return False
        if self.count is not None and self.hit >= self.count:
            return False
        self.hit += 1
        return True


class _Reader:
    """Whole RESP values off a socket, as raw bytes (for relaying) or decoded (commands)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError
        self.buf += chunk

    def line(self) -> bytes:
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buf[:end + 2])
                del self.buf[:end + 2]
                return line
            self._fill()

    def exactly(self, size: int) -> bytes:
        while len(self.buf) < size:
            self._fill()
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data

    def raw_value(self) -> bytes:
        line = self.line()
        kind = line[:1]
        if kind == b"$":
            size = int(line[1:-2])
            return line if size < 0 else line + self.exactly(size + 2)
        if kind == b"*":
            count = int(line[1:-2])
            return line + b"".join(self.raw_value() for _ in range(max(0, count)))
        return line

    def command(self) -> Tuple[bytes, List[str]]:
        """One command: its raw bytes (relayed as they came) and its arguments as text."""
        line = self.line()
        if line[:1] != b"*":
            raise EOFError  # inline commands are not what our client sends
        raw, args = [line], []
        for _ in range(int(line[1:-2])):
            head = self.line()
            data = self.exactly(int(head[1:-2]) + 2)
            raw += [head, data]
            args.append(data[:-2].decode("utf-8", "replace"))
        return b"".join(raw), args


class RespProxy:
    """A loopback proxy to Redis (`REDIS_HOST:REDIS_PORT`); `url` is the tests' database through it."""

    def __init__(self, upstream: Any = (REDIS_HOST, REDIS_PORT), db: int = REDIS_TEST_DB):
        self.upstream = upstream
        self.db = db
        self.commands: List[List[str]] = []
        self.faults_hit = 0
        self.fault: Optional[Fault] = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conns: List[socket.socket] = []
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/{self.db}"

    def inject(self, kind: str, at: int = 0, count: Optional[int] = None, delay: float = 0.15,
               shape: bytes = EMPTY_ARRAY, only: Optional[str] = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            self.fault = Fault(kind, at, count, delay, shape, only)

    def reset(self) -> None:
        """Forget the commands seen and the fault (connections in use stay up)."""
        with self._lock:
            self.commands = []
            self.fault = None
            self.faults_hit = 0

    def names(self) -> List[str]:
        """The commands seen, by name (`EVALSHA`, `SET`, ...)."""
        with self._lock:
            return [c[0].upper() for c in self.commands]

    # -- serving --------------------------------------------------------------------------

    def __enter__(self) -> RespProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        with self._lock:
            self._conns += [client, server]
        from_client, from_server = _Reader(client), _Reader(server)
        try:
            while not self._stop.is_set():
                raw, command = from_client.command()
                with self._lock:
                    index = len(self.commands)
                    self.commands.append(command)
                    fault = self.fault if self.fault is not None and self.fault.hits(index, command[0]) else None
                    if fault is not None:
                        self.faults_hit += 1
                if fault is not None and fault.kind == "kill":
                    return
                if fault is not None and fault.kind == "stall":
                    self._hold(client)
                    return
                server.sendall(raw)
                reply = from_server.raw_value()
                if fault is not None and fault.kind == "drip":
                    if self._stop.wait(fault.delay):
                        return
                elif fault is not None and fault.kind == "wrong":
                    reply = fault.shape
                client.sendall(reply)
        except (EOFError, OSError, ValueError):
            return
        finally:
            for sock in (client, server):
                with contextlib.suppress(OSError):
                    sock.close()

    def _hold(self, client: socket.socket) -> None:
        """Answer nothing until the client hangs up (its call deadline) or the proxy closes."""
        client.settimeout(0.05)
        deadline = time.monotonic() + 30
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                if not client.recv(65536):
                    return
            except socket.timeout:
                continue
            except OSError:
                return



# ---------------------------------------------------------------------------------------------
# The jobs the fault tests, the chaos test and bench/bench_store_chaos.py drive through the proxy
# ---------------------------------------------------------------------------------------------
JOBS = ("check", "report", "lookup")
#: a success rate of 52 %: every app fires `success_rate_below` on a check and on a report
BAD_STATS = Stats(RequestSuccessCount=1000, CallbackCount=950, CallbackSuccessCount=500, CallbackFailCount=450,
                  InvalidNumberCount=50)
SINK = "webhook+https://hooks.example.com/receive"


@dataclass
class JobRun:
    job: str
    apps: Tuple[str, ...]
    #: the result document (check, report) or the HTTP response (lookup)
    answer: Dict[str, Any]
    delivered: RecordingDeliver
    seconds: float


def job_event(job: str) -> Dict[str, Any]:
    if job == "check":
        return read_event("timer_check_last_hour")
    if job == "report":
        return read_event("timer_default")
    return stats_event({"app_id": APP_PROD, "window": "last_7d", "granularity": "day"})


def run_job(job: str, url: str, prefix: str, limit_ms: Optional[int] = None,
            apps: Tuple[str, ...] = APPS, watchdog: bool = False) -> JobRun:
    """One invocation of `job` through the doorway (`app.handle`) with the store at `url`: fake
    API (every app unhealthy), one recorded sink, the context's time limit `limit_ms` (the store's
    budget a share of it). With `watchdog`, a run still going at `limit_ms` fails, as SCF would kill it."""
    from sms_receipt_stats.app import handle
    from sms_receipt_stats.state.flow import open_state

    delivered = RecordingDeliver(needs_sinks=True)
    deps = fake_deps(FakeFetcher(BAD_STATS), delivered)
    if limit_ms:  # what the HTTP routes do once they pass the invocation's limit on (timer runs do it themselves)
        deps.open_state = lambda settings: open_state(settings, time_limit=limit_ms / 1000)
    names = dict(a.split("=") for a in APP_IDS_ENV.split(","))
    env = base_env(STATE_URL=url, STATE_PREFIX=prefix, NOTIFY_URLS=SINK,
                   SMS_SDK_APP_IDS=",".join(f"{a}={names.get(a, f'app{i}')}" for i, a in enumerate(apps)))
    context = {"request_id": f"chaos-{job}", **({"time_limit_in_ms": limit_ms} if limit_ms else {})}
    started = time.monotonic()
    if watchdog and limit_ms:
        answer = before_the_limit(lambda: handle(job_event(job), context, env=env, deps=deps), limit_ms)
    else:
        answer = handle(job_event(job), context, env=env, deps=deps)
    return JobRun(job, apps, answer, delivered, time.monotonic() - started)


def check_outcome(run: JobRun) -> str:
    """The contract whatever the store did: no internal error, and the run's alerts notified
    (a lookup: its numbers answered). → "stateful", "stateless" (the store's failure named in
    the document) or "answered" (a lookup); an AssertionError says what broke."""
    if run.job == "lookup":
        status, body = check_http_response(run.answer)
        assert status == 200, body
        assert body["app_id"] == APP_PROD and body["stats"] is not None and len(body["series"]) == 7
        return "answered"
    doc = check_result_document(run.answer)
    assert doc["kind"] == run.job and not doc["errors"], doc["errors"]
    assert [r["app_id"] for r in doc["results"]] == list(run.apps)
    assert len(run.delivered.docs) == 1, f"{len(run.delivered.docs)} deliveries"
    sent = run.delivered.docs[0]
    notified = {a["app_id"] for a in sent["alerts"]
                if a["rule"] == "success_rate_below" and a.get("notified") is not False}
    assert notified == set(run.apps), f"alerts not notified: {sorted(set(run.apps) - notified)}"
    failures = [a for a in doc["alerts"] if a["rule"] == "state_unavailable"]
    assert len(failures) <= 1
    return "stateless" if failures else "stateful"


def delete_prefix(prefix: str) -> None:
    client = redis_client()
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@dataclass
class ChaosCase:
    job: str
    kind: str
    at: int
    shape: str = ""  # the wrong shape's name (`*0`, `+OK`, `nil`, `:1`) for kind "wrong"


def chaos_case(rng: Any, index: int, commands: Dict[str, int],
               jobs: Tuple[str, ...] = ("check", "report")) -> ChaosCase:
    """The `index`-th case of a seeded run: jobs in turn, a random fault kind and command index
    (up to one past the job's command count: sometimes the fault never comes)."""
    job = jobs[index % len(jobs)]
    kind = rng.choice(KINDS)
    return ChaosCase(job, kind, rng.randrange(commands[job] + 1), rng.choice(sorted(SHAPES)) if kind == "wrong" else "")


def run_case(proxy: RespProxy, case: ChaosCase, prefix: str, limit_ms: int, delay: float = 0.15,
             apps: Tuple[str, ...] = APPS, watchdog: bool = False) -> Tuple[JobRun, str]:
    """One case through the proxy: (the run, its outcome per `check_outcome`); the keys deleted."""
    proxy.reset()
    proxy.inject(case.kind, at=case.at, count=1 if case.kind == "wrong" else None, delay=delay,
                 shape=SHAPES.get(case.shape, EMPTY_ARRAY))
    try:
        run = run_job(case.job, proxy.url, prefix, limit_ms=limit_ms, apps=apps, watchdog=watchdog)
        return run, check_outcome(run)
    finally:
        delete_prefix(prefix)


def count_commands(proxy: RespProxy, job: str, limit_ms: Optional[int] = None, apps: Tuple[str, ...] = APPS) -> int:
    """The commands `job` makes on a fresh prefix with nothing broken (the per-N sweeps go that
    far); a run that lost its store on a busy machine (its budget) is measured again."""
    import uuid

    for _ in range(3):
        prefix = f"count-{uuid.uuid4().hex[:12]}:"
        proxy.reset()
        try:
            if check_outcome(run_job(job, proxy.url, prefix, limit_ms=limit_ms, apps=apps)) != "stateless":
                return len(proxy.commands)
        finally:
            delete_prefix(prefix)
    raise AssertionError(f"{job}: no clean run to count its commands")

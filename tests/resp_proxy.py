"""A RESP-aware fault proxy in front of the real Redis: counts commands, then breaks one.

The state store's client speaks RESP (https://redis.io/docs/latest/develop/reference/protocol-spec/):
a command is an array of bulk strings, a reply is one RESP value (`+` simple string, `-` error,
`:` integer, `$` bulk string or nil, `*` array, nested). The proxy reads whole commands and whole
replies, so it can number the commands of a run (set-up ones included: `SELECT`, `CLIENT SETNAME`)
and, from command `at` on (for `count` commands, or every later one), do one of:

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
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

from support import REDIS_HOST, REDIS_PORT, REDIS_TEST_DB

EMPTY_ARRAY, OK, NIL, ONE = b"*0\r\n", b"+OK\r\n", b"$-1\r\n", b":1\r\n"
#: the wrong shapes the proxy can answer with
SHAPES = {"*0": EMPTY_ARRAY, "+OK": OK, "nil": NIL, ":1": ONE}
KINDS = ("kill", "stall", "drip", "wrong")


@dataclass
class Fault:
    kind: str
    at: int  # the first command (0-based, across connections) it hits
    count: Optional[int] = None  # how many commands it hits; None: every one from `at` on
    delay: float = 0.15
    shape: bytes = EMPTY_ARRAY

    def hits(self, index: int) -> bool:
        return index >= self.at and (self.count is None or index < self.at + self.count)


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

    def inject(self, kind: str, at: int, count: Optional[int] = None, delay: float = 0.15,
               shape: bytes = EMPTY_ARRAY) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            self.fault = Fault(kind, at, count, delay, shape)

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
                    fault = self.fault if self.fault is not None and self.fault.hits(index) else None
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


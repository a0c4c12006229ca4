"""A small Redis client on the standard library: RESP2 over TCP or TLS, one connection, bounded.

Why not the `redis` package: its source costs about 230 kB of the 4 MB deployment zip (it
imports its asyncio, cluster and sentinel clients whatever one uses), and that room is the
bytecode that keeps `import handler` fast at a cold start. The state store needs a dozen
commands, which RESP (https://redis.io/docs/latest/develop/reference/protocol-spec/) makes
simple: a command is an array of bulk strings; a reply is a simple string (`+`), an error
(`-`), an integer (`:`), a bulk string (`$`, -1 = nil) or an array (`*`).

Every reply is bounded before it is read (docs/state.md "Bounds"): a whole call (connect,
AUTH, the command and its reply) must end by one deadline, however slowly the bytes come, and
a reply that announces more than `MAX_BULK` bytes in one string, `MAX_ITEMS` elements in one
array or `MAX_REPLY` bytes in all is refused from its header, before anything is allocated.

One connection, serialised by a lock (the store's calls are short). Before reusing an idle
connection it is checked for readability, as redis-py's pool does: a connection the server
closed (a restart, `CLIENT KILL`) reads as EOF and is replaced before anything is sent, so
a command is never sent twice. A timeout or a broken connection fails the client for good:
the callers queued behind it fail at once instead of each waiting out its own timeout (a
client lives for one invocation; the next one connects afresh). Every failure is a `StoreError` naming its kind only
(`ConnectionError`, `TimeoutError`, the server's error word), never the URL or password.
"""

from __future__ import annotations

import contextlib
import hashlib
import select
import socket
import threading
import time
from typing import Any, Callable, List, Optional, Union
from urllib.parse import unquote, urlsplit

from sms_receipt_stats.state.store import Status, StoreError, shape_error

Reply = Union[None, int, str, List[Any]]

#: the largest single value the product stores is a run's result document (an hourly series of
#: 7 days is about 100 kB per app); 8 MiB is far above that and far below the 128 MB a function has
MAX_BULK = 8 * 1024 * 1024
#: all the strings of one reply together (HGETALL of a collection, MGET of the settled cache)
MAX_REPLY = 16 * 1024 * 1024
#: elements of one array reply, nested arrays included: 1,000 silences are 2,000, a cache MGET a few hundred
MAX_ITEMS = 100_000
#: a status, error or integer line; a longer one is not a server we speak to
MAX_LINE = 4096
_CHUNK = 65536


class RespError(StoreError):
    """An error reply of the server (`-ERR ...`): only its first word is kept."""


def encode(args: List[Union[str, int, bytes]]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode("utf-8")
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class RespClient:
    def __init__(self, url: str, *, connect_timeout: float, command_timeout: float,
                 client_name: Optional[str] = None, call_timeout: Optional[float] = None,
                 clock: Callable[[], float] = time.monotonic):
        parts = urlsplit(url)
        self.host = parts.hostname or "localhost"
        self.port = parts.port or 6379
        self.tls = parts.scheme.lower() == "rediss"
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        db = parts.path.strip("/")
        self.db = int(db) if db else 0
        self.client_name = client_name
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        #: one call (connect and set-up included) ends by then, whatever the server sends
        self.call_timeout = call_timeout if call_timeout is not None else connect_timeout + command_timeout
        self._clock = clock
        self._deadline = 0.0
        self._lock = threading.Lock()
        self._sock: Optional[socket.socket] = None
        self._buf = bytearray()
        self._budget = MAX_REPLY
        self._scripts: dict = {}
        #: set by the first failure: the client then fails at once (the store is gone for this run)
        self._failed: Optional[str] = None

    # -- connection ---------------------------------------------------------------------

    def _left(self) -> float:
        left = self._deadline - self._clock()
        if left <= 0:
            raise StoreError("TimeoutError: no answer in time")
        return left

    def _connect(self) -> None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=min(self.connect_timeout, self._left()))
            if self.tls:
                import ssl

                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        except socket.timeout:
            raise StoreError("TimeoutError: connecting") from None
        except OSError:
            raise StoreError("ConnectionError: cannot connect") from None
        self._sock = sock
        self._buf.clear()
        if self.password is not None:
            self._ok("AUTH", ["AUTH", self.username, self.password] if self.username else ["AUTH", self.password])
        if self.db:
            self._ok("SELECT", ["SELECT", self.db])
        if self.client_name:
            self._ok("CLIENT SETNAME", ["CLIENT", "SETNAME", self.client_name])

    def _ok(self, name: str, args: List[Any]) -> None:
        """A set-up command, which must answer `+OK` (else the connection is not what we think)."""
        reply = self._call(args)
        if not (isinstance(reply, Status) and reply == "OK"):
            raise shape_error(name)

    def _stale(self) -> bool:
        """An idle connection with something to read was closed (or is out of step): replace it."""
        sock = self._sock
        if sock is None or self._buf:
            return True
        pending = getattr(sock, "pending", None)
        if pending is not None and pending():
            return True
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        sock, self._sock = self._sock, None
        self._buf.clear()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    # -- commands -------------------------------------------------------------------------

    def execute(self, *args: Union[str, int, bytes]) -> Reply:
        with self._lock:
            if self._failed is not None:
                raise StoreError(self._failed)  # callers queued behind a failure do not wait their turn to fail
            if self._sock is not None and self._stale():
                self._drop()
            self._deadline = self._clock() + self.call_timeout
            try:
                if self._sock is None:
                    try:
                        self._connect()
                    except RespError:
                        self._drop()  # half set up (a refused password): no use going on
                        raise
                return self._call(list(args))
            except RespError as exc:
                if self._sock is None:
                    self._failed = str(exc)
                raise  # after an error reply the connection is still in step
            except BaseException as exc:
                self._drop()  # a timeout or a broken read leaves the stream out of step
                self._failed = str(exc) if isinstance(exc, StoreError) else type(exc).__name__
                raise

    def eval(self, script: str, keys: List[str], args: List[Union[str, int]]) -> Reply:
        """EVALSHA, falling back on EVAL the first time the server has not seen the script."""
        sha = self._scripts.get(script)
        if sha is None:
            sha = self._scripts[script] = hashlib.sha1(script.encode("utf-8")).hexdigest()
        try:
            return self.execute("EVALSHA", sha, len(keys), *keys, *args)
        except RespError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        return self.execute("EVAL", script, len(keys), *keys, *args)

    def _call(self, args: List[Any]) -> Reply:
        assert self._sock is not None
        try:
            self._sock.settimeout(min(self.command_timeout, self._left()))
            self._sock.sendall(encode(args))
            self._budget = MAX_REPLY
            return self._read(0)
        except socket.timeout:
            raise StoreError("TimeoutError: no answer in time") from None
        except OSError:
            raise StoreError("ConnectionError: the connection broke") from None

    def _fill(self) -> None:
        """One more chunk from the socket, waiting no longer than the call has left."""
        assert self._sock is not None
        self._sock.settimeout(min(self.command_timeout, self._left()))
        chunk = self._sock.recv(_CHUNK)
        if not chunk:
            raise StoreError("ConnectionError: closed by the server")
        self._buf += chunk

    def _line(self) -> bytes:
        while True:
            end = self._buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self._buf[:end])
                del self._buf[:end + 2]
                return line
            if len(self._buf) > MAX_LINE:
                raise StoreError("ProtocolError: reply line too long")
            self._fill()

    def _exactly(self, size: int) -> bytes:
        while len(self._buf) < size:
            self._fill()
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    def _count(self, raw: bytes, cap: int, what: str) -> int:
        try:
            count = int(raw)
        except ValueError:
            raise StoreError("ProtocolError: not a RESP reply") from None
        if count > cap:
            raise StoreError(f"ProtocolError: {what} too large")
        return count

    def _read(self, depth: int) -> Reply:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return Status(rest.decode("utf-8", "replace"))
        if kind == b"-":
            word = rest.split(b" ", 1)[0].decode("ascii", "replace")[:40]
            raise RespError(word or "ERR")
        if kind == b":":
            return self._count(rest, 2**63, "integer")
        if kind == b"$":
            size = self._count(rest, MAX_BULK, "bulk reply")
            if size < 0:
                return None
            if size > self._budget:
                raise StoreError("ProtocolError: reply too large")
            self._budget -= size
            data = self._exactly(size + 2)
            return data[:-2].decode("utf-8")
        if kind == b"*":
            count = self._count(rest, MAX_ITEMS, "array reply")
            if count < 0:
                return None
            if depth > 8:
                raise StoreError("ProtocolError: array nested too deep")
            self._budget -= count  # every element costs at least its header
            if self._budget < 0:
                raise StoreError("ProtocolError: reply too large")
            return [self._read(depth + 1) for _ in range(count)]
        raise StoreError("ConnectionError: not a RESP reply")

"""A TCP fault proxy the tests control: listens on a loopback port and forwards to a real server.

Faults are injected here, in front of a shared server, never on the server itself (other tests and
sessions use it). Each accepted connection takes the `Fault` set at that moment:

- `pass`: forward both ways;
- `refuse`: close the client's connection as soon as it is accepted;
- `reset`: the same with a TCP RST (SO_LINGER 0), as a host with nothing listening answers;
- `drop`: forward until `after` bytes have gone in direction `direction` (`up`: client → server,
  `down`: server → client), then close both sides; the bytes beyond `after` are not forwarded;
- `stall`: the same, but then stop forwarding and keep both sockets open (a server that hangs),
  until either side closes or the proxy stops.

`up` bytes counted include the publish the client sends, so `drop` on `down` after the handshake
lets the server receive a message whose confirm never reaches the client (a duplicate in the making).
`counts` has the bytes of the last connection each way, for choosing offsets from a clean session.
With `tls` (a server SSLContext) it terminates TLS and forwards plain bytes: an amqps:// broker.
`fault` may also be a callable, asked for each new connection (random faults, seeded by the test).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple, Union

UP, DOWN = "up", "down"


@dataclass(frozen=True)
class Fault:
    mode: str = "pass"  # pass | refuse | reset | drop | stall
    direction: str = DOWN
    after: int = 0


class _Link:
    """One client connection and its server connection, pumped by two threads."""

    def __init__(self, proxy: TcpProxy, client: socket.socket, fault: Fault):
        self.proxy = proxy
        self.client = client
        self.fault = fault
        self.server: Optional[socket.socket] = None
        self.sent = {UP: 0, DOWN: 0}
        self.lock = threading.Lock()
        self.tripped = threading.Event()
        self.closed = threading.Event()

    def start(self) -> None:
        if self.proxy.tls is not None:  # terminate TLS here, forward plain AMQP (an amqps:// access point)
            try:
                self.client = self.proxy.tls.wrap_socket(self.client, server_side=True)
            except (OSError, ValueError):
                self.close()
                return
        try:
            self.server = socket.create_connection(self.proxy.upstream, timeout=5)
            self.server.settimeout(None)
        except OSError:
            self.close()
            return
        for src, dst, direction in ((self.client, self.server, UP), (self.server, self.client, DOWN)):
            threading.Thread(target=self.pump, args=(src, dst, direction), daemon=True).start()

    def pump(self, src: socket.socket, dst: socket.socket, direction: str) -> None:
        """Forward until either side closes; past a tripped `drop` close both, past a `stall` swallow."""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if self.tripped.is_set():
                    if self.fault.mode == "drop":
                        break
                    continue
                data = self.limit(data, direction)
                if data:
                    dst.sendall(data)
                if self.tripped.is_set() and self.fault.mode == "drop":
                    break
        except OSError:
            pass
        self.close()

    def limit(self, data: bytes, direction: str) -> bytes:
        """The part of `data` that may pass before the fault trips (all of it when no fault)."""
        with self.lock:
            self.proxy.counts[direction] = self.sent[direction] + len(data)
            if self.fault.mode not in ("drop", "stall") or self.fault.direction != direction:
                self.sent[direction] += len(data)
                return data
            room = max(0, self.fault.after - self.sent[direction])
            if len(data) >= room:
                self.tripped.set()
                self.proxy.tripped += 1
                data = data[:room]
            self.sent[direction] += len(data)
            return data

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for sock in (self.client, self.server):
            if sock is None:
                continue
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        with self.proxy.lock:
            if self in self.proxy.links:
                self.proxy.links.remove(self)


class TcpProxy:
    """`with TcpProxy(("127.0.0.1", 5672)) as proxy:` → `proxy.port`; set `proxy.fault` between attempts."""

    def __init__(self, upstream: Tuple[str, int], tls: Optional[ssl.SSLContext] = None):
        self.upstream = upstream
        self.tls = tls
        self.fault: Union[Fault, Callable[[], Fault]] = Fault()
        self.faults: List[Fault] = []  # what each accepted connection got, in order
        self.links: List[_Link] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.accepted = 0
        self.tripped = 0
        self.counts = {UP: 0, DOWN: 0}
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            fault = self.fault if isinstance(self.fault, Fault) else self.fault()
            self.faults.append(fault)
            if fault.mode in ("refuse", "reset"):
                if fault.mode == "reset":
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                continue
            link = _Link(self, client, fault)
            with self.lock:
                self.links.append(link)
            threading.Thread(target=link.start, daemon=True).start()

    def open_links(self) -> int:
        with self.lock:
            return len(self.links)

    def __enter__(self) -> TcpProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):  # shutdown wakes the accept() (a close alone does not, on Linux)
            self.listener.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.listener.close()
        with self.lock:
            links = list(self.links)
        for link in links:
            link.close()
        self.thread.join(timeout=2)

"""A hostile Redis-speaking server against the store client: how long and how much memory.

    python bench/bench_store_bounds.py

A fake server on loopback answers the connection set-up, then either drips a 200-byte reply
one byte per 0.2 s (40 s for a client that waits per read) or announces a 2,000,000,000-byte
bulk string. Prints, per case, the seconds until the client gives up, the error it names and
the peak Python allocation during the call (tracemalloc). Goal: about `store.CALL_TIMEOUT`
(1 s) for the drip, and no allocation near the announced size. See docs/state.md "Bounds".
"""

from __future__ import annotations

import socket
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sms_receipt_stats.state.redis_store import COMMAND_TIMEOUT, CONNECT_TIMEOUT  # noqa: E402
from sms_receipt_stats.state.resp import RespClient  # noqa: E402
from sms_receipt_stats.state.store import CALL_TIMEOUT, StoreError  # noqa: E402


def serve(misbehave: Callable[[socket.socket, threading.Event], None], stop: threading.Event) -> int:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def one() -> None:
        conn, _ = listener.accept()
        with conn:
            while not stop.is_set():
                data = conn.recv(65536)
                if not data:
                    return
                if b"CLIENT" in data:
                    conn.sendall(b"+OK\r\n")
                    continue
                misbehave(conn, stop)
                return

    threading.Thread(target=one, daemon=True).start()
    return listener.getsockname()[1]


def drip(conn: socket.socket, stop: threading.Event) -> None:
    for byte in b"$200\r\n" + b"x" * 200 + b"\r\n":
        if stop.is_set():
            return
        conn.sendall(bytes([byte]))
        time.sleep(0.2)


def huge(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"$2000000000\r\n")
    stop.wait(10)


def measure(name: str, misbehave: Callable[[socket.socket, threading.Event], None]) -> None:
    stop = threading.Event()
    port = serve(misbehave, stop)
    client = RespClient(f"redis://127.0.0.1:{port}/0", connect_timeout=CONNECT_TIMEOUT,
                        command_timeout=COMMAND_TIMEOUT, call_timeout=CALL_TIMEOUT, client_name="bench")
    tracemalloc.start()
    started = time.monotonic()
    try:
        client.execute("GET", "k")
        outcome = "answered (unexpected)"
    except StoreError as exc:
        outcome = str(exc)
    seconds = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stop.set()
    client.close()
    print(f"{name:<28} {seconds:6.2f} s   peak {peak / 1024:8.1f} KiB   {outcome}")


def main() -> int:
    print(f"call deadline {CALL_TIMEOUT:.1f} s")
    measure("drip 1 byte / 0.2 s (40 s)", drip)
    measure("announce $2000000000", huge)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A local chat-webhook receiver for the demo and tests: records what a robot would get."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from sms_receipt_stats.dev.emulator import LoopbackServer, QuietHandler


@dataclass
class Received:
    path: str
    headers: Dict[str, str]
    body: bytes
    json: Optional[Any] = None


class _Handler(QuietHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 2_000_000))
        try:
            parsed = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            parsed = None
        self.server.owner.record(Received(self.path, dict(self.headers.items()), body, parsed))
        answer = json.dumps({"errcode": 0, "errmsg": "ok", "code": 0, "msg": "success"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


class Receiver(LoopbackServer):
    """`with Receiver() as r:` → `r.url` to post to, `r.received` what arrived."""

    handler = _Handler
    thread_name = "chat-receiver"

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        super().__init__(host, port)
        self._received: List[Received] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.endpoint

    @property
    def received(self) -> List[Received]:
        with self._lock:
            return list(self._received)

    def record(self, item: Received) -> None:
        with self._lock:
            self._received.append(item)

"""`sms-receipt-stats serve`: the handler behind a local HTTP server, for development.

Each request becomes the event an SCF function URL sends (Tencent Cloud, 函数 URL 概述 /
Function URL overview, https://cloud.tencent.com/document/product/583/96099: an event
"compatible with the API Gateway protocol" holding `httpMethod`, `path`, `queryString`,
`headers` (with `x-scf-remote-addr`, the client's address) and `body`), is passed to
`handler.main_handler`, and the answer (`statusCode`, `headers`, `body`, and
`isBase64Encoded` when the handler sets it) is written back, as `sam local start-api` does
for Lambda. Like the emulator it binds loopback by default.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union
from urllib.parse import parse_qsl, urlsplit

from sms_receipt_stats.dev.emulator import LoopbackServer, QuietHandler

Handler = Callable[[Any, Any], Any]
MAX_BODY = 1024 * 1024
#: what `serve` gives each invocation, like the function's configured time limit
DEFAULT_TIMEOUT = 30.0


def function_url_event(method: str, target: str, headers: Mapping[str, str], body: bytes,
                       remote_addr: str = "127.0.0.1") -> Dict[str, Any]:
    """The SCF function URL event of one HTTP request (`target` is the request line's path?query)."""
    parts = urlsplit(target)
    query: Dict[str, Union[str, List[str]]] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in query:  # a repeated key keeps all its values; the handler refuses conflicting ones
            previous = query[key]
            query[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            query[key] = value
    lowered = {k.lower(): v for k, v in headers.items()}
    lowered["x-scf-remote-addr"] = remote_addr
    return {
        "httpMethod": method.upper(),
        "path": parts.path or "/",
        "queryString": query,
        "headers": lowered,
        "body": body.decode("utf-8", errors="replace"),
    }


class _Handler(QuietHandler):
    server_version = "sms-receipt-stats-serve"

    def _invoke(self) -> None:
        owner: FunctionUrlServer = self.server.owner
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            self._write(413, {"Content-Type": "text/plain; charset=utf-8"}, b"request body too large\n")
            return
        body = self.rfile.read(length) if length > 0 else b""
        event = function_url_event(self.command, self.path, dict(self.headers.items()), body, self.client_address[0])
        started = time.monotonic()
        answer = owner.invoke(event)
        status, headers, data = to_http(answer)
        if self.command == "HEAD":
            data = b""
        owner.log(f"{self.command} {event['path']} {status} {int((time.monotonic() - started) * 1000)} ms")
        self._write(status, headers, data)

    def _write(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
        try:
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _invoke


def to_http(answer: Any) -> Tuple[int, Dict[str, str], bytes]:
    """What the function URL makes of a handler's answer: an integration response as it says,
    anything else as a JSON body with status 200."""
    import json

    if isinstance(answer, Mapping) and "statusCode" in answer:
        try:
            status = int(answer["statusCode"])
        except (TypeError, ValueError):
            status = 502
        headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
        body = answer.get("body")
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        data = base64.b64decode(text) if answer.get("isBase64Encoded") else text.encode("utf-8")
        return status, headers, data
    data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
    return 200, {"Content-Type": "application/json; charset=utf-8"}, data


class FunctionUrlServer(LoopbackServer):
    """A loopback HTTP server that answers every request with `handler(event, context)`."""

    handler = _Handler
    thread_name = "function-url"

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0,
                 timeout: float = DEFAULT_TIMEOUT, log: Optional[Callable[[str], None]] = None):
        super().__init__(host, port)
        self._handler = handler
        self.timeout = timeout
        self._log = log

    def invoke(self, event: Dict[str, Any]) -> Any:
        context = {"request_id": str(uuid.uuid4()), "time_limit_in_ms": int(self.timeout * 1000),
                   "memory_limit_in_mb": 128, "function_name": "sms-receipt-stats"}
        return self._handler(event, context)

    def log(self, line: str) -> None:
        """One line per request: method, path (never the query: a signed link's sig is in it), status."""
        if self._log is not None:
            self._log(line)

"""The tests' support module: constants, the fake edges and builders every test folder uses.

Plain code, no fixtures (`tests/conftest.py` wraps the pieces tests want as fixtures), so
property tests can build a fresh world per generated example: `from support import ...`
(pytest puts tests/ on sys.path for the root conftest.py).

- the fixtures' constants (token, apps, NOW) and `read_event` for `tests/events/`
- `FakeClock` (monotonic + sleep), `FakeFetcher`, `RecordingDeliver`, `fake_deps`
- environment builders: `base_env`, `plain_env`, `canary_env` (a canary in every secret)
- response invariants: `check_http_response`, `check_result_document`, `log_lines`
- the real Redis of the machine (`REDIS_TEST_URL`): `redis_client`, `redis_state_url`; its RabbitMQ:
  `AMQP_TEST_URL`, `AmqpScratch`
- `HeartbeatReceiver`: a healthchecks.io-style ping endpoint
- `DrippingEndpoint`: an HTTP endpoint that drips, stalls or never answers (too slow an upstream)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, TypeVar
from urllib.parse import urlsplit

from sms_receipt_stats import log as product_log
from sms_receipt_stats.config import Settings
from sms_receipt_stats.dev.emulator import api_stats
from sms_receipt_stats.documents import Delivery, ResultDocument
from sms_receipt_stats.jobs import JobDeps
from sms_receipt_stats.sdk import CloudError
from sms_receipt_stats.stats import Stats

EVENTS_DIR = Path(__file__).parent / "events"

#: the bearer token the API Gateway fixtures carry (tests/events/apigw_*.json)
API_TOKEN = "fixture-api-token-7f3c9a1e5b"
#: the app of the API Gateway fixtures, then two more (ids ending in 9 are unhealthy in the emulator)
APP_PROD, APP_STAGING, APP_MARKETING = "1400006874", "1400000002", "1400000009"
APP_IDS_ENV = f"{APP_PROD}=prod,{APP_STAGING}=staging,{APP_MARKETING}=marketing"
#: the fixtures' `Time`: 2026-11-25 09:00 in Asia/Shanghai
NOW = datetime(2026, 11, 25, 1, 0, 0, tzinfo=timezone.utc)
JSON_CT = "application/json; charset=utf-8"
ERROR_KEYS = {"code", "message", "request_id", "severity", "category", "retryable", "hint"}
#: two more tokens the property tests accept besides API_TOKEN
OTHER_TOKENS = ("second-token-0b1c2d3e4f", "third-token-5a6b7c8d9e")
APPS = (APP_PROD, APP_STAGING, APP_MARKETING)
#: well formed, not in API_ALLOWED_APP_IDS
APP_NOT_ALLOWED = "1400000003"
#: healthy counters for a fetcher that should not raise alerts
HEALTHY_STATS = Stats(RequestSuccessCount=1000, CallbackCount=950, CallbackSuccessCount=900, CallbackFailCount=50,
                      InvalidNumberCount=50)


def read_event(name: str) -> Dict[str, Any]:
    """A fresh copy of `tests/events/<name>.json` (tests may mutate it)."""
    with open(EVENTS_DIR / f"{name}.json", encoding="utf-8") as fh:
        return json.load(fh)


class FakeClock:
    """Monotonic clock plus sleep: sleeping advances the clock and is recorded, never waits."""

    def __init__(self, start: float = 1000.0):
        self.now = start
        self.sleeps: List[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class FakeFetcher:
    """A StatsFetcher without network: the emulator's pure oracle, or fixed stats, or errors.

    `fail(app_id, code, times=None)` makes calls for `app_id` raise CloudError(code) (`times`
    calls, or forever); `stats_for[app_id]` pins the stats answered for every call of an app;
    `FakeFetcher(stats)` answers `stats` for every other app (default: the emulator's oracle).
    """

    def __init__(self, stats: Optional[Stats] = None) -> None:
        self.calls: List[Tuple[str, str, str]] = []
        self.stats_for: Dict[str, Stats] = {}
        self.stats = stats
        self._faults: Dict[str, List[Any]] = {}
        self._lock = threading.Lock()
        self.on_fetch: Optional[Callable[[str, str, str], None]] = None

    def fail(self, app_id: str, code: str, times: Optional[int] = None, message: str = "injected failure",
             request_id: str = "req-error-0001") -> None:
        self._faults[app_id] = [code, times, message, request_id]

    def fetch(self, app_id: str, begin_time: str, end_time: str,
              timeout: Optional[float] = None) -> Tuple[Stats, Optional[str]]:
        with self._lock:
            self.calls.append((app_id, begin_time, end_time))
            number = len(self.calls)
            fault = self._faults.get(app_id)
            if fault is not None and fault[1] is not None:
                fault[1] -= 1
                if fault[1] <= 0:
                    del self._faults[app_id]
        if self.on_fetch is not None:
            self.on_fetch(app_id, begin_time, end_time)
        if fault is not None:
            raise CloudError(fault[0], fault[2], fault[3])
        if app_id in self.stats_for:
            return self.stats_for[app_id], f"req-{number:04d}"
        if self.stats is not None:
            return self.stats, f"req-{number:04d}"
        return Stats(**api_stats(app_id, begin_time, end_time)), f"req-{number:04d}"

    def calls_for(self, app_id: str) -> List[Tuple[str, str, str]]:
        return [c for c in self.calls if c[0] == app_id]


class RecordingDeliver:
    """`JobDeps.deliver` that records what would have been sent and reports one successful delivery.

    `RecordingDeliver(needs_sinks=True)` reports none when NOTIFY_URLS configures no sink, as the
    real delivery does.
    """

    def __init__(self, needs_sinks: bool = False) -> None:
        self.docs: List[Dict[str, Any]] = []
        self.needs_sinks = needs_sinks

    def __call__(self, doc: ResultDocument, settings: Settings, deadline: Optional[float]) -> List[Delivery]:
        self.docs.append(doc.to_json_dict())
        if self.needs_sinks and not settings.sinks:
            return []
        return [Delivery(sink="fake", ok=True, attempts=1)]


def base_env(**overrides: Optional[str]) -> Dict[str, str]:
    """A minimal environment for the fake fetcher: three apps, one API token, dummy credentials.

    An override of None removes the variable.
    """
    env = {
        "TENCENTCLOUD_SECRETID": "AKIDunit000000000000000000000000",
        "TENCENTCLOUD_SECRETKEY": "unit-secret-key-0000",
        "SMS_SDK_APP_IDS": APP_IDS_ENV,
        "API_TOKENS": API_TOKEN,
    }
    return apply_overrides(env, overrides)


def apply_overrides(env: Dict[str, str], overrides: Mapping[str, Optional[str]]) -> Dict[str, str]:
    """`env` with `overrides` applied in place; an override of None removes the variable."""
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def drop_product_log_handler() -> None:
    """Forget the stdout handler `log.configure` bound, so the next call binds the current stdout, and
    let records propagate again as before it (pytest's `caplog` listens at the root)."""
    logger = logging.getLogger(product_log.LOGGER_NAME)
    for handler in list(logger.handlers):
        if isinstance(handler.formatter, product_log.JsonFormatter):
            logger.removeHandler(handler)
            logger.propagate = True



#: every status an HTTP lookup may answer (docs/http-api.md "HTTP lookups"; 413: oversized body)
ALLOWED_STATUSES = {200, 400, 401, 403, 404, 405, 413, 429, 502, 503}
SEVERITIES = {"info", "warning", "critical"}
CATEGORIES = {"input", "auth", "permission", "billing", "rate_limit", "transient", "clock", "upstream"}
#: what a stack trace or an internal leaks look like in a body
INTERNALS = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|"
                       r"\b(?:pydantic|site-packages|sms_receipt_stats\.)\b|<object at 0x|object at 0x[0-9a-f]+")


# ---------------------------------------------------------------------------------------------
# Canary secrets: one distinct, greppable value per secret-bearing variable.
# ---------------------------------------------------------------------------------------------
CANARY_SECRET_ID = "AKIDcanarySecretId9a8b7c6d5e4f3a2b1c"
CANARY_SECRET_KEY = "canary-secret-key-K3y9z"
CANARY_SESSION_TOKEN = "canary-session-token-T0k3n"
CANARY_API_TOKENS = ("canary-api-token-alpha-A1", "canary-api-token-beta-B2")
CANARY_WECOM_KEY = "canary-wecom-key-5e6f7a8b-0001"
CANARY_DINGTALK_TOKEN = "canarydingtalkaccesstoken0002"
CANARY_DINGTALK_SECRET = "SECcanary-dingtalk-sign-0003"
CANARY_FEISHU_HOOK = "canary-feishu-hook-uuid-0004"
CANARY_FEISHU_SECRET = "canary-feishu-sign-0005"
CANARY_SLACK_PATH = "T00CANARY/B00CANARY/canaryslackhookXXXX0006"
CANARY_WEBHOOK_SECRET = "canary-webhook-hmac-0007"
CANARY_WEBHOOK_TOKEN = "canary-webhook-query-token-0008"
CANARY_LINK_SECRET = "canary-dashboard-link-secret-0009"


def canaries() -> Dict[str, str]:
    """name → canary value; the values must never appear in any output."""
    values = {
        "TENCENTCLOUD_SECRETID": CANARY_SECRET_ID,
        "TENCENTCLOUD_SECRETKEY": CANARY_SECRET_KEY,
        "TENCENTCLOUD_SESSIONTOKEN": CANARY_SESSION_TOKEN,
        "wecom key": CANARY_WECOM_KEY,
        "dingtalk access_token": CANARY_DINGTALK_TOKEN,
        "dingtalk secret": CANARY_DINGTALK_SECRET,
        "feishu hook": CANARY_FEISHU_HOOK,
        "feishu secret": CANARY_FEISHU_SECRET,
        "slack hook path": CANARY_SLACK_PATH,
        "webhook secret": CANARY_WEBHOOK_SECRET,
        "webhook token": CANARY_WEBHOOK_TOKEN,
        "LINK_SECRET": CANARY_LINK_SECRET,
    }
    for i, token in enumerate(CANARY_API_TOKENS):
        values[f"API_TOKENS[{i}]"] = token
    return values


def find_canaries(text: str, extra: Iterable[str] = ()) -> List[str]:
    """The canaries (and `extra` values) present in `text`, also URL-encoded or JSON-escaped."""
    from urllib.parse import quote

    found = []
    for name, value in [*canaries().items(), *((v, v) for v in extra)]:
        forms = {value, quote(value, safe=""), json.dumps(value)[1:-1]}
        # a secret split in half still leaks; look for a long enough prefix too
        if any(form in text for form in forms) or value[: max(12, len(value) * 2 // 3)] in text:
            found.append(name)
    return found


def notify_urls(base: str, cmq_endpoint: Optional[str] = None, cmq_api_endpoint: Optional[str] = None) -> str:
    """NOTIFY_URLS with every chat kind and the signed webhook on `base`, `cmq://` (data flow) at
    `cmq_endpoint` and `cmq+api://` (management API) at `cmq_api_endpoint`, if given."""
    entries = [
        f"wecom+{base}/cgi-bin/webhook/send?key={CANARY_WECOM_KEY}",
        f"dingtalk+{base}/robot/send?access_token={CANARY_DINGTALK_TOKEN}#secret={CANARY_DINGTALK_SECRET}",
        f"feishu+{base}/open-apis/bot/v2/hook/{CANARY_FEISHU_HOOK}#secret={CANARY_FEISHU_SECRET}",
        f"slack+{base}/services/{CANARY_SLACK_PATH}",
        f"webhook+{base}/hook?token={CANARY_WEBHOOK_TOKEN}#secret={CANARY_WEBHOOK_SECRET}",
    ]
    if cmq_endpoint:
        entries += [f"cmq://queue/sms-stats#endpoint={cmq_endpoint}", f"cmq://topic/sms-alerts#endpoint={cmq_endpoint}"]
    if cmq_api_endpoint:
        entries += [f"cmq+api://queue/sms-stats#endpoint={cmq_api_endpoint}",
                    f"cmq+api://topic/sms-alerts#endpoint={cmq_api_endpoint}"]
    return ",".join(entries)


def canary_env(endpoint: Optional[str] = None, sinks: str = "", scf_names: bool = True,
               **overrides: Optional[str]) -> Dict[str, str]:
    """An environment with a canary in every secret-bearing variable."""
    env = {
        "SMS_SDK_APP_IDS": APP_IDS_ENV,
        "API_TOKENS": ",".join(CANARY_API_TOKENS),
        "NOTIFY_URLS": sinks,
        "TENCENTCLOUD_SESSIONTOKEN": CANARY_SESSION_TOKEN,
        # chat messages then carry signed dashboard links: the key signs them, it never travels with them
        "PUBLIC_URL": "https://1250000000-canary.ap-guangzhou.tencentscf.com",
        "LINK_SECRET": CANARY_LINK_SECRET,
    }
    if scf_names:
        env.update(TENCENTCLOUD_SECRETID=CANARY_SECRET_ID, TENCENTCLOUD_SECRETKEY=CANARY_SECRET_KEY)
    else:
        env.update(TENCENTCLOUD_SECRET_ID=CANARY_SECRET_ID, TENCENTCLOUD_SECRET_KEY=CANARY_SECRET_KEY)
    if endpoint:
        env["SMS_ENDPOINT"] = endpoint
    return apply_overrides(env, overrides)


def plain_env(**overrides: Optional[str]) -> Dict[str, str]:
    """The fixtures' environment: the fixture token plus two more, three apps, dummy credentials."""
    env = {
        "TENCENTCLOUD_SECRETID": "AKIDhardening0000000000000000000000",
        "TENCENTCLOUD_SECRETKEY": "hardening-secret-key-0000",
        "SMS_SDK_APP_IDS": APP_IDS_ENV,
        "API_TOKENS": ",".join((API_TOKEN, *OTHER_TOKENS)),
    }
    return apply_overrides(env, overrides)


# ---------------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------------
def stats_event(query: Optional[Mapping[str, Any]] = None, token: Optional[str] = API_TOKEN,
                method: str = "GET", body: Any = None, base64_body: bool = False) -> Dict[str, Any]:
    """The GET /stats fixture with its query replaced, a token (None: no header) and a body."""
    import base64

    event = read_event("apigw_get_stats")
    event["httpMethod"] = method
    event["requestContext"]["httpMethod"] = method
    q = dict(query if query is not None else {"app_id": APP_PROD, "window": "yesterday"})
    event["queryString"] = q
    event["queryStringParameters"] = dict(q)
    event["headers"].pop("authorization", None)
    if token is not None:
        event["headers"]["authorization"] = f"Bearer {token}"
    if body is not None:
        text = body if isinstance(body, str) else json.dumps(body)
        if base64_body:
            text = base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")
        event["body"] = text
        event["isBase64Encoded"] = base64_body
        event["headers"]["content-type"] = "application/json"
    return event


# ---------------------------------------------------------------------------------------------
# Fake edges
# ---------------------------------------------------------------------------------------------
_Server = TypeVar("_Server", bound="LoopbackServer")
_T = TypeVar("_T")


class LoopbackServer:
    """An HTTP server on a free loopback port, serving from a daemon thread inside `with`.

    Subclasses answer each POST in `do_post(request)` (the BaseHTTPRequestHandler of the
    request); `block_on_close = False` lets the server close without joining request threads.
    """

    block_on_close = True

    def __init__(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                outer.do_post(self)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = outer.block_on_close

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def do_post(self, request: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self: _Server) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def before_the_limit(call: Callable[[], _T], limit_ms: int) -> _T:
    """`call()` as SCF runs an invocation: killed at its time limit. A watchdog, not a measured
    duration: the test fails when `call` is still running at `limit_ms` (how long runs take is
    measured in bench/)."""
    box: Dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # handed to the test's thread below
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True, name="invocation")
    worker.start()
    worker.join(limit_ms / 1000.0)
    if worker.is_alive():
        raise AssertionError(f"still running at its {limit_ms} ms invocation limit: SCF would have killed it")
    if "error" in box:
        raise box["error"]
    return box["value"]


class HeartbeatReceiver:
    """A healthchecks.io-style ping endpoint on a free loopback port: records each GET's path and query."""

    def __init__(self, status: int = 200) -> None:
        outer = self
        self.status = status
        self.pings: List[Tuple[str, Dict[str, str]]] = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                from urllib.parse import parse_qsl

                parts = urlsplit(self.path)
                outer.pings.append((parts.path, dict(parse_qsl(parts.query))))
                self.send_response(outer.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def url(self, key: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/ping/{key}"

    def __enter__(self) -> HeartbeatReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def fake_deps(fetcher: Optional[FakeFetcher] = None, deliver: Optional[RecordingDeliver] = None,
              clock: Optional[FakeClock] = None, now: datetime = NOW) -> JobDeps:
    """JobDeps of fake edges: a healthy fetcher, a fresh clock, a deliverer that needs sinks."""
    fetcher = fetcher if fetcher is not None else FakeFetcher(HEALTHY_STATS)
    clock = clock if clock is not None else FakeClock()
    deliver = deliver if deliver is not None else RecordingDeliver(needs_sinks=True)
    return JobDeps(fetcher_factory=lambda settings: fetcher, now=lambda: now, monotonic=clock.monotonic,
                   sleep=clock.sleep, deliver=deliver)


# ---------------------------------------------------------------------------------------------
# Invariants
# ---------------------------------------------------------------------------------------------
def check_http_response(resp: Any) -> Tuple[int, Dict[str, Any]]:
    """The integration response shape (docs/http-api.md, "HTTP lookups"), for any input; → (status, body)."""
    assert isinstance(resp, dict), f"not a response: {type(resp).__name__}"
    assert resp.get("isBase64Encoded") is False
    status = resp.get("statusCode")
    assert status in ALLOWED_STATUSES, f"status {status}: {resp.get('body')!r:.300}"
    headers = resp.get("headers")
    assert isinstance(headers, dict) and headers.get("Content-Type") == JSON_CT
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    raw = resp.get("body")
    assert isinstance(raw, str)
    raw.encode("utf-8")  # API Gateway sends it as UTF-8: no lone surrogates
    assert not INTERNALS.search(raw), f"internals in body: {raw[:300]!r}"
    body = json.loads(raw)
    assert isinstance(body, dict)
    if status == 200:
        assert "error" not in body or body.get("error") is None
    else:
        error = body.get("error")
        assert isinstance(error, dict) and set(error) == ERROR_KEYS, body
        assert isinstance(error["code"], str) and error["code"]
        assert isinstance(error["message"], str) and len(error["message"]) <= 500
        assert error["severity"] in SEVERITIES and error["category"] in CATEGORIES
        assert isinstance(error["retryable"], bool)
        if status in (429, 503):
            assert headers.get("Retry-After", "").isdigit()
        if status == 401:
            assert error["code"] == "AuthFailure.Unauthorized"
    return status, body


def check_result_document(doc: Any) -> Dict[str, Any]:
    """The result document (README "Timer jobs"), for any timer input."""
    assert isinstance(doc, dict), f"not a result document: {type(doc).__name__}"
    json.dumps(doc)  # what SCF does with the return value
    text = json.dumps(doc, ensure_ascii=False)
    text.encode("utf-8")
    assert not INTERNALS.search(text), f"internals in result: {text[:300]!r}"
    assert doc["schema"] == "sms-receipt-stats/v1"
    assert doc["kind"] in ("report", "check", "error")
    for key in ("results", "alerts", "deliveries", "errors"):
        assert isinstance(doc[key], list)
    for result in doc["results"]:
        assert (result["stats"] is None) != (result["error"] is None), result
    return doc


def property_settings(max_examples: int) -> Any:
    """Bounded and derandomized, so CI sees the same cases every run; no per-example deadline."""
    from hypothesis import HealthCheck, settings

    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much, HealthCheck.large_base_example,
                                           HealthCheck.function_scoped_fixture])


class StrictStdio:
    """stdout/stderr as SCF has them: UTF-8 with errors="strict" (pytest's capture would replace)."""

    def __init__(self) -> None:
        import io

        self.stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", line_buffering=True)
        self.stderr = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", line_buffering=True)

    def out(self) -> str:
        self.stdout.flush()
        return self.stdout.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]

    def err(self) -> str:
        self.stderr.flush()
        return self.stderr.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]


def strict_stdio() -> Any:
    """`with strict_stdio() as io: handle(...)`; then `io.out()`/`io.err()` hold what was printed."""
    import contextlib
    import sys

    @contextlib.contextmanager
    def manager() -> Any:
        stdio = StrictStdio()
        drop_product_log_handler()
        old_out, old_err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = stdio.stdout, stdio.stderr
        try:
            yield stdio
        finally:
            sys.stdout, sys.stderr = old_out, old_err
            drop_product_log_handler()

    return manager()


def log_lines(text: str) -> List[Dict[str, Any]]:
    """Every stdout line must be one JSON log record; → the records."""
    records = []
    for line in text.split("\n"):  # SCF splits log lines on \n only (not on U+0085, U+2028, ...)
        if not line:
            continue
        record = json.loads(line)
        assert isinstance(record, dict) and {"level", "logger", "message"} <= set(record), line
        records.append(record)
    return records


#: the Redis every machine runs (started before the session and CI), shared: tests use their own db and a
#: prefix of their own, and delete what they create. `REDIS_TEST_URL` points the suite elsewhere
#: (another host, port or db: `redis://127.0.0.1:6380/3`).
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "").strip() or "redis://127.0.0.1:6379/11"
_REDIS_PARTS = urlsplit(REDIS_TEST_URL)
REDIS_HOST, REDIS_PORT = _REDIS_PARTS.hostname or "127.0.0.1", _REDIS_PARTS.port or 6379
REDIS_TEST_DB = int(_REDIS_PARTS.path.strip("/") or 0)


def redis_state_url(userinfo: str = "") -> str:
    """The tests' Redis as a STATE_URL, optionally with `user:password` (for AUTH tests)."""
    at = f"{userinfo}@" if userinfo else ""
    return f"redis://{at}{REDIS_HOST}:{REDIS_PORT}/{REDIS_TEST_DB}"


def redis_client() -> Any:
    """A plain client on the tests' database, for setup, inspection and cleanup."""
    import redis

    return redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_TEST_DB, decode_responses=True,
                       socket_timeout=5)


# ---------------------------------------------------------------------------------------------
# An HTTP endpoint that answers too slowly (tests/integration/test_dripping_upstream.py, bench/)
# ---------------------------------------------------------------------------------------------
class DrippingEndpoint:
    """A TCP server on a free loopback port that reads each HTTP request and then misbehaves.

    `mode`:
    - `drip`: a 200 with a long Content-Length, then the body one byte per `interval`;
    - `drip_head`: the status line and headers themselves one byte per `interval`;
    - `stall`: the headers of a 200, then nothing;
    - `silent`: accepts the connection and never writes (https: the TLS handshake never ends).
    Everything is released (sockets closed) when the `with` block ends.
    """

    def __init__(self, mode: str, interval: float = 0.25) -> None:
        self.mode = mode
        self.interval = interval
        self.release = threading.Event()
        #: set when a client closed a connection this server was still answering on
        self.peer_gone = threading.Event()
        self.connections = 0
        self._sockets: List[socket.socket] = []
        self._lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> DrippingEndpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release.set()
        self.thread.join(2)
        with self._lock:
            for conn in self._sockets:
                with contextlib.suppress(OSError):
                    conn.close()
        self.sock.close()

    def _accept(self) -> None:
        while not self.release.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            with self._lock:
                self.connections += 1
                self._sockets.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _read_request(self, conn: socket.socket) -> bool:
        conn.settimeout(5)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return False
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            while len(body) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    return False
                body += chunk
        except OSError:
            return False
        return True

    def _serve(self, conn: socket.socket) -> None:
        if self.mode == "silent":
            self.release.wait(120)
            return
        if not self._read_request(conn):
            return
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        try:
            if self.mode == "drip_head":
                self._drip(conn, head + b'{"Response": {}}')
                return
            conn.sendall(head)
            if self.mode == "stall":
                self.release.wait(120)
                return
            self._drip(conn, b" " * 100000)
        except OSError:
            return

    def _drip(self, conn: socket.socket, payload: bytes) -> None:
        for byte in payload:
            if self.release.wait(self.interval):
                return
            try:
                conn.sendall(bytes([byte]))
            except OSError:  # the client shut the connection: nobody reads the rest
                self.peer_gone.set()
                return


# ---------------------------------------------------------------------------------------------
# The machine's RabbitMQ (tests/integration/test_amqp_sink.py, bench/bench_amqp.py)
# ---------------------------------------------------------------------------------------------
#: the broker every machine runs (started before the session and CI); tests make their own names
AMQP_TEST_URL = os.environ.get("AMQP_TEST_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


class AmqpScratch:
    """A uniquely named direct exchange and a queue bound to it on the test broker, both deleted on
    exit; `entry()` writes the NOTIFY_URLS entry that publishes there (optionally through a proxy
    port, or with other credentials), `drain()` reads what arrived (acking it)."""

    def __init__(self, url: str = AMQP_TEST_URL, tag: str = "t") -> None:
        import uuid
        from urllib.parse import urlsplit

        self.url = url
        self.parts = urlsplit(url)
        unique = uuid.uuid4().hex[:10]
        self.exchange = f"srs-test-{tag}-{unique}"
        self.queue = f"srs-test-{tag}-{unique}"
        self.routing_key = "sms.report"
        self.connection: Any = None

    def __enter__(self) -> AmqpScratch:
        import pika

        self.connection = pika.BlockingConnection(pika.URLParameters(self.url))
        channel = self.connection.channel()
        channel.exchange_declare(self.exchange, exchange_type="direct", durable=False, auto_delete=False)
        channel.queue_declare(self.queue, durable=False, auto_delete=False)
        channel.queue_bind(self.queue, self.exchange, routing_key=self.routing_key)
        self.channel = channel
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            if self.connection.is_open:
                self.channel.queue_delete(self.queue)
                self.channel.exchange_delete(self.exchange)
                self.connection.close()
        except Exception:  # a test that broke the channel: reconnect to clean up
            import pika

            with pika.BlockingConnection(pika.URLParameters(self.url)) as conn:
                ch = conn.channel()
                ch.queue_delete(self.queue)
                ch.exchange_delete(self.exchange)

    def entry(self, *, port: Optional[int] = None, exchange: Optional[str] = None, routing_key: Optional[str] = None,
              userinfo: Optional[str] = None, scheme: str = "amqp", options: str = "") -> str:
        parts = self.parts
        auth = userinfo if userinfo is not None else f"{parts.username}:{parts.password}"
        ex = self.exchange if exchange is None else exchange
        key = self.routing_key if routing_key is None else routing_key
        fragment = "&".join(x for x in (f"exchange={ex}" if ex else "", f"routing_key={key}", options) if x)
        return f"{scheme}://{auth}@{parts.hostname}:{port or parts.port or 5672}{parts.path or '/'}#{fragment}"

    def drain(self) -> List[Tuple[Any, Any, bytes]]:
        """Every message in the queue as (method, properties, body), acked."""
        out = []
        while True:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                return out
            out.append((method, properties, body))

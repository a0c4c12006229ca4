"""Local, deterministic emulator of the Tencent Cloud API calls this product makes.

Why: integration tests, the benchmark and the offline ``demo`` must drive the *real*
tencentcloud SDK (TC3-HMAC-SHA256 signed JSON POSTs) without network or credentials.
The emulator verifies signatures independently, applies the API's own validation and
error codes, serves per-hour data that is a pure function of (app id, hour) so any split
of a window sums to the same totals, and injects faults (error codes, latency, the
10 requests/s limit) on request. Standard library only: it ships inside the package.

Served actions:

- ``sms`` ``2021-01-11`` ``CallbackStatusStatistics``
- ``sms`` ``2021-01-11`` ``SendStatusStatistics`` and ``SmsPackagesStatistics`` (the account's bill
  and balance), see ``Emulator._send_status_statistics`` and ``Emulator._sms_packages_statistics``
- ``tdmq`` ``2020-02-17`` ``SendCmqMsg`` and ``PublishCmqMsg`` (the queue sink)
- ``ckafka`` ``2019-08-19`` ``SendMessage`` (the CKafka sink) and ``DescribeDatahubTasks`` (its
  ``doctor`` check), see ``Emulator._ckafka``

And the other direction: ``dev/receipt_pusher.py`` pushes an app's receipts of some hours to a
callback URL as Tencent's status-report callback does; they add up to the
``CallbackStatusStatistics`` this emulator serves for those hours.
"""

from __future__ import annotations

import calendar
import collections
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Deque, Dict, Iterable, List, Mapping, Optional, Tuple, Type, TypeVar

__all__ = [
    "HOUR_RULES",
    "SECRET_ID",
    "SECRET_KEY",
    "STAT_FIELDS",
    "ApiError",
    "CallRecord",
    "Emulator",
    "LoopbackServer",
    "QuietHandler",
    "api_send",
    "api_stats",
    "default_packages",
    "hourly_send",
    "hourly_stats",
    "max_in_any_second",
    "parse_beijing_hour",
    "serve",
    "window_stats",
]

#: the emulator's own fixed test credentials (not secrets: they only open this emulator)
SECRET_ID = "AKIDEMULATOR000000000000000000000000"
SECRET_KEY = "emulator-secret-key"

SMS_SERVICE, SMS_VERSION = "sms", "2021-01-11"
TDMQ_SERVICE, TDMQ_VERSION = "tdmq", "2020-02-17"
CKAFKA_SERVICE, CKAFKA_VERSION = "ckafka", "2019-08-19"
#: SendMessage's regions (product 597 page 66682: "本接口仅支持" ...)
CKAFKA_REGIONS = frozenset({"ap-beijing", "ap-chengdu", "ap-chongqing", "ap-guangzhou", "ap-nanjing", "ap-seoul",
                            "ap-shanghai", "ap-singapore", "ap-tokyo", "na-siliconvalley"})
#: SendMessage's "单次请求最多500条" (product 597 page 66682)
CKAFKA_MAX_MESSAGES = 500
#: a topic's default message limit: Kafka's message.max.bytes default (key and body of one record);
#: a CKafka topic may set 1 KB to 12 MB (CreateTopic's MaxMessageBytes, [1024, 12582912])
CKAFKA_MAX_MESSAGE_BYTES = 1_048_588
#: a DataHub access point's id as the docs write it (`datahub-meuh9nhn`, product 597 pages 66682, 46797)
_DATAHUB_ID_RE = re.compile(r"^datahub-[0-9a-z]{8}$")

#: the API's clock-skew tolerance for X-TC-Timestamp
MAX_CLOCK_SKEW = 300
#: the API's maximum EndTime - BeginTime ("相差不超过32天", see ``HOUR_RULES``)
MAX_WINDOW_SECONDS = 32 * 86400
#: How BeginTime..EndTime is read. ``inclusive`` is the API's documented rule: both hours are
#: counted, so one hour is BeginTime == EndTime. Sources: the SDK's docstring of
#: ``CallbackStatusStatisticsRequest`` (tencentcloud-sdk-python-sms, sms/v20210111/models.py:
#: "EndTime 必须大于等于 BeginTime，且相差不超过32天"), the sibling ``SendStatusStatisticsRequest``
#: (the range includes the hour named) and the 2019 API's full-day example
#: ``2016090800`` .. ``2016090823``. ``half_open`` ([BeginTime, EndTime), Begin == End refused)
#: is the other reading, kept only so that ``doctor`` can be shown to tell the two apart.
HOUR_RULES = ("inclusive", "half_open")
#: BeginTime/EndTime are Beijing time (UTC+8)
BEIJING_OFFSET = 8 * 3600

#: response field order of CallbackStatusStatistics
STAT_FIELDS = (
    "CallbackCount",
    "RequestSuccessCount",
    "CallbackFailCount",
    "CallbackSuccessCount",
    "InternalErrorCount",
    "InvalidNumberCount",
    "ShutdownErrorCount",
    "BlackListCount",
    "FrequencyLimitCount",
)
#: the five failure kinds, which sum to CallbackFailCount
_FAILURE_FIELDS = STAT_FIELDS[4:]

# ---------------------------------------------------------------------------------------
# Deterministic data
# ---------------------------------------------------------------------------------------

#: relative traffic per Beijing hour of day: quiet nights (03-04 always empty), busy days
_DAILY_CURVE = (
    0.06, 0.03, 0.015, 0.0, 0.0, 0.02, 0.08, 0.25, 0.55, 0.85, 1.0, 1.0,
    0.9, 0.85, 0.95, 1.0, 0.95, 0.9, 0.8, 0.7, 0.6, 0.45, 0.25, 0.12,
)  # fmt: skip


def _uniforms(text: str) -> List[float]:
    """16 deterministic uniforms in [0, 1) from one SHA-512 of ``text``."""
    digest = hashlib.sha512(text.encode("utf-8")).digest()
    return [int.from_bytes(digest[i : i + 4], "big") / 4294967296.0 for i in range(0, 64, 4)]


@lru_cache(maxsize=1024)
def _app_profile(app_id: str) -> Tuple[float, float, Tuple[float, ...]]:
    """Per-app constants: peak hourly volume, base success rate, failure-kind weights."""
    u = _uniforms("app|" + app_id)
    peak = 60.0 + u[0] * 940.0
    if app_id.endswith("9"):  # deliberately unhealthy so demos show alerts
        success = 0.63 + u[1] * 0.04
        weights = (3.0 + u[2], 0.5 + u[3], 2.0 + u[4], 0.3 + u[5], 0.5 + u[6])
    else:
        success = 0.885 + u[1] * 0.07
        weights = (0.3 + u[2], 1.5 + 2 * u[3], 1.0 + u[4], 0.2 + u[5] * 0.5, 0.3 + u[6])
    return peak, success, weights


def _split(total: int, weights: Iterable[float]) -> List[int]:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    ws = list(weights)
    scale = sum(ws)
    raw = [total * w / scale for w in ws]
    parts = [int(r) for r in raw]
    order = sorted(range(len(ws)), key=lambda i: (parts[i] - raw[i], i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _zero_stats() -> Dict[str, int]:
    return dict.fromkeys(STAT_FIELDS, 0)


def hourly_stats(app_id: str, hour_start_utc_epoch: int) -> Dict[str, int]:
    """The nine counters of one app for the hour starting at ``hour_start_utc_epoch``.

    Pure and deterministic (a hash of app id and hour shaped by a Beijing daily curve), so
    windows can be summed in any split. Invariants: CallbackCount <= RequestSuccessCount,
    CallbackSuccessCount + CallbackFailCount == CallbackCount, and the five failure
    counters sum to CallbackFailCount. The epoch is floored to its hour.
    """
    hour = int(hour_start_utc_epoch) // 3600 * 3600
    local = hour + BEIJING_OFFSET
    hour_of_day = (local // 3600) % 24
    weekday = (local // 86400 + 3) % 7  # 1970-01-01 was a Thursday; 5, 6 = weekend
    peak, base_success, base_weights = _app_profile(app_id)
    u = _uniforms(f"hour|{app_id}|{hour}")

    curve = _DAILY_CURVE[hour_of_day]
    if curve < 0.1 and u[0] < 0.5:  # some quiet night hours have no traffic at all
        return _zero_stats()
    if u[1] < 0.02:  # the odd empty hour in the day as well
        return _zero_stats()
    weekend = 0.7 if weekday >= 5 else 1.0
    requested = int(peak * curve * weekend * (0.75 + 0.5 * u[2]))
    if requested <= 0:
        return _zero_stats()

    receipts = int(requested * (0.9 + 0.09 * u[3]))
    success_rate = min(0.99, max(0.0, base_success + (u[4] - 0.5) * 0.05))
    succeeded = int(round(receipts * success_rate))
    failed = receipts - succeeded
    weights = [w * (0.5 + u[5 + i]) for i, w in enumerate(base_weights)]
    stats = {
        "CallbackCount": receipts,
        "RequestSuccessCount": requested,
        "CallbackFailCount": failed,
        "CallbackSuccessCount": succeeded,
    }
    stats.update(zip(_FAILURE_FIELDS, _split(failed, weights)))
    return {name: stats[name] for name in STAT_FIELDS}


def _add_into(total: Dict[str, int], part: Mapping[str, int]) -> None:
    for name in STAT_FIELDS:
        total[name] += part[name]


@lru_cache(maxsize=8192)
def _day_stats(app_id: str, day_start_utc_epoch: int) -> Tuple[int, ...]:
    """Cached sum of the 24 hours of one Beijing day (keeps 366-day windows fast)."""
    total = _zero_stats()
    for h in range(24):
        _add_into(total, hourly_stats(app_id, day_start_utc_epoch + h * 3600))
    return tuple(total[name] for name in STAT_FIELDS)


def _sum_hours(app_id: str, begin_utc: int, end_utc: int, now: Optional[float]) -> Dict[str, int]:
    """Sum of the hours in [begin, end); hours not complete by ``now`` count as empty."""
    if now is not None:
        end_utc = min(end_utc, int(now) // 3600 * 3600)
    total = _zero_stats()
    t = begin_utc
    while t < end_utc:
        if (t + BEIJING_OFFSET) % 86400 == 0 and t + 86400 <= end_utc:
            for name, value in zip(STAT_FIELDS, _day_stats(app_id, t)):
                total[name] += value
            t += 86400
        else:
            _add_into(total, hourly_stats(app_id, t))
            t += 3600
    return total


_HOUR_RE = re.compile(r"^\d{10}$")


def parse_beijing_hour(value: str) -> int:
    """UTC epoch of a ``yyyymmddhh`` Beijing-time hour; ValueError when not a real hour."""
    if not isinstance(value, str) or not _HOUR_RE.match(value):
        raise ValueError(f"expected yyyymmddhh, got {value!r}")
    dt = datetime(int(value[0:4]), int(value[4:6]), int(value[6:8]), int(value[8:10]))
    return calendar.timegm(dt.timetuple()) - BEIJING_OFFSET


def window_stats(
    app_id: str, begin_yyyymmddhh: str, end_yyyymmddhh: str, now: Optional[float] = None
) -> Dict[str, int]:
    """What the emulator answers for [begin, end) (Beijing yyyymmddhh): the sum of its hours.

    ``now`` (UTC epoch) mirrors the emulator clock: hours not yet complete are empty.
    """
    begin = parse_beijing_hour(begin_yyyymmddhh)
    end = parse_beijing_hour(end_yyyymmddhh)
    return _sum_hours(app_id, begin, end, now)


def api_stats(app_id: str, begin_time: str, end_time: str, now: Optional[float] = None) -> Dict[str, int]:
    """What the API answers for BeginTime..EndTime (Beijing ``yyyymmddhh``, both hours counted)."""
    return _sum_hours(app_id, parse_beijing_hour(begin_time), parse_beijing_hour(end_time) + 3600, now)


#: response field order of SendStatusStatistics (product 382, page 40528)
SEND_FIELDS = ("FeeCount", "RequestCount", "RequestSuccessCount")


@lru_cache(maxsize=1024)
def _send_profile(app_id: str) -> Tuple[float, float]:
    """Per-app constants: the share of submissions refused, the share of long (2-part) messages."""
    u = _uniforms("send|" + app_id)
    refused = 0.12 + u[0] * 0.04 if app_id.endswith("8") else 0.002 + u[0] * 0.01  # ...8 refuses many
    return refused, 0.1 + u[1] * 0.2


def hourly_send(app_id: str, hour_start_utc_epoch: int) -> Dict[str, int]:
    """SendStatusStatistics of one app for one hour, consistent with ``hourly_stats``: accepted
    (RequestSuccessCount) is the receipts' RequestSuccessCount of the same hour; submitted adds the
    refused ones; billed (FeeCount) counts a long message once per part ("计费条数")."""
    hour = int(hour_start_utc_epoch) // 3600 * 3600
    accepted = hourly_stats(app_id, hour)["RequestSuccessCount"]
    if accepted == 0:
        return dict.fromkeys(SEND_FIELDS, 0)
    refused, long_share = _send_profile(app_id)
    u = _uniforms(f"sendhour|{app_id}|{hour}")
    rejected = int(round(accepted * refused / (1 - refused) * (0.6 + 0.8 * u[0])))
    billed = accepted + int(round(accepted * long_share * (0.8 + 0.4 * u[1])))
    return {"FeeCount": billed, "RequestCount": accepted + rejected, "RequestSuccessCount": accepted}


@lru_cache(maxsize=8192)
def _day_send(app_id: str, day_start_utc_epoch: int) -> Tuple[int, ...]:
    total = dict.fromkeys(SEND_FIELDS, 0)
    for h in range(24):
        for name, value in hourly_send(app_id, day_start_utc_epoch + h * 3600).items():
            total[name] += value
    return tuple(total[name] for name in SEND_FIELDS)


def sum_send(app_id: str, begin_utc: int, end_utc: int, now: Optional[float]) -> Dict[str, int]:
    """SendStatusStatistics over the hours in [begin, end); hours not complete by ``now`` are empty."""
    if now is not None:
        end_utc = min(end_utc, int(now) // 3600 * 3600)
    total = dict.fromkeys(SEND_FIELDS, 0)
    t = begin_utc
    while t < end_utc:
        if (t + BEIJING_OFFSET) % 86400 == 0 and t + 86400 <= end_utc:
            part = dict(zip(SEND_FIELDS, _day_send(app_id, t)))
            t += 86400
        else:
            part = hourly_send(app_id, t)
            t += 3600
        for name in SEND_FIELDS:
            total[name] += part[name]
    return total


def api_send(app_id: str, begin_time: str, end_time: str, now: Optional[float] = None) -> Dict[str, int]:
    """What SendStatusStatistics answers for BeginTime..EndTime (Beijing, both hours counted)."""
    return sum_send(app_id, parse_beijing_hour(begin_time), parse_beijing_hour(end_time) + 3600, now)


def default_packages(now: float) -> List[Dict[str, int]]:
    """The emulator's packages at ``now`` unless a test sets its own: one bought 60 days ago
    (10,000,000 messages, valid a year) and the month's gift (1,000 messages, to the month's end)."""
    day = (int(now) + BEIJING_OFFSET) // 86400 * 86400 - BEIJING_OFFSET
    local = datetime.fromtimestamp(int(now) + BEIJING_OFFSET, tz=timezone.utc)
    month = calendar.timegm(local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timetuple())
    month -= BEIJING_OFFSET
    days = calendar.monthrange(local.year, local.month)[1]
    return [
        {"PackageId": 1000791745, "PackageType": 1, "PackageAmount": 10_000_000, "PackageCreateTime": day - 60 * 86400,
         "PackageEffectiveTime": day - 60 * 86400, "PackageExpiredTime": day + 305 * 86400},
        {"PackageId": 1000876572, "PackageType": 0, "PackageAmount": 1_000, "PackageCreateTime": month,
         "PackageEffectiveTime": month, "PackageExpiredTime": month + days * 86400 - 1},
    ]


def max_in_any_second(times: Iterable[float]) -> int:
    """Most of ``times`` (seconds, any order) within any half-open 1 s window [t, t+1)."""
    ordered = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(ordered):
        while t - ordered[lo] >= 1.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


# ---------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------


class ApiError(Exception):
    """An API error answer: HTTP 200 with Response.Error {Code, Message}."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CallRecord:
    """One request that passed authentication (what tests and the bench inspect)."""

    action: str
    params: Dict[str, Any]
    region: Optional[str]
    has_token: bool
    arrived: float  # time.monotonic() on arrival
    service: str = ""
    version: str = ""


@dataclass
class _Fault:
    key: str
    code: str
    message: str
    remaining: Optional[int]
    #: the action it answers (None: every action)
    action: Optional[str] = None


@dataclass
class _Faults:
    errors: List[_Fault] = field(default_factory=list)
    latency: float = 0.0
    rate_limit: Optional[int] = None


_AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256\s+Credential=(?P<id>[^/,\s]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[^/,\s]+)"
    r"/tc3_request,\s*SignedHeaders=(?P<signed>[a-z0-9;\-]+),\s*Signature=(?P<sig>[0-9a-f]{64})\s*$"
)

_ACTIONS: Dict[Tuple[str, str], str] = {
    (SMS_SERVICE, "CallbackStatusStatistics"): SMS_VERSION,
    (SMS_SERVICE, "SendStatusStatistics"): SMS_VERSION,
    (SMS_SERVICE, "SmsPackagesStatistics"): SMS_VERSION,
    (TDMQ_SERVICE, "SendCmqMsg"): TDMQ_VERSION,
    (TDMQ_SERVICE, "PublishCmqMsg"): TDMQ_VERSION,
    (CKAFKA_SERVICE, "SendMessage"): CKAFKA_VERSION,
    (CKAFKA_SERVICE, "DescribeDatahubTasks"): CKAFKA_VERSION,
}
_PARAMS: Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...]]] = {  # (required, optional)
    "CallbackStatusStatistics": (("BeginTime", "EndTime", "SmsSdkAppId", "Limit", "Offset"), ()),
    "SendStatusStatistics": (("BeginTime", "EndTime", "SmsSdkAppId", "Limit", "Offset"), ()),
    "SmsPackagesStatistics": (("SmsSdkAppId", "Limit", "Offset", "BeginTime", "EndTime"), ()),
    "SendCmqMsg": (("QueueName", "MsgContent", "DelaySeconds"), ()),
    "PublishCmqMsg": (("TopicName", "MsgContent"), ("MsgTag", "RoutingKey")),
    "SendMessage": (("DataHubId", "Message"), ()),
    "DescribeDatahubTasks": ((), ("Limit", "Offset", "SearchWord", "TargetType", "TaskType", "SourceType",
                                  "Resource")),
}
_APP_ID_RE = re.compile(r"^14\d{8}$")
#: the parameter an injected error's key is matched against, per action
_FAULT_KEY_PARAM = {
    "CallbackStatusStatistics": "SmsSdkAppId",
    "SendStatusStatistics": "SmsSdkAppId",
    "SmsPackagesStatistics": "SmsSdkAppId",
    "SendCmqMsg": "QueueName",
    "PublishCmqMsg": "TopicName",
    "SendMessage": "DataHubId",
    "DescribeDatahubTasks": "DataHubId",  # never sent: only `*` faults match it
}


def _sign(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def tc3_signature(
    secret_key: str,
    *,
    method: str,
    uri: str,
    query: str,
    content_type: str,
    host: str,
    payload_hash: str,
    timestamp: str,
    date: str,
    service: str,
) -> str:
    """The documented TC3-HMAC-SHA256 signature, computed independently of the SDK."""
    canonical_headers = f"content-type:{content_type.strip().lower()}\nhost:{host.strip().lower()}\n"
    canonical_request = "\n".join([method, uri, query, canonical_headers, "content-type;host", payload_hash])
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            timestamp,
            scope,
            hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
        ]
    )
    k_date = _sign(("TC3" + secret_key).encode("utf-8"), date)
    k_service = _sign(k_date, service)
    k_signing = _sign(k_service, "tc3_request")
    return hmac.new(k_signing, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: Tuple[str, int], handler: Type[BaseHTTPRequestHandler], owner: Any) -> None:
        super().__init__(address, handler)
        self.owner = owner


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler of a LoopbackServer (``self.server.owner``) that logs nothing."""

    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr line (tests and the demo stay quiet)."""

    def read_body(self) -> bytes:
        """The request's body, as long as its Content-Length says (none when it says nothing usable)."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(length) if length > 0 else b""


_Self = TypeVar("_Self", bound="LoopbackServer")


class LoopbackServer:
    """An HTTP server on loopback, serving from a daemon thread between ``start`` and ``stop``
    (or inside ``with``). Subclasses name their ``handler`` (a QuietHandler subclass)."""

    handler: Type[QuietHandler]
    thread_name = "loopback-server"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: Optional[_HTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    def start(self: _Self) -> _Self:
        """Bind and serve in a daemon thread; returns self for chaining."""
        if self._server is not None:
            return self
        self._server = _HTTPServer((self.host, self.port), self.handler, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # what `stop` waits for at most
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self: _Self) -> _Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """``http://host:port`` (the port is the bound one once started)."""
        return f"http://{self.host}:{self.port}"


class _Handler(QuietHandler):
    """Reads one request, lets the Emulator answer, writes JSON."""

    server_version = "sms-receipt-stats-emulator"

    def do_POST(self) -> None:
        body = self.read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        response = self.server.owner.handle("POST", self.path, headers, body)
        self._send(response)

    def do_GET(self) -> None:
        response = self.server.owner.error_response(
            "UnsupportedProtocol", "the emulator accepts POST with a JSON body only"
        )
        self._send(response)

    def _send(self, response: Dict[str, Any]) -> None:
        data = json.dumps(response, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. timed out on injected latency)


class Emulator(LoopbackServer):
    """The Tencent Cloud API emulator; a context manager serving on loopback in a thread."""

    handler = _Handler
    thread_name = "tencentcloud-emulator"

    def __init__(
        self,
        secret_id: str = SECRET_ID,
        secret_key: str = SECRET_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        require_token: bool = False,
        clock: Callable[[], float] = time.time,
        apps: Optional[Iterable[str]] = None,
        queues: Optional[Iterable[str]] = None,
        topics: Optional[Iterable[str]] = None,
        hour_rule: str = "inclusive",
        datahubs: Optional[Iterable[str]] = None,
    ) -> None:
        super().__init__(host, port)
        if hour_rule not in HOUR_RULES:
            raise ValueError(f"hour_rule must be one of {HOUR_RULES}, not {hour_rule!r}")
        self.hour_rule = hour_rule
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.require_token = require_token
        self.clock = clock
        self.apps = None if apps is None else frozenset(apps)
        self.queues = None if queues is None else frozenset(queues)
        self.topics = None if topics is None else frozenset(topics)
        self.calls: List[CallRecord] = []
        self.cmq_messages: List[Dict[str, Any]] = []
        #: DataHub access points that exist (None: every id of the documented form)
        self.datahubs = None if datahubs is None else tuple(datahubs)
        #: the CKafka messages accepted: {datahub_id, region, key, body, message_id}
        self.ckafka_messages: List[Dict[str, Any]] = []
        #: the topics' max.message.bytes (key and body of one message)
        self.ckafka_max_message_bytes = CKAFKA_MAX_MESSAGE_BYTES
        self.rejected_by_rate_limit = 0
        #: the same, per action
        self.rejected_by_action: Dict[str, int] = collections.Counter()
        #: requests being answered right now, and the most at once (concurrency, without timing)
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._faults = _Faults()
        self._admitted: Dict[str, Deque[float]] = collections.defaultdict(collections.deque)
        #: the account's packages (None: ``default_packages`` at the request's time)
        self.packages: Optional[List[Dict[str, int]]] = None

    # -- fault injection -------------------------------------------------------------

    def inject_error(self, app_id: str, code: str, message: str = "injected", times: Optional[int] = None,
                     action: Optional[str] = None) -> None:
        """Answer ``code`` for calls naming ``app_id`` (or a CMQ queue/topic name).

        ``times`` calls, or forever when None; ``app_id="*"`` matches every call; ``action``
        narrows the rule to one action (e.g. ``SmsPackagesStatistics``). Specific rules win over
        ``*``; among rules for the same key the newest wins.
        """
        if times is not None and times <= 0:
            return
        with self._lock:
            self._faults.errors.append(_Fault(app_id, code, message, times, action))

    def set_packages(self, packages: Optional[Iterable[Mapping[str, int]]]) -> None:
        """The account's packages (None: ``default_packages``): rows of SmsPackagesStatistics
        without ``CurrentUsage``, which the emulator computes from the sends (see
        ``_sms_packages_statistics``)."""
        with self._lock:
            self.packages = None if packages is None else [dict(p) for p in packages]

    def set_latency(self, seconds: float) -> None:
        """Sleep ``seconds`` before answering each request."""
        with self._lock:
            self._faults.latency = max(0.0, float(seconds))

    def set_rate_limit(self, rps: Optional[int]) -> None:
        """Reject each SMS action beyond ``rps`` per sliding second (None: off); the docs give each
        action its own limit ("默认接口请求频率限制:10次/秒"), so each is counted apart."""
        with self._lock:
            self._faults.rate_limit = rps
            self._admitted.clear()

    def reset_faults(self) -> None:
        """Remove injected errors, latency and the rate limit."""
        with self._lock:
            self._faults = _Faults()
            self._admitted.clear()

    def clear_records(self) -> None:
        """Forget recorded calls, CMQ messages and the rate-limit rejection counter."""
        with self._lock:
            self.calls.clear()
            self.cmq_messages.clear()
            self.ckafka_messages.clear()
            self.rejected_by_rate_limit = 0
            self.rejected_by_action.clear()

    # -- observability ---------------------------------------------------------------

    def max_rate_observed(self, action: Optional[str] = "CallbackStatusStatistics") -> int:
        """Most ``action`` calls (that passed auth; None: every SMS action together) arriving
        within any 1.0 s window."""
        with self._lock:
            times = [c.arrived for c in self.calls
                     if c.action == action or (action is None and c.service == SMS_SERVICE)]
        return max_in_any_second(times)

    # -- request handling ------------------------------------------------------------

    def handle_local(self, action: str, params: Mapping[str, Any]) -> Dict[str, Any]:
        """What an SMS ``action`` answers for ``params``, without HTTP or a signature (tests read
        the data behind an answer); raises ApiError like the API answers it."""
        self._check_params(action, params)
        handlers = {"CallbackStatusStatistics": self._callback_status_statistics,
                    "SendStatusStatistics": self._send_status_statistics,
                    "SmsPackagesStatistics": self._sms_packages_statistics}
        return handlers[action](params)

    def error_response(self, code: str, message: str) -> Dict[str, Any]:
        """The API's error envelope with a fresh RequestId."""
        return {
            "Response": {
                "Error": {"Code": code, "Message": message},
                "RequestId": str(uuid.uuid4()),
            }
        }

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Dict[str, Any]:
        """Answer one request (headers keyed in lower case); never raises ApiError."""
        arrived = time.monotonic()
        with self._lock:
            latency = self._faults.latency
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._answer(method, path, headers, body, arrived, latency)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _answer(self, method: str, path: str, headers: Mapping[str, str], body: bytes, arrived: float,
                latency: float) -> Dict[str, Any]:
        try:
            result = self._handle(method, path, headers, body, arrived)
            response: Dict[str, Any] = {"Response": dict(result, RequestId=str(uuid.uuid4()))}
        except ApiError as err:
            response = self.error_response(err.code, err.message)
        except Exception as err:  # an emulator bug must still answer like the API would
            response = self.error_response("InternalError", f"emulator error: {err!r}")
        if latency > 0:
            time.sleep(max(0.0, latency - (time.monotonic() - arrived)))
        return response

    def _handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, arrived: float
    ) -> Dict[str, Any]:
        service = self._authenticate(method, path, headers, body)
        action = headers.get("x-tc-action", "")
        version = headers.get("x-tc-version", "")
        region = headers.get("x-tc-region") or None
        has_token = bool(headers.get("x-tc-token"))

        parse_error: Optional[ApiError] = None
        try:
            params = self._parse_body(body, service)
        except ApiError as err:
            params, parse_error = {}, err
        with self._lock:
            self.calls.append(CallRecord(action, dict(params), region, has_token, arrived, service, version))
        if parse_error is not None:
            raise parse_error

        if not action:
            raise ApiError("MissingParameter", "The request is missing a required parameter `Action`.")
        expected_version = _ACTIONS.get((service, action))
        if expected_version is None:
            raise ApiError("InvalidAction", f"The action `{action}` is not supported by `{service}`.")
        if version != expected_version:
            raise ApiError(
                "NoSuchVersion",
                f"The version `{version}` of `{action}` does not exist (expected {expected_version}).",
            )

        if service == SMS_SERVICE:
            self._check_rate_limit(action, arrived)
        self._check_injected(action, params)
        self._check_params(action, params)
        if action == "CallbackStatusStatistics":
            return self._callback_status_statistics(params)
        if action == "SendStatusStatistics":
            return self._send_status_statistics(params)
        if action == "SmsPackagesStatistics":
            return self._sms_packages_statistics(params)
        if service == CKAFKA_SERVICE:
            return self._ckafka(action, params, region)
        return self._cmq(action, params)

    def _authenticate(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> str:
        """Verify TC3-HMAC-SHA256 like the API does; returns the credential's service."""
        match = _AUTH_RE.match(headers.get("authorization", ""))
        if not match:
            raise ApiError(
                "AuthFailure.InvalidAuthorization",
                "Authorization is missing or not a valid TC3-HMAC-SHA256 authorization.",
            )
        signed = match.group("signed").split(";")
        if "content-type" not in signed or "host" not in signed:
            raise ApiError("AuthFailure.InvalidAuthorization", "SignedHeaders must include content-type and host.")
        raw_ts = headers.get("x-tc-timestamp", "")
        if not raw_ts:
            raise ApiError("MissingParameter", "The request is missing a required parameter `Timestamp`.")
        try:
            timestamp = int(raw_ts)
        except ValueError:
            raise ApiError("InvalidParameter", "The parameter `Timestamp` is not an integer.") from None
        if abs(timestamp - self.clock()) > MAX_CLOCK_SKEW:
            raise ApiError(
                "AuthFailure.SignatureExpire",
                f"Signature expired. Timestamp {timestamp} is more than {MAX_CLOCK_SKEW} s from server time.",
            )
        if match.group("id") != self.secret_id:
            raise ApiError(
                "AuthFailure.SecretIdNotFound",
                "The SecretId is not found, please ensure that your SecretId is correct.",
            )
        if self.require_token and not headers.get("x-tc-token"):
            raise ApiError(
                "AuthFailure.TokenFailure",
                "Temporary credentials need X-TC-Token: the session token is missing.",
            )

        date, service = match.group("date"), match.group("service")
        utc_date = datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d")
        if headers.get("x-tc-content-sha256") == "UNSIGNED-PAYLOAD":
            payload_hash = hashlib.sha256(b"UNSIGNED-PAYLOAD").hexdigest()
        else:
            payload_hash = hashlib.sha256(body).hexdigest()
        uri, _, query = path.partition("?")
        expected = tc3_signature(
            self.secret_key,
            method=method,
            uri=uri or "/",
            query=query,
            content_type=headers.get("content-type", ""),
            host=headers.get("host", ""),
            payload_hash=payload_hash,
            timestamp=raw_ts,
            date=date,
            service=service,
        )
        if date != utc_date or not hmac.compare_digest(expected, match.group("sig")):
            raise ApiError(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. Please check your signature is correct.",
            )
        return service

    @staticmethod
    def _parse_body(body: bytes, service: str) -> Dict[str, Any]:
        code = "FailedOperation.JsonParseFail" if service == SMS_SERVICE else "InvalidParameter"
        try:
            params = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (UnicodeDecodeError, ValueError):
            raise ApiError(code, "The request body is not valid JSON.") from None
        if not isinstance(params, dict):
            raise ApiError(code, "The request body must be a JSON object.")
        return params

    def _check_rate_limit(self, action: str, arrived: float) -> None:
        with self._lock:
            rps = self._faults.rate_limit
            if rps is None:
                return
            admitted = self._admitted[action]
            while admitted and arrived - admitted[0] >= 1.0:
                admitted.popleft()
            if len(admitted) >= rps:
                self.rejected_by_rate_limit += 1
                self.rejected_by_action[action] += 1
                raise ApiError(
                    "RequestLimitExceeded",
                    f"Your current request times equals to `{len(admitted) + 1}` in a second, which "
                    f"exceeds the frequency limit `{rps}` for a second. Please reduce the frequency of calls.",
                )
            admitted.append(arrived)

    def _check_injected(self, action: str, params: Mapping[str, Any]) -> None:
        key = params.get(_FAULT_KEY_PARAM[action])
        with self._lock:
            rules = self._faults.errors
            chosen: Optional[_Fault] = None
            rules_here = [r for r in rules if r.action in (None, action)]
            for rule in reversed(rules_here):
                if isinstance(key, str) and rule.key == key:
                    chosen = rule
                    break
            if chosen is None:
                chosen = next((r for r in reversed(rules_here) if r.key == "*"), None)
            if chosen is None:
                return
            if chosen.remaining is not None:
                chosen.remaining -= 1
                if chosen.remaining <= 0:
                    rules.remove(chosen)
        raise ApiError(chosen.code, chosen.message)

    @staticmethod
    def _check_params(action: str, params: Mapping[str, Any]) -> None:
        required, optional = _PARAMS[action]
        for name in required:
            if params.get(name) is None:
                raise ApiError("MissingParameter", f"The request is missing a required parameter `{name}`.")
        for name in params:
            if name not in required and name not in optional:
                raise ApiError("UnknownParameter", f"The parameter `{name}` is not recognized.")

    def _send_status_statistics(self, params: Mapping[str, Any]) -> Dict[str, Any]:
        """SendStatusStatistics (product 382, page 40528; SDK ``SendStatusStatisticsRequest``):
        BeginTime/EndTime ``yyyymmddhh`` Beijing, both hours counted ("EndTime 必须大于等于
        BeginTime"), at most 32 days apart like its sibling; Limit and Offset "目前固定设置为0";
        the codes of CallbackStatusStatistics. The answer ``SendStatusStatistics {FeeCount,
        RequestCount, RequestSuccessCount}`` agrees with the receipts' RequestSuccessCount of the
        same hours (``hourly_send``)."""
        begin, end = self._statistics_range(params)
        app_id = params["SmsSdkAppId"]
        inclusive = self.hour_rule == "inclusive"
        return {"SendStatusStatistics": sum_send(app_id, begin, end + 3600 if inclusive else end, self.clock())}

    def _sms_packages_statistics(self, params: Mapping[str, Any]) -> Dict[str, Any]:
        """SmsPackagesStatistics (product 382, page 55964, 2021-01-11): every parameter required;
        the packages *created* between BeginTime and EndTime ("返回 BeginTime 到 EndTime 之间创建的
        套餐包"), "EndTime 必须大于 BeginTime 且小于当前时间" (else EndTimeVerifyFail); Limit at most
        500 ("Limit默认最大值为500", else LimitVerifyFail) with Offset for paging. Each row is
        ``{PackageCreateTime, PackageEffectiveTime, PackageExpiredTime}`` (UNIX seconds, as the
        2021 SDK's model has them), ``PackageAmount``, ``PackageType`` (0 gift, 1 bought),
        ``PackageId``, ``CurrentUsage``. Usage: the FeeCount of the account's apps (``apps``, else
        the app asked about) from the first package's start until now, taken from the package
        that expires first, each up to its amount: so usage grows with the sends."""
        try:
            begin = parse_beijing_hour(params["BeginTime"])
        except ValueError:
            raise ApiError("InvalidParameterValue.BeginTimeVerifyFail",
                           f"BeginTime must be a valid yyyymmddhh hour, got {params['BeginTime']!r}.") from None
        now = self.clock()
        try:
            end = parse_beijing_hour(params["EndTime"])
        except ValueError:
            end = None
        if end is None or end <= begin or end >= now:
            raise ApiError("InvalidParameterValue.EndTimeVerifyFail",
                           "EndTime must be a valid yyyymmddhh hour, later than BeginTime and before now.")
        limit, offset = params["Limit"], params["Offset"]
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= 500:
            raise ApiError("InvalidParameterValue.LimitVerifyFail", f"Limit must be 0 to 500, got {limit!r}.")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ApiError("InvalidParameterValue.OffsetVerifyFail", f"Offset must be 0 or more, got {offset!r}.")
        app_id = params["SmsSdkAppId"]
        if not isinstance(app_id, str) or not app_id.isdigit() or not self._app_exists(app_id):
            raise ApiError("InvalidParameterValue.SdkAppIdNotExist", f"SmsSdkAppId {app_id!r} does not exist.")
        with self._lock:
            packages = [dict(p) for p in (self.packages if self.packages is not None else default_packages(now))]
        usage = 0
        if packages:
            start = min(p["PackageEffectiveTime"] for p in packages) // 3600 * 3600
            account = sorted(self.apps) if self.apps is not None else [app_id]
            usage = sum(sum_send(a, start, int(now) // 3600 * 3600 + 3600, now)["FeeCount"] for a in account)
        for package in sorted(packages, key=lambda p: (p["PackageExpiredTime"], p["PackageId"])):
            package["CurrentUsage"] = min(usage, package["PackageAmount"])
            usage -= package["CurrentUsage"]
        created = [p for p in packages if begin <= p["PackageCreateTime"] < end + 3600]
        created.sort(key=lambda p: (-p["PackageCreateTime"], p["PackageId"]))
        return {"SmsPackagesStatisticsSet": created[offset:offset + limit]}

    def _statistics_range(self, params: Mapping[str, Any]) -> Tuple[int, int]:
        """BeginTime, EndTime (UTC epochs) of a statistics call, validated like the API; Limit and
        Offset 0; an app that exists."""
        try:
            begin = parse_beijing_hour(params["BeginTime"])
        except ValueError:
            raise ApiError(
                "InvalidParameterValue.BeginTimeVerifyFail",
                f"BeginTime must be a valid yyyymmddhh hour, got {params['BeginTime']!r}.",
            ) from None
        try:
            end = parse_beijing_hour(params["EndTime"])
        except ValueError:
            end = None
        inclusive = self.hour_rule == "inclusive"
        if end is None or end < begin or (end == begin and not inclusive) or end - begin > MAX_WINDOW_SECONDS:
            raise ApiError(
                "InvalidParameterValue.EndTimeVerifyFail",
                "EndTime must be a valid yyyymmddhh hour, not earlier than BeginTime and at most 32 days later.",
            )
        for name, code in (
            ("Limit", "InvalidParameterValue.LimitVerifyFail"),
            ("Offset", "InvalidParameterValue.OffsetVerifyFail"),
        ):
            value = params[name]
            if isinstance(value, bool) or not isinstance(value, int) or value != 0:
                raise ApiError(code, f"{name} must currently be 0, got {value!r}.")
        app_id = params["SmsSdkAppId"]
        if not isinstance(app_id, str) or not app_id.isdigit() or not self._app_exists(app_id):
            raise ApiError(
                "InvalidParameterValue.SdkAppIdNotExist",
                f"SmsSdkAppId {app_id!r} does not exist.",
            )
        return begin, end

    def _callback_status_statistics(self, params: Mapping[str, Any]) -> Dict[str, Any]:
        begin, end = self._statistics_range(params)
        app_id = params["SmsSdkAppId"]
        inclusive = self.hour_rule == "inclusive"
        # the hours counted: BeginTime's through EndTime's (inclusive), or up to EndTime (half_open)
        stats = _sum_hours(app_id, begin, end + 3600 if inclusive else end, self.clock())
        return {"CallbackStatusStatistics": stats}

    def _app_exists(self, app_id: str) -> bool:
        if self.apps is None:
            return bool(_APP_ID_RE.match(app_id))
        return app_id in self.apps

    def _cmq(self, action: str, params: Mapping[str, Any]) -> Dict[str, Any]:
        is_queue = action == "SendCmqMsg"
        name_param = "QueueName" if is_queue else "TopicName"
        name = params[name_param]
        content = params["MsgContent"]
        if not isinstance(name, str) or not name:
            raise ApiError("InvalidParameter", f"The parameter `{name_param}` must be a non-empty string.")
        if not isinstance(content, str):
            raise ApiError("InvalidParameter", "The parameter `MsgContent` must be a string.")
        record: Dict[str, Any] = {"action": action, "name": name, "content": content}
        if is_queue:
            delay = params["DelaySeconds"]
            if isinstance(delay, bool) or not isinstance(delay, int):
                raise ApiError("InvalidParameter", "The parameter `DelaySeconds` must be an integer.")
            if delay < 0:
                raise ApiError("InvalidParameterValue", "DelaySeconds must not be negative.")
            record["delay_seconds"] = delay
            known = self.queues
        else:
            tags = params.get("MsgTag")
            if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
                raise ApiError("InvalidParameter", "The parameter `MsgTag` must be a list of strings.")
            record["tags"] = tags
            record["routing_key"] = params.get("RoutingKey")
            known = self.topics
        if known is not None and name not in known:
            kind = "queue" if is_queue else "topic"
            raise ApiError("ResourceNotFound", f"The {kind} `{name}` does not exist.")
        msg_id = uuid.uuid4().hex.upper()
        record["msg_id"] = msg_id
        with self._lock:
            self.cmq_messages.append(record)
        return {"Result": True, "MsgId": msg_id}


    # -- CKafka ---------------------------------------------------------------------

    def _ckafka(self, action: str, params: Mapping[str, Any], region: Optional[str]) -> Dict[str, Any]:
        """CKafka's HTTP access layer, written from its docs (product 597):

        - ``SendMessage`` (page 66682): ``Region`` required and one of ``CKAFKA_REGIONS``, else the
          common ``UnsupportedRegion``; ``DataHubId`` a string naming an access point that exists,
          else ``ResourceNotFound`` (CKafka's code for a missing resource); ``Message`` 1 to 500
          BatchContent ``{Key, Body}`` (strings, ``Body`` required), each at most the topic's
          ``max.message.bytes``; the answer is ``MessageId``, one id per message, in order. The page
          names no code for a count or size over the limit: ``InvalidParameterValue`` (CKafka's
          "参数取值错误") is answered.
        - ``DescribeDatahubTasks`` (page 77795): ``Limit`` (default 20, at most 100), ``Offset``,
          ``TaskType`` (``SOURCE`` data access, ``SINK`` outflow); ``Result.TotalCount`` and
          ``Result.TaskList`` of DatahubTaskInfo, each access point an HTTP ``SOURCE`` task,
          running (``Status`` 1), with its ``DatahubId``.
        """
        if action == "DescribeDatahubTasks":
            return self._describe_datahub_tasks(params)
        if not region:
            raise ApiError("MissingParameter", "The request is missing a required parameter `Region`.")
        if region not in CKAFKA_REGIONS:
            raise ApiError("UnsupportedRegion", f"SendMessage does not support the region `{region}`.")
        datahub = params["DataHubId"]
        if not isinstance(datahub, str):
            raise ApiError("InvalidParameter", "The parameter `DataHubId` must be a string.")
        if not self._datahub_exists(datahub):
            raise ApiError("ResourceNotFound", f"The DataHub `{datahub}` does not exist.")
        messages = params["Message"]
        if not isinstance(messages, list) or not messages:
            raise ApiError("InvalidParameter", "The parameter `Message` must be a non-empty array of BatchContent.")
        if len(messages) > CKAFKA_MAX_MESSAGES:
            raise ApiError("InvalidParameterValue",
                           f"At most {CKAFKA_MAX_MESSAGES} messages can be sent in a single request, "
                           f"got {len(messages)}.")
        accepted = []
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or set(message) - {"Key", "Body"}:
                raise ApiError("InvalidParameter", f"`Message.{index}` must be a BatchContent {{Key, Body}}.")
            key, body = message.get("Key", ""), message.get("Body")
            if not isinstance(body, str) or not isinstance(key, str):
                raise ApiError("InvalidParameter", f"`Message.{index}.Body` and `.Key` must be strings.")
            size = len(key.encode("utf-8")) + len(body.encode("utf-8"))
            if size > self.ckafka_max_message_bytes:
                raise ApiError("InvalidParameterValue",
                               f"`Message.{index}` is {size} bytes, over the topic's max.message.bytes "
                               f"{self.ckafka_max_message_bytes}.")
            accepted.append({"datahub_id": datahub, "region": region, "key": key, "body": body,
                             "message_id": uuid.uuid4().hex})
        with self._lock:
            self.ckafka_messages.extend(accepted)
        return {"MessageId": [m["message_id"] for m in accepted]}

    def _datahub_exists(self, datahub: str) -> bool:
        if self.datahubs is None:
            return bool(_DATAHUB_ID_RE.match(datahub))
        return datahub in self.datahubs

    def _describe_datahub_tasks(self, params: Mapping[str, Any]) -> Dict[str, Any]:
        limit, offset = params.get("Limit", 20), params.get("Offset", 0)
        for name, value in (("Limit", limit), ("Offset", offset)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ApiError("InvalidParameterValue", f"`{name}` must be a non-negative integer.")
        tasks = [{"TaskId": f"task-{datahub[len('datahub-'):]}", "TaskName": f"http-{datahub}",
                  "TaskType": "SOURCE", "Status": 1, "SourceResource": {"Type": "HTTP"},
                  "TargetResource": {"Type": "TOPIC"}, "DatahubId": datahub}
                 for datahub in (self.datahubs or ())]
        if params.get("TaskType") not in (None, "SOURCE"):
            tasks = []
        return {"Result": {"TotalCount": len(tasks), "TaskList": tasks[offset:offset + min(limit, 100)]}}


def serve(
    port: int = 0,
    host: str = "127.0.0.1",
    rate_limit: Optional[int] = 10,
    latency: float = 0.0,
    errors: Optional[Mapping[str, str]] = None,
) -> None:
    """Blocking entry of ``sms-receipt-stats emulator``: print how to connect, serve until Ctrl-C.

    ``errors`` maps an app id (or ``*``) to an error code answered for it on every call.
    """
    emulator = Emulator(host=host, port=port)
    emulator.set_rate_limit(rate_limit)
    emulator.set_latency(latency)
    for app_id, code in (errors or {}).items():
        emulator.inject_error(app_id, code)
    emulator.start()
    print(
        f"emulator listening on {emulator.endpoint}  SMS_ENDPOINT={emulator.endpoint} "
        f"TENCENTCLOUD_SECRET_ID={emulator.secret_id} TENCENTCLOUD_SECRET_KEY={emulator.secret_key}"
        f"  (queues: cmq+api://queue/NAME#endpoint={emulator.endpoint}, "
        f"ckafka://datahub-xxxxxxxx#endpoint={emulator.endpoint}; Ctrl-C to stop)",
        flush=True,
    )
    from sms_receipt_stats.dev.foreground import run_until_stopped

    try:
        run_until_stopped()
    finally:
        emulator.stop()

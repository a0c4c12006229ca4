"""A local fake of TDMQ for CMQ's HTTP data-flow API (`SendMessage`, `PublishMessage`), from its docs.

Why: the `cmq://` sink, the demo and the integration tests need the data-flow API over real HTTP
without network or an account. It checks what the service checks, answers in its shape, records
every message and injects faults. Standard library only, like the SMS emulator beside it.

What each page says (Tencent Cloud documentation; "1111/46415" = product 1111, page 46415):

- 1111/63331 (1496/109809 in Chinese), the notice: from 2024-08-15 `SendCmqMsg`/`PublishCmqMsg`
  (the management API) are capped at 20 calls/s per root account and 10 per sub-account and are
  for testing and verifying message sending only; business traffic must use the HTTP data-flow SDK.
- 1111/46396, data-flow API overview: the data-flow actions are SendMessage, BatchSendMessage,
  ReceiveMessage, BatchReceiveMessage, DeleteMessage, BatchDeleteMessage, PublishMessage,
  BatchPublishMessage; every other action (queue attributes included) belongs to the control flow.
  So there is no harmless read action on the data flow for `doctor` to try.
- 1111/46415, SendMessage: the address is copied from the console, Queue Service > API request
  address (public `https://cmq-gz.publicXXX.tencenttdmq.com`, private
  `http://gz.mqadapter.cmq.tencentyun.com`; it differs by region; public downstream traffic is
  charged). Input `queueName` (required; up to 64 letters, digits, `-`, starting with a letter),
  `msgBody` (required; at least 1 byte, at most the queue's max message size attribute),
  `delaySeconds` (optional). The topic's PublishMessage page says the same with `topicName`.
- 1111/46459, common request parameters: `Action`, `Region`, `Timestamp` (Unix time), `Nonce`
  (random positive integer, against replays), `SecretId`, `Signature`.
- 406/5906, signature: `SignatureMethod` HmacSHA256 selects SHA256; absent or any other value,
  SHA1. The example's fields (Action, SecretId, Timestamp, SignatureMethod, Nonce, queueName,
  RequestClient, clientRequestId, delaySeconds, msgBody) are sorted by name, joined `k=v` with `&`,
  values not encoded, and signed as `POST` + host + `/v2/index.php` + `?` + that string
  (`POSTcmq-queue-gz.api.tencentyun.com/v2/index.php?Action=SendMessage&Nonce=…&queueName=test1`);
  the Signature is the base64 of the HMAC with the SecretKey, URL-encoded when sent.
- 1496/70948 (406/5903), error codes: a failure has a non-zero `code` and a `message` like
  "(100004)…"; among them 4000 invalid/missing parameters (module codes 10010, 10110, 10280 action
  does not exist, 10390 missing parameter, 10420 request larger than 1 MB), 4100 authentication
  failed (10030) / secret id does not exist (10270), 4300 overdue payment, 4400 message larger
  than the queue's max (10230), 4410 queue full, 4420 and 4480 rate limited, 4440 queue (10100) or
  topic (10600) does not exist (the table lists it under 4000 as "4440 (10100)": this fake answers
  `code` 4440), 4470 message larger than 1 MB, 6000 internal error, 6030 topic without a
  subscription (10650).
- The answer's shape: `code`, `message`, `requestId`, and for a send `msgId` (406/5838's batch
  example: `{"code":0,"message":"","requestId":"…","msgList":[{"msgId":"…"}]}`).

The error-code table was read in the markdown source of that page (tencentyun/qcloud-documents,
English), the other pages in their published copies.

Not documented, decided here (and said so): temporary credentials travel as a signed `Token`
field, as Tencent's own data-flow SDK sends them (tencentyun/cmq-python-sdk, `cmq_client.py`); a
`Timestamp` more than `MAX_CLOCK_SKEW` seconds from this server's clock is refused with 4100; the
answer is always HTTP 200 with the code in the body. A queue's max message size is 64 KB unless
set (the SDK's `DEFAULT_MAX_MSG_SIZE = 65536`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import parse_qsl

from sms_receipt_stats.dev.emulator import SECRET_ID, SECRET_KEY, LoopbackServer, QuietHandler

__all__ = ["MAX_CLOCK_SKEW", "PATH", "CmqDataflowFake", "DataflowError", "serve"]

PATH = "/v2/index.php"
#: this fake's tolerance for `Timestamp` (the pages give none; TencentCloud API 3.0 allows 300 s)
MAX_CLOCK_SKEW = 300
#: a queue's max message size unless set (the data-flow SDK's default, 64 KB)
DEFAULT_MAX_MSG_SIZE = 65536
#: the largest message and request CMQ takes (codes 4470 and 4000/10420)
MAX_BYTES = 1024 * 1024
_REQUIRED_COMMON = ("Action", "SecretId", "Timestamp", "Nonce", "Signature")
_ACTIONS = {"SendMessage": "queueName", "PublishMessage": "topicName"}


class DataflowError(Exception):
    """A refusal: the documented `code` and a message `(module code)text` as the service writes it."""

    def __init__(self, code: int, module: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.message = f"({module}){text}"


@dataclass
class _Fault:
    code: int
    message: str
    times: Optional[int]  # None = every call


@dataclass
class _Queue:
    max_msg_size: int = DEFAULT_MAX_MSG_SIZE
    subscribed: bool = True  # topics only: PublishMessage to a topic without subscription fails (6030)


@dataclass
class Request:
    """One request that reached the fake (signature checked or not), without its Signature."""

    method: str
    path: str
    host: str
    fields: Dict[str, str] = field(default_factory=dict)


def sign(secret_key: str, method: str, host: str, path: str, fields: Mapping[str, str]) -> str:
    """The signature as 406/5906 describes it, written here independently of the sink's signer."""
    pairs = sorted((k, v) for k, v in fields.items() if k != "Signature")
    text = method.upper() + host + path + "?" + "&".join(f"{k}={v}" for k, v in pairs)
    digest = hashlib.sha256 if fields.get("SignatureMethod") == "HmacSHA256" else hashlib.sha1
    mac = hmac.new(secret_key.encode("utf-8"), text.encode("utf-8"), digest).digest()
    return base64.b64encode(mac).decode("ascii")


class _Handler(QuietHandler):
    server_version = "sms-receipt-stats-cmq-dataflow"

    def do_POST(self) -> None:
        self._answer("POST", self.read_body())

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        self.path = path
        self._answer("GET", query.encode("latin-1"))

    def _answer(self, method: str, form: bytes) -> None:
        import json

        fake: CmqDataflowFake = self.server.owner
        status, answer = fake.handle(method, self.path, self.headers.get("Host") or "", form)
        data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class CmqDataflowFake(LoopbackServer):
    """The data-flow API of one CMQ region on loopback: queues, topics, the messages they got."""

    handler = _Handler
    thread_name = "cmq-dataflow-fake"

    def __init__(self, *, secret_id: str = SECRET_ID, secret_key: str = SECRET_KEY, token: Optional[str] = None,
                 queues: Tuple[str, ...] = (), topics: Tuple[str, ...] = (), host: str = "127.0.0.1", port: int = 0,
                 clock: Any = time.time) -> None:
        super().__init__(host, port)
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.token = token  # set: every request must carry it as `Token` (temporary credentials)
        self.clock = clock
        self._lock = threading.Lock()
        self._queues: Dict[str, _Queue] = {name: _Queue() for name in queues}
        self._topics: Dict[str, _Queue] = {name: _Queue() for name in topics}
        self._faults: Dict[str, _Fault] = {}
        self._latency = 0.0
        #: every message accepted: action, name, body, msgId, clientRequestId, signature method
        self.messages: List[Dict[str, Any]] = []
        #: every request that arrived, accepted or not
        self.requests: List[Request] = []

    # -- set-up and faults -------------------------------------------------------------------

    def add_queue(self, name: str, max_msg_size: int = DEFAULT_MAX_MSG_SIZE) -> None:
        with self._lock:
            self._queues[name] = _Queue(max_msg_size=max_msg_size)

    def add_topic(self, name: str, subscribed: bool = True, max_msg_size: int = DEFAULT_MAX_MSG_SIZE) -> None:
        with self._lock:
            self._topics[name] = _Queue(max_msg_size=max_msg_size, subscribed=subscribed)

    def fail(self, name: str, code: int, message: str = "(0)injected", times: Optional[int] = None) -> None:
        """Answer `code` for sends to queue/topic `name` (`*`: any), every time or the next `times`."""
        with self._lock:
            self._faults[name] = _Fault(code, message, times)

    def set_latency(self, seconds: float) -> None:
        """Wait this long before answering each request."""
        self._latency = max(0.0, seconds)

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self._latency = 0.0
            self.messages.clear()
            self.requests.clear()

    @property
    def address(self) -> str:
        """What a user would copy from the console: the `endpoint=` of a `cmq://` entry."""
        return self.endpoint

    # -- serving -----------------------------------------------------------------------------

    def handle(self, method: str, path: str, host: str, form: bytes) -> Tuple[int, Dict[str, Any]]:
        """(HTTP status, JSON answer) for one request; never raises."""
        if self._latency:
            time.sleep(self._latency)
        request_id = uuid.uuid4().hex
        if path != PATH:
            return 404, {"code": 4000, "message": f"(10280)no such path {path[:60]}", "requestId": request_id}
        try:
            fields = self._fields(form)
            with self._lock:
                self.requests.append(Request(method, path, host, {k: v for k, v in fields.items()
                                                                  if k != "Signature"}))
            answer = self._serve(method, path, host, fields)
        except DataflowError as err:
            return 200, {"code": err.code, "message": err.message, "requestId": request_id}
        return 200, {"code": 0, "message": "", "requestId": request_id, **answer}

    @staticmethod
    def _fields(form: bytes) -> Dict[str, str]:
        if len(form) > MAX_BYTES:
            raise DataflowError(4000, 10420, "cannot parse request, or request size is more than 1MB")
        try:
            pairs = parse_qsl(form.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(form))
        except (UnicodeDecodeError, ValueError):
            raise DataflowError(4000, 10420, "cannot parse request, or request size is more than 1MB") from None
        fields: Dict[str, str] = {}
        for key, value in pairs:
            if key in fields:
                raise DataflowError(4000, 10330, f"parameter {key} is NOT a repeatable parameter")
            fields[key] = value
        return fields

    def _serve(self, method: str, path: str, host: str, fields: Mapping[str, str]) -> Dict[str, Any]:
        for name in _REQUIRED_COMMON:
            if not fields.get(name):
                raise DataflowError(4000, 10390, f"lacked of required parameter {name}")
        if not fields["SecretId"].startswith("AKID"):
            raise DataflowError(4000, 10450, "secret id dosen't begin with AKID")
        if fields["SecretId"] != self.secret_id:
            raise DataflowError(4100, 10270, "secret id is not existed")
        try:
            timestamp, nonce = int(fields["Timestamp"]), int(fields["Nonce"])
        except ValueError:
            raise DataflowError(4000, 10360, "parameter Timestamp or Nonce error type") from None
        if nonce <= 0:
            raise DataflowError(4000, 10350, "parameter Nonce value or length is out of range")
        if abs(timestamp - self.clock()) > MAX_CLOCK_SKEW:
            raise DataflowError(4100, 10030, "authentication failed (request expired: check the clock)")
        if not hmac.compare_digest(sign(self.secret_key, method, host, path, fields), fields["Signature"]):
            raise DataflowError(4100, 10030, "authentication failed")
        if self.token is not None and fields.get("Token") != self.token:
            raise DataflowError(4100, 10030, "authentication failed (token)")
        action = fields["Action"]
        if action not in _ACTIONS:
            raise DataflowError(4000, 10280, "action is not existed")
        return self._send(action, fields)

    def _send(self, action: str, fields: Mapping[str, str]) -> Dict[str, Any]:
        name_field = _ACTIONS[action]
        is_queue = action == "SendMessage"
        for required in (name_field, "msgBody"):
            if required not in fields:
                raise DataflowError(4000, 10390, f"lacked of required parameter {required}")
        name, body = fields[name_field], fields["msgBody"]
        if not body:
            raise DataflowError(4000, 10120, "message body can't be empty")
        delay = fields.get("delaySeconds")
        if delay is not None and not (delay.isdigit() and is_queue):
            raise DataflowError(4000, 10692, "delay seconds is out of range")
        with self._lock:
            target = (self._queues if is_queue else self._topics).get(name)
            if target is None:
                module, kind = (10100, "queue") if is_queue else (10600, "topic")
                raise DataflowError(4440, module, f"{kind} is not existed, or deleted")
            fault = self._faults.get(name) or self._faults.get("*")
            if fault is not None:
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults = {k: f for k, f in self._faults.items() if f is not fault}
                err = DataflowError(fault.code, 0, "")
                err.message = fault.message
                raise err
            size = len(body.encode("utf-8"))
            if size > MAX_BYTES:
                raise DataflowError(4470, 10300, "total message size exceed 1MB")
            if size > target.max_msg_size:
                raise DataflowError(4400, 10230, "exceed maximum message size")
            if not is_queue and not target.subscribed:
                raise DataflowError(6030, 10650, "topic has no subscription, please create a subscription "
                                                 "before publishing message")
            msg_id = uuid.uuid4().hex
            self.messages.append({"action": action, "name": name, "body": body, "msg_id": msg_id,
                                  "client_request_id": fields.get("clientRequestId"),
                                  "signature_method": fields.get("SignatureMethod") or "HmacSHA1"})
        return {"msgId": msg_id}


def serve(port: int = 0, host: str = "127.0.0.1", queues: Tuple[str, ...] = ("sms-reports",),
          topics: Tuple[str, ...] = ()) -> None:
    """Blocking: serve the fake until Ctrl-C, printing the `cmq://` entry that reaches it."""
    fake = CmqDataflowFake(host=host, port=port, queues=queues, topics=topics)
    fake.start()
    first = queues[0] if queues else "NAME"
    print(f"CMQ data-flow fake on {fake.address}  TENCENTCLOUD_SECRET_ID={fake.secret_id} "
          f"TENCENTCLOUD_SECRET_KEY={fake.secret_key}  (cmq://queue/{first}#endpoint={fake.address}; "
          "Ctrl-C to stop)", flush=True)
    from sms_receipt_stats.dev.foreground import run_until_stopped

    try:
        run_until_stopped()
    finally:
        fake.stop()

"""The sink protocol: what every sink module implements, and the HTTP helpers they share.

A sink turns the result document into what its platform accepts (`prepare`, pure) and
sends it (`deliver`, one attempt). Retry, deadline and concurrency live in `delivery`, so
a platform module (`sms_receipt_stats.notify.platforms`) stays one small file: payload shape,
limits and how to read an answer.
"""

from __future__ import annotations

import json
import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Dict, List, Optional

from sms_receipt_stats import redaction
from sms_receipt_stats.documents import ResultDocument
from sms_receipt_stats.vocabulary import SEVERITY_RANK

if TYPE_CHECKING:  # platform modules import this one while config parses NOTIFY_URLS: nothing heavy at run time
    import requests

    from sms_receipt_stats.config import Settings
    from sms_receipt_stats.notify.urls import SinkSpec
    from sms_receipt_stats.render.report import RenderedMessage

log = logging.getLogger("sms_receipt_stats.sinks")

MAX_REQUEST_TIMEOUT = 10.0  # seconds; one HTTP request never waits longer
MIN_REQUEST_TIMEOUT = 0.2  # with less time left a request is not started
USER_AGENT = "sms-receipt-stats"
TRUNCATION_MARKER = "\n…"


class DeliveryError(Exception):
    """One failed attempt. `transient` failures are retried; the message must carry no secret."""

    def __init__(self, message: str, transient: bool, retry_after: Optional[float] = None):
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.retry_after = retry_after


@dataclass
class DeliveryContext:
    """What an attempt needs from outside, injected so tests control time and HTTP."""

    session: requests.Session
    settings: Settings
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    deadline: Optional[float] = None  # clock value by which every delivery must have ended
    now: Callable[[], float] = time.time  # wall clock for signature timestamps (`clock` may be monotonic)

    def time_left(self) -> Optional[float]:
        return None if self.deadline is None else self.deadline - self.clock()

    @property
    def timeout(self) -> float:
        """Per-request timeout: 10 s, or what is left of the invocation if less."""
        left = self.time_left()
        if left is None:
            return MAX_REQUEST_TIMEOUT
        return max(MIN_REQUEST_TIMEOUT, min(MAX_REQUEST_TIMEOUT, left))


class Sink(ABC):
    """One `NOTIFY_URLS` entry. Subclasses declare their kind and implement prepare/deliver."""

    kind: ClassVar[str]

    def __init__(self, spec: SinkSpec):
        self.spec = spec

    @abstractmethod
    def prepare(self, doc: ResultDocument, settings: Settings) -> Optional[Any]:
        """What this sink would send for `doc`, built once before any attempt; None = nothing."""

    @abstractmethod
    def deliver(self, prepared: Any, ctx: DeliveryContext) -> None:
        """One attempt at sending `prepared`; raises DeliveryError on failure."""

    def send(self, doc: ResultDocument, ctx: DeliveryContext) -> None:
        """Prepare and deliver once, without retry (the retrying path is `delivery.deliver_all`).

        The DeliveryError raised here is scrubbed: a platform may echo the URL or key back.
        """
        prepared = self.prepare(doc, ctx.settings)
        if prepared is None:
            return
        try:
            self.deliver(prepared, ctx)
        except DeliveryError as exc:
            raise DeliveryError(self.scrub(exc.message, ctx.settings), exc.transient, exc.retry_after) from None

    def scrub(self, text: str, settings: Settings) -> str:
        """`text` without this entry's secrets or any configured one (`redaction.scrub`)."""
        return redaction.scrub(text, [*self.spec.secret_values(), *settings.secret_values()])

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec.label}>"


def wants_document(doc: ResultDocument, min_severity: str) -> bool:
    """Routing for document sinks: a report goes to `info` sinks; otherwise only alerts at or above."""
    return doc.shown_whole_at(min_severity) or bool(doc.alerts_at_least(min_severity))


def document_json(doc: ResultDocument) -> str:
    """The result document as compact JSON: the exact text webhook and queue sinks carry."""
    return json.dumps(doc.to_json_dict(), ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class QueueMessage:
    """One queue message (docs/sinks.md, *Queues*): the result document as JSON, and the id it
    carries inside (`message_id`) and outside (the queue's own key / property), so a consumer
    drops a second copy whatever the queue."""

    message_id: str
    body: str
    #: the document's kind (report, check, ...), for queues that carry a type beside the body
    kind: str = ""

    @property
    def size(self) -> int:
        return len(self.body.encode("utf-8"))


#: what a queue message leaves out, in this order, when the whole document exceeds the queue's cap:
#: the per-hour/day series first (the totals stay), then the API request ids, then the doctor's checks
_OMISSIONS = ("series", "request_ids", "checks")


def new_message_id() -> str:
    """A fresh id for a notice: what receivers drop duplicates by (docs/sinks.md, *Queues*)."""
    import uuid

    return "msg_" + uuid.uuid4().hex


def queue_message(doc: ResultDocument, max_bytes: Optional[int]) -> QueueMessage:
    """The document as one queue message of at most `max_bytes` UTF-8 bytes.

    The id is the document's own (kept by every outbox retry), else a new one, made once per
    prepared message so an attempt's retries carry the same id. A document over the cap leaves out
    what `_OMISSIONS` names, one part at a time, and says so in `omitted`; one still over the cap
    raises a permanent DeliveryError naming both sizes (the sink's delivery fails, it is never
    dropped silently)."""
    message_id = doc.message_id or new_message_id()
    current = doc.model_copy(update={"message_id": message_id})
    message = QueueMessage(message_id, document_json(current), doc.kind)
    omitted: List[str] = []
    for part in _OMISSIONS:
        if max_bytes is None or message.size <= max_bytes:
            return message
        omitted.append(part)
        current = _without(current, part).model_copy(update={"omitted": list(omitted)})
        message = QueueMessage(message_id, document_json(current), doc.kind)
    if max_bytes is not None and message.size > max_bytes:
        raise DeliveryError(f"document of {message.size} bytes exceeds the queue's message limit of {max_bytes} "
                            f"bytes, even without {', '.join(omitted)}", transient=False)
    return message


def is_transient(code: str) -> bool:
    """A Tencent Cloud error worth retrying: what the error catalogue calls retryable."""
    from sms_receipt_stats.catalogue import is_retryable

    return is_retryable(code)


def cloud_client(service: str, version: str, settings: Settings, region: str, endpoint: Optional[str],
                 default_host: str, timeout: float, product: str) -> Any:
    """The SDK's common client for a queue's TC3-signed API (`endpoint=` or the product's own host,
    never SMS_ENDPOINT); a permanent DeliveryError when it cannot be made."""
    from sms_receipt_stats import sdk

    try:
        return sdk.common_client(service, version, settings, region, sdk.endpoint_for(endpoint, default_host),
                                 timeout=timeout)
    except sdk.MissingCredentials:
        raise DeliveryError(f"no Tencent Cloud credentials for {product}", transient=False) from None
    except ValueError:
        raise DeliveryError("bad endpoint", transient=False) from None


def cloud_call(client: Any, action: str, params: Dict[str, Any]) -> Dict[str, Any]:
    """One call of `client`; an API error becomes a DeliveryError `CODE: message`, retried when the
    catalogue says so (the SDK seam already made a transport error's text host-free)."""
    from sms_receipt_stats import sdk

    try:
        return sdk.call_action(client, action, params)
    except sdk.CloudError as exc:
        text = one_line(exc.message)
        raise DeliveryError(f"{exc.code}: {text}" if text else exc.code, transient=is_transient(exc.code)) from None


class QueueSink(Sink):
    """A queue (`cmq://`, `ckafka://`, `amqp://`, ...): one message per run, `queue_message`'s.

    The message is made once in `prepare` (its id is kept by every retry); a document that cannot
    fit is kept as its permanent failure, so the delivery names it instead of dropping it.
    Subclasses give the size cap and `publish` one message."""

    def max_message_bytes(self) -> Optional[int]:
        """The largest message this queue takes, in UTF-8 bytes (None: no cap of ours)."""
        return None

    def prepare(self, doc: ResultDocument, settings: Settings) -> Optional[Any]:
        if not wants_document(doc, self.spec.min_severity):
            return None
        try:
            return queue_message(doc, self.max_message_bytes())
        except DeliveryError as exc:
            return exc

    def deliver(self, prepared: Any, ctx: DeliveryContext) -> None:
        if isinstance(prepared, DeliveryError):
            raise prepared
        self.publish(prepared, ctx)

    @abstractmethod
    def publish(self, message: QueueMessage, ctx: DeliveryContext) -> None:
        """One attempt at sending `message`; raises DeliveryError on failure."""


def _without(doc: ResultDocument, part: str) -> ResultDocument:
    if part == "checks":
        return doc.model_copy(update={"checks": None})
    value: Any = None if part == "series" else []
    return doc.model_copy(update={"results": [r.model_copy(update={part: value}) for r in doc.results]})


def fit_bytes(text: str, limit: int) -> str:
    """Cut `text` to `limit` UTF-8 bytes with a visible marker (safety net behind the renderer)."""
    from sms_receipt_stats.text import fit_utf8

    return fit_utf8(text, limit, TRUNCATION_MARKER)


def one_line(text: str) -> str:
    """A platform's error text on one line. Not shortened here: `delivery` scrubs secrets from
    the whole text first and shortens after, so a cut can never leave half a key behind."""
    return " ".join(str(text).split())


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Retry-After as seconds (delta-seconds or HTTP-date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def http_post(ctx: DeliveryContext, url: str, body: bytes, *, headers: Optional[Dict[str, str]] = None,
              params: Optional[Dict[str, str]] = None) -> requests.Response:
    """POST once; network errors and HTTP 408/429/5xx become transient DeliveryErrors.

    Exception texts are never used: requests puts the URL (and so the robot key) in them.
    Redirects are not followed: a redirected POST would resend the secret-bearing body elsewhere.
    """
    import requests

    all_headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    all_headers.update(headers or {})
    try:
        resp = ctx.session.post(url, data=body, headers=all_headers, params=params,
                                timeout=ctx.timeout, allow_redirects=False)
    except requests.Timeout:
        raise DeliveryError("timed out", transient=True) from None
    except requests.RequestException as exc:
        raise DeliveryError(f"network error ({type(exc).__name__})", transient=True) from None
    status = resp.status_code
    if 200 <= status < 300:
        return resp
    detail = one_line(resp.text) if resp.text else ""
    message = f"HTTP {status}" + (f": {detail}" if detail else "")
    if status in (408, 429) or status >= 500:
        raise DeliveryError(message, transient=True, retry_after=parse_retry_after(resp.headers.get("Retry-After")))
    raise DeliveryError(message, transient=False)


def json_answer(resp: requests.Response) -> Dict[str, Any]:
    """The JSON object a chat platform answers with; anything else is a permanent failure."""
    try:
        body = resp.json()
    except ValueError:
        raise DeliveryError(f"HTTP {resp.status_code} with a non-JSON answer", transient=False) from None
    if not isinstance(body, dict):
        raise DeliveryError(f"HTTP {resp.status_code} with an unexpected answer", transient=False)
    return body


def encode_json(payload: Dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass
class ChatBatch:
    """The messages one chat sink sends for one document; `sent` survives retries (no duplicates)."""

    payloads: List[Dict[str, Any]]
    sent: int = 0


class ChatSink(Sink):
    """A chat robot: render the document in the platform's flavour, POST JSON, read the answer."""

    flavor: ClassVar[str]
    max_bytes: ClassVar[int]  # what the renderer may produce for the message body

    def prepare(self, doc: ResultDocument, settings: Settings) -> Optional[ChatBatch]:
        from sms_receipt_stats.links import details_links
        from sms_receipt_stats.render import render_message

        secret = settings.link_secret.get_secret_value() if settings.link_secret else None
        message = render_message(doc, self.flavor, lang=settings.lang, thresholds=settings.thresholds,
                                 min_severity=self.spec.min_severity, max_bytes=self.body_budget(),
                                 details=details_links(settings.public_url, secret, doc.generated_at))
        if message is None:
            return None
        return ChatBatch(payloads=self.compose(message))

    def body_budget(self) -> int:
        """Bytes left for the rendered text once mentions are appended."""
        return self.max_bytes

    def mentions_due(self, message: RenderedMessage) -> bool:
        """Mentions wake people up: only for warning/critical messages, and only when configured."""
        if SEVERITY_RANK.get(message.severity, 0) < SEVERITY_RANK["warning"]:
            return False
        return self.spec.mention_all or bool(self.spec.mention_mobiles)

    @abstractmethod
    def compose(self, message: RenderedMessage) -> List[Dict[str, Any]]:
        """The platform payload(s) for a rendered message, in sending order."""

    @abstractmethod
    def check_answer(self, resp: requests.Response) -> None:
        """Raise DeliveryError when a 2xx answer still reports a platform error."""

    def post(self, payload: Dict[str, Any], ctx: DeliveryContext) -> None:
        resp = http_post(ctx, self.spec.url, encode_json(payload))
        self.check_answer(resp)

    def deliver(self, prepared: ChatBatch, ctx: DeliveryContext) -> None:
        while prepared.sent < len(prepared.payloads):
            self.post(prepared.payloads[prepared.sent], ctx)
            prepared.sent += 1


def check_errcode(body: Dict[str, Any], key: str, transient_codes: frozenset, *,
                  message_key: str = "errmsg") -> None:
    """Platforms that answer HTTP 200 with a code: non-zero is a failure, some codes transient."""
    code = body.get(key)
    if code in (0, "0"):
        return
    if code is None:
        raise DeliveryError(f"answer without {key}", transient=False)
    try:
        number = int(code)
    except (TypeError, ValueError):
        number = None
    text = one_line(body.get(message_key) or "")
    raise DeliveryError(f"{key} {code}" + (f": {text}" if text else ""), transient=number in transient_codes)

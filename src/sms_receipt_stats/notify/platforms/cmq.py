"""TDMQ for CMQ queue / topic over the HTTP data-flow API: the result document as one message.

`cmq://queue/NAME#endpoint=ADDR` → `SendMessage` {queueName, msgBody};
`cmq://topic/NAME#endpoint=ADDR` → `PublishMessage` {topicName, msgBody}. `ADDR` is the queue
service's API request address copied from the console (Queue Service > API request address):
public `https://cmq-<region>.public….tencenttdmq.com` or, from a VPC (no traffic fee),
`http://<region>.mqadapter.cmq.tencentyun.com`. It names the region, so no `Region` is sent.
Same credentials as the SMS API. What each documentation page says is listed in the fake the
tests run against, `sms_receipt_stats.dev.cmq_dataflow`.

The request: a form-encoded POST to `ADDR/v2/index.php` whose fields are the action's own and
the common ones (`Action`, `SecretId`, `Timestamp`, `Nonce`, `SignatureMethod`, `Signature`, and
`Token` with temporary credentials). The signature (product 406 page 5906) is
base64(HMAC(SecretKey, "POST" + host + "/v2/index.php" + "?" + k1=v1&k2=v2…)) over every other
field sorted by name, values as they are (not URL-encoded). The SDK does not sign this API, so
the signer is here, small and pure (`string_to_sign`, `signature`).

The answer is JSON `{"code": 0, "message": "", "requestId": …, "msgId": …}`; a non-zero `code` is
a failure: rate limits and the service's internal errors are retried, the rest are not (the
codes and what they mean: `CODES`).

The message is `notify.base.queue_message`: the document with its `message_id` inside (how a
consumer drops a second copy), fitted to the queue's maximum message size, `max_msg_size=`
(the queue's attribute of that name: 64 KB unless raised in the console, at most 1 MB), by
leaving out the parts it names; a document that still does not fit fails permanently, named.
The `message_id` also travels as `clientRequestId`, the client's own request id the signature
page's SendMessage example carries.

The management API's `SendCmqMsg`/`PublishCmqMsg` is `cmq+api://` (`cmq_api.py`), for tests only.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Tuple
from urllib.parse import urlencode

from sms_receipt_stats.notify.base import (
    DeliveryContext,
    DeliveryError,
    QueueMessage,
    QueueSink,
    http_post,
    json_answer,
    one_line,
)
from sms_receipt_stats.notify.platforms import Platform

if TYPE_CHECKING:
    from urllib.parse import SplitResult


#: the data-flow API's one path (product 406 page 5906; Tencent's data-flow SDK, `URISEC`)
PATH = "/v2/index.php"
#: the signature method sent; the API also takes HmacSHA1 (its default when the field is absent)
SIGNATURE_METHOD = "HmacSHA256"
_DIGESTS = {"HmacSHA256": "sha256", "HmacSHA1": "sha1"}
#: the largest message CMQ takes (error 4470 "total message size exceed 1MB")
MAX_MESSAGE_BYTES = 1024 * 1024
#: a queue's maximum message size unless raised (its `maxMsgSize` attribute; the data-flow SDK's
#: `DEFAULT_MAX_MSG_SIZE = 65536`): the default of `max_msg_size=`; over it the service answers 4400
DEFAULT_MAX_MSG_SIZE = 64 * 1024
#: the largest request it parses (error 4000/10420 "request size is more than 1MB")
MAX_REQUEST_BYTES = 1024 * 1024
#: where a user copies `endpoint=` from, said whenever it is missing or wrong
WHERE_TO_COPY = ("copy the address from the TDMQ for CMQ console, Queue Service > API request address "
                 "(public https://cmq-<region>.public….tencenttdmq.com, or from a VPC "
                 "http://<region>.mqadapter.cmq.tencentyun.com)")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_KINDS = {"queue": "cmq_queue", "topic": "cmq_topic"}

#: code → (transient, what it means, short: the service's own text follows it in the delivery
#: error); from the error code page (product 1496 page 70948). Codes not listed: permanent.
CODES: Mapping[int, Tuple[bool, str]] = {
    4000: (False, "invalid request"),
    4100: (False, "authentication failed (key, or a clock far off)"),
    4300: (False, "account in arrears"),
    4400: (False, "over the queue's max message size (max_msg_size=)"),
    4410: (False, "queue full"),
    4420: (True, "rate limited"),
    4440: (False, "no such queue/topic at this address"),
    4470: (False, "message over 1 MB"),
    4480: (True, "rate limited"),
    6000: (True, "internal error"),
    6030: (False, "no matching subscription on the topic"),
}


def parse_entry(kind: Optional[str], parts: SplitResult, options: Dict[str, str]) -> Dict[str, Any]:
    """`cmq://queue/NAME#endpoint=ADDR` or `cmq://topic/NAME#endpoint=ADDR`; `endpoint=` is required,
    `max_msg_size=` (bytes) optional."""
    from sms_receipt_stats.endpoint import parse_endpoint

    kind = _KINDS.get(parts.netloc)
    name = parts.path.strip("/")
    if kind is None or not _NAME.match(name):
        raise ValueError("expected cmq://queue/NAME#endpoint=ADDR or cmq://topic/NAME#endpoint=ADDR")
    endpoint = options.get("endpoint") or None
    if endpoint is None:
        raise ValueError(f"endpoint= is required: {WHERE_TO_COPY}")
    try:
        parse_endpoint(endpoint)
    except ValueError as exc:
        raise ValueError(f"endpoint: {exc}; {WHERE_TO_COPY}") from None
    size = options.get("max_msg_size") or ""
    if size and not (size.isdigit() and 1 <= int(size) <= MAX_MESSAGE_BYTES):
        raise ValueError(f"max_msg_size must be the queue's maximum message size in bytes, 1 to {MAX_MESSAGE_BYTES}")
    return {"kind": kind, "name": name, "endpoint": endpoint, "max_msg_size": int(size or DEFAULT_MAX_MSG_SIZE)}


def string_to_sign(host: str, params: Mapping[str, Any], method: str = "POST", path: str = PATH) -> str:
    """What is signed: method + host + path + "?" + the fields sorted by name, `k=v` joined by `&`.

    Values as they are, not URL-encoded (product 406 page 5906: `POSTcmq-queue-gz.api…/v2/index.php
    ?Action=SendMessage&Nonce=…`); `host` is the Host header's value (`host[:port]`)."""
    fields = "&".join(f"{key}={params[key]}" for key in sorted(params) if key != "Signature")
    return f"{method.upper()}{host}{path}?{fields}"


def signature(secret_key: str, text: str, method: str = SIGNATURE_METHOD) -> str:
    """base64 of the HMAC of `text` with the SecretKey; HmacSHA256, else HmacSHA1 (as the API reads it)."""
    import base64
    import hmac  # here, not at the top: the registry imports this module whenever NOTIFY_URLS is parsed

    mac = hmac.new(secret_key.encode("utf-8"), text.encode("utf-8"), _DIGESTS.get(method, "sha1"))
    return base64.b64encode(mac.digest()).decode()


def signed_fields(action: str, fields: Mapping[str, Any], *, host: str, secret_id: str, secret_key: str,
                  token: Optional[str], timestamp: int, nonce: int) -> Dict[str, str]:
    """The action's fields with the common ones and their `Signature`: the form the API receives."""
    params: Dict[str, str] = {key: str(value) for key, value in fields.items()}
    params.update({"Action": action, "SecretId": secret_id, "Timestamp": str(timestamp), "Nonce": str(nonce),
                   "SignatureMethod": SIGNATURE_METHOD})
    if token:
        params["Token"] = token
    params["Signature"] = signature(secret_key, string_to_sign(host, params))
    return params


def host_header(endpoint_host: str, scheme: str) -> str:
    """The Host header requests sends for `host[:port]`: the port only when it is not the scheme's default."""
    default = ":443" if scheme == "https" else ":80"
    return endpoint_host[: -len(default)] if endpoint_host.endswith(default) else endpoint_host


def explain(code: int, message: str) -> Tuple[bool, str]:
    """Whether a non-zero `code` is worth retrying, and the delivery error's text (never a secret)."""
    transient, meaning = CODES.get(code, (False, ""))
    text = one_line(message)
    return transient, f"code {code}" + (f": {meaning}" if meaning else "") + (f" ({text})" if text else "")


class CmqSink(QueueSink):
    kind = "cmq"
    action: str
    name_field: str

    def max_message_bytes(self) -> Optional[int]:
        return int(self.spec.param("max_msg_size", DEFAULT_MAX_MSG_SIZE))

    def fields(self, message: QueueMessage) -> Dict[str, Any]:
        return {self.name_field: self.spec.name, "msgBody": message.body, "clientRequestId": message.message_id}

    def publish(self, message: QueueMessage, ctx: DeliveryContext) -> None:
        import secrets

        from sms_receipt_stats.endpoint import parse_endpoint

        settings = ctx.settings
        if not settings.secret_id or settings.secret_key is None:
            raise DeliveryError("no Tencent Cloud credentials for the queue", transient=False)
        try:
            endpoint = parse_endpoint(self.spec.endpoint or "")
        except ValueError:
            raise DeliveryError(f"bad endpoint: {WHERE_TO_COPY}", transient=False) from None
        token = settings.session_token.get_secret_value() if settings.session_token else None
        host = host_header(endpoint.host, endpoint.scheme)
        form = signed_fields(self.action, self.fields(message), host=host,
                             secret_id=settings.secret_id, secret_key=settings.secret_key.get_secret_value(),
                             token=token, timestamp=int(ctx.now()), nonce=1 + secrets.randbelow(2**31 - 1))
        encoded = urlencode(form).encode("ascii")
        if len(encoded) > MAX_REQUEST_BYTES:
            raise DeliveryError(f"message of {message.size} bytes makes a request of {len(encoded)} bytes, over CMQ's "
                                f"request limit of {MAX_REQUEST_BYTES} bytes", transient=False)
        resp = http_post(ctx, f"{endpoint.scheme}://{endpoint.host}{PATH}", encoded,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        answer = json_answer(resp)
        code = answer.get("code")
        if code in (0, "0"):
            return
        try:
            number = int(code)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise DeliveryError(f"{self.action}: answer without a code", transient=False) from None
        transient, text = explain(number, str(answer.get("message") or ""))
        request_id = answer.get("requestId")
        suffix = f" [requestId {one_line(str(request_id))}]" if request_id else ""
        raise DeliveryError(f"{self.action} {text}{suffix}", transient=transient)


class CmqQueueSink(CmqSink):
    kind = "cmq_queue"
    action = "SendMessage"
    name_field = "queueName"


class CmqTopicSink(CmqSink):
    kind = "cmq_topic"
    action = "PublishMessage"
    name_field = "topicName"


PLATFORM = Platform(
    names={"cmq_queue": "CMQ", "cmq_topic": "CMQ"},
    max_bytes=MAX_MESSAGE_BYTES,
    sinks={"cmq_queue": CmqQueueSink, "cmq_topic": CmqTopicSink},
    scheme="cmq",
    form="cmq://queue|topic/NAME#endpoint=ADDR",
    options=("endpoint", "max_msg_size"),
    parse=parse_entry,
)

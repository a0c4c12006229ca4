"""Generic JSON webhook: the result document, signed per Standard Webhooks when `secret` is set.

Headers `webhook-id` (same on every retry of one message, so receivers can deduplicate),
`webhook-timestamp` (integer seconds, per attempt) and
`webhook-signature: v1,<base64 HMAC-SHA256(key, f"{id}.{timestamp}.{body}")>`; the key is
the base64-decoded rest of a `whsec_…` secret, else the secret's UTF-8 bytes.

Any http(s) URL on a host no chat platform claims is a webhook (and `webhook+URL` forces it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Optional

from sms_receipt_stats.notify.base import (
    DeliveryContext,
    DeliveryError,
    Sink,
    document_json,
    http_post,
    new_message_id,
    wants_document,
)
from sms_receipt_stats.notify.platforms import Platform

if TYPE_CHECKING:
    from urllib.parse import SplitResult

    from sms_receipt_stats.config import Settings
    from sms_receipt_stats.documents import ResultDocument

WHSEC_PREFIX = "whsec_"


def signing_key(secret: str) -> bytes:
    """`whsec_<base64>` → the decoded bytes; any other secret → its UTF-8 bytes."""
    if secret.startswith(WHSEC_PREFIX):
        try:
            return base64.b64decode(secret[len(WHSEC_PREFIX):], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("a whsec_ secret must be followed by base64") from None
    return secret.encode("utf-8")


def _is_base64(text: str) -> bool:
    try:
        return bool(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        return False


def check_entry(kind: Optional[str], parts: SplitResult, options: Dict[str, str]) -> Dict[str, Any]:
    """A `whsec_` secret that is not base64 could never sign: refuse the entry when it loads."""
    secret = options.get("secret") or ""
    if secret.startswith(WHSEC_PREFIX) and not _is_base64(secret[len(WHSEC_PREFIX):]):
        raise ValueError("a whsec_ secret must be followed by base64 (Standard Webhooks)")
    return {}


def sign(key: bytes, msg_id: str, timestamp: int, body: str) -> str:
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


@dataclass
class WebhookMessage:
    msg_id: str
    body: str


class WebhookSink(Sink):
    kind = "webhook"

    def prepare(self, doc: ResultDocument, settings: Settings) -> Optional[WebhookMessage]:
        if not wants_document(doc, self.spec.min_severity):
            return None
        # a notice retried from the outbox keeps its id, so the receiver can drop a second copy
        return WebhookMessage(msg_id=doc.message_id or new_message_id(), body=document_json(doc))

    def deliver(self, prepared: WebhookMessage, ctx: DeliveryContext) -> None:
        timestamp = int(ctx.now())
        headers = {"webhook-id": prepared.msg_id, "webhook-timestamp": str(timestamp)}
        if self.spec.secret:
            try:
                key = signing_key(self.spec.secret)
            except ValueError as exc:
                raise DeliveryError(str(exc), transient=False) from None
            headers["webhook-signature"] = sign(key, prepared.msg_id, timestamp, prepared.body)
        http_post(ctx, self.spec.url, prepared.body.encode("utf-8"), headers=headers)


PLATFORM = Platform(
    names={"webhook": "the generic webhook"},
    max_bytes=None,  # the receiver is ours: the document is sent whole, however large
    sinks={"webhook": WebhookSink},
    prefixes=("webhook",),
    catch_all=True,
    options=("secret",),
    signing="Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`",
    parse=check_entry,
)

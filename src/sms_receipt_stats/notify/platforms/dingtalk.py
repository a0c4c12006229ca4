"""DingTalk (钉钉) custom robot: markdown {title, text}, `at` for mentions, optional signing.

Signed robots ("加签") need `timestamp` (ms) and `sign` =
urlencode(base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))) in the query;
the signature is made per attempt because DingTalk refuses timestamps older than an hour.
DingTalk only highlights a mobile mention when `@mobile` also appears in the text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING, Any, Dict, List

from sms_receipt_stats.notify.base import (
    ChatSink,
    DeliveryContext,
    check_errcode,
    encode_json,
    fit_bytes,
    http_post,
    json_answer,
)
from sms_receipt_stats.notify.markup import MarkdownMarkup
from sms_receipt_stats.notify.platforms import Platform

if TYPE_CHECKING:
    import requests

    from sms_receipt_stats.render.report import RenderedMessage

# markdown `text`, UTF-8. DingTalk's robot documentation
# (https://open.dingtalk.com/document/robots/custom-robot-access, message types) states no byte
# limit for it; 20000 bytes is the limit robot senders commonly observe and enforce, so we stay
# within it.
MAX_BYTES = 20000
TRANSIENT_CODES = frozenset({-1, 130101, 410100})  # busy; send too fast (20/min); throttled


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The base64 signature (requests URL-encodes it in the query)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class DingTalkMarkup(MarkdownMarkup):
    name = "dingtalk"
    max_bytes = MAX_BYTES
    # DingTalk markdown joins single newlines; two trailing spaces force a line break.
    newline = "  \n"

    def section(self, text: str) -> str:
        return f"#### {text}"


class DingTalkSink(ChatSink):
    kind = "dingtalk"
    flavor = "dingtalk"
    max_bytes = MAX_BYTES

    def _mention_line(self) -> str:
        return " ".join(f"@{m}" for m in self.spec.mention_mobiles)

    def body_budget(self) -> int:
        return MAX_BYTES - len(self._mention_line().encode("utf-8")) - 2

    def compose(self, message: RenderedMessage) -> List[Dict[str, Any]]:
        text = message.text
        payload: Dict[str, Any] = {"msgtype": "markdown", "markdown": {"title": message.title, "text": text}}
        if self.mentions_due(message):
            if self.spec.mention_mobiles:
                text = f"{text}\n\n{self._mention_line()}"
            payload["at"] = {"atMobiles": list(self.spec.mention_mobiles), "isAtAll": self.spec.mention_all}
        payload["markdown"]["text"] = fit_bytes(text, MAX_BYTES)
        return [payload]

    def post(self, payload: Dict[str, Any], ctx: DeliveryContext) -> None:
        params = None
        if self.spec.secret:
            timestamp = int(ctx.now() * 1000)
            params = {"timestamp": str(timestamp), "sign": dingtalk_sign(self.spec.secret, timestamp)}
        resp = http_post(ctx, self.spec.url, encode_json(payload), params=params)
        self.check_answer(resp)

    def check_answer(self, resp: requests.Response) -> None:
        check_errcode(json_answer(resp), "errcode", TRANSIENT_CODES)


PLATFORM = Platform(
    names={"dingtalk": "DingTalk"},
    max_bytes=MAX_BYTES,
    sinks={"dingtalk": DingTalkSink},
    markup=DingTalkMarkup,
    hosts={"oapi.dingtalk.com": "dingtalk"},
    prefixes=("dingtalk",),
    options=("secret", "mention"),
    signing="query `timestamp` (ms) and `sign` = base64 HMAC-SHA256(secret, timestamp\\nsecret), per attempt",
    mention_mobiles=True,
)

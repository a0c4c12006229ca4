"""Feishu (飞书) and Lark custom bots: an interactive card with one lark_md element.

Both platforms share the bot API; only the host differs. Signed bots need body fields
`timestamp` (seconds, a string) and `sign` = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}",
msg=b"")), made per attempt. Cards mention everyone with `<at id=all></at>` inside lark_md;
custom bots cannot mention by mobile number, so `mention=<mobile>` is ignored here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING, Any, Dict, List

from sms_receipt_stats.notify.base import (
    ChatSink,
    DeliveryContext,
    DeliveryError,
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

# Custom bot request body: at most 20 KB (https://open.feishu.cn/document/client-docs/bot-v3/
# add-custom-bot, "请求体大小不能超过 20 KB"; Apprise's Feishu plugin keeps 19985).
BODY_MAX_BYTES = 20 * 1024
# The card text leaves ~2.5 KB of that for the card envelope, the title and JSON escaping of
# newlines/quotes (sent with ensure_ascii=False: \uXXXX escapes would double non-ASCII text).
MAX_BYTES = 18000
TRANSIENT_CODES = frozenset({9499, 11232})  # too many requests / frequency limited
MENTION_ALL = "<at id=all></at>"
HEADER_COLOURS = {"info": "blue", "warning": "orange", "critical": "red"}


def feishu_sign(secret: str, timestamp_s: int) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class FeishuMarkup(MarkdownMarkup):
    """lark_md: the card header shows the title, so the body does not repeat it."""

    name = "feishu"
    max_bytes = MAX_BYTES
    title_in_body = False

    def heading(self, text: str) -> str:
        return f"**{text}**"


class FeishuSink(ChatSink):
    kind = "feishu"
    flavor = "feishu"
    max_bytes = MAX_BYTES

    def body_budget(self) -> int:
        return MAX_BYTES - len(MENTION_ALL) - 2

    def compose(self, message: RenderedMessage) -> List[Dict[str, Any]]:
        text = message.text
        if self.mentions_due(message) and self.spec.mention_all:
            text = f"{text}\n{MENTION_ALL}"
        card = {
            "config": {"wide_screen_mode": True},
            "header": {
                "title": {"tag": "plain_text", "content": message.title},
                "template": HEADER_COLOURS.get(message.severity, "blue"),
            },
            "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": fit_bytes(text, MAX_BYTES)}}],
        }
        return [{"msg_type": "interactive", "card": card}]

    def post(self, payload: Dict[str, Any], ctx: DeliveryContext) -> None:
        if self.spec.secret:
            timestamp = int(ctx.now())
            payload = {"timestamp": str(timestamp), "sign": feishu_sign(self.spec.secret, timestamp), **payload}
        body = encode_json(payload)
        if len(body) > BODY_MAX_BYTES:
            raise DeliveryError(f"message of {len(body)} bytes exceeds the {BODY_MAX_BYTES}-byte limit",
                                transient=False)
        self.check_answer(http_post(ctx, self.spec.url, body))

    def check_answer(self, resp: requests.Response) -> None:
        """New bots answer `code`/`msg`; older ones `StatusCode`/`StatusMessage`."""
        body = json_answer(resp)
        answer = {"code": body.get("code", body.get("StatusCode")), "msg": body.get("msg") or body.get("StatusMessage")}
        check_errcode(answer, "code", TRANSIENT_CODES, message_key="msg")


class LarkSink(FeishuSink):
    """Lark (open.larksuite.com): the same bot API as Feishu."""

    kind = "lark"


PLATFORM = Platform(
    names={"feishu": "Feishu", "lark": "Lark"},
    max_bytes=MAX_BYTES,
    sinks={"feishu": FeishuSink, "lark": LarkSink},
    markup=FeishuMarkup,
    hosts={"open.feishu.cn": "feishu", "open.larksuite.com": "lark"},
    prefixes=("feishu", "lark"),
    options=("secret", "mention"),
    signing="body `timestamp` (s) and `sign` = base64 HMAC-SHA256(timestamp\\nsecret, empty), per attempt",
)

"""WeCom (企业微信) group robot: one markdown message, plus a text message for mentions.

Robot URLs are `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…` (the key is the secret);
messages are not signed. WeCom markdown cannot @mention by mobile number, and `@all` is only
honoured by `text` messages, so a warning/critical message with `mention=` gets a short `text`
follow-up carrying `mentioned_mobile_list` (`["@all"]` for everyone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List

from sms_receipt_stats.notify.base import ChatSink, check_errcode, fit_bytes, json_answer
from sms_receipt_stats.notify.markup import MarkdownMarkup
from sms_receipt_stats.notify.platforms import Platform

if TYPE_CHECKING:
    import requests

    from sms_receipt_stats.render.report import RenderedMessage

# Group robot markdown `content`: "最长不超过4096个字节，必须是utf8编码"
# (https://developer.work.weixin.qq.com/document/path/91770, 群机器人配置说明 › markdown类型).
MAX_BYTES = 4096
TEXT_MAX_BYTES = 2048  # the mention follow-up's text.content (same page, text类型), UTF-8
TRANSIENT_CODES = frozenset({-1, 45009})  # -1 system busy; 45009 API frequency limit

# The three colours WeCom markdown knows: info = green, comment = grey, warning = orange-red.
_COLOURS = {"critical": "warning", "warning": "warning", "info": "info"}


class WeComMarkup(MarkdownMarkup):
    name = "wecom"
    max_bytes = MAX_BYTES

    def code(self, text: str) -> str:
        return f"`{text}`"

    def bullet(self, text: str) -> str:
        return f"> {text}"

    def severity(self, text: str, level: str) -> str:
        return f'<font color="{_COLOURS.get(level, "comment")}">{text}</font>'

    def muted(self, text: str) -> str:
        return f'<font color="comment">{text}</font>'


class WeComSink(ChatSink):
    kind = "wecom"
    flavor = "wecom"
    max_bytes = MAX_BYTES

    def compose(self, message: RenderedMessage) -> List[Dict[str, Any]]:
        payloads: List[Dict[str, Any]] = [
            {"msgtype": "markdown", "markdown": {"content": fit_bytes(message.text, MAX_BYTES)}}
        ]
        if self.mentions_due(message):
            mobiles = ["@all"] if self.spec.mention_all else list(self.spec.mention_mobiles)
            payloads.append({"msgtype": "text", "text": {"content": fit_bytes(message.title, TEXT_MAX_BYTES),
                                                         "mentioned_mobile_list": mobiles}})
        return payloads

    def check_answer(self, resp: requests.Response) -> None:
        check_errcode(json_answer(resp), "errcode", TRANSIENT_CODES)


PLATFORM = Platform(
    names={"wecom": "WeCom"},
    max_bytes=MAX_BYTES,
    sinks={"wecom": WeComSink},
    markup=WeComMarkup,
    hosts={"qyapi.weixin.qq.com": "wecom"},
    prefixes=("wecom",),
    options=("mention",),
    mention_mobiles=True,
)

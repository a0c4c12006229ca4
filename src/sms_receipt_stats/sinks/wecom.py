"""WeCom (企业微信) group robot: one markdown message, plus a text message for mentions.

WeCom markdown cannot @mention by mobile number, and `@all` is only honoured by `text`
messages, so a warning/critical message with `mention=` gets a short `text` follow-up
carrying `mentioned_mobile_list` (`["@all"]` for everyone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List

from sms_receipt_stats.sinks.base import ChatSink, check_errcode, fit_bytes, json_answer

if TYPE_CHECKING:
    import requests

    from sms_receipt_stats.render import RenderedMessage

MARKDOWN_MAX_BYTES = 4096  # markdown.content, UTF-8
TEXT_MAX_BYTES = 2048  # text.content, UTF-8
TRANSIENT_CODES = frozenset({-1, 45009})  # -1 system busy; 45009 API frequency limit


class WeComSink(ChatSink):
    kind = "wecom"
    flavor = "wecom"
    max_bytes = MARKDOWN_MAX_BYTES

    def compose(self, message: RenderedMessage) -> List[Dict[str, Any]]:
        payloads: List[Dict[str, Any]] = [
            {"msgtype": "markdown", "markdown": {"content": fit_bytes(message.text, MARKDOWN_MAX_BYTES)}}
        ]
        if self.mentions_due(message):
            mobiles = ["@all"] if self.spec.mention_all else list(self.spec.mention_mobiles)
            payloads.append({"msgtype": "text", "text": {"content": fit_bytes(message.title, TEXT_MAX_BYTES),
                                                         "mentioned_mobile_list": mobiles}})
        return payloads

    def check_answer(self, resp: requests.Response) -> None:
        check_errcode(json_answer(resp), "errcode", TRANSIENT_CODES)

"""WeCom (企业微信) group robot, `msgtype: markdown`."""

from __future__ import annotations

from sms_receipt_stats.render.markup import MarkdownMarkup

# Group robot markdown `content`: "最长不超过4096个字节，必须是utf8编码"
# (https://developer.work.weixin.qq.com/document/path/91770, 群机器人配置说明 › markdown类型).
MAX_BYTES = 4096

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

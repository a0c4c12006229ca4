"""Feishu / Lark custom bot: an interactive card (`title` → header, `text` → markdown element)."""

from __future__ import annotations

from sms_receipt_stats.render.markup import MarkdownMarkup

# Custom bot request body: at most 20 KB (https://open.feishu.cn/document/client-docs/bot-v3/
# add-custom-bot, "请求体大小不能超过 20 KB"; Apprise's Feishu plugin keeps 19985). The text
# leaves ~2.5 KB for the card envelope, the title and JSON escaping of newlines/quotes
# (send with ensure_ascii=False: \uXXXX escapes would double non-ASCII text).
MAX_BYTES = 18000


class FeishuMarkup(MarkdownMarkup):
    name = "feishu"
    max_bytes = MAX_BYTES
    title_in_body = False  # the card header shows the title

    def heading(self, text: str) -> str:
        return f"**{text}**"

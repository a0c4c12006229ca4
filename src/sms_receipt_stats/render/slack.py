"""Slack incoming webhook, `mrkdwn` text (fits one section block)."""

from __future__ import annotations

from sms_receipt_stats.render.markup import MARKDOWN_LOOKALIKES, MarkdownMarkup, clean, markdown_escape

# A section block's text is at most 3000 characters (https://api.slack.com/reference/block-kit/
# blocks#section); a message's top-level `text` is truncated past 40000 characters
# (https://api.slack.com/methods/chat.postMessage#truncating). 3000 bytes ≤ 3000 characters,
# so the body fits either way.
MAX_BYTES = 3000

# Slack asks for exactly &, < and > to be escaped as entities
# (https://api.slack.com/reference/surfaces/formatting#escaping): that disarms <!channel>,
# <@U123> and <url|label>. The rest of mrkdwn (*bold* _it_ ~strike~ `code`) and Markdown
# links of the newer `markdown` block get look-alikes, as elsewhere.
_SLACK_LOOKALIKES = {k: v for k, v in MARKDOWN_LOOKALIKES.items() if k not in "<>"}


class SlackMarkup(MarkdownMarkup):
    """mrkdwn: Markdown-like, with its own escaping and single-character emphasis."""

    name = "slack"
    max_bytes = MAX_BYTES
    lt = "&lt;"

    def escape(self, text: str) -> str:
        text = clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return markdown_escape(text, _SLACK_LOOKALIKES)

    def heading(self, text: str) -> str:
        return f"*{text}*"

    def section(self, text: str) -> str:
        return f"*{text}*"

    def bold(self, text: str) -> str:
        return f"*{text}*"

    def code(self, text: str) -> str:
        return f"`{text}`"

    def bullet(self, text: str) -> str:
        return f"• {text}"

    def muted(self, text: str) -> str:
        return f"_{text}_"

    def link(self, label: str, url: str) -> str:
        # `&` of the query is escaped like any text (Slack decodes &amp; back when it opens the link)
        return f"<{url.replace('&', '&amp;')}|{label}>"

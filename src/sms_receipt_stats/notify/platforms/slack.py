"""Slack incoming webhook: `text` (the notification fallback) plus mrkdwn section blocks.

Slack answers plain text: `ok` on success, HTTP 4xx with a reason such as
`invalid_payload` or `channel_is_archived`, 429 with Retry-After when rate limited.
Messages are not signed (the webhook URL is the secret). Slack cannot mention by mobile
number: only `mention=all` (`<!channel>`) is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List

from sms_receipt_stats.notify.base import ChatSink
from sms_receipt_stats.notify.markup import MARKDOWN_LOOKALIKES, MarkdownMarkup, clean, markdown_escape
from sms_receipt_stats.notify.platforms import Platform

if TYPE_CHECKING:
    import requests

    from sms_receipt_stats.render.report import RenderedMessage

# A section block's text is at most 3000 characters (https://api.slack.com/reference/block-kit/
# blocks#section), so the body is sent as several sections (`split_sections`). A message holds
# at most 50 blocks, and its top-level `text` is truncated past 40000 characters
# (https://api.slack.com/changelog/2018-04-truncating-really-long-messages). The body limit is
# 12000 bytes: at most four full sections plus the mention, far below 50 blocks and 40000
# characters, and below the ~13000 characters of blocks past which chat.postMessage answers
# `msg_blocks_too_long` although no documented limit is reached
# (https://github.com/slackapi/bolt-js/issues/2509). One limit for rendering and sending.
MAX_BYTES = 12000
SECTION_MAX_CHARS = 3000
MENTION_ALL = "<!channel>"

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


def split_sections(text: str, limit: int = SECTION_MAX_CHARS) -> List[str]:
    """Chunks of at most `limit` characters, cut at line ends where possible."""
    chunks: List[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = limit
        chunks.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest or not chunks:
        chunks.append(rest)
    return chunks


class SlackSink(ChatSink):
    kind = "slack"
    flavor = "slack"
    max_bytes = MAX_BYTES

    def compose(self, message: RenderedMessage) -> List[Dict[str, Any]]:
        """The renderer starts the body with the title, so no header block; `text` is the notification."""
        title, body = message.title, message.text
        if self.mentions_due(message) and self.spec.mention_all:
            title = f"{MENTION_ALL} {title}"
            body = f"{MENTION_ALL}\n{body}"
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": chunk}}
                  for chunk in split_sections(body) if chunk.strip()]
        return [{"text": title, "blocks": blocks}]

    def check_answer(self, resp: requests.Response) -> None:
        """Any 2xx is success (Slack says `ok`); errors arrive as 4xx/5xx and are handled by http_post."""


PLATFORM = Platform(
    names={"slack": "Slack"},
    max_bytes=MAX_BYTES,
    sinks={"slack": SlackSink},
    markup=SlackMarkup,
    hosts={"hooks.slack.com": "slack"},
    prefixes=("slack",),
    options=("mention",),
)

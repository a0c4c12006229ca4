"""Slack incoming webhook: `text` (the notification fallback) plus mrkdwn section blocks.

Slack answers plain text: `ok` on success, HTTP 4xx with a reason such as
`invalid_payload` or `channel_is_archived`, 429 with Retry-After when rate limited.
A section holds at most 3000 characters, so long messages become several sections.
Slack cannot mention by mobile number: only `mention=all` (`<!channel>`) is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List

from sms_receipt_stats.sinks.base import ChatSink

if TYPE_CHECKING:
    import requests

    from sms_receipt_stats.render import RenderedMessage

SECTION_MAX_CHARS = 3000
MAX_BYTES = 12000  # a few sections: well under Slack's 50 blocks and 40k characters
MENTION_ALL = "<!channel>"


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

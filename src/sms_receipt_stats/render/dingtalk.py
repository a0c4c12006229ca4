"""DingTalk (钉钉) custom robot, `msgtype: markdown` (`title` + `text`)."""

from __future__ import annotations

from sms_receipt_stats.render.markup import MarkdownMarkup

# DingTalk's robot documentation (https://open.dingtalk.com/document/robots/custom-robot-access,
# message types) states no byte limit for markdown `text`; 20000 bytes is the limit robot
# senders commonly observe and enforce, so we stay within it.
MAX_BYTES = 20000


class DingTalkMarkup(MarkdownMarkup):
    name = "dingtalk"
    max_bytes = MAX_BYTES
    # DingTalk markdown joins single newlines; two trailing spaces force a line break.
    newline = "  \n"

    def section(self, text: str) -> str:
        return f"#### {text}"

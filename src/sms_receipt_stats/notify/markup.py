"""What a message format is: its size limit, how it escapes and how it marks text up.

The base classes every platform's markup refines (`notify/platforms/wecom.py`, `.../slack.py`,
...; the chat robots refine `MarkdownMarkup`). The report model in `render/report.py` only calls
these methods, so a new platform is one new module. A leaf module (only `re`): platform modules
import it while the registry loads, before `render` can.
"""

from __future__ import annotations

import re
from typing import ClassVar, Dict, Sequence

# Control characters (incl. ESC of terminal sequences), line/paragraph separators → space:
# untrusted text must never start a new line (a heading, a quote, a list item).
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Bidi overrides/isolates and marks: they can make a name display as something else.
_BIDI = re.compile(r"[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# A scheme separator lets chat clients auto-link a bare URL; a zero-width space defangs it.
_SCHEME = re.compile(r":(?=//)")
# So does a bare domain (`evil.example/login`, `www.evil.com`): a zero-width space after each
# dot between a label and a letter leaves no `label.tld`; numbers (`77.02%`, `1.2.3`) stay.
_DOMAIN_DOT = re.compile(r"(?<=[\w-])\.(?=[^\W\d_])")
ZWSP = "\u200b"

#: Markdown specials → look-alikes that no renderer treats as markup. Look-alikes rather
#: than backslash escapes because WeCom/DingTalk/Feishu do not document backslash escaping.
MARKDOWN_LOOKALIKES: Dict[str, str] = {
    "\\": "＼",
    "*": "∗",
    "`": "ˋ",
    "[": "［",
    "]": "］",
    "<": "＜",
    ">": "＞",
    "#": "＃",
    "@": "＠",  # @all, @13800000000 and <@userid> mentions
    "~": "～",
    "|": "｜",
}
# `_` only emphasises at a word boundary; keep `prod_sms` readable, neutralise `_x_`.
_LONE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def clean(text: str) -> str:
    """Flavor-independent part of escaping: one line, no control or bidi characters, no bare
    domain a client could auto-link."""
    text = _BIDI.sub("", str(text))
    text = _BREAKS.sub(" ", text).strip()
    return _DOMAIN_DOT.sub("." + ZWSP, text)


def markdown_escape(text: str, lookalikes: Dict[str, str] = MARKDOWN_LOOKALIKES) -> str:
    text = _LONE_UNDERSCORE.sub("＿", clean(text))
    text = "".join(lookalikes.get(ch, ch) for ch in text)
    return _SCHEME.sub(":" + ZWSP, text)


class Markup:
    """Plain text, terminal friendly: the base every chat markup refines."""

    name: ClassVar[str] = "plain"
    max_bytes: ClassVar[int] = 1_000_000
    newline: ClassVar[str] = "\n"
    #: whether the body should start with the title (False where the platform shows it)
    title_in_body: ClassVar[bool] = True
    #: how our own text writes "<" (Slack reserves a raw "<" for links and mentions)
    lt: ClassVar[str] = "<"

    def escape(self, text: str) -> str:
        return clean(text)

    def heading(self, text: str) -> str:
        return text

    def section(self, text: str) -> str:
        """A section label such as "Alerts"."""
        return text.upper()

    def bold(self, text: str) -> str:
        return text

    def code(self, text: str) -> str:
        return text

    def bullet(self, text: str) -> str:
        return f"- {text}"

    def sub(self, text: str) -> str:
        """A detail line under an app (indented in plain text only: in Markdown four
        leading spaces would start a code block)."""
        return f"  {text}"

    def severity(self, text: str, level: str) -> str:
        """Colour a severity word where the platform can (level: critical/warning/info)."""
        return text

    def muted(self, text: str) -> str:
        return text

    def link(self, label: str, url: str) -> str:
        """A link to a URL we built ourselves (never untrusted text): the label, then the URL."""
        return f"{label}: {url}"

    def join(self, lines: Sequence[str]) -> str:
        return self.newline.join(lines)

    @property
    def blank(self) -> str:
        """Separator between blocks: an empty line."""
        return self.newline * 2


class MarkdownMarkup(Markup):
    """The Markdown of the chat robots: look-alike escaping, `### ` headings, `**bold**`
    section labels, `- ` bullets, detail lines without indent. Flavors override what differs."""

    def escape(self, text: str) -> str:
        return markdown_escape(text)

    def heading(self, text: str) -> str:
        return f"### {text}"

    def section(self, text: str) -> str:
        return f"**{text}**"

    def bold(self, text: str) -> str:
        return f"**{text}**"

    def sub(self, text: str) -> str:
        return text

    def link(self, label: str, url: str) -> str:
        return f"[{label}]({url})"

"""Shortening text, written once: by characters with an ellipsis, and by UTF-8 bytes.

Messages, issues, error texts and page cells all cut the same way: a cut is visible (`…`), and a
byte limit never splits a character. Standard library only, nothing imported: this loads at a cold
start (the redaction of every answer caps its messages through it).
"""

from __future__ import annotations

from typing import Any

ELLIPSIS = "…"


def shorten(value: Any, limit: int) -> str:
    """`value` as text (None: ""), cut to at most `limit` characters, the last of them `…` when cut."""
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def cut_utf8(text: str, limit: int) -> str:
    """The longest prefix of at most `limit` UTF-8 bytes; never splits a character."""
    if limit <= 0:
        return ""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def fit_utf8(text: str, limit: int, marker: str = "\n" + ELLIPSIS) -> str:
    """`text` within `limit` UTF-8 bytes (at least the marker's): whole when it fits, else cut with
    `marker` at the end."""
    if utf8_len(text) <= limit:
        return text
    return cut_utf8(text, limit - utf8_len(marker)) + marker

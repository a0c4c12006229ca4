"""Plain text for terminals (the CLI demo prints what a chat would show)."""

from __future__ import annotations

from sms_receipt_stats.render.markup import Markup

MAX_BYTES = 1_000_000  # no platform limit; a bound so nothing grows without end


class PlainMarkup(Markup):
    name = "plain"
    max_bytes = MAX_BYTES

    def bullet(self, text: str) -> str:
        return f"  {text}"

"""Plain text for terminals (the CLI demo prints what a chat would show): a flavor, no sink."""

from __future__ import annotations

from sms_receipt_stats.notify.markup import Markup
from sms_receipt_stats.notify.platforms import Platform

MAX_BYTES = 1_000_000  # no platform limit; a bound so nothing grows without end


class PlainMarkup(Markup):
    name = "plain"
    max_bytes = MAX_BYTES

    def bullet(self, text: str) -> str:
        return f"  {text}"


PLATFORM = Platform(names={}, max_bytes=MAX_BYTES, markup=PlainMarkup)

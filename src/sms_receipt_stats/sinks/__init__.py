"""Sinks: where result documents go (SPEC section 6).

`deliver_all(doc, settings)` sends a document to every `NOTIFY_URLS` entry and returns one
`Delivery` per sink. Names are loaded on first use: `config` imports `sinks.spec` while it
loads, and a job that never notifies (an HTTP lookup) should not pay for `requests`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sms_receipt_stats.sinks.base import DeliveryContext, DeliveryError, Sink
    from sms_receipt_stats.sinks.delivery import build_sinks, deliver_all
    from sms_receipt_stats.sinks.spec import SinkConfigError, SinkSpec, parse_notify_urls

_EXPORTS = {
    "DeliveryContext": "base",
    "DeliveryError": "base",
    "Sink": "base",
    "build_sinks": "delivery",
    "deliver_all": "delivery",
    "SinkConfigError": "spec",
    "SinkSpec": "spec",
    "parse_notify_urls": "spec",
}

__all__ = [
    "DeliveryContext",
    "DeliveryError",
    "Sink",
    "SinkConfigError",
    "SinkSpec",
    "build_sinks",
    "deliver_all",
    "parse_notify_urls",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)

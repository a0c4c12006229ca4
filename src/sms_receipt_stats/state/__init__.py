"""State: the store, the alert lifecycle, silences, idempotent runs and the settled cache.

Without `STATE_URL` none of this loads and the function is stateless. `open_state(settings)`
gives a `GuardedStore` (or None), which opens the back end on first use and goes stateless on
its first failure. For the dashboard: `current_alerts(store, now)` and
`active_silences(store, now)`. Names load on first use: the redis client only with a
`redis://` URL.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sms_receipt_stats.state.alerts import active_silences, current_alerts, track_alerts
    from sms_receipt_stats.state.cache import SettledCache
    from sms_receipt_stats.state.flow import open_state
    from sms_receipt_stats.state.silences import Silence, SilenceError, SilenceStore
    from sms_receipt_stats.state.store import GuardedStore, Store, StoreError, open_store

_EXPORTS = {
    "active_silences": "alerts",
    "current_alerts": "alerts",
    "track_alerts": "alerts",
    "SettledCache": "cache",
    "open_state": "flow",
    "Silence": "silences",
    "SilenceError": "silences",
    "SilenceStore": "silences",
    "GuardedStore": "store",
    "Store": "store",
    "StoreError": "store",
    "open_store": "store",
}

__all__ = [
    "GuardedStore",
    "SettledCache",
    "Silence",
    "SilenceError",
    "SilenceStore",
    "Store",
    "StoreError",
    "active_silences",
    "current_alerts",
    "open_state",
    "open_store",
    "track_alerts",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)

"""State: the store, the alert lifecycle, silences, idempotent runs and the settled cache.

Without `STATE_URL` none of this loads and the function is stateless (docs/state.md).
Import what you need from its modules: `flow.open_state(settings)` gives a `store.GuardedStore`
(or None) that opens the back end on first use and goes stateless on its first failure;
`alerts.current_alerts` and `alerts.active_silences` feed the dashboard; `cache.SettledCache`
wraps a stats fetcher. The Redis back end speaks RESP itself (`resp.py`), so no client library
ships in the deployment zip.

The package itself holds only the declaration of the state's variables (`VARIABLES`, read with
the configuration on every event): loading it loads no store, back end or lifecycle.
"""

from __future__ import annotations

import re
from typing import List, Optional, Tuple
from urllib.parse import urlsplit

from sms_receipt_stats.variables import Variable, VariableError, shown

DEFAULT_STATE_PREFIX = "sms-receipt-stats:"
_STATE_PREFIX = re.compile(r"^[A-Za-z0-9_.:/-]{1,64}$")


def parse_state_url(value: str) -> Tuple[str, Optional[str]]:
    """Check a STATE_URL by the back end of its scheme (`*_store.py`: redis, rediss, sqlite, ...).
    Returns (scheme, password); messages never quote the URL (it may hold one)."""
    from sms_receipt_stats.state.store import backends, examples_text, schemes_text

    found = backends()
    text = value.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError(f"is not a URL like {examples_text(found)}") from None
    scheme = parts.scheme.lower()
    backend = found.get(scheme)
    if backend is None:
        raise ValueError(f"the scheme must be {schemes_text(found)}")
    return scheme, backend.check(parts)


def _state_url(raw: str, variable: Variable, notes: List[str]) -> str:
    try:
        parse_state_url(raw)
    except ValueError as exc:  # the back end's words, never the URL (it may hold a password)
        raise VariableError(str(exc)) from None
    return raw


def _prefix(raw: str, variable: Variable, notes: List[str]) -> str:
    if not _STATE_PREFIX.match(raw):
        raise VariableError(f"{shown(raw)} is not 1-64 characters of letters, digits and _.:/-")
    return raw


VARIABLES = (
    Variable("STATE_URL", "state_url", "url", None, "the state store: redis://, rediss:// or sqlite:///",
             secret=True, parse=_state_url, fallback="running stateless"),
    Variable("STATE_PREFIX", "state_prefix", "text", DEFAULT_STATE_PREFIX,
             "key prefix, so several functions can share one store", parse=_prefix),
    Variable("SETTLE_HOURS", "settle_hours", "hours", 72, "stats of hours older than this are final and cached",
             low=1, high=8784, expected="a whole number of hours between 1 and 8784"),
    Variable("ALERT_REPEAT_INTERVAL", "repeat_interval", "duration", 4 * 3600.0,
             "a still-firing alert is notified again after this long", low=1, high=30 * 86400),
)

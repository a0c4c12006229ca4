"""The settled-stats cache: a StatsFetcher wrapper that answers settled API spans from the store.

Receipts arrive late, so an hour's counts keep growing for a while; after `SETTLE_HOURS` they
are final (docs/state.md, *Settled cache and trend*). The API counts BeginTime's hour through EndTime's hour
inclusive, so a span `(BeginTime, EndTime)` ends at EndTime + 1 h (Beijing time). A span whose
end is at least `SETTLE_HOURS` old is cached under its exact API parameters; the same request
later is answered from the store. `cached()` lets the querier take a hit without spending a
rate-limit slot; `fetch()` stores what it fetched when it is settled.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any, Callable, Optional, Sequence, Set, Tuple

from sms_receipt_stats.query import StatsFetcher
from sms_receipt_stats.stats import Stats
from sms_receipt_stats.windows import API_TIMEZONE, parse_hour

KEY_PREFIX = "stats:"
#: settled stats are kept this long: last_30d, the 7-day baselines and a quarter's lookups hit
CACHE_TTL = 90 * 86400.0


def span_end(api_end: str) -> datetime:
    """The instant a span ends: EndTime's hour is counted whole, so EndTime + 1 h (Beijing)."""
    return parse_hour(api_end, API_TIMEZONE, which="end") + timedelta(hours=1)


def is_settled(api_end: str, now: datetime, settle_hours: int) -> bool:
    try:
        end = span_end(api_end)
    except ValueError:
        return False
    return now - end >= timedelta(hours=settle_hours)


class SettledCache:
    """Wraps a StatsFetcher; `hits`, `misses` and `stored` count what happened."""

    def __init__(self, inner: StatsFetcher, store: Any, *, now: Callable[[], datetime], settle_hours: int,
                 ttl: float = CACHE_TTL):
        self.inner = inner
        self.store = store
        self.now = now
        self.settle_hours = settle_hours
        self.ttl = ttl
        self.hits = self.misses = self.stored = 0
        self._lock = threading.Lock()
        #: keys the store was asked for and did not have (a querier calls `cached`, then `fetch`)
        self._absent: Set[str] = set()

    @staticmethod
    def key(app_id: str, api_begin: str, api_end: str) -> str:
        return f"{KEY_PREFIX}{app_id}:{api_begin}:{api_end}"

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def cached(self, app_id: str, api_begin: str, api_end: str) -> Optional[Tuple[Stats, Optional[str]]]:
        """The stored answer of a settled span, or None (not settled, not stored, store down)."""
        if not is_settled(api_end, self.now(), self.settle_hours):
            return None
        key = self.key(app_id, api_begin, api_end)
        raw = self.store.get(key)
        if raw is None:
            self._absent.add(key)  # `fetch` of this span, next, needs not ask the store again
            return None
        try:
            stats = Stats.model_validate_json(raw)
        except (ValueError, TypeError, RecursionError):  # not a Stats (a ValidationError is a ValueError)
            reject = getattr(self.store, "reject", None)
            if reject is not None:  # dropped (logged once) and fetched again
                reject("cache entry", key)
            return None
        self._count("hits")
        return stats, None

    def read_ahead(self, spans: Sequence[Tuple[str, str, str]]) -> None:
        """Read the settled ones of `spans` ((app_id, api_begin, api_end)) in one store command
        (`GuardedStore.read_ahead`), so the `cached()` calls that follow need none of their own."""
        ahead = getattr(self.store, "read_ahead", None)
        if ahead is not None:
            now = self.now()
            ahead([self.key(*span) for span in spans if is_settled(span[2], now, self.settle_hours)])

    def fetch(self, app_id: str, api_begin: str, api_end: str,
              timeout: Optional[float] = None) -> Tuple[Stats, Optional[str]]:
        if self.key(app_id, api_begin, api_end) not in self._absent:
            hit = self.cached(app_id, api_begin, api_end)
            if hit is not None:
                return hit
        self._count("misses")
        stats, request_id = self.inner.fetch(app_id, api_begin, api_end, timeout=timeout)
        if is_settled(api_end, self.now(), self.settle_hours) and self.store.set(
                self.key(app_id, api_begin, api_end), stats.model_dump_json(), self.ttl):
            self._count("stored")
        return stats, request_id

"""Receipts pushed by Tencent, counted per app and hour in the state store (docs/state.md, *Receipts*).

Per app and Beijing hour of `user_receive_time`, one counters key holds (fields):

* ``s:S`` / ``s:F`` — receipts by report_status (SUCCESS / FAIL),
* ``c:S:<code>`` / ``c:F:<code>`` — by errmsg code and status,
* ``n:<nationcode>`` and ``nf:<nationcode>`` — by country/region code, and its failed ones,
* ``l:<bucket>`` — how late receipts arrived (``1m``, ``5m``, ``1h``, ``6h``, ``1d``, ``more``).

A batch is counted by one `Store.count_once` call: one Lua script on Redis, one transaction on
SQLite, so it is counted whole or not at all, and a receipt whose sid the app's *seen* set holds
(pushed again within DEDUP_WINDOW) adds nothing. The seen set keeps 16 characters per receipt
(96 bits of the sid's SHA-256): about 100 bytes of Redis memory per receipt for DEDUP_WINDOW
(a million receipts a day hold about 100 MB); an hour's counters are a few hundred bytes, kept
RETENTION_DAYS after the hour. Keys carry the app id as a Redis hash tag (`receipts:{id}:...`),
so one app's keys share a cluster slot.

**The recent minutes.** The same call also counts each new receipt in the minute it *arrived*
(our clock, Beijing `yyyymmddHHMM`), for the minute rule (`rules/delivery_failures.py`): one
hash per app and minute, `s:S` / `s:F` and `c:F:<code>` only, kept RECENT_SECONDS (2 h) after
its minute. It is a linked group of `count_once` (no second entry in the seen set), so memory is
bounded by the minutes alone: at most 121 live hashes per app, each 2 + (failed codes of that
minute) fields, about 200 bytes with five codes: some 25 kB per app, whatever the volume.
By arrival, not by `user_receive_time`: the last minutes are complete when judged, and a late
receipt adds to the minute that learnt of it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from sms_receipt_stats.state.store import CountGroup

if TYPE_CHECKING:
    from sms_receipt_stats.documents import AppResult
    from sms_receipt_stats.receipts.intake import Receipt
    from sms_receipt_stats.state.store import GuardedStore
    from sms_receipt_stats.windows import Window

KEY_PREFIX = "receipts:"
#: a sid pushed again within this long is counted once (Tencent retries a failed push within minutes)
DEDUP_WINDOW = 24 * 3600.0
#: counters are kept this long after their hour: the dashboard's 30 days and a margin
RETENTION_DAYS = 35
_BEIJING = timezone(timedelta(hours=8))
#: how long a minute's counters are kept after the minute: the minute rule reads at most its
#: last hour (rules/delivery_failures.py), with an hour to spare for a late reader
RECENT_SECONDS = 2 * 3600.0


def _tag(app_id: str) -> str:
    return f"{KEY_PREFIX}{{{app_id}}}:"


def seen_key(app_id: str) -> str:
    return _tag(app_id) + "seen"


def hour_key(app_id: str, hour: int) -> str:
    """The counters of one app and hour (UTC epoch hours), named by the Beijing hour (yyyymmddhh)."""
    return _tag(app_id) + datetime.fromtimestamp(hour * 3600, _BEIJING).strftime("%Y%m%d%H")


def minute_key(app_id: str, minute: int) -> str:
    """The recent counters of one app and arrival minute (UTC epoch minutes), named by the
    Beijing minute (yyyymmddHHMM)."""
    return _tag(app_id) + "m:" + time.strftime("%Y%m%d%H%M", time.gmtime(minute * 60 + 8 * 3600))  # Beijing


def minute_fields(receipt: Receipt) -> Tuple[str, ...]:
    """What the recent minutes keep of a receipt: its status, and a failure's code."""
    return ("s:S",) if receipt.status == "SUCCESS" else ("s:F", f"c:F:{receipt.code}")


def fields_of(receipt: Receipt) -> Tuple[str, ...]:
    status = "S" if receipt.status == "SUCCESS" else "F"
    fields = (f"s:{status}", f"c:{status}:{receipt.code}", f"n:{receipt.nationcode}", f"l:{receipt.latency}")
    return (*fields, f"nf:{receipt.nationcode}") if status == "F" else fields


def groups_of(app_id: str, receipts: Sequence[Receipt], now: float) -> List[CountGroup]:
    """The batch as `count_once` groups: one per hour, each kept RETENTION_DAYS after its hour."""
    by_hour: Dict[int, List[Tuple[str, Tuple[str, ...]]]] = defaultdict(list)
    for receipt in receipts:
        by_hour[receipt.hour].append((receipt.sid_key, fields_of(receipt)))
    groups = [CountGroup(hour_key(app_id, hour), max(3600.0, (hour + 1) * 3600 + RETENTION_DAYS * 86400 - now),
                         items) for hour, items in sorted(by_hour.items())]
    minute = int(now // 60)  # the arrival minute: linked, so only receipts new above count in it
    recent = [(receipt.sid_key, minute_fields(receipt)) for receipt in receipts]
    return [*groups, CountGroup(minute_key(app_id, minute), (minute + 1) * 60 + RECENT_SECONDS - now, recent,
                                linked=True)] if recent else groups


def count_batch(state: GuardedStore, app_id: str, receipts: Sequence[Receipt], now: float) -> Optional[int]:
    """Count one batch; how many receipts were new, or None when the store could not take it
    (`state.problem` says why; nothing of the batch was counted)."""
    groups = groups_of(app_id, receipts, now)
    return state.call("count", None, lambda store: store.count_once(seen_key(app_id), DEDUP_WINDOW, groups))


@dataclass
class ReceiptTotals:
    """An app's receipts over some hours, as read back from the counters."""

    by_status: Dict[str, int] = field(default_factory=lambda: {"S": 0, "F": 0})
    #: (status letter, code) -> receipts
    codes: Dict[Tuple[str, str], int] = field(default_factory=dict)
    #: nationcode -> [receipts, failed]
    nations: Dict[str, List[int]] = field(default_factory=dict)
    latency: Dict[str, int] = field(default_factory=dict)

    def add(self, counters: Dict[str, int]) -> None:
        for name, value in counters.items():
            if not isinstance(value, int) or value < 0:
                continue  # read back from the store: validated like input
            kind, _, rest = name.partition(":")
            if kind == "s" and rest in ("S", "F"):
                self.by_status[rest] += value
            elif kind == "c" and rest[:2] in ("S:", "F:") and len(rest) > 2:
                key = (rest[0], rest[2:])
                self.codes[key] = self.codes.get(key, 0) + value
            elif kind == "n" and rest:
                self.nations.setdefault(rest, [0, 0])[0] += value
            elif kind == "nf" and rest:
                self.nations.setdefault(rest, [0, 0])[1] += value
            elif kind == "l" and rest:
                self.latency[rest] = self.latency.get(rest, 0) + value

    @property
    def total(self) -> int:
        return self.by_status["S"] + self.by_status["F"]

    def merge(self, other: ReceiptTotals) -> None:
        """Add totals already read (cheaper than adding their hours' counters again)."""
        for status, n in other.by_status.items():
            self.by_status[status] = self.by_status.get(status, 0) + n
        for key, n in other.codes.items():
            self.codes[key] = self.codes.get(key, 0) + n
        for nation, (count, failed) in other.nations.items():
            mine = self.nations.setdefault(nation, [0, 0])
            mine[0] += count
            mine[1] += failed
        for bucket, n in other.latency.items():
            self.latency[bucket] = self.latency.get(bucket, 0) + n


def window_hours(window: Window) -> range:
    counted = window.counted()
    return range(counted.begin // 3600, counted.end // 3600)


def read_totals(state: GuardedStore, app_ids: Sequence[str],
                hours: Sequence[int]) -> Optional[Dict[str, ReceiptTotals]]:
    """Each app's totals over `hours` (summed in the store); None when the store could not answer."""
    if not hours or not app_ids:
        return {app_id: ReceiptTotals() for app_id in app_ids}
    found = state.sum_counters([[hour_key(app_id, hour) for hour in hours] for app_id in app_ids])
    if found is None:
        return None
    totals = {app_id: ReceiptTotals() for app_id in app_ids}
    for app_id, sums in zip(app_ids, found):
        totals[app_id].add(sums)
    return totals


def attach_receipts(state: GuardedStore, results: List[AppResult], window: Window, lang: str) -> bool:
    """Set `receipt_codes` and `countries` on every app result from the counters of the window's
    hours; False (nothing set) when the store could not answer."""
    totals = read_totals(state, [r.app_id for r in results], list(window_hours(window)))
    if totals is None:
        return False
    for result in results:
        fill_result(result, totals[result.app_id], lang)
    return True


def fill_result(result: AppResult, totals: ReceiptTotals, lang: str) -> None:
    """`receipt_codes` (every code with a failed receipt, most first, its meaning in `lang`) and
    `countries` (most receipts first) of an app result, from its totals."""
    from sms_receipt_stats.documents import CountryCount, ReceiptCodeCount
    from sms_receipt_stats.receipts.codes import lookup

    failed = sorted(((code, n) for (status, code), n in totals.codes.items() if status == "F" and n > 0),
                    key=lambda item: (-item[1], item[0]))
    codes = []
    for code, count in failed:
        entry = lookup(code)
        codes.append(ReceiptCodeCount(code=code, count=count, category=entry.category,
                                      meaning=entry.meaning_in(lang)))
    result.receipt_codes = codes
    result.countries = [CountryCount(nationcode=nation, count=c, failed=f) for nation, (c, f) in
                        sorted(totals.nations.items(), key=lambda item: (-item[1][0], item[0])) if c > 0]


@dataclass
class ReceiptSeries:
    """An app's receipts over a window (`total`) and per bucket of it (`buckets`: the dashboard's
    days, or hours, in the report timezone), as read back from the counters."""

    total: ReceiptTotals = field(default_factory=ReceiptTotals)
    buckets: List[ReceiptTotals] = field(default_factory=list)

    def failed_by_code(self, index: int) -> Dict[str, int]:
        """code -> failed receipts in bucket `index`."""
        return {code: n for (status, code), n in self.buckets[index].codes.items() if status == "F" and n > 0}


def bucket_hours(bucket: Window) -> range:
    """The counters' hours (UTC epoch hours) of a bucket: those that begin inside it (a zone with a
    half-hour offset counts each receipt hour in the bucket where it begins)."""
    begin, end = bucket.begin.timestamp(), bucket.end.timestamp()
    return range(-int(-begin // 3600), -int(-end // 3600))


def read_series(state: GuardedStore, app_ids: Sequence[str],
                spans: Sequence[Window]) -> Optional[Dict[str, ReceiptSeries]]:
    """Each app's receipts per span (consecutive buckets of a window), the hours of each bucket
    summed in the store (`Store.sum_counters`: one script call per 240 hours on Redis, so a reply
    is a bucket's fields, not every hour's); None when the store could not answer."""
    hours_of = [bucket_hours(span) for span in spans]
    groups = [[hour_key(app_id, hour) for hour in span_hours] for app_id in app_ids for span_hours in hours_of]
    found: List[Dict[str, int]] = [{} for _ in groups]
    if any(groups):
        read = state.sum_counters(groups)
        if read is None:
            return None
        found = read
    series: Dict[str, ReceiptSeries] = {}
    for a, app_id in enumerate(app_ids):
        mine = ReceiptSeries(buckets=[ReceiptTotals() for _ in spans])
        for index, bucket in enumerate(mine.buckets):
            bucket.add(found[a * len(spans) + index])
            mine.total.merge(bucket)
        series[app_id] = mine
    return series


def read_recent(state: GuardedStore, app_id: str, minutes: Sequence[int],
                hours: Sequence[int] = ()) -> Optional[Tuple[List[ReceiptTotals], List[ReceiptTotals]]]:
    """One app's counters of each arrival minute in `minutes` and each hour in `hours`, in one
    store call (the minute rule's window and baseline); None when the store could not answer."""
    keys = [minute_key(app_id, m) for m in minutes] + [hour_key(app_id, h) for h in hours]
    if not keys:
        return [], []
    found = state.call("read", None, lambda store: store.read_counters(keys))
    if found is None or len(found) != len(keys):
        return None
    totals = []
    for counters in found:
        total = ReceiptTotals()
        if isinstance(counters, dict):
            total.add(counters)
        totals.append(total)
    return totals[:len(minutes)], totals[len(minutes):]

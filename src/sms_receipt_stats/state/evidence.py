"""The hours each app was seen with, kept between runs: the evidence hourly rules pool.

Every run whose window is one API hour (the hourly `check`) writes that hour's counters into
its app's ledger, with how long after the hour's end they were read. Receipts arrive late, so
it also reads again, once, the hour that ended ALERT_RECEIPT_DELAY ago: the receipt rule judges
only such re-read hours. The ledger keeps LEDGER_DAYS of hours, enough for `volume_drop`'s
same-hour baseline, in one small value per app (about 60 bytes an hour). How the rules use it:
docs/alerts.md.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence

from sms_receipt_stats.documents import AppResult
from sms_receipt_stats.query import Querier, QueryTask
from sms_receipt_stats.rules import Evidence
from sms_receipt_stats.rules._evidence import HOUR, Seen, merge
from sms_receipt_stats.stats import STAT_FIELDS, Stats
from sms_receipt_stats.windows import HourRange, Window

KEY_PREFIX = "evidence:"
#: an app whose ledger holds an hour this recent is watched by a running hourly check
WATCHED_HOURS = 3
#: a week of same-hour baseline and a day to spare
LEDGER_DAYS = 8
LEDGER_TTL = LEDGER_DAYS * 24 * 3600.0


def encode(hours: Mapping[int, Seen]) -> str:
    return json.dumps({str(i): [*(getattr(s.stats, f) for f in STAT_FIELDS), round(s.lag)]
                       for i, s in sorted(hours.items())}, separators=(",", ":"))


#: hour indexes a ledger may hold (UTC epoch hours from 1970 to the year 9000)
_LAST_HOUR = 62_000_000


def decode(raw: Optional[str]) -> Optional[Dict[int, Seen]]:
    """An app's ledger, checked like any input from the store; None when it does not validate
    (another version, a bad write: the caller drops it and the app starts afresh)."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            return None
        out: Dict[int, Seen] = {}
        for key, v in data.items():
            index = int(key)
            if not (0 <= index < _LAST_HOUR and isinstance(v, list) and len(v) == len(STAT_FIELDS) + 1
                    and all(isinstance(x, int) and not isinstance(x, bool) for x in v[:-1])
                    and isinstance(v[-1], (int, float)) and not isinstance(v[-1], bool)
                    and math.isfinite(v[-1]) and v[-1] >= 0):
                return None
            out[index] = Seen(Stats(**dict(zip(STAT_FIELDS, v[:-1]))), float(v[-1]))
        return out
    except (ValueError, TypeError, OverflowError, RecursionError):  # a ValidationError is a ValueError
        return None


def one_hour(window: Window) -> Optional[int]:
    """The hour index (UTC epoch hours, a whole Beijing hour) of a window that is one API hour."""
    counted = window.counted()
    return counted.begin // HOUR if counted.hours == 1 else None


def gather(store: Any, results: Sequence[AppResult], window: Window, querier: Querier, now: datetime,
           receipt_delay: float) -> Dict[str, Evidence]:
    """Each app's evidence for this run; the ledger updated with what this run saw.

    Apps that failed get their window's result only. A run over a longer window (the daily
    report) writes nothing; it learns whether an hourly check watches each app, so it judges the
    check's rules itself when none does. A store failure leaves the hours out (the rules then
    judge the window alone), never the run.
    """
    stamp = now.timestamp()
    lag = stamp - window.end.timestamp()
    newest = one_hour(window)
    answered = [r for r in results if r.error is None and r.stats is not None]
    evidence = {r.app_id: Evidence(result=r, window_lag=lag) for r in results}
    if not answered:
        return evidence
    kept = store.get_many([KEY_PREFIX + r.app_id for r in answered])
    ledgers: Dict[str, Dict[int, Seen]] = {}
    for result, raw in zip(answered, kept):
        ledger = decode(raw)
        if ledger is None:
            reject = getattr(store, "reject", None)
            if reject is not None:  # rewritten below by an hourly check; dropped now by any other run
                reject("evidence ledger", KEY_PREFIX + result.app_id, drop=newest is None)
            ledger = {}
        ledgers[result.app_id] = ledger
    if newest is None:
        recent = int(stamp) // HOUR - 1 - WATCHED_HOURS
        return {**evidence, **{r.app_id: Evidence(result=r, window_lag=lag,
                                                  watched=any(i >= recent for i in ledgers[r.app_id]))
                               for r in answered}}
    wait = math.ceil(receipt_delay / HOUR)
    again = newest - wait
    refresh: List[str] = []
    if wait > 0:
        refresh = [r.app_id for r in answered
                   if (seen := ledgers[r.app_id].get(again)) is None or seen.lag < wait * HOUR]
    reread: Dict[str, Seen] = {}
    if refresh:
        hour = HourRange(again * HOUR, (again + 1) * HOUR)
        outcomes = querier.run([QueryTask(app_id, hour.begin_time, hour.end_time) for app_id in refresh])
        for app_id, outcome in zip(refresh, outcomes):
            if outcome.error is None and outcome.stats is not None:
                reread[app_id] = Seen(outcome.stats, stamp - hour.end)
    oldest = newest - LEDGER_DAYS * 24
    for result in answered:
        assert result.stats is not None
        fresh = [(newest, Seen(result.stats, lag))]
        if result.app_id in reread:
            fresh.append((again, reread[result.app_id]))
        hours = {i: s for i, s in merge(ledgers[result.app_id], fresh).items() if i > oldest}
        store.set(KEY_PREFIX + result.app_id, encode(hours), LEDGER_TTL)
        evidence[result.app_id] = Evidence(result=result, hours=hours, newest=newest, window_lag=lag, watched=True)
    return evidence

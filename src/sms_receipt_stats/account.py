"""The account's SMS balance and bill: SmsPackagesStatistics and SendStatusStatistics.

When the SMS packages run out, sending stops (arrears). The daily report asks, once a day:

- `SendStatusStatistics` per app over the report's window: messages submitted, accepted and
  billed (`AppResult.send`), and per app over the last 7 days: the billed rate the balance
  is measured against;
- `SmsPackagesStatistics` once for the account (through its first app): every package created
  in the last PACKAGE_LOOKBACK_DAYS, of which those still valid make the balance
  (`ResultDocument.packages`), with the days it lasts at the recent rate.

Both go through the same SMS client, rate cap, retry and deadline as CallbackStatusStatistics
(`query.SdkStatsFetcher.invoke`, `query.Querier.call`). A failure here never touches the
receipt stats: a failed packages call is the summary's `error`, a failed send call leaves the
app's `send` out and names the app in the document's `errors`. API pages: product 382, page
55964 (SmsPackagesStatistics, 2021-01-11) and page 40528 (SendStatusStatistics).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence, Tuple

from sms_receipt_stats.documents import PackageDoc, PackagesDoc, SendDoc
from sms_receipt_stats.query import CallOutcome, Querier
from sms_receipt_stats.sdk import UPSTREAM_DATA_INVALID, CloudError
from sms_receipt_stats.windows import HourRange, Window, named_window, split_for_api

#: the billed rate is the mean per day over this many whole days (`last_7d`)
RATE_DAYS = 7
#: packages created this long ago are still asked for (a bought package is valid for up to 3 years)
PACKAGE_LOOKBACK_DAYS = 3 * 366
#: SmsPackagesStatistics' largest Limit ("Limit默认最大值为500"), and the most pages read
PACKAGE_PAGE = 500
MAX_PACKAGE_PAGES = 4
#: the API's PackageType
PACKAGE_TYPES = {0: "gift", 1: "purchased"}
_HOUR = 3600


class AccountSource(Protocol):
    """What answers the two account calls: (value, request id) or raises CloudError.
    `query.SdkStatsFetcher` does (through `SdkAccount`); tests give a fake."""

    def send_status(self, app_id: str, begin_time: str, end_time: str,
                    timeout: Optional[float] = None) -> Tuple[SendDoc, Optional[str]]: ...

    def packages(self, app_id: str, begin_time: str, end_time: str, limit: int, offset: int,
                 timeout: Optional[float] = None) -> Tuple[List[Dict[str, Any]], Optional[str]]: ...


def _count(raw: Any, name: str, request_id: Optional[str]) -> int:
    """A counter as answered: a whole number >= 0, never a missing field read as zero."""
    value = getattr(raw, name, None) if not isinstance(raw, dict) else raw.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CloudError(UPSTREAM_DATA_INVALID, f"{name} is not a count", request_id)
    return value


def send_doc(submitted: int, accepted: int, billed: int) -> SendDoc:
    rate = round(accepted / submitted, 4) if submitted else None
    return SendDoc(submitted=submitted, accepted=accepted, billed=billed, accept_rate=rate)


class SdkAccount:
    """The two calls through the SMS SDK client of a `query.SdkStatsFetcher` (its `invoke`)."""

    def __init__(self, fetcher: Any) -> None:
        self._fetcher = fetcher

    def send_status(self, app_id: str, begin_time: str, end_time: str,
                    timeout: Optional[float] = None) -> Tuple[SendDoc, Optional[str]]:
        from tencentcloud.sms.v20210111 import models

        request = models.SendStatusStatisticsRequest()
        request.BeginTime, request.EndTime, request.SmsSdkAppId = begin_time, end_time, app_id
        request.Limit, request.Offset = 0, 0  # "目前固定设置为0"
        response = self._fetcher.invoke("SendStatusStatistics", request, timeout)
        raw, rid = response.SendStatusStatistics, response.RequestId
        if raw is None:
            raise CloudError(UPSTREAM_DATA_INVALID, "the answer has no SendStatusStatistics", rid)
        submitted, accepted = _count(raw, "RequestCount", rid), _count(raw, "RequestSuccessCount", rid)
        billed = _count(raw, "FeeCount", rid)
        if accepted > submitted:
            raise CloudError(UPSTREAM_DATA_INVALID, f"RequestSuccessCount ({accepted}) exceeds RequestCount "
                                                    f"({submitted})", rid)
        return send_doc(submitted, accepted, billed), rid

    def packages(self, app_id: str, begin_time: str, end_time: str, limit: int, offset: int,
                 timeout: Optional[float] = None) -> Tuple[List[Dict[str, Any]], Optional[str]]:
        from tencentcloud.sms.v20210111 import models

        request = models.SmsPackagesStatisticsRequest()
        request.SmsSdkAppId, request.BeginTime, request.EndTime = app_id, begin_time, end_time
        request.Limit, request.Offset = limit, offset
        response = self._fetcher.invoke("SmsPackagesStatistics", request, timeout)
        rows, rid = response.SmsPackagesStatisticsSet, response.RequestId
        if rows is None:
            raise CloudError(UPSTREAM_DATA_INVALID, "the answer has no SmsPackagesStatisticsSet", rid)
        fields = ("PackageId", "PackageType", "PackageAmount", "CurrentUsage", "PackageCreateTime",
                  "PackageEffectiveTime", "PackageExpiredTime")
        return [{f: getattr(row, f, None) for f in fields} for row in rows], rid


def account_source(fetcher: Any) -> Optional[AccountSource]:
    """The account calls of a job's fetcher: its own (a fake), the SDK's through `invoke`, or
    None (a fetcher that cannot make them: the report goes on without a balance)."""
    fetcher = getattr(fetcher, "inner", fetcher)  # under the settled cache
    if hasattr(fetcher, "send_status") and hasattr(fetcher, "packages"):
        return fetcher  # type: ignore[no-any-return]
    if hasattr(fetcher, "invoke"):
        return SdkAccount(fetcher)
    return None


def _package(row: Dict[str, Any], tz: str, rid: Optional[str]) -> Tuple[PackageDoc, int, int]:
    """A package row as a document, with its effective and expiry times (UTC epoch)."""
    from zoneinfo import ZoneInfo

    pid, amount, used = _count(row, "PackageId", rid), _count(row, "PackageAmount", rid), \
        _count(row, "CurrentUsage", rid)
    effective, expires = _count(row, "PackageEffectiveTime", rid), _count(row, "PackageExpiredTime", rid)
    zone = ZoneInfo(tz)

    def iso(epoch: int) -> str:
        return datetime.fromtimestamp(epoch, timezone.utc).astimezone(zone).isoformat()

    kind = PACKAGE_TYPES.get(row.get("PackageType"), "other")  # type: ignore[arg-type]
    doc = PackageDoc(package_id=pid, type=kind, amount=amount, used=min(used, amount),  # type: ignore[arg-type]
                     remaining=max(0, amount - used), effective=iso(effective), expires=iso(expires))
    return doc, effective, expires


def days_left(packages: Sequence[Tuple[int, int, int]], daily: Optional[float], now: float) -> Optional[float]:
    """Days until the balance runs out at `daily` billed messages a day: (remaining, effective,
    expires) per valid package, the one that expires first used first; the part of a package
    that expires before it is reached is lost. Sending stops as soon as no package is in effect.
    0 when nothing is left; None when nothing is billed (it lasts as long as the packages)."""
    live = sorted(((r, e, x) for r, e, x in packages if x > now and r > 0), key=lambda p: (p[1] > now, p[2]))
    if not live:
        return 0.0
    if not daily or daily <= 0:
        return None
    t = 0.0
    for remaining, effective, expires in live:
        if (effective - now) / 86400 > t:
            break  # nothing is in effect between t and this package's start: sending stops at t
        span = (expires - now) / 86400 - t
        if span <= 0:
            continue
        t += min(remaining, daily * span) / daily
    return round(t, 1)


@dataclass
class AccountFacts:
    """What the account calls found: each app's send counts, the balance, and what failed."""

    send: Dict[str, SendDoc]
    packages: Optional[PackagesDoc]
    errors: List[str]


def _sum(outcomes: Sequence[CallOutcome[SendDoc]]) -> Optional[SendDoc]:
    if any(o.value is None for o in outcomes):
        return None
    sub = sum(o.value.submitted for o in outcomes if o.value is not None)
    acc = sum(o.value.accepted for o in outcomes if o.value is not None)
    billed = sum(o.value.billed for o in outcomes if o.value is not None)
    return send_doc(sub, acc, billed)


def _error(outcomes: Sequence[CallOutcome[Any]]) -> Optional[CloudError]:
    return next((o.error for o in outcomes if o.error is not None), None)


def measure_account(app_ids: Sequence[str], window: Window, querier: Querier, source: AccountSource,
                    now: datetime, tz: str, lang: str = "en", secrets: Sequence[str] = (),
                    rate_app_ids: Optional[Sequence[str]] = None) -> AccountFacts:
    """The report's account calls, concurrently under the run's rate cap: per app, send counts
    over `window`; per app of `rate_app_ids` (every configured app: the packages are the
    account's, whichever apps a report shows; default `app_ids`), over the last RATE_DAYS days
    (one call each when the window is at most 32 days; the same call when the window is
    `last_7d`); and the packages (1 call, more pages only past 500 packages). `3 × apps + 1`
    calls for a daily report. Never raises."""
    from sms_receipt_stats.catalogue import error_info

    rate_window = named_window("last_7d", now, tz)
    window_ranges = split_for_api(window.counted())
    rate_ranges = split_for_api(rate_window.counted())
    same = [(r.begin_time, r.end_time) for r in window_ranges] == [(r.begin_time, r.end_time) for r in rate_ranges]

    def send_call(app_id: str, r: HourRange) -> Callable[[], CallOutcome[Any]]:
        return lambda: querier.call(lambda timeout: source.send_status(app_id, r.begin_time, r.end_time, timeout))

    end_hour = int(now.timestamp()) // _HOUR * _HOUR - _HOUR  # "EndTime 必须…小于当前时间"
    created = HourRange(end_hour - PACKAGE_LOOKBACK_DAYS * 86400, end_hour + _HOUR)

    def page_call(offset: int) -> Callable[[], CallOutcome[Any]]:
        return lambda: querier.call(lambda timeout: source.packages(
            app_ids[0], created.begin_time, created.end_time, PACKAGE_PAGE, offset, timeout))

    shown = list(dict.fromkeys(app_ids))
    rated = list(dict.fromkeys(rate_app_ids if rate_app_ids is not None else shown))
    calls: List[Callable[[], CallOutcome[Any]]] = []
    for app_id in shown:
        calls.extend(send_call(app_id, r) for r in window_ranges)
    for app_id in rated:
        if not (same and app_id in shown):
            calls.extend(send_call(app_id, r) for r in rate_ranges)
    calls.append(page_call(0))
    outcomes = iter(querier.run_calls(calls))

    facts = AccountFacts(send={}, packages=None, errors=[])
    window_outcomes = {app_id: [next(outcomes) for _ in window_ranges] for app_id in shown}
    rate_outcomes = {app_id: (window_outcomes[app_id] if same and app_id in shown
                              else [next(outcomes) for _ in rate_ranges]) for app_id in rated}
    for app_id in dict.fromkeys(shown + rated):
        mine = window_outcomes.get(app_id, [])
        total = _sum(mine) if app_id in window_outcomes else None
        if total is not None:
            facts.send[app_id] = total
        failed = _error(mine) or _error(rate_outcomes.get(app_id, []))
        if failed is not None:
            facts.errors.append(f"app {app_id}: SendStatusStatistics failed: {failed.code}")
    billed_days: Optional[int] = 0
    for app_id in rated:
        recent = _sum(rate_outcomes[app_id])
        billed_days = None if recent is None or billed_days is None else billed_days + recent.billed
    pages = [next(outcomes)]
    while (pages[-1].error is None and len(pages[-1].value or ()) >= PACKAGE_PAGE
           and len(pages) < MAX_PACKAGE_PAGES):
        pages.append(page_call(len(pages) * PACKAGE_PAGE)())
    doc = PackagesDoc(app_id=app_ids[0], rate_days=RATE_DAYS,
                      request_ids=[rid for p in pages for rid in p.request_ids])
    failed = _error(pages)
    rows = [row for p in pages for row in (p.value or ())]
    parsed: List[Tuple[PackageDoc, int, int]] = []
    if failed is None:
        try:
            parsed = [_package(row, tz, None) for row in rows]
        except CloudError as exc:
            failed = exc
    if failed is not None:
        doc.error = error_info(failed.code, failed.message, failed.request_id, lang, secrets=secrets)
        facts.errors.append(f"SmsPackagesStatistics failed: {failed.code}")
    elif rows:  # none at all: a postpaid account, or packages older than the lookback: no balance to judge
        clock = now.timestamp()
        valid = [(p, e, x) for p, e, x in parsed if x > clock]
        doc.packages = [p for p, _, _ in sorted(valid, key=lambda v: v[2])]
        doc.amount = sum(p.amount for p, _, _ in valid)
        doc.used = sum(p.used for p, _, _ in valid)
        doc.remaining = sum(p.remaining for p, _, _ in valid)
        if billed_days is not None:
            doc.daily_billed = round(billed_days / RATE_DAYS, 1)
        doc.days_left = days_left([(p.remaining, e, x) for p, e, x in valid], doc.daily_billed, clock)
        if billed_days is None and doc.remaining == 0:
            doc.days_left = 0.0
    facts.packages = doc
    return facts

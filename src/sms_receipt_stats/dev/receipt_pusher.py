"""Pushes delivery receipts to a URL the way Tencent Cloud SMS does (local tests, the demo, the bench).

What Tencent documents ("短信下发状态通知", cloud.tencent.com/document/product/382/5807,
intl.cloud.tencent.com/document/api/382/43547): a `POST` to the callback URL set in the console,
whose JSON body is an array of records `{user_receive_time, nationcode, mobile, report_status,
errmsg, description, sid}` ("一次回调请求里可能有多次的短信请求结果": several per request),
answered `{"result": 0, "errmsg": "OK"}`. A push that is not answered so is pushed again; the docs
do not say how often or how long, so this pusher retries with backoff a bounded number of times.

The receipts are a pure function of (app id, hour): the emulator's `hourly_stats` of that hour
(CallbackSuccessCount receipts `DELIVRD`, each failure counter's receipts with a code of its kind),
so what a receiver counts can be checked against the emulator's own statistics. `duplicates` sends
that share of receipts twice (in a later batch), as a retried push does.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Dict, Iterator, List, Optional, Sequence

from sms_receipt_stats.dev.emulator import hourly_stats

#: the codes each failure counter of CallbackStatusStatistics is pushed with (receipts/codes.json)
FAILURE_CODES = {
    "InternalErrorCount": ("COMFAIL", "WTNFAIL"),
    "InvalidNumberCount": ("MN:0001", "SUBFAIL"),
    "ShutdownErrorCount": ("UNDELIV", "MK:0005", "EXPIRED"),
    "BlackListCount": ("DB:0141",),
    "FrequencyLimitCount": ("MA:0022",),
}
#: country/region codes and their share of an app's receipts
NATIONS = (("86", 0.9), ("852", 0.04), ("1", 0.03), ("65", 0.03))
_BEIJING = timezone(timedelta(hours=8))


def _unit(text: str) -> float:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big") / 4294967296.0


def receipts_for_hour(app_id: str, hour_start: int) -> List[Dict[str, str]]:
    """Every receipt of one app and hour (UTC epoch seconds of the hour), deterministic."""
    stats = hourly_stats(app_id, hour_start)
    statuses: List[tuple] = [("SUCCESS", "DELIVRD")] * stats["CallbackSuccessCount"]
    for counter, codes in FAILURE_CODES.items():
        statuses += [("FAIL", codes[i % len(codes)]) for i in range(stats[counter])]
    out = []
    for index, (status, code) in enumerate(statuses):
        seed = f"{app_id}|{hour_start}|{index}"
        at = datetime.fromtimestamp(hour_start + int(_unit("t" + seed) * 3600), _BEIJING)
        pick, nation = _unit("n" + seed), NATIONS[-1][0]
        for candidate, share in NATIONS:
            if pick < share:
                nation = candidate
                break
            pick -= share
        out.append({"user_receive_time": at.strftime("%Y-%m-%d %H:%M:%S"), "nationcode": nation,
                    "mobile": f"1{int(_unit('m' + seed) * 1e10):010d}", "report_status": status, "errmsg": code,
                    "description": "用户短信送达成功" if status == "SUCCESS" else "用户短信接收失败",
                    "sid": hashlib.sha256(("sid" + seed).encode()).hexdigest()[:32]})
    return out


@dataclass
class PushReport:
    """What a pusher sent and what the receiver said."""

    batches: int = 0
    attempts: int = 0
    #: receipts in batches answered `{"result": 0}`, duplicates included
    delivered: int = 0
    #: distinct receipts delivered (what the receiver should count)
    distinct: int = 0
    #: batches given up after the last retry
    failed: int = 0
    statuses: Dict[int, int] = field(default_factory=dict)


def _post(url: str, body: bytes, timeout: float) -> int:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            payload = json.loads(answer.read() or b"{}")
            return 200 if answer.status == 200 and payload.get("result") == 0 else answer.status or 599
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return 599  # no answer: as Tencent, push again


def batches(receipts: Sequence[Dict[str, str]], size: int, duplicates: float,
            seed: str) -> Iterator[List[Dict[str, str]]]:
    """`receipts` in batches of `size`; a `duplicates` share of them sent again in the next batch."""
    rng = random.Random(seed)
    carried: List[Dict[str, str]] = []
    for start in range(0, len(receipts), size):
        chunk = list(receipts[start:start + size])
        yield carried + chunk
        carried = [r for r in chunk if rng.random() < duplicates]
    if carried:
        yield carried


class ReceiptPusher:
    """POSTs batches to one callback URL, retrying a batch not answered `{"result": 0}`."""

    def __init__(self, url: str, *, batch_size: int = 100, duplicates: float = 0.0, attempts: int = 5,
                 backoff: float = 0.05, timeout: float = 10.0,
                 post: Optional[Callable[[str, bytes, float], int]] = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.url = url
        self.batch_size = batch_size
        self.duplicates = duplicates
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self._post = post or _post
        self._sleep = sleep

    def push(self, receipts: Sequence[Dict[str, str]], seed: str = "") -> PushReport:
        report = PushReport()
        seen: set = set()
        for batch in batches(receipts, self.batch_size, self.duplicates, seed):
            report.batches += 1
            body = json.dumps(batch, ensure_ascii=False).encode("utf-8")
            for attempt in range(self.attempts):
                report.attempts += 1
                status = self._post(self.url, body, self.timeout)
                report.statuses[status] = report.statuses.get(status, 0) + 1
                if status == 200:
                    report.delivered += len(batch)
                    seen.update(r["sid"] for r in batch)
                    break
                if 400 <= status < 500 and status not in (408, 429):
                    report.failed += 1  # refused: pushing it again cannot help
                    break
                self._sleep(self.backoff * (2 ** attempt))
            else:
                report.failed += 1
        report.distinct = len(seen)
        return report

    def push_hours(self, app_id: str, hour_starts: Sequence[int]) -> PushReport:
        """Every receipt of these hours of the app, in order, as Tencent would push them."""
        receipts = [r for hour in hour_starts for r in receipts_for_hour(app_id, hour)]
        return self.push(receipts, seed=f"{app_id}|{hour_starts[0] if hour_starts else 0}")

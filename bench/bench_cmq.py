"""CMQ data-flow sink figures: message and request sizes of real reports, signing cost, and a
round trip against the local data-flow fake (bench/README.md, *CMQ*).

    python bench/bench_cmq.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sms_receipt_stats.config import load_settings
from sms_receipt_stats.dev.cmq_dataflow import CmqDataflowFake
from sms_receipt_stats.dev.emulator import SECRET_ID, SECRET_KEY
from sms_receipt_stats.documents import AppResult, ResultDocument, SeriesPoint, WindowDoc
from sms_receipt_stats.notify.base import queue_message
from sms_receipt_stats.notify.delivery import deliver_all
from sms_receipt_stats.notify.platforms.cmq import DEFAULT_MAX_MSG_SIZE, signed_fields
from sms_receipt_stats.stats import Stats, compute_rates


def report(apps: int, hours: int) -> ResultDocument:
    """`apps` apps over a window of `hours` hourly points (a `last_24h` report with series)."""
    stats = Stats(RequestSuccessCount=1880, CallbackCount=1745, CallbackSuccessCount=1344, CallbackFailCount=401,
                  ShutdownErrorCount=401)
    window = WindowDoc(begin="2026112400", end="2026112500", timezone="Asia/Shanghai")
    series = [SeriesPoint(begin=f"20261124{h:02d}", end=f"20261124{h + 1:02d}", stats=stats,
                          rates=compute_rates(stats)) for h in range(hours)] or None
    results = [AppResult(app_id=f"14000{n:05d}", app_name=f"app-{n}", window=window, stats=stats,
                         rates=compute_rates(stats), series=series, request_ids=[f"req-{n}-{i}" for i in range(4)])
               for n in range(apps)]
    return ResultDocument(kind="report", generated_at="2026-11-25T09:00:03+08:00", results=results)


def main() -> None:
    print("message and request sizes (bytes); the queue's default max message size is "
          f"{DEFAULT_MAX_MSG_SIZE}")
    print(f"{'report':<28}{'document':>10}{'message':>10}{'request':>10}  omitted")
    for apps, hours in ((3, 0), (3, 24), (20, 0), (20, 24), (100, 24)):
        doc = report(apps, hours)
        whole = queue_message(doc, None)
        try:
            fitted = queue_message(doc, DEFAULT_MAX_MSG_SIZE)
            omitted = ",".join(json.loads(fitted.body).get("omitted") or []) or "-"
            form = signed_fields("SendMessage", {"queueName": "sms-reports", "msgBody": fitted.body,
                                                 "clientRequestId": fitted.message_id},
                                 host="gz.mqadapter.cmq.tencentyun.com", secret_id=SECRET_ID, secret_key=SECRET_KEY,
                                 token=None, timestamp=int(time.time()), nonce=1)
            sizes = f"{fitted.size:>10}{len(urlencode(form)):>10}  {omitted}"
        except Exception as exc:  # over the cap even without the omissions
            sizes = f"{'-':>10}{'-':>10}  {type(exc).__name__}"
        print(f"{f'{apps} apps, {hours} hourly points':<28}{whole.size:>10}{sizes}")

    body = queue_message(report(20, 24), None).body
    runs = []
    for _ in range(7):
        started = time.perf_counter()
        for _ in range(200):
            signed_fields("SendMessage", {"queueName": "q", "msgBody": body}, host="h", secret_id=SECRET_ID,
                          secret_key=SECRET_KEY, token=None, timestamp=1, nonce=1)
        runs.append((time.perf_counter() - started) / 200)
    print(f"\nsigning a {len(body)}-byte message (HmacSHA256): median {statistics.median(runs) * 1e6:.0f} µs")

    with CmqDataflowFake(queues=("q",)) as fake:
        conf, _ = load_settings({"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
                                 "NOTIFY_URLS": f"cmq://queue/q#endpoint={fake.address}"})
        doc = report(3, 0)
        times = []
        for _ in range(20):
            started = time.perf_counter()
            [delivery] = deliver_all(doc, conf)
            times.append(time.perf_counter() - started)
            assert delivery.ok, delivery.error
    print(f"deliver_all to the loopback fake (3 apps): median {statistics.median(times) * 1e3:.1f} ms over 20")


if __name__ == "__main__":
    main()

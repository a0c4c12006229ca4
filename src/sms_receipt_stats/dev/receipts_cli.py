"""`sms-receipt-stats receipts-url APP_ID` and `push-receipts URL`: the receipts callback from the terminal.

`receipts-url` prints the URL to paste into the SMS console (应用管理 > 应用列表 > the app >
回调配置 > 短信下发状态通知), from PUBLIC_URL and RECEIPTS_SECRET of the current environment.
`push-receipts` pushes the emulator's receipts of some hours to a URL, as Tencent does (batches,
retries, duplicates): try a deployed or `serve`d function offline.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Callable, Dict


def cmd_receipts_url(args: argparse.Namespace) -> int:
    from sms_receipt_stats.config import load_settings
    from sms_receipt_stats.receipts.credential import receipts_url

    settings, issues = load_settings(os.environ)
    for issue in issues:
        if issue.variable in ("PUBLIC_URL", "RECEIPTS_SECRET", "SMS_SDK_APP_IDS"):
            print(f"config: {issue}", file=sys.stderr)
    if settings.receipts_secret is None:
        print("receipts-url: set RECEIPTS_SECRET (16 characters or more) to the function's value", file=sys.stderr)
        return 2
    if settings.public_url is None:
        print("receipts-url: set PUBLIC_URL to the function URL (https://...tencentscf.com)", file=sys.stderr)
        return 2
    if args.app_id not in {a.app_id for a in settings.apps}:
        print(f"receipts-url: {args.app_id} is not in SMS_SDK_APP_IDS; the function would answer 403",
              file=sys.stderr)
        return 2
    print(receipts_url(settings.public_url, settings.receipts_secret.get_secret_value(), args.app_id))
    return 0


def cmd_push_receipts(args: argparse.Namespace) -> int:
    import time

    from sms_receipt_stats.dev.receipt_pusher import ReceiptPusher

    last = int(time.time()) // 3600 * 3600 - 3600
    hours = [last - 3600 * i for i in reversed(range(args.hours))]
    pusher = ReceiptPusher(args.url, batch_size=args.batch, duplicates=args.duplicates)
    report = pusher.push_hours(args.app_id, hours)
    print(f"pushed {report.delivered} receipts ({report.distinct} distinct) in {report.batches} batches, "
          f"{report.attempts} requests, {report.failed} batches given up; answers {report.statuses}")
    return 0 if report.failed == 0 else 1


def add_parsers(sub: Any) -> None:
    url = sub.add_parser("receipts-url", help="the receipts callback URL of an app, to paste into the SMS console")
    url.add_argument("app_id", metavar="APP_ID")
    url.set_defaults(func=cmd_receipts_url)
    push = sub.add_parser("push-receipts", help="push the emulator's receipts to a callback URL, as Tencent does")
    push.add_argument("url", metavar="URL", help="the callback URL, token included")
    push.add_argument("--app-id", required=True)
    push.add_argument("--hours", type=int, default=1, help="the last N whole hours")
    push.add_argument("--batch", type=int, default=100, help="receipts per request")
    push.add_argument("--duplicates", type=float, default=0.1, help="share of receipts pushed twice")
    push.set_defaults(func=cmd_push_receipts)


#: the demo's RECEIPTS_SECRET (not a secret: it only opens the demo's own callback)
DEMO_RECEIPTS_SECRET = "demo-receipts-secret-0123456789"


def demo_receipts(main_handler: Callable[[Any, Any], Any], context: Dict[str, Any], run_dir: Path,
                  app: str = "1400006879") -> bool:
    """The demo's receipts step: Tencent pushes an app's receipts of the last two hours to the
    function's callback (through `main_handler`), then an hourly report shows the failed codes."""
    import json
    from datetime import datetime, timedelta, timezone

    from sms_receipt_stats.dev import samples
    from sms_receipt_stats.dev.receipt_pusher import ReceiptPusher
    from sms_receipt_stats.dev.serve import function_url_event, to_http
    from sms_receipt_stats.receipts.credential import receipts_url

    os.environ.update(STATE_URL=f"sqlite:///{run_dir / 'receipts.db'}", RECEIPTS_SECRET=DEMO_RECEIPTS_SECRET)
    try:
        url = receipts_url("http://demo.invalid", DEMO_RECEIPTS_SECRET, app)
        print(f"\n8) Receipts pushed by Tencent to the callback of {app}: POST /receipts/{app}?token=…")

        def post(target: str, body: bytes, timeout: float) -> int:
            answer = main_handler(function_url_event("POST", target.split("demo.invalid", 1)[1], {}, body), context)
            return to_http(answer)[0]

        from sms_receipt_stats.dev.emulator import hourly_stats

        newest = int(datetime.now(timezone.utc).timestamp()) // 3600 * 3600 - 3600
        # the busiest two hours of the last day (nights are quiet)
        failed = {h: hourly_stats(app, h)["CallbackFailCount"] for h in range(newest - 25 * 3600, newest + 1, 3600)}
        last = max(range(newest - 23 * 3600, newest + 1, 3600), key=lambda h: failed[h] + failed[h - 3600])
        report = ReceiptPusher(url, duplicates=0.1, post=post).push_hours(app, [last - 3600, last])
        print(f"   {report.delivered} receipts in {report.batches} batches, {report.distinct} distinct "
              f"(the rest pushed twice, counted once)")
        begin = datetime.fromtimestamp(last - 3600, timezone(timedelta(hours=8)))
        window = {"begin": begin.strftime("%Y%m%d%H"), "end": (begin + timedelta(hours=2)).strftime("%Y%m%d%H")}
        message = {"job": "report", "app_ids": [app], "window": window}
        doc = main_handler(dict(samples.timer_event(json.dumps(message)), TriggerName="receipts-demo"), context)
        result = doc["results"][0]
        print(f"   the report of {window['begin']}-{window['end']}: failed receipts by code")
        for code in result.get("receipt_codes") or []:
            meaning = code["meaning"] or "(unknown code)"
            print(f"   {code['code']:<8} {code['count']:>5}  {code['category']:<16} {meaning}")
        print("   countries: " + ", ".join(f"+{c['nationcode']} {c['count']} ({c['failed']} failed)"
                                          for c in result.get("countries") or []))
        return report.failed == 0 and bool(result.get("receipt_codes"))
    finally:
        for key in ("STATE_URL", "RECEIPTS_SECRET"):
            os.environ.pop(key, None)

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
from typing import Any


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

"""SCF entry point (`handler.main_handler`), in the deployment zip and in a checkout."""

import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_src = os.path.join(_here, "src")
if os.path.isdir(os.path.join(_src, "sms_receipt_stats")) and _src not in sys.path:
    sys.path.insert(0, _src)  # development checkout without an install

from sms_receipt_stats.app import handle  # noqa: E402


def main_handler(event, context):
    """SCF calls this for every timer and API Gateway event; it never raises."""
    return handle(event, context)

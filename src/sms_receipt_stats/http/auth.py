"""The bearer token of the HTTP routes (`API_TOKENS`), checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re

from sms_receipt_stats.config import Settings
from sms_receipt_stats.events import ApiGatewayEvent
from sms_receipt_stats.http.errors import ApiError


def authenticate(event: ApiGatewayEvent, settings: Settings) -> None:
    """Bearer token in constant time; fails closed when no tokens are configured."""
    if settings.api_auth == "none":
        return
    unauthorized = ApiError(401, "AuthFailure.Unauthorized", "missing or invalid API token",
                            {"WWW-Authenticate": 'Bearer realm="sms-receipt-stats"'})
    header = event.header("Authorization") or ""
    match = re.match(r"^\s*Bearer\s+(\S+)\s*$", header, flags=re.IGNORECASE)
    if not match or not settings.api_tokens:
        raise unauthorized
    # compare fixed-length digests: compare_digest on raw values would leak the tokens' length
    offered = hashlib.sha256(match.group(1).encode("utf-8", "surrogatepass")).digest()
    ok = False
    for token in settings.api_tokens:  # no early exit: time does not depend on which token matched
        ok |= hmac.compare_digest(offered, hashlib.sha256(token.get_secret_value().encode("utf-8")).digest())
    if not ok:
        raise unauthorized

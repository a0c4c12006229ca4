"""Each app's receipt-callback credential, derived from RECEIPTS_SECRET.

Tencent pushes receipts to a URL configured in the SMS console and sends no header of ours,
so the credential travels in the URL: `POST {PUBLIC_URL}/receipts/{app_id}?token=<token>`.
The token is the HMAC-SHA256 of the app id under RECEIPTS_SECRET (base64url, 32 characters:
192 bits), so each app has its own, a leaked URL opens one app only, and rotating the secret
rotates every URL. Comparison is in constant time on fixed-length digests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

#: what the HMAC signs besides the app id, so this key cannot be reused for another purpose
_CONTEXT = b"sms-receipt-stats/receipts/v1\n"
TOKEN_CHARS = 32
#: the query parameter that carries the token
TOKEN_PARAM = "token"


def receipts_token(secret: str, app_id: str) -> str:
    """The app's token: 32 base64url characters of HMAC-SHA256(secret, context + app id)."""
    mac = hmac.new(secret.encode("utf-8"), _CONTEXT + app_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii")[:TOKEN_CHARS]


def token_matches(secret: str, app_id: str, offered: str) -> bool:
    """Whether `offered` is the app's token; constant time whatever was offered."""
    want = hashlib.sha256(receipts_token(secret, app_id).encode("ascii")).digest()
    got = hashlib.sha256(offered.encode("utf-8", "surrogatepass")).digest()
    return hmac.compare_digest(want, got)


def receipts_path(app_id: str) -> str:
    return f"/receipts/{quote(app_id, safe='')}"


def receipts_url(public_url: str, secret: str, app_id: str) -> str:
    """The URL to paste into the SMS console's status-report callback of this app."""
    return f"{public_url.rstrip('/')}{receipts_path(app_id)}?{TOKEN_PARAM}={receipts_token(secret, app_id)}"

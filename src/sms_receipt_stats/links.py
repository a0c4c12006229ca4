"""Signed dashboard links: a URL that opens the dashboard without a token, for one set of
apps and one window, until it expires (docs/http-api.md, *Dashboard*).

    url = dashboard_link(settings.public_url, secret, app_ids=["1400006874"],
                         window="2026112400-2026112500", now=now)
    verify(secret, app_id="1400006874", window="2026112400-2026112500", exp="1764...", sig="...", now=now)

The signature is `base64url(HMAC-SHA256(LINK_SECRET, "v1\\n/dashboard\\n<app_id>\\n<window>\\n<exp>"))`
without padding. Every signed field is one line of a fixed shape (checked before signing and
before verifying), so no two different links share a signed message: a link cannot be
widened to another app, another window or a later expiry. Only the language is left
unsigned (it changes nothing the reader may see).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from datetime import datetime, timedelta
from typing import Optional, Sequence
from urllib.parse import urlencode, urlsplit

from sms_receipt_stats.variables import Variable, VariableError

#: what the signature binds as the route: the path suffix every stage prefix ends in
ROUTE = "/dashboard"
VERSION = "v1"
#: how long a link in a chat message keeps working
LINK_TTL = timedelta(days=7)
#: app ids of one link: 10-digit SmsSdkAppIds, comma-separated
_APP_IDS = re.compile(r"^1[0-9]{9}(,1[0-9]{9}){0,49}$")
#: a window name or `yyyymmddhh-yyyymmddhh`
_WINDOW = re.compile(r"^([a-z0-9_]{1,16}|[0-9]{10}-[0-9]{10})$")
_EXP = re.compile(r"^[0-9]{1,12}$")
_SIG = re.compile(r"^[A-Za-z0-9_-]{43}$")  # 32 bytes, base64url without padding

#: the comparison every verification goes through (tests replace it to prove that it does)
compare_digest = hmac.compare_digest


class LinkError(ValueError):
    """A link that does not open the dashboard; the message is safe to show the caller."""


class LinkExpired(LinkError):
    """A genuine link past its expiry: the reader needs a fresh one, not a warning about tampering."""


def _message(app_id: str, window: str, exp: str) -> bytes:
    return "\n".join((VERSION, ROUTE, app_id, window, exp)).encode("ascii")


def _check_fields(app_id: str, window: str, exp: str) -> None:
    if not _APP_IDS.match(app_id):
        raise LinkError("app_id: expected SmsSdkAppIds (10 digits), comma-separated")
    if not _WINDOW.match(window):
        raise LinkError("window: expected a window name or yyyymmddhh-yyyymmddhh")
    if not _EXP.match(exp):
        raise LinkError("exp: expected unix seconds")


def _digest(secret: str, app_id: str, window: str, exp: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), _message(app_id, window, exp), hashlib.sha256).digest()


def sign(secret: str, app_id: str, window: str, exp: int) -> str:
    """The `sig` of a link (base64url, no padding)."""
    if not secret:
        raise LinkError("LINK_SECRET is not set")
    exp_text = str(int(exp))
    _check_fields(app_id, window, exp_text)
    return base64.urlsafe_b64encode(_digest(secret, app_id, window, exp_text)).rstrip(b"=").decode("ascii")


def verify(secret: str, *, app_id: str, window: str, exp: str, sig: str, now: datetime) -> None:
    """Raise LinkError unless `sig` signs exactly these fields and `exp` is still ahead of `now`."""
    if not secret:
        raise LinkError("signed links are not enabled (LINK_SECRET is not set)")
    _check_fields(app_id, window, exp)
    if not _SIG.match(sig or ""):
        raise LinkError("sig: not a link signature")
    try:
        offered = base64.urlsafe_b64decode(sig + "=")
    except (binascii.Error, ValueError):
        raise LinkError("sig: not a link signature") from None
    # the decision is compare_digest's answer, nothing else: constant time in the offered bytes
    if not compare_digest(_digest(secret, app_id, window, exp), offered):
        raise LinkError("the link's signature does not match: it was changed or made with another key")
    if int(exp) <= now.timestamp():
        raise LinkExpired("the link has expired: open the newest report's link, or use a token")


def expiry(now: datetime, ttl: timedelta = LINK_TTL) -> int:
    return int((now + ttl).timestamp())


def dashboard_link(public_url: str, secret: str, *, app_ids: Sequence[str], window: str, now: datetime,
                   ttl: timedelta = LINK_TTL, lang: Optional[str] = None) -> str:
    """The full URL of a signed dashboard link under `public_url` (the function's base URL)."""
    app_id = ",".join(dict.fromkeys(app_ids))
    exp = expiry(now, ttl)
    params = {"app_id": app_id, "window": window, "exp": str(exp), "sig": sign(secret, app_id, window, exp)}
    if lang:
        params["lang"] = lang
    # `,` stays readable; everything else in the fields is already URL-safe by their shape
    return f"{public_url.rstrip('/')}{ROUTE}?{urlencode(params, safe=',')}"


#: a chat link shows at least this much time: the day around a one-hour check, not one point
LINK_MIN_SPAN = timedelta(hours=24)
_HOUR_FORMAT = "%Y%m%d%H"


def link_window(begin: str, end: str, min_span: timedelta = LINK_MIN_SPAN) -> str:
    """`yyyymmddhh-yyyymmddhh` of a report's window, widened back to `min_span`: a fixed span (a
    named window would move while the link lives), long enough to show how things went."""
    from sms_receipt_stats.windows import parse_hour

    # labels in any zone: the widening is wall-clock arithmetic, so read them as UTC hours
    first, last = parse_hour(begin, "UTC", which="begin"), parse_hour(end, "UTC", which="end")
    first = min(first, last - min_span)
    return f"{first:{_HOUR_FORMAT}}-{last:{_HOUR_FORMAT}}"


class DetailsLinks:
    """Makes the "details" link of a chat message: the dashboard of its apps over its window."""

    def __init__(self, public_url: str, secret: str, now: datetime, ttl: timedelta = LINK_TTL):
        self.public_url, self._secret, self.now, self.ttl = public_url, secret, now, ttl

    def __call__(self, app_ids: Sequence[str], begin: str, end: str) -> Optional[str]:
        try:
            window = link_window(begin, end)
            return dashboard_link(self.public_url, self._secret, app_ids=app_ids, window=window,
                                  now=self.now, ttl=self.ttl)
        except (ValueError, LinkError):  # an odd window or app id: the message goes out without a link
            return None

    def __repr__(self) -> str:  # never the secret
        return f"DetailsLinks({self.public_url!r})"


def details_links(public_url: Optional[str], secret: Optional[str], generated_at: str) -> Optional[DetailsLinks]:
    """The link maker for a document made at `generated_at` (ISO), or None when links are off.

    Links expire `LINK_TTL` after the document was made, so a message sent twice carries the same link.
    """
    if not public_url or not secret:
        return None
    try:
        now = datetime.fromisoformat(generated_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if now.tzinfo is None:
        return None
    return DetailsLinks(public_url, secret, now)


#: characters a base URL may hold: unreserved, sub-delims that cannot close a Markdown link, `%`, `/`, `:`, `@`
_URL_CHARS = re.compile(r"^[A-Za-z0-9._~%/:@!$+,;=-]+$")
LINK_SECRET_MIN = 16


def parse_public_url(value: str) -> str:
    """`http(s)://host[:port][/path]` without query, fragment or credentials; no trailing slash."""
    text = value.strip()
    if not _URL_CHARS.match(text):
        raise ValueError("expected an http(s) URL without spaces, quotes, brackets or parentheses")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http(s) URL such as https://1250000000-abcd.ap-guangzhou.tencentscf.com")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise ValueError("expected a base URL without ?query or #fragment")
    if parts.username or parts.password:
        raise ValueError("expected a base URL without user:password@")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError("port out of range") from None
    return text.rstrip("/")


def _public_url(raw: str, variable: Variable, notes: list) -> str:
    try:
        return parse_public_url(raw)
    except ValueError as exc:
        raise VariableError(str(exc)) from None


VARIABLES = (
    Variable("PUBLIC_URL", "public_url", "url", None, "the function's public base URL, for links in messages",
             parse=_public_url, fallback="chat messages carry no dashboard link"),
    Variable("LINK_SECRET", "link_secret", "secret", None, "HMAC key of signed dashboard links",
             low=LINK_SECRET_MIN, secret=True, fallback="signed dashboard links are off"),
)

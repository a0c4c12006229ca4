"""The heartbeat: a dead man's switch outside the function (docs/deploy.md, *Heartbeat*).

A quiet hourly check looks exactly like a dead one (timer disabled, role revoked, a crash before
any sink), so after each timer run the function pings `HEARTBEAT_URL`, one `GET` saying whether
the run did its job, in the protocol of the service the URL belongs to (`ping_url`):

- healthchecks.io and any other URL: `URL` for success, `URL/fail` for failure (healthchecks.io,
  *Signaling failures*);
- an Uptime Kuma push URL (`.../api/push/<token>`): the same path with `status=up|down`, `msg`
  and `ping` (the run's milliseconds) in the query, which is where Kuma's push route reads them;
- a Cronitor telemetry URL (`https://cronitor.link/p/<key>/<monitor>`): `state=complete|fail`
  and `metric=duration:<seconds>` (Cronitor, *Telemetry API*).

The service alerts when a ping is missing or says fail: a silent function then is someone
else's alert, which is the point.

A run *could not* do its job when its document has `errors` (a configuration error, a bad timer
`Message`, an internal error) or when sinks were configured, it had something to send and no sink
was reached. An upstream API error is not a failure of the run: the run reported it (as an
`api_error` alert) and that is what the sinks are for.

Elsewhere the duration of the run travels as `duration=<seconds>` in the query (services that
do not know it ignore it). The URL is a secret (a healthchecks.io ping key, a Kuma push token, a
Cronitor API key): it is never logged, and an error names only what happened.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

log = logging.getLogger("sms_receipt_stats.heartbeat")

#: one ping never waits longer than this (it is a GET of a few bytes), nor past the invocation
MAX_PING_SECONDS = 5.0
#: with less time left than this the ping is not started
MIN_PING_SECONDS = 0.2

Get = Callable[..., Any]  # requests.get's shape: get(url, timeout=..., headers=..., allow_redirects=...)


@dataclass(frozen=True)
class Beat:
    """What one timer run says: did it do its job, why not, and how long it took."""

    ok: bool
    seconds: float
    reason: Optional[str] = None


def judge(document: Mapping[str, Any], sinks_configured: bool, seconds: float) -> Beat:
    """The run's verdict from its result document (see the module docstring)."""
    errors = document.get("errors") or []
    if errors:
        return Beat(False, seconds, f"{len(errors)} error(s) in the result")
    deliveries = document.get("deliveries") or []
    if sinks_configured and deliveries and not any(d.get("ok") for d in deliveries):
        return Beat(False, seconds, "no sink was reached")
    return Beat(True, seconds)


#: Uptime Kuma's push route (its router: GET /api/push/:pushToken, status/msg/ping in the query)
_KUMA_PUSH = re.compile(r"^/api/push/[^/]+/?$")


def _with(parts: SplitResult, drop: tuple, extra: list) -> str:
    """`parts` with the query keys `drop` replaced by `extra` (the user's other keys kept, in order)."""
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in drop]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept + extra), ""))


def ping_url(url: str, beat: Beat) -> str:
    """The beat in the URL's own protocol (module docstring): Kuma, Cronitor, else healthchecks.io's."""
    parts = urlsplit(url.strip())
    if _KUMA_PUSH.match(parts.path):
        msg = "OK" if beat.ok else (beat.reason or "failed")
        return _with(parts, ("status", "msg", "ping"),
                     [("status", "up" if beat.ok else "down"), ("msg", msg), ("ping", f"{beat.seconds * 1000:.0f}")])
    if (parts.hostname or "").lower() == "cronitor.link" and parts.path.startswith("/p/"):
        return _with(parts, ("state",), [("state", "complete" if beat.ok else "fail"),
                                         ("metric", f"duration:{beat.seconds:.3f}")])
    path = parts.path.rstrip("/") + "/fail" if not beat.ok else parts.path
    query = "&".join(q for q in (parts.query, urlencode({"duration": f"{beat.seconds:.3f}"})) if q)
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def send(url: str, beat: Beat, *, time_left: Optional[float], get: Optional[Get] = None) -> Optional[str]:
    """Ping once; None when the service answered 2xx, else a reason without the URL. Never raises."""
    timeout = MAX_PING_SECONDS if time_left is None else min(MAX_PING_SECONDS, time_left)
    if timeout < MIN_PING_SECONDS:
        reason = "no time left in the invocation"
        log.warning("heartbeat not sent: %s", reason)
        return reason
    if get is None:
        import requests

        get = requests.get
    try:
        resp = get(ping_url(url, beat), timeout=timeout, headers={"User-Agent": "sms-receipt-stats"},
                   allow_redirects=False)
        status = int(resp.status_code)
    except Exception as exc:  # requests puts the URL (and so the ping key) in its texts: name the class only
        reason = f"network error ({type(exc).__name__})"
    else:
        if 200 <= status < 300:
            log.info("heartbeat sent (%s, %.1fs)", "success" if beat.ok else "fail", beat.seconds)
            return None
        reason = f"HTTP {status}"
    log.warning("heartbeat failed: %s", reason)
    return reason

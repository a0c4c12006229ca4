"""HTTP requests (function URL, API Gateway): routing, auth, parameters, status codes (README, *HTTP lookups*).

Every failure is an `ApiError` raised from one of the small steps below and turned into a
response in exactly one place (`app.handle_apigw`). Validation happens before any upstream
call: a request the API would reject never reaches it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Any, Dict, Mapping, Optional

from sms_receipt_stats import __version__, jsonlimits
from sms_receipt_stats.config import APP_ID_PATTERN, App, Settings
from sms_receipt_stats.documents import ErrorInfo
from sms_receipt_stats.events import MAX_BODY_BYTES, ApiGatewayEvent, http_response
from sms_receipt_stats.vocabulary import GRANULARITIES
from sms_receipt_stats.windows import WindowError, api_window, resolve_window

_LOCAL_CATEGORY = {400: "input", 401: "auth", 403: "permission", 404: "input", 405: "input", 413: "input"}
ALIASES = {
    "app_id": ("app_id", "SmsSdkAppId"),
    # half-open product names, and the API's own names with the API's meaning (EndTime's hour
    # included; README, *Time windows*): they are not aliases of each other
    "begin": ("begin",),
    "end": ("end",),
    "BeginTime": ("BeginTime",),
    "EndTime": ("EndTime",),
    "window": ("window",),
    "granularity": ("granularity",),
    "limit": ("Limit", "limit"),
    "offset": ("Offset", "offset"),
}


class ApiError(Exception):
    """An HTTP error answer: status, error code and a message safe to show the caller."""

    def __init__(self, status: int, code: str, message: str, headers: Optional[Dict[str, str]] = None,
                 error: Optional[Dict[str, Any]] = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.error = error


def error_response(exc: ApiError, request_id: Optional[str], lang: str = "en") -> Dict[str, Any]:
    if exc.error is not None:
        body = dict(exc.error)
    else:
        from sms_receipt_stats.catalogue import error_info

        # the message is ours (never a configured value): pattern scrubbing would only mangle it
        info = error_info(exc.code, exc.message, request_id, lang, untrusted=False)
        body = info.model_dump(mode="json")
        if exc.status in _LOCAL_CATEGORY:
            body["category"] = _LOCAL_CATEGORY[exc.status]
            body["retryable"] = False
    return http_response(exc.status, {"error": body}, exc.headers)


def upstream_error(error: ErrorInfo) -> ApiError:
    """An upstream failure as its HTTP status (README, *HTTP lookups*), with Retry-After on 429/503."""
    from sms_receipt_stats.catalogue import http_status, retry_after_seconds

    status = http_status(error.code)
    retry_after = retry_after_seconds(error.code)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None and status in (429, 503) else {}
    return ApiError(status, error.code, error.message, headers, error=error.model_dump(mode="json"))


def route(event: ApiGatewayEvent) -> str:
    """'stats', 'dashboard', 'health' or 'silences' (`.../silences`: GET, POST; `.../silences/{id}`:
    DELETE); 404/405 otherwise."""
    path = (event.path or "").rstrip("/")
    method = (event.httpMethod or "").upper()
    if path.endswith("/stats") or path == "stats":
        if method not in ("GET", "POST"):
            raise ApiError(405, "MethodNotAllowed", "use GET or POST on /stats", {"Allow": "GET, POST"})
        return "stats"
    if path.endswith("/health") or path == "health":
        if method not in ("GET", "HEAD"):
            raise ApiError(405, "MethodNotAllowed", "use GET or HEAD on /health", {"Allow": "GET, HEAD"})
        return "health"
    if path.endswith("/dashboard") or path == "dashboard":
        if method != "GET":
            raise ApiError(405, "MethodNotAllowed", "use GET on /dashboard", {"Allow": "GET"})
        return "dashboard"
    if re.search(r"(^|/)silences(/[^/]+)?$", path):
        allowed = "DELETE" if not re.search(r"(^|/)silences$", path) else "GET, POST"
        if method not in allowed.split(", "):
            raise ApiError(405, "MethodNotAllowed", f"use {allowed} on this path", {"Allow": allowed})
        return "silences"
    raise ApiError(404, "NotFound", "no such route: use GET/POST .../stats, GET .../dashboard, GET .../health "
                                    "or .../silences")


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


def _body_params(event: ApiGatewayEvent) -> Dict[str, Any]:
    body = event.body
    if body is None or body == "":
        return {}
    if not isinstance(body, str):
        raise ApiError(400, "FailedOperation.JsonParseFail", "the body must be a JSON object")
    too_large = ApiError(413, "RequestSizeLimitExceeded", f"the body exceeds {MAX_BODY_BYTES} bytes")
    raw: bytes = body.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES * 4 // 3 + 4:  # cap before decoding anything
        raise too_large
    if event.isBase64Encoded:
        try:
            raw = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "FailedOperation.JsonParseFail", "the body is not valid base64") from None
    if len(raw) > MAX_BODY_BYTES:
        raise too_large
    if not raw.strip():
        return {}
    try:
        data = jsonlimits.loads(raw.decode("utf-8"))
    except jsonlimits.JsonTooDeep as exc:
        raise ApiError(400, "FailedOperation.JsonParseFail", f"the body is {exc}") from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "FailedOperation.JsonParseFail", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "FailedOperation.JsonParseFail", "the body must be a JSON object")
    return data


def _scalar(name: str, value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, list):
        if any(isinstance(v, (list, dict)) for v in value):  # never walked: it may be nested without end
            raise ApiError(400, "InvalidParameter", f"{name}: expected a string")
        distinct = {json.dumps(v, sort_keys=True, default=str) for v in value}
        if len(distinct) > 1:
            raise ApiError(400, "InvalidParameter", f"{name}: given more than once with different values")
        if not value:
            return None
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ApiError(400, "InvalidParameter", f"{name}: expected a string")
    text = str(value).strip()
    if len(text) > 64:
        raise ApiError(400, "InvalidParameter", f"{name}: too long")
    return text


def collect_params(event: ApiGatewayEvent) -> Dict[str, Optional[str]]:
    """Query string and JSON body merged; aliases resolved; conflicts are an error."""
    sources = [event.queryString or event.queryStringParameters or {}, _body_params(event)]
    params: Dict[str, Optional[str]] = {}
    for canonical, names in ALIASES.items():
        distinct = set()
        for source in sources:
            for name in names:
                if name in source:
                    value = _scalar(name, source[name])
                    if value:
                        distinct.add(value)
        if len(distinct) > 1:
            raise ApiError(400, "InvalidParameter", f"{canonical}: conflicting values")
        params[canonical] = distinct.pop() if distinct else None
    return params


def validate_lookup(params: Mapping[str, Optional[str]], settings: Settings, now: Any):
    """→ (App, Window, granularity) or ApiError; nothing here touches the network."""
    app_id = params.get("app_id")
    if not app_id:
        raise ApiError(400, "MissingParameter", "app_id (or SmsSdkAppId) is required")
    if not APP_ID_PATTERN.match(app_id):
        raise ApiError(400, "InvalidParameter", "app_id must be an SmsSdkAppId of 10 digits")
    if app_id not in settings.api_allowed_app_ids:
        raise ApiError(403, "UnauthorizedOperation.RequestPermissionDeny",
                       "this app id is not in API_ALLOWED_APP_IDS")
    for key, code in (("limit", "InvalidParameterValue.LimitVerifyFail"),
                      ("offset", "InvalidParameterValue.OffsetVerifyFail")):
        value = params.get(key)
        if value is not None and value != "0":
            raise ApiError(400, code, f"{key.capitalize()} must be 0")
    granularity = params.get("granularity") or "total"
    if granularity not in GRANULARITIES:
        raise ApiError(400, "InvalidParameterValue", "granularity must be total, day or hour")
    window_name, begin, end = params.get("window"), params.get("begin"), params.get("end")
    begin_time, end_time = params.get("BeginTime"), params.get("EndTime")
    api_names = bool(begin_time or end_time)
    if api_names and (begin or end):
        raise ApiError(400, "InvalidParameter", "give begin/end (half-open) or the API's BeginTime/EndTime "
                                                "(EndTime's hour included), not a mix")
    if api_names:
        begin, end = begin_time, end_time
    if window_name and (begin or end):
        raise ApiError(400, "InvalidParameter", "give either window or begin/end, not both")
    if not window_name and not (begin and end):
        names = ("BeginTime", "EndTime") if api_names else ("begin", "end")
        missing = names[1] if begin else names[0] if end else "window (or begin and end)"
        raise ApiError(400, "MissingParameter", f"{missing} is required")
    try:
        if window_name:
            window = resolve_window(window_name, now, settings.timezone, granularity)
        elif api_names:
            window = api_window(str(begin), str(end), now, settings.timezone, granularity)
        else:
            window = resolve_window({"begin": str(begin), "end": str(end)}, now, settings.timezone, granularity)
    except WindowError as exc:
        raise ApiError(400, exc.code, exc.message) from None
    app = next((a for a in settings.apps if a.app_id == app_id), App(app_id=app_id))
    return app, window, granularity


def health_response(method: str = "GET") -> Dict[str, Any]:
    """200 with the version; a HEAD probe gets the same status and headers without a body."""
    response = http_response(200, {"status": "ok", "version": __version__})
    if method.upper() == "HEAD":
        response["body"] = ""
    return response

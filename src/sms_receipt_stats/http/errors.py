"""The one error builder of the HTTP routes: an `ApiError` raised anywhere becomes one answer.

Every JSON error body has the shape of docs/http-api.md (*Error body*): `code`, `message`,
`request_id`, `severity`, `category`, `retryable`, `hint`, with the status and `Retry-After`
rules of its *Status codes* table. A local refusal (400-413) is the caller's to fix, so it is
never retryable; an answer relayed from the SMS API keeps the catalogue's verdict on its code.
A route may answer its errors otherwise (the dashboard's HTML pages): `router.Route.error_page`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

from sms_receipt_stats.events import http_response

if TYPE_CHECKING:
    from sms_receipt_stats.documents import ErrorInfo

#: the category of a refusal decided here, by its status (the catalogue's is kept otherwise)
LOCAL_CATEGORY = {400: "input", 401: "auth", 403: "permission", 404: "input", 405: "input", 413: "input"}
#: statuses whose answer tells the caller when to try again
RETRY_AFTER_STATUSES = (429, 503)


class ApiError(Exception):
    """An HTTP error answer: status, error code and a message safe to show the caller.

    `error` is a body relayed as it is (an upstream failure, see `upstream_error`); otherwise the
    body comes from the catalogue's entry for `code`, and `severity`, `category`, `retryable` and
    `hint` override it where a route knows better (the silences say which page of docs/ helps).
    """

    def __init__(self, status: int, code: str, message: str, headers: Optional[Dict[str, str]] = None,
                 error: Optional[Dict[str, Any]] = None, *, severity: Optional[str] = None,
                 category: Optional[str] = None, retryable: Optional[bool] = None, hint: Optional[str] = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.error = error
        self.overrides = {k: v for k, v in (("severity", severity), ("category", category),
                                            ("retryable", retryable), ("hint", hint)) if v is not None}


def error_body(exc: ApiError, request_id: Optional[str], lang: str = "en") -> Dict[str, Any]:
    """The `error` object of `exc`'s answer, carrying this request's id."""
    if exc.error is not None:
        body = dict(exc.error)
        if body.get("request_id") is None:
            body["request_id"] = request_id
        return body
    from sms_receipt_stats.catalogue import error_info

    # the message is ours (never a configured value): pattern scrubbing would only mangle it
    body = error_info(exc.code, exc.message, request_id, lang, untrusted=False).model_dump(mode="json")
    if exc.status in LOCAL_CATEGORY:
        body["category"] = LOCAL_CATEGORY[exc.status]
        body["retryable"] = False
    body.update(exc.overrides)
    return body


def error_response(exc: ApiError, request_id: Optional[str], lang: str = "en") -> Dict[str, Any]:
    """The JSON answer of `exc`: its status, its headers and `{"error": {...}}`."""
    return http_response(exc.status, {"error": error_body(exc, request_id, lang)}, exc.headers)


def internal_error_response(request_id: Optional[str]) -> Dict[str, Any]:
    """The 500 of a bug: no detail but the request id its logs are filed under."""
    return http_response(500, {"error": {"code": "InternalError", "message": "internal error",
                                         "request_id": request_id, "severity": "critical",
                                         "category": "upstream", "retryable": False,
                                         "hint": "See the function's logs."}})


def upstream_error(error: ErrorInfo) -> ApiError:
    """An upstream failure as its HTTP status (docs/http-api.md), with Retry-After on 429/503."""
    from sms_receipt_stats.catalogue import http_status, retry_after_seconds

    status = http_status(error.code)
    retry_after = retry_after_seconds(error.code)
    headers = ({"Retry-After": str(retry_after)}
               if retry_after is not None and status in RETRY_AFTER_STATUSES else {})
    return ApiError(status, error.code, error.message, headers, error=error.model_dump(mode="json"))

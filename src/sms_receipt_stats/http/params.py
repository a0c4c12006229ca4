"""The one parameter parser of the HTTP routes: query string and JSON body, aliases, limits.

A route names the parameters it reads and their aliases (`SmsSdkAppId` for `app_id`, the API's
`Limit`/`Offset`); `collect` merges the query string and, when asked, the JSON body. The same
name given twice with different values, or under two aliases, is an error (400) rather than a
guess. The body is capped before it is decoded (`MAX_BODY_BYTES`, after base64 too) and its
nesting depth is bounded (`jsonlimits`), so a hostile request costs little.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Dict, List, Mapping, Optional, Sequence

from sms_receipt_stats import jsonlimits
from sms_receipt_stats.events import MAX_BODY_BYTES, ApiGatewayEvent
from sms_receipt_stats.http.errors import ApiError

#: longest value of one parameter unless a route says otherwise
MAX_VALUE_CHARS = 64


def _json_fail(message: str) -> ApiError:
    return ApiError(400, "FailedOperation.JsonParseFail", message)


def json_body(event: ApiGatewayEvent) -> Dict[str, Any]:
    """The body as a JSON object ({} when empty); 400 when it is not one, 413 when too large."""
    body = event.body
    if body is None or body == "":
        return {}
    if not isinstance(body, str):
        raise _json_fail("the body must be a JSON object")
    too_large = ApiError(413, "RequestSizeLimitExceeded", f"the body exceeds {MAX_BODY_BYTES} bytes")
    raw: bytes = body.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES * 4 // 3 + 4:  # cap before decoding anything
        raise too_large
    if event.isBase64Encoded:
        try:
            raw = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise _json_fail("the body is not valid base64") from None
    if len(raw) > MAX_BODY_BYTES:
        raise too_large
    if not raw.strip():
        return {}
    try:
        data = jsonlimits.loads(raw.decode("utf-8"))
    except jsonlimits.JsonTooDeep as exc:
        raise _json_fail(f"the body is {exc}") from None
    except (ValueError, UnicodeDecodeError):
        raise _json_fail("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _json_fail("the body must be a JSON object")
    return data


def query_string(event: ApiGatewayEvent) -> Mapping[str, Any]:
    """The query string: `queryString` (every variant has it), else `queryStringParameters`."""
    return event.queryString or event.queryStringParameters or {}


def scalar(name: str, value: Any, max_chars: int = MAX_VALUE_CHARS, several: str = "") -> Optional[str]:
    """One parameter's value as stripped text; a repeated parameter must repeat one value
    (`several`, when given, says why: "one app per lookup")."""
    if value is None:
        return None
    if isinstance(value, list):
        if any(isinstance(v, (list, dict)) for v in value):  # never walked: it may be nested without end
            raise ApiError(400, "InvalidParameter", f"{name}: expected a string")
        distinct = {json.dumps(v, sort_keys=True, default=str) for v in value}
        if len(distinct) > 1:
            raise ApiError(400, "InvalidParameter", f"{name}: given more than once with different values"
                                                    + (f" ({several})" if several else ""))
        if not value:
            return None
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ApiError(400, "InvalidParameter", f"{name}: expected a string")
    text = str(value).strip()
    if len(text) > max_chars:
        raise ApiError(400, "InvalidParameter", f"{name}: too long")
    return text


def collect(event: ApiGatewayEvent, aliases: Mapping[str, Sequence[str]], *, body: bool = False,
            max_chars: int = MAX_VALUE_CHARS, single: Optional[Mapping[str, str]] = None) -> Dict[str, Optional[str]]:
    """canonical name → value (None when absent or empty), from the query string and, with `body`,
    the JSON body; values given under several names or in both places must agree. `single` says,
    per canonical name, why it takes one value (the refusal of two says so)."""
    single = single or {}
    sources: List[Mapping[str, Any]] = [query_string(event)]
    if body:
        sources.append(json_body(event))
    params: Dict[str, Optional[str]] = {}
    for canonical, names in aliases.items():
        distinct = set()
        for source in sources:
            for name in names:
                if name in source:
                    value = scalar(name, source[name], max_chars, single.get(canonical, ""))
                    if value:
                        distinct.add(value)
        if len(distinct) > 1:
            raise ApiError(400, "InvalidParameter", f"{canonical}: conflicting values"
                                                    + (f" ({single[canonical]})" if canonical in single else ""))
        params[canonical] = distinct.pop() if distinct else None
    return params

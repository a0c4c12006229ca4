"""`GET|POST .../stats`: one app's counters for a window (docs/http-api.md, *HTTP lookups*).

Validation happens before any upstream call: a request the API would refuse never reaches it.
The numbers come through the same querier as the timer jobs (rate cap, retries, deadline,
and the settled cache when a state store is configured).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Tuple

from sms_receipt_stats.http.errors import ApiError
from sms_receipt_stats.http.router import Request, Route

if TYPE_CHECKING:
    from sms_receipt_stats.config import App, Settings
    from sms_receipt_stats.windows import Window

logger = logging.getLogger("sms_receipt_stats.http")

#: canonical name → the names it may be given as (query string or JSON body)
ALIASES = {
    "app_id": ("app_id", "SmsSdkAppId"),
    # half-open product names, and the API's own names with the API's meaning (EndTime's hour
    # included; docs/hour-rule.md): they are not aliases of each other
    "begin": ("begin",),
    "end": ("end",),
    "BeginTime": ("BeginTime",),
    "EndTime": ("EndTime",),
    "window": ("window",),
    "granularity": ("granularity",),
    "limit": ("Limit", "limit"),
    "offset": ("Offset", "offset"),
}
#: a lookup answers one app: two of them, however given, are refused saying so
ONE_APP = "one app per lookup: ask once per app"
#: two or more app ids in one value (a list a newcomer tries: `1400006874,1400000002`)
_SEVERAL_APP_IDS = re.compile(r"\d{10}(?:[\s,;|+]+\d{10})+")
_HINTS = {
    "app": {"en": "One lookup answers one SmsSdkAppId (10 digits, e.g. 1400006874): send one request per app.",
            "zh": "一次查询只对应一个 SmsSdkAppId（10 位数字，如 1400006874）：每个应用单独请求一次。"},
    "window": {"en": "window is one of {names}; or give begin and end (yyyymmddhh, half-open) instead.",
               "zh": "window 取值为 {names} 之一；或改用 begin 与 end（yyyymmddhh，左闭右开）。"},
}


def _hint(key: str, lang: str, **values: str) -> str:
    return _HINTS[key]["zh" if (lang or "").lower().startswith("zh") else "en"].format(**values)


def _shown(value: str) -> str:
    """A caller's value quoted in an error: what was sent, cut short."""
    return repr(value if len(value) <= 40 else value[:40] + "…")


def validate_lookup(params: Mapping[str, Optional[str]], settings: Settings,
                    now: datetime) -> Tuple[App, Window, str]:
    """→ (App, Window, granularity) or ApiError; nothing here touches the network."""
    from sms_receipt_stats.config import APP_ID_PATTERN, App
    from sms_receipt_stats.vocabulary import GRANULARITIES
    from sms_receipt_stats.windows import BEGIN_TIME_VERIFY_FAIL, WINDOW_NAMES, WindowError, api_window, resolve_window

    lang = settings.lang
    app_id = params.get("app_id")
    if not app_id:
        raise ApiError(400, "MissingParameter", "app_id (or SmsSdkAppId) is required")
    if _SEVERAL_APP_IDS.fullmatch(app_id):
        count = len(re.findall(r"\d{10}", app_id))
        raise ApiError(400, "InvalidParameter", f"app_id {_shown(app_id)} names {count} apps: {ONE_APP}",
                       hint=_hint("app", lang))
    if not APP_ID_PATTERN.match(app_id):
        raise ApiError(400, "InvalidParameter", f"app_id {_shown(app_id)} is not an SmsSdkAppId (10 digits, "
                                                "e.g. 1400006874)", hint=_hint("app", lang))
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
        raise ApiError(400, "InvalidParameterValue", f"granularity {_shown(granularity)} is unknown: use "
                                                     f"{', '.join(GRANULARITIES)}")
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
    if window_name and window_name not in WINDOW_NAMES:
        listed = ", ".join(WINDOW_NAMES)
        raise ApiError(400, BEGIN_TIME_VERIFY_FAIL, f"window {_shown(window_name)} is not a window name: the "
                                                    f"names are {listed}", hint=_hint("window", lang, names=listed))
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


def attach_receipts(state: Any, result: Any, window: Window, lang: str) -> None:
    """`receipt_codes` and `countries` from the pushed receipts' counters (docs/http-api.md,
    *Receipts*); a store that cannot answer leaves them out, says so in the log, and never
    fails the lookup."""
    from sms_receipt_stats.state.receipts import attach_receipts as attach

    if not (state.available and attach(state, [result], window, lang)):
        logger.warning("lookup without receipt codes: the state store did not answer",
                       extra={"app_id": result.app_id, "code": state.problem})


def lookup(request: Request) -> Dict[str, Any]:
    """One app's counters for a window, as the 200 answer; ApiError for bad parameters, missing
    credentials and an upstream failure."""
    from sms_receipt_stats.events import http_response
    from sms_receipt_stats.http.errors import upstream_error
    from sms_receipt_stats.http.params import collect
    from sms_receipt_stats.measure import make_querier, query_apps
    from sms_receipt_stats.sdk import MissingCredentials

    settings, deps = request.settings, request.deps
    params = collect(request.event, ALIASES, body=True, single={"app_id": ONE_APP})
    app, window, granularity = validate_lookup(params, settings, deps.now())
    state = request.open_state()  # settled spans of a lookup come from the cache
    try:
        try:
            querier = make_querier(settings, deps, request.deadline, state)
        except MissingCredentials as exc:
            raise ApiError(502, "AuthFailure.SecretIdNotFound", str(exc)) from None
        result = query_apps([app], window, granularity, querier, settings.lang, settings.secret_values())[0]
        if state is not None and result.error is None and settings.receipts_secret is not None:
            attach_receipts(state, result, window, settings.lang)
    finally:
        if state is not None:
            state.close()
    if result.error is not None:
        raise upstream_error(result.error)
    logger.info("lookup", extra={"status": 200, "app_id": app.app_id})
    return http_response(200, result.model_dump(mode="json"))


ROUTES = (Route("stats", ("GET", "POST"), lookup),)

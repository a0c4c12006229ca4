"""`GET .../dashboard`: who may look, at what, and the HTML answer.

Auth is the bearer token of `/stats`, or a signed link (`links.py`) that names its apps,
its window and its expiry, all covered by the signature: the request is checked against the
values as sent, so a link cannot be stretched to another app or window. Every answer is
HTML for a person (a link opened from a chat): the page, or an error page in the page's
language that says what happened and how to get a fresh link, with the same security
headers. The JSON error bodies stay with `/stats`.

The numbers come from `jobs.query_apps` with the querier of `jobs.make_querier`, the same
path as every other lookup (rate cap, retries, deadline, and any cache it grows).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlencode

from sms_receipt_stats.config import APP_ID_PATTERN, App, Settings
from sms_receipt_stats.dashboard.page import (
    CSP,
    Omission,
    Page,
    ReceiptsView,
    StateView,
    render_error,
    render_page,
)
from sms_receipt_stats.documents import WindowDoc
from sms_receipt_stats.events import ApiGatewayEvent
from sms_receipt_stats.http.auth import authenticate
from sms_receipt_stats.http.errors import ApiError, upstream_error
from sms_receipt_stats.http.params import collect, query_string
from sms_receipt_stats.vocabulary import LANGS
from sms_receipt_stats.windows import Window, WindowError, resolve_window

logger = logging.getLogger("sms_receipt_stats.dashboard")

HTML_CONTENT_TYPE = "text/html; charset=utf-8"
#: what every dashboard answer carries besides its type: nothing cached on shared caches, no
#: sniffing, and no Referer (a signed link in the address bar must not travel to other sites)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
    "X-Frame-Options": "DENY",
}
DEFAULT_WINDOW = "last_30d"
#: windows up to this long are charted per hour, longer ones per day
HOURLY_UP_TO = timedelta(hours=48)
#: one page shows at most this many apps
MAX_APPS = 50
#: the receipts of one more app are read only with this many seconds left (rendering and the answer)
RECEIPTS_RESERVE = 1.0
PARAMS = {"app_id": ("app_id", "SmsSdkAppId"), "window": ("window",), "lang": ("lang",),
          "exp": ("exp",), "sig": ("sig",)}
_EXPLICIT = re.compile(r"^([0-9]{10})-([0-9]{10})$")


def html_response(status: int, html: str, headers: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    all_headers = {"Content-Type": HTML_CONTENT_TYPE, **SECURITY_HEADERS}
    if headers:
        all_headers.update(headers)
    return {"isBase64Encoded": False, "statusCode": status, "headers": all_headers, "body": html}


def read_params(event: ApiGatewayEvent) -> Dict[str, Optional[str]]:
    """The query string's parameters (a GET has no body); an alias with another value is an error."""
    return collect(event, PARAMS, max_chars=MAX_APPS * 11)


def resolve(spec: str, now: datetime, tz: str) -> Tuple[Window, str]:
    """A window name or `yyyymmddhh-yyyymmddhh` → (window, granularity of its charts)."""
    explicit = _EXPLICIT.match(spec)
    target: Any = {"begin": explicit.group(1), "end": explicit.group(2)} if explicit else spec
    try:
        window = resolve_window(target, now, tz, "day")
    except WindowError as exc:
        raise ApiError(400, exc.code, f"window: {exc.message}") from None
    return window, ("hour" if window.span <= HOURLY_UP_TO else "day")


class LinkRefused(ApiError):
    """A signed link that does not open the page; `reason` picks the error page's words:
    `expired`, `invalid` (changed, cut short, or made with another key) or `disabled`."""

    def __init__(self, reason: str, message: str):
        super().__init__(401, "AuthFailure.Unauthorized", message)
        self.reason = reason


def _link_auth(params: Mapping[str, Optional[str]], settings: Settings, now: datetime) -> None:
    from sms_receipt_stats import links

    secret = settings.link_secret.get_secret_value() if settings.link_secret else ""
    if not params.get("app_id") or not params.get("window") or not params.get("exp") or not params.get("sig"):
        raise LinkRefused("invalid", "a signed link needs app_id, window, exp and sig")
    try:
        links.verify(secret, app_id=params["app_id"] or "", window=params["window"] or "",
                     exp=params["exp"] or "", sig=params["sig"] or "", now=now)
    except links.LinkExpired as exc:
        raise LinkRefused("expired", str(exc)) from None
    except links.LinkError as exc:
        raise LinkRefused("disabled" if not secret else "invalid", str(exc)) from None


def authorize(event: ApiGatewayEvent, params: Mapping[str, Optional[str]], settings: Settings,
              now: datetime) -> str:
    """'link' or 'token' (or 'none' with API_AUTH=none); ApiError 401 otherwise."""
    if params.get("exp") is not None or params.get("sig") is not None:
        _link_auth(params, settings, now)
        return "link"
    authenticate(event, settings)
    return "none" if settings.api_auth == "none" else "token"


def select_apps(raw: Optional[str], settings: Settings, mode: str) -> List[App]:
    """The apps asked for (comma-separated), each allowed; all allowed apps when none is named."""
    allowed = list(settings.api_allowed_app_ids)
    if mode == "link":  # a link names apps of the reports, which are the configured ones
        allowed += [a.app_id for a in settings.apps if a.app_id not in allowed]
    if raw:
        wanted = list(dict.fromkeys(part.strip() for part in raw.split(",")))
        if len(wanted) > MAX_APPS:
            raise ApiError(400, "InvalidParameter", f"app_id: at most {MAX_APPS} apps on one page")
        for app_id in wanted:
            if not APP_ID_PATTERN.match(app_id):
                raise ApiError(400, "InvalidParameter", "app_id must be SmsSdkAppIds of 10 digits, comma-separated")
            if app_id not in allowed:
                raise ApiError(403, "UnauthorizedOperation.RequestPermissionDeny",
                               "this app id is not in API_ALLOWED_APP_IDS")
    else:
        wanted = allowed[:MAX_APPS]
        if not wanted:
            raise ApiError(400, "MissingParameter", "app_id is required (API_ALLOWED_APP_IDS is empty)")
    named = {a.app_id: a for a in settings.apps}
    return [named.get(app_id, App(app_id=app_id)) for app_id in wanted]


def read_state(store: Any, now: datetime, tz: str = "Asia/Shanghai") -> StateView:
    """Current alerts and active silences from the state store; a failing store is said on the page."""
    try:
        from sms_receipt_stats.state.alerts import active_silences, current_alerts

        alerts = [_plain(a) for a in current_alerts(store, now, tz)]
        silences = [_plain(s) for s in active_silences(store, now)]
    except Exception as exc:  # the page still shows the numbers
        logger.warning("state store unavailable for the dashboard", extra={"code": type(exc).__name__})
        return StateView(error=True)
    return StateView(alerts=alerts, silences=silences)


def read_receipts(store: Any, results: Any, window: Window, granularity: str, lang: str,
                  time_left: Callable[[], Optional[float]] = lambda: None) -> ReceiptsView:
    """Pushed receipts of the page's apps (docs/http-api.md, *Receipts*): failed ones by code per
    bucket of the charts, and each result's `receipt_codes` and `countries` over the window. One
    read per app (30 days are 720 hashes), stopped when less than RECEIPTS_RESERVE seconds are left
    (`time_left`: None when no limit is known): the apps not read say so. A store that cannot
    answer is said on the page."""
    from sms_receipt_stats.state.receipts import fill_result, read_series
    from sms_receipt_stats.windows import buckets

    spans = buckets(window, granularity)
    failed: Dict[str, List[Dict[str, int]]] = {}
    for result in [r for r in results if r.error is None]:
        left = time_left()
        if left is not None and left < RECEIPTS_RESERVE:
            logger.info("dashboard receipts cut to the time limit", extra={"shown": len(failed)})
            break
        try:
            series = read_series(store, [result.app_id], spans)
        except Exception as exc:  # the page still shows the numbers
            logger.warning("receipt counters unavailable for the dashboard", extra={"code": type(exc).__name__})
            return ReceiptsView(error=True)
        if series is None:
            logger.warning("receipt counters unavailable for the dashboard", extra={"code": store.problem})
            return ReceiptsView(error=True)
        mine = series[result.app_id]
        fill_result(result, mine.total, lang)
        failed[result.app_id] = [mine.failed_by_code(i) for i in range(len(mine.buckets))]
    return ReceiptsView(failed=failed)


def _plain(item: Any) -> Any:
    return item.model_dump(mode="json") if hasattr(item, "model_dump") else item


def _switch_href(params: Mapping[str, Optional[str]], lang: str) -> str:
    query = {k: v for k, v in params.items() if v is not None and k != "lang"}
    query["lang"] = "en" if lang == "zh" else "zh"
    return "?" + urlencode(query, safe=",")


def page_lang(event: ApiGatewayEvent, settings: Settings) -> str:
    """The language of any answer, error pages included: `lang` when it is one we speak."""
    source = query_string(event)
    raw = source.get("lang")
    raw = raw[0] if isinstance(raw, list) and raw else raw
    wanted = raw.strip().lower() if isinstance(raw, str) else ""
    return wanted if wanted in LANGS else settings.lang


def error_page(exc: ApiError, lang: str) -> Dict[str, Any]:
    """An ApiError as an HTML page for a person, with the page's security headers."""
    reason = exc.reason if isinstance(exc, LinkRefused) else None
    html = render_error(lang, exc.status, exc.code, exc.message, link_reason=reason)
    return html_response(exc.status, html, exc.headers)


def handle_dashboard(event: ApiGatewayEvent, settings: Settings, deps: Any, deadline: Optional[float],
                     store: Any = None) -> Dict[str, Any]:
    """The dashboard answer for one request: the page, or an HTML error page.

    `store` is the state store (None: the function is stateless, and the page says so).
    """
    lang = page_lang(event, settings)
    try:
        return _page(event, settings, deps, deadline, store)
    except ApiError as exc:
        logger.info("dashboard refused" if exc.status < 500 else "dashboard failed",
                    extra={"status": exc.status, "code": exc.code})
        return error_page(exc, lang)


def _account(results: Any, apps: Any, window: Any, querier: Any, settings: Settings, now: Any, lang: str) -> Any:
    """Send counts on each result and the account's balance (`account.py`); None when they
    cannot be read. Never raises: the page shows the receipts whatever happens here."""
    from sms_receipt_stats.account import account_source, measure_account

    source = account_source(querier.fetcher)
    if source is None:
        return None
    try:
        facts = measure_account([a.app_id for a in apps], window, querier, source, now, settings.timezone, lang,
                                settings.secret_values(), rate_app_ids=[a.app_id for a in settings.apps])
    except Exception as exc:
        logger.warning("dashboard account calls failed: %s", type(exc).__name__)
        return None
    for result in results:
        result.send = facts.send.get(result.app_id)
    return facts.packages


def _page(event: ApiGatewayEvent, settings: Settings, deps: Any, deadline: Optional[float],
          store: Any) -> Dict[str, Any]:
    from sms_receipt_stats.dashboard.plan import call_budget, calls_deadline, plan_page
    from sms_receipt_stats.measure import generated_at, make_querier, query_apps
    from sms_receipt_stats.windows import split_for_api

    if (event.httpMethod or "").upper() != "GET":
        raise ApiError(405, "MethodNotAllowed", "use GET on /dashboard", {"Allow": "GET"})
    now = deps.now()
    params = read_params(event)
    mode = authorize(event, params, settings, now)
    lang = (params.get("lang") or settings.lang).lower()
    if lang not in LANGS:
        raise ApiError(400, "InvalidParameter", f"lang must be {' or '.join(LANGS)}")
    apps = select_apps(params.get("app_id"), settings, mode)
    window, granularity = resolve(params.get("window") or DEFAULT_WINDOW, now, settings.timezone)
    try:
        # settled days come from the cache; every call ends in time to render what came back
        querier = make_querier(settings, deps, calls_deadline(deadline, deps.monotonic()), store)
    except Exception as exc:
        raise ApiError(502, "AuthFailure.SecretIdNotFound", str(exc)) from None
    querier.fail_fast = True  # a person is waiting: after one connection failure, stop and say so
    budget = call_budget(None if deadline is None else deadline - deps.monotonic(), settings.api_rps)
    plan = plan_page(apps, window, granularity, budget, getattr(querier.fetcher, "cached", None))
    omitted = None
    if plan.cut:
        omitted = Omission(shown=plan.shown_buckets, asked=plan.asked_buckets, calls=plan.calls_needed,
                           rps=settings.api_rps, apps_left_out=[a.name or a.app_id for a in plan.left_out])
        logger.info("dashboard page cut to the time limit",
                    extra={"shown": plan.shown_buckets, "asked": plan.asked_buckets, "left_out": len(plan.left_out)})
    window = plan.window
    results = query_apps(plan.apps, window, granularity, querier, lang, settings.secret_values())
    packages = None
    if not plan.cut and any(r.error is None for r in results) and not querier.unreachable:
        # the balance's calls (the page's apps over its window, every app over 7 days, the packages)
        # only when they fit in the time left: the receipts never wait for them
        needed = len(plan.apps) * len(split_for_api(window.counted())) + len(settings.apps) + 1
        left = call_budget(None if deadline is None else deadline - deps.monotonic(), settings.api_rps)
        if left is None or needed <= left:
            packages = _account(results, plan.apps, window, querier, settings, now, lang)
    state = None if store is None else read_state(store, now, settings.timezone)
    receipts = None
    if store is not None and settings.receipts_secret is not None:
        # last: its read is the page's biggest (every hour of every app), so a store budget it
        # spends can cost the receipts only, never the alerts and silences
        receipts = read_receipts(store, results, window, granularity, lang,
                                 lambda: None if deadline is None else deadline - deps.monotonic())
    page = Page(results=results, window=WindowDoc(**window.to_doc()), granularity=granularity,
                generated_at=datetime.fromisoformat(generated_at(now, settings.timezone)), lang=lang,
                thresholds=settings.thresholds, state=state,
                switch_href=_switch_href(params, lang) if mode in ("link", "none") else None, omitted=omitted,
                packages=packages, receipts=receipts)
    status, headers = 200, {}
    failed = [r.error for r in results if r.error is not None]
    if failed and len(failed) == len(results):  # nothing to show but errors: say so to probes too
        upstream = upstream_error(failed[0])
        status, headers = upstream.status, upstream.headers
    logger.info(f"dashboard page ({mode} auth)", extra={"status": status})
    return html_response(status, render_page(page), headers)

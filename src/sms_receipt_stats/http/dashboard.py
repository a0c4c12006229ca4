"""`GET .../dashboard`: the HTML page for people (docs/http-api.md, *Dashboard*); the work is `dashboard/`.

Its auth is its own (a signed link or the bearer token, `dashboard/route.py`), and every
answer is HTML: its errors, a wrong method included, are the dashboard's error pages.
"""

from __future__ import annotations

from typing import Any, Dict

from sms_receipt_stats.http.errors import ApiError
from sms_receipt_stats.http.router import Request, Route


def page(request: Request) -> Dict[str, Any]:
    """The page, with alerts, silences and settled days from the state store."""
    from sms_receipt_stats.dashboard import handle_dashboard

    deps = request.deps
    store = request.open_state()
    try:
        return handle_dashboard(request.event, request.settings, deps, request.deadline, store)
    finally:
        if store is not None:
            store.close()


def error_page(exc: ApiError, request: Request) -> Dict[str, Any]:
    """An error before the page's own checks (a wrong method) as the page's HTML error page."""
    from sms_receipt_stats.dashboard.route import error_page as html_error_page
    from sms_receipt_stats.dashboard.route import page_lang

    return html_error_page(exc, page_lang(request.event, request.settings))


ROUTES = (Route("dashboard", ("GET",), page, auth="own", error_page=error_page),)

"""The dashboard: an HTML page for people, opened from a chat link on a phone or with a token.

    response = handle_dashboard(event, settings, deps, deadline)   # GET .../dashboard

Imported only by the `/dashboard` route: the timers and the JSON lookups never load it
(the daily report loads `warm.py` alone, at its end).
Charts are small SVG written by `svg.py`; the page and its error pages are `page.py`; the
request side (auth by token or signed link, parameters, data through the same query layer as
`/stats`) is `route.py`; `plan.py` fits a page's API calls into the time limit, and `warm.py`
keeps the settled days of the default window cached, night after night.
"""

from __future__ import annotations

from sms_receipt_stats.dashboard.page import CSP, Page, StateView, render_page
from sms_receipt_stats.dashboard.route import handle_dashboard, html_response

__all__ = ["CSP", "Page", "StateView", "handle_dashboard", "html_response", "render_page"]

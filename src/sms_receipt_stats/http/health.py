"""`GET|HEAD .../health`: 200 with the version, no auth, nothing called (a load balancer's probe)."""

from __future__ import annotations

from typing import Any, Dict

from sms_receipt_stats import __version__
from sms_receipt_stats.events import http_response
from sms_receipt_stats.http.router import Request, Route


def health_response(method: str = "GET") -> Dict[str, Any]:
    """200 with the version; a HEAD probe gets the same status and headers without a body."""
    response = http_response(200, {"status": "ok", "version": __version__})
    if method.upper() == "HEAD":
        response["body"] = ""
    return response


def health(request: Request) -> Dict[str, Any]:
    return health_response(request.method)


ROUTES = (Route("health", ("GET", "HEAD"), health, auth="none"),)

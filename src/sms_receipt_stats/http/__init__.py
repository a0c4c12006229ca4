"""HTTP: one route table for every HTTP event (function URL, API Gateway, TSE gateway).

    response = dispatch(raw_event, settings, deps_factory, deadline, invocation_id)

`router.py` holds the table and `dispatch`, which routes, checks the method and the token, runs
the route's handler and answers every `errors.ApiError` in one place; `params.py` parses the
query string and the JSON body (aliases, size and depth limits); `errors.py` builds every
error body. Each route is one module declaring `ROUTES` (`stats.py`, `dashboard.py`,
`silences.py`, `health.py`): a new route is one new module, found by `router.table()`.
A timer event loads only this package's declaration of the variables HTTP callers depend on
(`VARIABLES`, read with the configuration), and route modules load their work when they run.
"""

from __future__ import annotations

import re
from typing import List, Tuple

from sms_receipt_stats.variables import Variable, VariableError


def _tokens(raw: str, variable: Variable, notes: List[str]) -> Tuple[str, ...]:
    return tuple(t.strip() for t in re.split(r"[,\n]", raw) if t.strip())


def _auth(raw: str, variable: Variable, notes: List[str]) -> str:
    """`token` (any case) or `none` (lower case only). Turning authentication off takes the one
    documented spelling: `None` or `NONE` are what a template writes for a missing value, so
    they fail closed (token)."""
    if raw.lower() == "token":
        return "token"
    if raw == "none":
        return "none"
    if raw.lower() == "none":
        raise VariableError("only 'none' in lower case turns authentication off")
    raise VariableError("not 'token' or 'none'")


def _allowed(raw: str, variable: Variable, notes: List[str]) -> Tuple[str, ...]:
    from sms_receipt_stats.config import app_ids_parser

    return tuple(app.app_id for app in app_ids_parser(raw, variable, notes))


VARIABLES = (
    Variable("API_TOKENS", "api_tokens", "secret", (), "comma-separated bearer tokens of HTTP lookups",
             high=65536, secret=True, parse=_tokens, fallback="no token is accepted"),
    Variable("API_AUTH", "api_auth", "text", "token", "token, or none when the gateway authenticates",
             parse=_auth),
    Variable("API_ALLOWED_APP_IDS", "api_allowed_app_ids", "text", None,
             "SmsSdkAppIds an HTTP caller may ask for (unset: those of SMS_SDK_APP_IDS)", parse=_allowed),
)

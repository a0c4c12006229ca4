"""The API endpoint setting (`SMS_ENDPOINT`, a CMQ entry's `endpoint=`): `host[:port]` or `http(s)://host[:port]`.

A leaf module so that both `config` and the `NOTIFY_URLS` parser use it without importing each other.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from sms_receipt_stats.variables import Variable, VariableError

DEFAULT_ENDPOINT_HOST = "sms.tencentcloudapi.com"


class Endpoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str = DEFAULT_ENDPOINT_HOST  # host[:port]
    scheme: str = "https"


def parse_endpoint(value: str) -> Endpoint:
    """`host[:port]` or `http(s)://host[:port]` (no path)."""
    text = value.strip()
    scheme = "https"
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https"):
            raise ValueError("scheme must be http or https")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("expected host[:port] or http(s)://host[:port] without a path")
        scheme, text = parts.scheme, parts.netloc
    if not re.match(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9a-fA-F:]+\](:[0-9]{1,5})?$", text):
        raise ValueError("expected host[:port] or http(s)://host[:port]")
    port = text.rsplit(":", 1)[1] if re.search(r":[0-9]+$", text) else None
    if port is not None and not 0 < int(port) < 65536:
        raise ValueError("port out of range")
    return Endpoint(host=text, scheme=scheme)


def _endpoint(raw: str, variable: Variable, notes: list) -> Endpoint:
    try:
        return parse_endpoint(raw)
    except ValueError as exc:
        raise VariableError(str(exc)) from None


VARIABLES = (
    Variable("SMS_ENDPOINT", "endpoint", "text", None, "API endpoint override: host[:port] or http(s)://host[:port]",
             parse=_endpoint, fallback=f"using {DEFAULT_ENDPOINT_HOST}"),
)

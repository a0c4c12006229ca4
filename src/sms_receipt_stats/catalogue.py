"""The error catalogue: what every Tencent Cloud error code means for an operator.

Every failure the product reports carries a code; this module turns that code into a
severity (routing of notifications), a category, whether a retry can help, a concrete
hint in English and Chinese, and the HTTP status of a lookup's error answer
(docs/http-api.md). The entries are data, `catalogue.json` beside this module, read on the
first failure only: `import handler` and a run without errors never load it.

Sources of the code list (checked when the catalogue was written):

* Tencent Cloud API 3.0 common error codes ("公共错误码"), as published on the SMS
  2021-01-11 error-code page (cloud.tencent.com/document/product/382/38780) and on every
  other product's error-code page: ``ActionOffline``, ``AuthFailure.*``, ``DryRunOperation``,
  ... ``UnsupportedRegion``.
* The codes the API page of ``CallbackStatusStatistics`` (2021-01-11,
  intl.cloud.tencent.com/document/product/382/40529, section "Error Code") documents; the
  same list is generated into the SDKs as "可能返回的错误码" (TencentCloud/tencentcloud-sdk-go,
  tencentcloud/sms/v20210111/client.go). See ``callback_status_statistics_codes``.
* Every SMS 2021-01-11 code of ``tencentcloud-sdk-python-sms`` 3.1.153
  (``tencentcloud/sms/v20210111/errorcodes.py``), so that codes of the other SMS actions
  that an account may show are known too.
* Codes ``tencentcloud-sdk-python-common`` 3.1.195 raises itself (``ClientNetworkError``,
  ``ServerNetworkError``, ``ClientError``, ``ClientParamsError``, ``InvalidCredential``, ...).
  The exception class names it wraps as codes (``TencentCloudSDKException(type(e).__name__)``)
  are not codes here: ``sdk.to_cloud_error`` maps them to ``ClientNetworkError`` or
  ``UpstreamDataInvalid``.
* The product's own codes (``AuthFailure.Unauthorized``, ``NotFound``, ``MethodNotAllowed``,
  ``UpstreamDataInvalid``).

Judgement calls: plain ``InternalError`` (and unknown ``InternalError.*`` codes, which fall
back on it) is ``transient``, like ``InternalError.Timeout``: a bare internal error says
nothing about the request, and a retry is what the platform itself recommends; the named
``.OtherError``/``.UnknownError`` stay ``upstream`` (the SMS docs say to contact support).
``FailedOperation.JsonParseFail`` from the API means it could not parse the request the SDK
built, which no HTTP caller can fix: ``upstream`` (502), while an HTTP caller's own
unparseable body is answered 400 with the same code and category ``input``.
``AuthFailure.UnauthorizedOperation`` is a CAM policy problem, so it is ``permission``
rather than ``auth``. ``LimitExceeded.*`` are sending quotas/frequency policies (not API
request rates), so they are ``upstream``.

Secrets never reach this module's output unmasked: `error_info` scrubs messages with
`redaction.scrub`, the one masking mechanism.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, Iterable, Mapping, Optional

from sms_receipt_stats.documents import Category, ErrorInfo, Severity
from sms_receipt_stats.redaction import cap_message, scrub
from sms_receipt_stats.vocabulary import CATEGORIES, LANGS, SEVERITIES

DATA_FILE = "catalogue.json"
#: retrying can only help with these; `retryable` derives from the category so the rule cannot drift
RETRYABLE_CATEGORIES: FrozenSet[str] = frozenset({"rate_limit", "transient"})

#: product-local codes answered with their own HTTP status (docs/http-api.md)
LOCAL_HTTP_STATUS: Mapping[str, int] = MappingProxyType(
    {"AuthFailure.Unauthorized": 401, "NotFound": 404, "MethodNotAllowed": 405}
)
#: input-category codes that mean the *function's* configuration is wrong (endpoint, region,
#: SDK): an HTTP caller cannot fix them, so they are answered 502, not 400
OPERATOR_CONFIG_CODES: FrozenSet[str] = frozenset(
    {
        "ActionOffline",
        "InvalidAction",
        "InvalidRequest",
        "NoSuchProduct",
        "NoSuchVersion",
        "RequestSizeLimitExceeded",
        "UnsupportedProtocol",
        "UnsupportedRegion",
        "InternalError.RestApiInterfaceNotExist",
        "ClientError",
        "ClientParamsError",
    }
)
RETRY_AFTER_RATE_LIMIT = 1
RETRY_AFTER_TRANSIENT = 5


class CatalogueError(ValueError):
    """`catalogue.json` is malformed: a packaging or editing mistake, named precisely."""


@dataclass(frozen=True)
class ErrorEntry:
    """What the catalogue knows about one error code; immutable so entries can be shared."""

    code: str
    severity: Severity
    category: Category
    retryable: bool
    hint_en: str
    hint_zh: str

    def hint(self, lang: str = "en") -> str:
        """The hint in ``lang`` (``zh``, ``zh-CN``, ``zh_TW`` ... → Chinese; anything else → English)."""
        return self.hint_zh if (lang or "").lower().startswith("zh") else self.hint_en


class Catalogue:
    """The loaded data file: entries by code (and by lower-cased code), the entry for unknown
    codes, and the code lists of the sources above (tests check they are all catalogued).
    A plain class: it is built once, and a second dataclass would cost the first failure time."""

    __slots__ = ("by_lower", "callback_status_statistics_codes", "common_codes", "entries", "unknown")

    def __init__(self, entries: Mapping[str, ErrorEntry], unknown: ErrorEntry,
                 callback_status_statistics_codes: FrozenSet[str], common_codes: FrozenSet[str]) -> None:
        self.entries = entries
        self.by_lower: Mapping[str, ErrorEntry] = MappingProxyType({k.lower(): v for k, v in entries.items()})
        self.unknown = unknown
        self.callback_status_statistics_codes = callback_status_statistics_codes
        self.common_codes = common_codes


def _entry(code: str, raw: Any) -> ErrorEntry:
    """One entry of the data file, checked: a bad one names its code and field."""
    if not isinstance(raw, dict):
        raise CatalogueError(f"{DATA_FILE}: {code!r} must be an object")
    category, severity, hint = raw.get("category"), raw.get("severity"), raw.get("hint")
    if category not in CATEGORIES:
        raise CatalogueError(f"{DATA_FILE}: {code!r} category must be one of {', '.join(CATEGORIES)}")
    if severity not in SEVERITIES:
        raise CatalogueError(f"{DATA_FILE}: {code!r} severity must be one of {', '.join(SEVERITIES)}")
    if not isinstance(hint, dict) or not all(isinstance(hint.get(k), str) and hint[k].strip() for k in LANGS):
        raise CatalogueError(f"{DATA_FILE}: {code!r} needs non-empty hint.en and hint.zh")
    return ErrorEntry(code=code, severity=severity, category=category,
                      retryable=category in RETRYABLE_CATEGORIES, hint_en=hint["en"], hint_zh=hint["zh"])


def parse(text: str) -> Catalogue:
    """The catalogue in `text` (the data file's content), validated entry by entry."""
    data = json.loads(text)
    table: Dict[str, ErrorEntry] = {}
    for group in data["groups"]:
        for code, raw in group["codes"].items():
            if code in table:
                raise CatalogueError(f"{DATA_FILE}: duplicate error code {code!r}")
            table[code] = _entry(code, raw)
    documented = data["documented"]
    return Catalogue(
        entries=MappingProxyType(table),
        unknown=_entry("", data["unknown"]),
        callback_status_statistics_codes=frozenset(documented["CallbackStatusStatistics"]),
        common_codes=frozenset(documented["common"]),
    )


def _read_data() -> bytes:
    """The data file's bytes through this module's loader, as `pkgutil.get_data` does (without
    its import): a directory, a zip on sys.path and an installed wheel alike."""
    path = os.path.join(os.path.dirname(__file__), DATA_FILE)
    get_data = getattr(__spec__.loader, "get_data", None)
    if get_data is not None:
        return bytes(get_data(path))
    with open(path, "rb") as fh:  # pragma: no cover - every loader CPython ships has get_data
        return fh.read()


@cache
def load() -> Catalogue:
    """The catalogue shipped in the package, read once, on the first failure."""
    return parse(_read_data().decode("utf-8"))


if TYPE_CHECKING:
    CATALOGUE: Mapping[str, ErrorEntry]


def __getattr__(name: str) -> Any:
    """``CATALOGUE`` (code → entry, read-only), loaded on first use like everything here."""
    if name == "CATALOGUE":
        return load().entries
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _normalise(code: str) -> str:
    return (code or "").strip().rstrip(".")


def _lookup(code: str) -> Optional[ErrorEntry]:
    """The catalogue entry for ``code``: exact, then case-insensitive, then longest dotted prefix."""
    key = _normalise(code)
    if not key:
        return None
    cat = load()
    entry = cat.entries.get(key) or cat.by_lower.get(key.lower())
    if entry is not None:
        return entry
    parts = key.split(".")
    for n in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:n])
        entry = cat.entries.get(prefix) or cat.by_lower.get(prefix.lower())
        if entry is not None:
            return entry
    return None


def classify(code: str) -> ErrorEntry:
    """What the catalogue says about ``code``; unknown codes fall back on their prefix, then on a
    generic upstream warning. The returned entry's ``code`` is always the code asked for."""
    asked = code if isinstance(code, str) else ("" if code is None else str(code))
    entry = _lookup(asked) or load().unknown
    return entry if entry.code == asked else replace(entry, code=asked)


def is_retryable(code: str) -> bool:
    """True only for rate-limit and transient codes: retrying anything else cannot help."""
    return classify(code).category in RETRYABLE_CATEGORIES


def http_status(code: str) -> int:
    """HTTP status of an error response (docs/http-api.md): 400 caller input, 429 rate
    limit, 503 transient, 502 any other upstream failure; product-local codes keep their own."""
    local = LOCAL_HTTP_STATUS.get(_normalise(code))
    if local is not None:
        return local
    entry = _lookup(code)
    if entry is None:
        return 502
    if entry.category == "rate_limit":
        return 429
    if entry.category == "transient":
        return 503
    if entry.category == "input" and entry.code not in OPERATOR_CONFIG_CODES:
        return 400
    return 502


def retry_after_seconds(code: str) -> Optional[int]:
    """The ``Retry-After`` value to send with a 429/503 answer, else None."""
    status = http_status(code)
    if status == 429:
        return RETRY_AFTER_RATE_LIMIT
    if status == 503:
        return RETRY_AFTER_TRANSIENT
    return None


def error_info(
    code: str,
    message: str,
    request_id: Optional[str] = None,
    lang: str = "en",
    *,
    secrets: Iterable[str] = (),
    untrusted: bool = True,
) -> ErrorInfo:
    """The error object users see, with the catalogue's verdict and a scrubbed message.

    `untrusted=False` is for the product's own messages (they never quote a configured
    value): they are only cut to length, so scrubbing cannot mangle a variable name.
    """
    entry = classify(code)
    text = scrub(message, secrets) if untrusted else cap_message(str(message))
    return ErrorInfo(
        code=entry.code,
        message=text,
        request_id=request_id,
        severity=entry.severity,
        category=entry.category,
        retryable=entry.retryable,
        hint=entry.hint(lang),
    )


__all__ = [
    "CATALOGUE",
    "CATEGORIES",
    "LOCAL_HTTP_STATUS",
    "RETRYABLE_CATEGORIES",
    "SEVERITIES",
    "Catalogue",
    "CatalogueError",
    "ErrorEntry",
    "classify",
    "error_info",
    "http_status",
    "is_retryable",
    "load",
    "retry_after_seconds",
]

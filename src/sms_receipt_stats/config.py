"""Settings from the environment (README, *Configuration*): one validated model.

Loading is lenient on purpose: a bad value is recorded as a `ConfigIssue` naming the
variable and replaced by its default (or dropped), so that one typo never silences the
rest of the job: the timer still reports the apps it can and alerts on the issue.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from sms_receipt_stats.endpoint import DEFAULT_ENDPOINT_HOST, Endpoint, parse_endpoint
from sms_receipt_stats.notify.urls import SinkSpec, parse_notify_urls
from sms_receipt_stats.vocabulary import DEFAULT_LANG, LANGS, one_of
from sms_receipt_stats.windows import load_zone

DEFAULT_REGION = "ap-guangzhou"
APP_ID_PATTERN = re.compile(r"^1[0-9]{9}$")
_REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+){1,3}$")
#: client-side rate cap bounds: the API's documented limit, and a floor below which the queries
#: of a few apps no longer fit in the function's time limit
MAX_API_RPS = 10.0
MIN_API_RPS = 0.1
#: values quoted back in an issue: something that reads as a number cannot be a secret pasted
#: into the wrong variable; anything else is described, never quoted
_NUMBER_LIKE = re.compile(r"^[-+]?[0-9.][0-9.eE+-]{0,23}$")


def number_like(raw: str) -> bool:
    return bool(_NUMBER_LIKE.match(raw))


def shown(raw: str) -> str:
    """`raw` quoted when it is number-like (safe to echo), else "the value"."""
    return repr(raw) if number_like(raw) else "the value"
DEFAULT_STATE_PREFIX = "sms-receipt-stats:"
DEFAULT_SETTLE_HOURS = 72
DEFAULT_REPEAT_INTERVAL = 4 * 3600.0
_DURATION = re.compile(r"^([0-9]{1,6})([smhd])$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_STATE_PREFIX = re.compile(r"^[A-Za-z0-9_.:/-]{1,64}$")


@dataclass(frozen=True)
class ConfigIssue:
    variable: str
    message: str

    def __str__(self) -> str:
        return f"{self.variable}: {self.message}"


class App(BaseModel):
    model_config = ConfigDict(frozen=True)

    app_id: str
    name: Optional[str] = None


class Thresholds(BaseModel):
    """What the alert rules read: one field per variable a rule module declares (`rules/`).

    The fields below are the built-in rules' (typed, for the renderer and the dashboard); a new
    rule's variables arrive as extra fields, so adding a rule never touches this file.
    `rules.registry().variables` declares each one's variable, default and bounds.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    success_rate_min: float = 0.90
    success_rate_critical: float = 0.70
    receipt_rate_min: float = 0.80
    min_volume: int = 100
    drop_points: float = 0.05  # success_rate_drop: this far below the trailing 7-day baseline
    confidence: float = 0.99
    pool_hours: int = 6
    receipt_delay: float = 7200.0
    volume_drop: float = 0.8

    def values(self) -> Dict[str, Any]:
        """Every rule setting by field name, the extras of newer rules included."""
        return self.model_dump()


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    secret_id: Optional[str] = None
    secret_key: Optional[SecretStr] = None
    session_token: Optional[SecretStr] = None
    region: str = DEFAULT_REGION
    endpoint: Endpoint = Field(default_factory=Endpoint)
    apps: Tuple[App, ...] = ()
    api_rps: float = 10.0
    timezone: str = "Asia/Shanghai"
    lang: str = DEFAULT_LANG
    # excluded from dumps: a sink URL is itself a secret (the robot key travels in it)
    sinks: Tuple[SinkSpec, ...] = Field(default=(), exclude=True)
    api_tokens: Tuple[SecretStr, ...] = ()
    api_auth: str = "token"
    api_allowed_app_ids: Tuple[str, ...] = ()
    thresholds: Thresholds = Field(default_factory=Thresholds)
    #: the function's public base URL (no trailing slash) and the key of signed dashboard links
    public_url: Optional[str] = None
    link_secret: Optional[SecretStr] = None
    receipts_secret: Optional[SecretStr] = Field(default=None, exclude=True)

    @property
    def links_enabled(self) -> bool:
        """Chat messages carry a dashboard link only when both are set."""
        return bool(self.public_url and self.link_secret)
    # the state store (docs/state.md); excluded from dumps: a Redis URL may carry a password
    state_url: Optional[SecretStr] = Field(default=None, exclude=True)
    state_password: Optional[SecretStr] = Field(default=None, exclude=True)
    state_prefix: str = DEFAULT_STATE_PREFIX
    settle_hours: int = DEFAULT_SETTLE_HOURS
    repeat_interval: float = DEFAULT_REPEAT_INTERVAL  # seconds

    def secret_values(self) -> List[str]:
        """Every configured secret, so outputs can be scrubbed of them."""
        values: List[str] = []
        for s in (self.secret_key, self.session_token, self.state_password, *self.api_tokens, self.link_secret,
                  self.receipts_secret):
            if s is not None and s.get_secret_value():
                values.append(s.get_secret_value())
        for sink in self.sinks:
            values.extend(sink.secret_values())
        return values


def parse_app_ids(value: str, variable: str = "SMS_SDK_APP_IDS") -> Tuple[List[App], List[ConfigIssue]]:
    """`ID[=Name]` entries; an id listed again under another name keeps its first name."""
    apps: List[App] = []
    issues: List[ConfigIssue] = []
    names: dict = {}
    items = [raw.strip() for raw in re.split(r"[,\n]", value or "")]
    for position, item in enumerate((i for i in items if i), start=1):
        app_id, _, name = item.partition("=")
        app_id, name = app_id.strip(), name.strip()[:64] or None
        if not APP_ID_PATTERN.match(app_id):
            what = f"entry {position} ({shown(app_id)})" if _NUMBER_LIKE.match(app_id) else f"entry {position}"
            issues.append(ConfigIssue(variable, f"{what} is not an SmsSdkAppId (10 digits, e.g. 1400006874)"))
            continue
        if app_id in names:
            first = names[app_id]
            if name is not None and first is not None and name != first:
                issues.append(ConfigIssue(variable, f"{app_id} is listed twice with different names; "
                                                    "the first name is used"))
            continue
        names[app_id] = name
        apps.append(App(app_id=app_id, name=name))
    return apps, issues


#: characters a base URL may hold: unreserved, sub-delims that cannot close a Markdown link, `%`, `/`, `:`, `@`
_URL_CHARS = re.compile(r"^[A-Za-z0-9._~%/:@!$+,;=-]+$")
LINK_SECRET_MIN = 16


def parse_public_url(value: str) -> str:
    """`http(s)://host[:port][/path]` without query, fragment or credentials; no trailing slash."""
    text = value.strip()
    if not _URL_CHARS.match(text):
        raise ValueError("expected an http(s) URL without spaces, quotes, brackets or parentheses")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http(s) URL such as https://1250000000-abcd.ap-guangzhou.tencentscf.com")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise ValueError("expected a base URL without ?query or #fragment")
    if parts.username or parts.password:
        raise ValueError("expected a base URL without user:password@")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError("port out of range") from None
    return text.rstrip("/")


#: what each `Variable.kind` accepts: (low, high, whole number?)
_KIND_BOUNDS = {
    "fraction": (0.0, 1.0, False),
    "confidence": (0.5, 0.9999, False),
    "count": (0, 10**9, True),
    "hours": (1, 48, True),
}


def _rule_value(raw: str, variable: Any) -> Any:
    """One rule variable parsed by its kind; ValueError says what is expected (never quotes)."""
    if variable.kind == "duration":
        try:
            return parse_duration(raw)
        except ValueError:
            raise ValueError("is not a duration like 90s, 30m, 2h or 1d") from None
    low, high, whole = _KIND_BOUNDS[variable.kind]
    expected = f"a whole number from {low} to {high}" if whole else f"a number between {low:g} and {high:g}"
    try:
        value: Any = int(raw) if whole and raw.isascii() and raw.isdigit() else float(raw)
    except ValueError:
        raise ValueError(f"is not {expected}") from None
    if whole and not isinstance(value, int):
        raise ValueError(f"is not {expected}")
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"is outside {low:g}..{high:g}")
    return value


def _thresholds(env: Mapping[str, str], issues: List[ConfigIssue]) -> Thresholds:
    """Every variable the rule modules declare, parsed by its kind; a bad value is an issue and
    the rule's default. Then each rule's own checks across its variables."""
    from sms_receipt_stats.rules import registry

    rules = registry()
    values: Dict[str, Any] = {}
    for variable in rules.variables:
        raw = env.get(variable.env, "").strip()
        values[variable.field] = variable.default
        if not raw:
            continue
        try:
            values[variable.field] = _rule_value(raw, variable)
        except ValueError as exc:
            default = f"{variable.default / 3600:g}h" if variable.kind == "duration" else f"{variable.default:g}"
            issues.append(ConfigIssue(variable.env, f"{shown(raw)} {exc}; using {default}"))
    for spec in rules.rules:
        if spec.check is not None:
            issues.extend(ConfigIssue(name, problem) for name, problem in spec.check(values))
    return Thresholds(**values)


def _api_rps(raw: str, issues: List[ConfigIssue]) -> float:
    """SMS_API_RPS within [MIN_API_RPS, MAX_API_RPS]; anything else is an issue and the default."""
    default = f"using {MAX_API_RPS:g}"
    try:
        rps = float(raw)
    except ValueError:
        rps = math.nan
    if not math.isfinite(rps):
        issues.append(ConfigIssue("SMS_API_RPS", f"{shown(raw)} is not a number of requests per second; {default}"))
    elif rps > MAX_API_RPS:
        issues.append(ConfigIssue("SMS_API_RPS", f"{shown(raw)} is above {MAX_API_RPS:g}, the API's documented "
                                                 f"limit of requests per second; {default}"))
    elif rps < MIN_API_RPS:
        issues.append(ConfigIssue("SMS_API_RPS", f"{shown(raw)} is below {MIN_API_RPS:g}: the queries would not "
                                                 f"fit in the function's time limit; {default}"))
    else:
        return rps
    return MAX_API_RPS
def parse_duration(value: str) -> float:
    """`90s`, `30m`, `4h`, `1d` as seconds; ValueError otherwise."""
    match = _DURATION.match(value.strip().lower())
    if not match or int(match.group(1)) <= 0:
        raise ValueError("expected a positive whole number and a unit, like 90s, 30m, 4h or 1d")
    return float(int(match.group(1)) * _DURATION_UNITS[match.group(2)])


def parse_state_url(value: str) -> Tuple[str, Optional[str]]:
    """Check a STATE_URL by the back end of its scheme (`state/*_store.py`: redis, rediss, sqlite,
    ...). Returns (scheme, password); messages never quote the URL (it may hold one)."""
    from sms_receipt_stats.state.store import backends, examples_text, schemes_text

    found = backends()
    text = value.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError(f"is not a URL like {examples_text(found)}") from None
    scheme = parts.scheme.lower()
    backend = found.get(scheme)
    if backend is None:
        raise ValueError(f"the scheme must be {schemes_text(found)}")
    return scheme, backend.check(parts)


def _first(env: Mapping[str, str], *names: str) -> Optional[str]:
    for n in names:
        v = env.get(n)
        if v:
            return v.strip()
    return None


def _api_auth(raw: str, issues: List[ConfigIssue]) -> str:
    """`token` (any case) or `none` (lower case only), surrounding blanks ignored.

    Turning authentication off takes the one documented spelling: `None` or `NONE` are what
    a template writes for a missing value, so they fail closed (token) with an issue.
    """
    text = raw.strip()
    if not text or text.lower() == "token":
        return "token"
    if text == "none":
        return "none"
    if text.lower() == "none":
        issues.append(ConfigIssue("API_AUTH", "only 'none' in lower case turns authentication off; using token"))
    else:
        issues.append(ConfigIssue("API_AUTH", "not 'token' or 'none'; using token"))
    return "token"


def load_settings(env: Mapping[str, str]) -> Tuple[Settings, List[ConfigIssue]]:
    """Build Settings from an environment mapping; never raises on bad values."""
    issues: List[ConfigIssue] = []
    values: dict = {}

    if env.get("TENCENTCLOUD_SECRETID") or env.get("TENCENTCLOUD_SECRETKEY"):
        sid, skey = env.get("TENCENTCLOUD_SECRETID"), env.get("TENCENTCLOUD_SECRETKEY")
        token = env.get("TENCENTCLOUD_SESSIONTOKEN")
    else:
        sid, skey = env.get("TENCENTCLOUD_SECRET_ID"), env.get("TENCENTCLOUD_SECRET_KEY")
        token = env.get("TENCENTCLOUD_SESSIONTOKEN") or env.get("TENCENTCLOUD_SESSION_TOKEN")
    values["secret_id"] = (sid or "").strip() or None
    values["secret_key"] = SecretStr(skey.strip()) if skey and skey.strip() else None
    values["session_token"] = SecretStr(token.strip()) if token and token.strip() else None

    region = _first(env, "SMS_REGION", "TENCENTCLOUD_REGION") or DEFAULT_REGION
    if not _REGION.match(region):
        var = "SMS_REGION" if env.get("SMS_REGION") else "TENCENTCLOUD_REGION"
        issues.append(ConfigIssue(var, f"not a region like ap-guangzhou; using {DEFAULT_REGION}"))
        region = DEFAULT_REGION
    values["region"] = region

    if env.get("SMS_ENDPOINT", "").strip():
        try:
            values["endpoint"] = parse_endpoint(env["SMS_ENDPOINT"])
        except ValueError as exc:
            issues.append(ConfigIssue("SMS_ENDPOINT", f"{exc}; using {DEFAULT_ENDPOINT_HOST}"))

    apps, app_issues = parse_app_ids(env.get("SMS_SDK_APP_IDS", ""))
    values["apps"] = tuple(apps)
    issues += app_issues

    raw_rps = env.get("SMS_API_RPS", "").strip()
    if raw_rps:
        values["api_rps"] = _api_rps(raw_rps, issues)

    tz = env.get("REPORT_TIMEZONE", "").strip() or "Asia/Shanghai"
    try:
        load_zone(tz)
        values["timezone"] = tz
    except ValueError:
        issues.append(ConfigIssue("REPORT_TIMEZONE", "not an IANA zone name like Asia/Shanghai; using Asia/Shanghai"))

    lang = env.get("REPORT_LANG", "").strip().lower() or DEFAULT_LANG
    if lang not in LANGS:  # never quoted: a secret pasted here must not reach a chat
        issues.append(ConfigIssue("REPORT_LANG", f"not {one_of(LANGS)}; using {DEFAULT_LANG}"))
        lang = DEFAULT_LANG
    values["lang"] = lang

    specs, sink_problems = parse_notify_urls(env.get("NOTIFY_URLS", ""))
    values["sinks"] = tuple(specs)
    issues += [ConfigIssue("NOTIFY_URLS", p) for p in sink_problems]

    tokens = [t.strip() for t in re.split(r"[,\n]", env.get("API_TOKENS", "")) if t.strip()]
    values["api_tokens"] = tuple(SecretStr(t) for t in tokens)

    values["api_auth"] = _api_auth(env.get("API_AUTH", ""), issues)

    if env.get("API_ALLOWED_APP_IDS", "").strip():
        allowed, allowed_issues = parse_app_ids(env["API_ALLOWED_APP_IDS"], "API_ALLOWED_APP_IDS")
        issues += allowed_issues
        values["api_allowed_app_ids"] = tuple(a.app_id for a in allowed)
    else:
        values["api_allowed_app_ids"] = tuple(a.app_id for a in apps)

    values["thresholds"] = _thresholds(env, issues)

    if env.get("PUBLIC_URL", "").strip():
        try:
            values["public_url"] = parse_public_url(env["PUBLIC_URL"])
        except ValueError as exc:
            issues.append(ConfigIssue("PUBLIC_URL", f"{exc}; chat messages carry no dashboard link"))
    link_secret = env.get("LINK_SECRET", "").strip()
    if link_secret:
        if len(link_secret) < LINK_SECRET_MIN:
            issues.append(ConfigIssue("LINK_SECRET", f"shorter than {LINK_SECRET_MIN} characters; "
                                                     "signed dashboard links are off"))
        else:
            values["link_secret"] = SecretStr(link_secret)
    receipts_secret = env.get("RECEIPTS_SECRET", "").strip()
    if receipts_secret and len(receipts_secret) < LINK_SECRET_MIN:
        issues.append(ConfigIssue("RECEIPTS_SECRET", f"shorter than {LINK_SECRET_MIN} characters; the receipts "
                                                     "callback is off"))
    elif receipts_secret:
        values["receipts_secret"] = SecretStr(receipts_secret)

    _load_state(env, values, issues)
    return Settings(**values), issues


def _load_state(env: Mapping[str, str], values: dict, issues: List[ConfigIssue]) -> None:
    """STATE_URL and what tunes the state: a bad URL leaves the function stateless, with an issue."""
    raw_url = env.get("STATE_URL", "").strip()
    if raw_url:
        try:
            _, password = parse_state_url(raw_url)
        except ValueError as exc:
            # the password of a URL that does not parse is still masked wherever it is quoted
            loose = re.match(r"^[a-z]+://[^/@]*:([^/@]+)@", raw_url)
            if loose:
                values["state_password"] = SecretStr(loose.group(1))
            issues.append(ConfigIssue("STATE_URL", f"{exc}; running stateless"))
        else:
            values["state_url"] = SecretStr(raw_url)
            values["state_password"] = SecretStr(password) if password else None
    prefix = env.get("STATE_PREFIX", "").strip()
    if prefix:
        if _STATE_PREFIX.match(prefix):
            values["state_prefix"] = prefix
        else:
            issues.append(ConfigIssue("STATE_PREFIX", f"{shown(prefix)} is not 1-64 characters of letters, digits "
                                                      f"and _.:/-; using {DEFAULT_STATE_PREFIX}"))
    raw_settle = env.get("SETTLE_HOURS", "").strip()
    if raw_settle:
        if raw_settle.isdigit() and raw_settle.isascii() and 1 <= int(raw_settle) <= 8784:
            values["settle_hours"] = int(raw_settle)
        else:
            issues.append(ConfigIssue("SETTLE_HOURS", f"{shown(raw_settle)} is not a whole number of hours "
                                                      f"between 1 and 8784; using {DEFAULT_SETTLE_HOURS}"))
    raw_repeat = env.get("ALERT_REPEAT_INTERVAL", "").strip()
    if raw_repeat:
        try:
            values["repeat_interval"] = parse_duration(raw_repeat)
        except ValueError as exc:
            issues.append(ConfigIssue("ALERT_REPEAT_INTERVAL", f"{shown(raw_repeat)}: {exc}; using 4h"))

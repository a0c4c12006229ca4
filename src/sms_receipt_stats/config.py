"""Settings from the environment (README, *Configuration*): one validated model.

Each variable is declared by the module that reads it (`variables.Variable`; rule modules in their
`RuleSpec`): its kind, default, bounds, whether it is a secret. `load_settings` walks the
declarations (`variables.registry()`), parses each value by its kind, and combines the few that
belong together (the credentials' two spellings, the region's fallback, the apps an HTTP caller
may ask for). This module declares what no lighter module reads: credentials, region, apps, the
rate cap, and the variables of features still to come (HEARTBEAT_URL, RECEIPTS_SECRET).

Loading is lenient on purpose: a bad value is recorded as a `ConfigIssue` naming the
variable and replaced by its default (or dropped), so that one typo never silences the
rest of the job: the timer still reports the apps it can and alerts on the issue. No value
makes it raise.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import AbstractSet, Any, Dict, List, Optional, Sequence, Tuple

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from sms_receipt_stats.endpoint import Endpoint, parse_endpoint
from sms_receipt_stats.grouping import DEFAULT_GROUP_BY
from sms_receipt_stats.notify.urls import SinkSpec
from sms_receipt_stats.variables import Variable, VariableError, number_like, parse_duration, read, shown
from sms_receipt_stats.vocabulary import DEFAULT_LANG

__all__ = ["App", "ConfigIssue", "Endpoint", "Settings", "Thresholds", "load_settings", "number_like",
           "parse_app_ids", "parse_duration", "parse_endpoint", "parse_state_url", "shown"]

DEFAULT_REGION = "ap-guangzhou"
APP_ID_PATTERN = re.compile(r"^1[0-9]{9}$")
_REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+){1,3}$")
#: client-side rate cap bounds: the API's documented limit, and a floor below which the queries
#: of a few apps no longer fit in the function's time limit
MAX_API_RPS = 10.0
MIN_API_RPS = 0.1
#: the defaults of `Settings()` built without an environment; each variable's declaration says the
#: same (tests/unit/test_variables.py holds them equal)
DEFAULT_STATE_PREFIX = "sms-receipt-stats:"
DEFAULT_SETTLE_HOURS = 72
DEFAULT_REPEAT_INTERVAL = 4 * 3600.0
#: shortest RECEIPTS_SECRET: each app's callback credential is derived from it
RECEIPTS_SECRET_MIN = 16


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
    package_warn_days: float = 7.0
    package_crit_days: float = 2.0
    package_min_messages: int = 0
    accept_rate_min: float = 0.95
    dispersion_max: float = 4.0  # the most a rate's variance is widened by the app's own noise
    receipt_window: float = 600.0  # delivery_failures: the recent minutes judged (seconds)
    receipt_fail_max: float = 0.30
    receipt_fail_rise: float = 0.10

    def values(self) -> Dict[str, Any]:
        """Every rule setting by field name, the extras of newer rules included."""
        return self.model_dump()


class Settings(BaseModel):
    """Every setting by field. A variable declared by a module without a field here (a new
    feature's) arrives as an extra field, read with `value(field)`: adding one never touches this file."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, extra="allow")

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
    #: the labels of ALERT_GROUP_BY: alerts of one run sharing them are one notice (grouping.py)
    alert_group_by: Tuple[str, ...] = DEFAULT_GROUP_BY
    #: dead man's switch pinged after each timer run; its path or query is a credential
    heartbeat_url: Optional[SecretStr] = Field(default=None, exclude=True)
    #: the key each app's receipt-callback credential is derived from
    receipts_secret: Optional[SecretStr] = Field(default=None, exclude=True)
    #: values of secret variables that were refused: unused, but masked wherever they might appear
    refused_secrets: Tuple[SecretStr, ...] = Field(default=(), exclude=True)

    def value(self, field: str) -> Any:
        """A setting by field name, the extras of newer declarations included."""
        return getattr(self, field)

    def secret_values(self) -> List[str]:
        """Every configured secret, so outputs can be scrubbed of them."""
        values: List[str] = []
        extras = [v for v in (self.model_extra or {}).values() if isinstance(v, SecretStr)]
        for s in (self.secret_key, self.session_token, self.state_password, *self.api_tokens, self.link_secret,
                  self.heartbeat_url, self.receipts_secret, *self.refused_secrets, *extras):
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
            what = f"entry {position} ({shown(app_id)})" if number_like(app_id) else f"entry {position}"
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


def app_ids_parser(raw: str, variable: Variable, notes: List[str]) -> Tuple[App, ...]:
    """A declaration's parser for a list of apps: a bad entry is a note, the others are kept."""
    apps, issues = parse_app_ids(raw, variable.env)
    notes.extend(i.message for i in issues)
    return tuple(apps)


def parse_state_url(value: str) -> Tuple[str, Optional[str]]:
    """(scheme, password) of a STATE_URL checked by its back end (`state.parse_state_url`)."""
    from sms_receipt_stats.state import parse_state_url as check

    return check(value)


def _region(raw: str, variable: Variable, notes: List[str]) -> str:
    if not _REGION.match(raw):  # never quoted: a secret pasted here must not reach a chat
        raise VariableError("not a region like ap-guangzhou")
    return raw


def _api_rps(raw: str, variable: Variable, notes: List[str]) -> float:
    """SMS_API_RPS within [MIN_API_RPS, MAX_API_RPS], each refusal saying why."""
    rps = math.nan
    if raw.isascii() and len(raw) <= 32:  # float() reads ١٠ and ＋１ too
        with contextlib.suppress(ValueError):
            rps = float(raw)
    if not math.isfinite(rps):
        raise VariableError(f"{shown(raw)} is not a number of requests per second")
    if rps > MAX_API_RPS:
        raise VariableError(f"{shown(raw)} is above {MAX_API_RPS:g}, the API's documented limit of requests per second")
    if rps < MIN_API_RPS:
        raise VariableError(f"{shown(raw)} is below {MIN_API_RPS:g}: the queries would not fit in the function's "
                            "time limit")
    return rps


def _credential(env: str, meaning: str, secret: bool) -> Variable:
    return Variable(env, None, "secret" if secret else "text", None, meaning, secret=secret, fallback="ignored")


VARIABLES = (
    _credential("TENCENTCLOUD_SECRETID", "SecretId SCF injects from the execution role", False),
    _credential("TENCENTCLOUD_SECRETKEY", "SecretKey SCF injects from the execution role", True),
    _credential("TENCENTCLOUD_SESSIONTOKEN", "the role's temporary token (sent with every call)", True),
    _credential("TENCENTCLOUD_SECRET_ID", "the SDK's name of the SecretId, when SCF's is absent", False),
    _credential("TENCENTCLOUD_SECRET_KEY", "the SDK's name of the SecretKey, when SCF's is absent", True),
    _credential("TENCENTCLOUD_SESSION_TOKEN", "the SDK's name of the token, when SCF's is absent", True),
    Variable("SMS_REGION", None, "text", DEFAULT_REGION, "region sent to the SMS API", parse=_region),
    Variable("TENCENTCLOUD_REGION", None, "text", DEFAULT_REGION, "the function's region (SCF sets it)",
             parse=_region),
    Variable("SMS_SDK_APP_IDS", "apps", "text", (), "comma-separated SmsSdkAppIds, each optionally ID=Name",
             parse=app_ids_parser),
    Variable("SMS_API_RPS", "api_rps", "number", MAX_API_RPS, "client-side request rate cap of the stats API",
             low=MIN_API_RPS, high=MAX_API_RPS, parse=_api_rps),
    Variable("HEARTBEAT_URL", "heartbeat_url", "url", None, "dead man's switch pinged after each timer run",
             secret=True, fallback="no heartbeat is sent"),
    Variable("RECEIPTS_SECRET", "receipts_secret", "secret", None,
             "key each app's receipt-callback credential is derived from", low=RECEIPTS_SECRET_MIN,
             secret=True, fallback="the receipts callback is off"),
)


@dataclass(frozen=True)
class Reading:
    """One variable as read: its stripped text ("" when unset), its value (the default when
    unset or refused) and whether it was refused."""

    raw: str
    value: Any
    refused: bool = False


def read_variables(env: Mapping[str, str], declared: Sequence[Variable], issues: List[ConfigIssue],
                   unread: AbstractSet[str] = frozenset()) -> Dict[str, Reading]:
    """Every declared variable parsed by its kind; a refusal is an issue naming it, and its default."""
    readings: Dict[str, Reading] = {}
    for variable in declared:
        given = env.get(variable.env)
        raw = given.strip() if isinstance(given, str) and variable.env not in unread else ""
        if not raw:
            readings[variable.env] = Reading("", variable.default)
            continue
        notes: List[str] = []
        try:
            readings[variable.env] = Reading(raw, read(variable, raw, notes))
        except VariableError as exc:
            readings[variable.env] = Reading(raw, variable.default, refused=True)
            issues.append(ConfigIssue(variable.env, f"{exc}; {variable.fallback_text()}"))
        issues.extend(ConfigIssue(variable.env, note) for note in notes)
    return readings


def _thresholds(env: Mapping[str, str], issues: List[ConfigIssue]) -> Thresholds:
    """Every variable the rule modules declare, parsed by its kind; a bad value is an issue and
    the rule's default. Then each rule's own checks across its variables."""
    from sms_receipt_stats.rules import registry

    rules = registry()
    readings = read_variables(env, rules.variables, issues)
    values: Dict[str, Any] = {v.field: readings[v.env].value for v in rules.variables if v.field}
    for spec in rules.rules:
        if spec.check is not None:
            issues.extend(ConfigIssue(name, problem) for name, problem in spec.check(values))
    return Thresholds(**values)


def declared_variables() -> Tuple[Variable, ...]:
    """Every declared variable: the declaring modules' (`variables.DECLARING`) and the rules'."""
    from sms_receipt_stats import variables
    from sms_receipt_stats.rules import registry

    return (*variables.registry().variables, *registry().variables)


def _state_password(reading: Reading) -> Optional[SecretStr]:
    """The password of STATE_URL: masked wherever it is quoted, even when the URL is refused."""
    if reading.refused:
        loose = re.match(r"^[a-z]+://[^/@]*:([^/@]+)@", reading.raw)
        return SecretStr(loose.group(1)) if loose else None
    try:
        _, password = parse_state_url(reading.raw)
    except ValueError:
        return None
    return SecretStr(password) if password else None


def load_settings(env: Mapping[str, str]) -> Tuple[Settings, List[ConfigIssue]]:
    """Build Settings from an environment mapping; never raises on bad values."""
    from sms_receipt_stats import variables

    issues: List[ConfigIssue] = []
    declared = variables.registry().variables

    def given(name: str) -> bool:
        value = env.get(name)
        return isinstance(value, str) and bool(value.strip())

    # SCF's names win over the SDK's; the region of SMS_REGION over the function's own
    scf_names = given("TENCENTCLOUD_SECRETID") or given("TENCENTCLOUD_SECRETKEY")
    unread = {"TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"} if scf_names else {
        "TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY"}
    if given("TENCENTCLOUD_SESSIONTOKEN"):
        unread.add("TENCENTCLOUD_SESSION_TOKEN")
    if given("SMS_REGION") or not given("TENCENTCLOUD_REGION"):
        unread.add("TENCENTCLOUD_REGION")
    readings = read_variables(env, declared, issues, unread)

    values: Dict[str, Any] = {}
    for variable in declared:
        reading = readings[variable.env]
        if variable.field is None or (reading.value is None and variable.field in Settings.model_fields):
            continue  # combined below, or the field's own default
        value = reading.value
        if variable.secret and value is not None:
            value = tuple(SecretStr(v) for v in value) if isinstance(value, tuple) else SecretStr(value)
        values[variable.field] = value

    def text(name: str) -> Optional[str]:
        value = readings[name].value
        return value or None

    if scf_names:
        sid, skey = text("TENCENTCLOUD_SECRETID"), text("TENCENTCLOUD_SECRETKEY")
    else:
        sid, skey = text("TENCENTCLOUD_SECRET_ID"), text("TENCENTCLOUD_SECRET_KEY")
    token = text("TENCENTCLOUD_SESSIONTOKEN") or text("TENCENTCLOUD_SESSION_TOKEN")
    values["secret_id"] = sid
    values["secret_key"] = SecretStr(skey) if skey else None
    values["session_token"] = SecretStr(token) if token else None
    if given("SMS_REGION"):
        values["region"] = readings["SMS_REGION"].value
    else:
        values["region"] = readings["TENCENTCLOUD_REGION"].value

    values["refused_secrets"] = tuple(SecretStr(readings[v.env].raw) for v in declared
                                      if v.secret and readings[v.env].refused)
    state = readings.get("STATE_URL")
    if state is not None and state.raw:
        values["state_password"] = _state_password(state)
    if values.get("api_allowed_app_ids") is None:  # unset: the configured apps
        values["api_allowed_app_ids"] = tuple(a.app_id for a in values.get("apps", ()))
    values["thresholds"] = _thresholds(env, issues)
    return Settings(**values), issues

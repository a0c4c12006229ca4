"""Silences: "we know, stop telling us" for alerts that match, between two instants.

A silence is `{id, matchers {app_id?, rule?, code?}, starts_at, ends_at, created_by,
comment, scope?}` (a new one may give `duration`, like `4h`, instead of `ends_at`); it
matches an alert when every matcher it gives equals the alert's field
and, when it has a `scope` (the app ids of the HTTP caller that made it: API_ALLOWED_APP_IDS),
the alert is about one of those apps. A silence without a scope (the CLI's, or one stored
before scopes existed) is bounded by its matchers alone. A
matching alert stays in the document (`silenced: true`) and is not notified. Silences live
in the store's `silences` collection and expire a day after they end; expiring one early
sets its end to now (as Alertmanager does), so it is still listed, as expired.

Limits (docs/state.md "Silences"): times between 1970 and the year 9000, a start at most a
year ahead, at most `MAX_DURATION` long; no control character in any field; at most
`MAX_SILENCES` silences not yet ended, counted and added under a lock so concurrent adds
cannot pass it. Times are answered in REPORT_TIMEZONE; any offset is accepted.

`check_matchers` is the one judgement of a new silence's matchers against a function's settings
(an app it does not know, a code the catalogue does not know), used by the CLI and the HTTP API
alike: a silence one of them stores, the other can see and would have stored too.
"""

from __future__ import annotations

import re
import secrets
import time
import unicodedata
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sms_receipt_stats.config import APP_ID_PATTERN
from sms_receipt_stats.variables import parse_duration

if TYPE_CHECKING:
    from sms_receipt_stats.config import Settings

COLLECTION = "silences"
#: an ended silence stays listed (as expired) this long, then the store drops it
KEEP_AFTER_END = timedelta(days=1)
MAX_DURATION = timedelta(days=366)
MAX_SILENCES = 1000
#: most app ids in a silence's scope
MAX_SCOPE = 1000
#: a silence may start at most this far ahead
MAX_LEAD = timedelta(days=365)
#: stored times stay far from datetime's edges (year 1 and 9999), where offsets overflow
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9000, 1, 1, tzinfo=timezone.utc)
#: adds take a short lock (an item of this collection) so the count and the insert are one step
LOCK_COLLECTION = "locks"
LOCK_ID = "silences-add"
LOCK_TTL = 5.0
LOCK_WAIT = 3.0
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9._]{0,99}$")
_ID = re.compile(r"^[a-z0-9]{1,32}$")


def silenceable_rules() -> List[str]:
    """The rules whose alerts are kept, so a silence can match them (the declared ones, `rules/`)."""
    from sms_receipt_stats.rules import registry

    return [spec.name for spec in registry().rules if spec.tracked]


class SilenceError(ValueError):
    """A silence that cannot be created; the message names the field."""


class Matchers(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    app_id: Optional[str] = None
    rule: Optional[str] = None
    code: Optional[str] = None

    @field_validator("app_id")
    @classmethod
    def _app_id(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not APP_ID_PATTERN.fullmatch(value):  # `$` would let a trailing newline in
            raise ValueError("must be an SmsSdkAppId (10 digits, e.g. 1400006874)")
        return value

    @field_validator("rule")
    @classmethod
    def _rule(cls, value: Optional[str]) -> Optional[str]:
        if value is not None:
            rules = silenceable_rules()
            if value not in rules:
                raise ValueError(f"must be one of {', '.join(rules)}")
        return value

    @field_validator("code")
    @classmethod
    def _code(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not _CODE.fullmatch(value):
            raise ValueError("must be an error code like UnauthorizedOperation.ServiceSuspendDueToArrears")
        return value

    @model_validator(mode="after")
    def _something(self) -> Matchers:
        if self.app_id is None and self.rule is None and self.code is None:
            raise ValueError("give at least one of app_id, rule, code (a silence of everything is refused)")
        return self


def _has_control(text: str) -> bool:
    """Cc (newlines, escapes) plus the line and paragraph separators: a log line or a chat line breaker."""
    return any(unicodedata.category(ch) == "Cc" or ch in "\u2028\u2029" for ch in text)


def _aware(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and len(value) <= 40:
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("must be an ISO 8601 time with an offset, like 2026-11-25T18:00:00+08:00") from None
    else:
        raise ValueError("must be an ISO 8601 time with an offset, like 2026-11-25T18:00:00+08:00")
    if moment.tzinfo is None:
        raise ValueError("needs a UTC offset, like 2026-11-25T18:00:00+08:00 or ...Z")
    try:
        moment = moment.astimezone(timezone.utc).replace(microsecond=0)
    except (OverflowError, ValueError):  # year 1 with a positive offset, year 9999 with a negative one
        moment = EARLIEST - timedelta(seconds=1)
    if not EARLIEST <= moment < LATEST:
        raise ValueError("must be between 1970-01-01 and 9000-01-01")
    return moment


class Silence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    matchers: Matchers
    starts_at: datetime
    ends_at: datetime
    created_by: str = Field(min_length=1, max_length=100)
    comment: str = Field(min_length=1, max_length=500)
    #: the only apps it may silence (set by the HTTP API from the caller's API_ALLOWED_APP_IDS);
    #: None: no bound beyond the matchers
    scope: Optional[Tuple[str, ...]] = Field(default=None, min_length=1, max_length=MAX_SCOPE)

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: Optional[Tuple[str, ...]]) -> Optional[Tuple[str, ...]]:
        if value is not None and not all(APP_ID_PATTERN.fullmatch(a) for a in value):
            raise ValueError("must be SmsSdkAppIds (10 digits, e.g. 1400006874)")
        return value

    @field_validator("created_by", "comment")
    @classmethod
    def _printable(cls, value: str) -> str:
        if _has_control(value):
            raise ValueError("must not contain control characters (newlines, escapes)")
        return value

    @field_validator("starts_at", "ends_at", mode="before")
    @classmethod
    def _times(cls, value: Any) -> datetime:
        return _aware(value)

    @model_validator(mode="after")
    def _order(self) -> Silence:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be later than starts_at")
        if self.ends_at - self.starts_at > MAX_DURATION:
            raise ValueError(f"a silence may last at most {MAX_DURATION.days} days")
        return self

    def active_at(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def state_at(self, now: datetime) -> str:
        """Alertmanager's words: pending, active or expired."""
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    def matches(self, app_id: Optional[str], rule: str, code: Optional[str]) -> bool:
        m = self.matchers
        return ((m.app_id is None or m.app_id == app_id) and (m.rule is None or m.rule == rule)
                and (m.code is None or m.code == code) and (self.scope is None or app_id in self.scope))

    def to_doc(self, now: datetime, tz: Optional[str] = None) -> Dict[str, Any]:
        """The JSON shape of the HTTP API and `silence list --json`, with its state at `now`;
        times in the zone `tz` (REPORT_TIMEZONE) with its offset, UTC when not given."""
        zone: Any = timezone.utc
        if tz is not None:
            from zoneinfo import ZoneInfo

            zone = ZoneInfo(tz)
        doc = self.model_dump(mode="json")
        doc["matchers"] = self.matchers.model_dump(exclude_none=True)
        if self.scope is None:
            doc.pop("scope", None)
        doc["starts_at"] = self.starts_at.astimezone(zone).isoformat()
        doc["ends_at"] = self.ends_at.astimezone(zone).isoformat()
        doc["state"] = self.state_at(now)
        return doc


def silenced_by(silences: Sequence[Silence], app_id: Optional[str], rule: str, code: Optional[str],
                now: datetime) -> bool:
    return any(s.active_at(now) and s.matches(app_id, rule, code) for s in silences)


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "body"
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    if first.get("type") == "extra_forbidden":
        message = "unknown field (known: matchers, starts_at, ends_at or duration, created_by, comment)"
    elif first.get("type") == "missing":
        message = "is required"
    return f"{where}: {message}"


def _end_from_duration(data: Dict[str, Any]) -> None:
    """`duration` (`90s`, `30m`, `4h`, `1d`, at most MAX_DURATION) → `ends_at` = `starts_at` + it, in `data`."""
    duration = data.pop("duration")
    if data.get("ends_at") not in (None, ""):
        raise SilenceError("duration: give ends_at or duration, not both")
    if not isinstance(duration, str) or len(duration) > 20:
        raise SilenceError("duration: must be a whole number and a unit, like 90s, 30m, 4h or 1d")
    try:
        seconds = parse_duration(duration)
    except ValueError:
        raise SilenceError(f"duration: {duration.strip()!r} is not a whole number and a unit, like 90s, 30m, "
                           "4h or 1d") from None
    if seconds > MAX_DURATION.total_seconds():
        raise SilenceError(f"duration: {duration.strip()!r} is too long: a silence may last at most "
                           f"{MAX_DURATION.days} days ({MAX_DURATION.days}d)")
    try:
        start = _aware(data["starts_at"])
    except ValueError as exc:
        raise SilenceError(f"starts_at: {exc}") from None
    data["ends_at"] = start + timedelta(seconds=seconds)


def _in_the_past(end: Any, now: datetime) -> Optional[str]:
    """The message for an `ends_at` that is already over, else None (also when it is no time at all)."""
    try:
        moment = _aware(end)
    except ValueError:
        return None
    if moment > now:
        return None
    return (f"ends_at: must be in the future, and {moment.isoformat()} is in the past (it is now "
            f"{now.astimezone(timezone.utc).replace(microsecond=0).isoformat()}); give a later time or a duration")


def new_silence(body: Mapping[str, Any], now: datetime, scope: Optional[Sequence[str]] = None) -> Silence:
    """A validated silence from a request body; `starts_at` defaults to now, `duration` may stand for
    `ends_at`. SilenceError names the field. `scope` is the caller's, never the body's."""
    if not isinstance(body, Mapping):
        raise SilenceError("body: expected a JSON object")
    data = dict(body)
    data.pop("id", None)  # ids are ours to give
    if "scope" in data:
        raise SilenceError("scope: unknown field (the apps a silence may apply to are the caller's "
                           "API_ALLOWED_APP_IDS, not the body's)")
    if scope is not None:
        data["scope"] = tuple(scope)
    if data.get("starts_at") in (None, ""):
        data["starts_at"] = now
    if data.get("duration") not in (None, ""):
        _end_from_duration(data)
    else:
        data.pop("duration", None)
    try:
        silence = Silence.model_validate({"id": secrets.token_hex(8), **data})
    except ValidationError as exc:
        message = _first_error(exc)
        if message.endswith("ends_at must be later than starts_at"):
            message = _in_the_past(data.get("ends_at"), now) or message  # say why: the end is already over
        raise SilenceError(message) from None
    past = _in_the_past(silence.ends_at, now)
    if past is not None:
        raise SilenceError(past)
    if silence.starts_at > now + MAX_LEAD:
        raise SilenceError(f"starts_at: must be at most {MAX_LEAD.days} days from now")
    return silence


def _app_label(app_id: str, names: Mapping[str, Optional[str]]) -> str:
    name = names.get(app_id)
    return f"{name} ({app_id})" if name else app_id


def check_matchers(matchers: Matchers, settings: Settings) -> Tuple[List[str], List[str]]:
    """(refusals, warnings) for a new silence's matchers against this function's settings.

    Refused: an `app_id` that neither SMS_SDK_APP_IDS nor API_ALLOWED_APP_IDS names (it would
    silence nothing this function checks, and no HTTP caller could list or expire it), and a
    `code` that differs from a catalogued one only in case (codes match exactly). Warned: an
    `app_id` that cannot be checked (neither variable is set), and a code the error catalogue
    does not know (a new upstream code is possible, a typo more likely: the nearest known code is
    suggested). The CLI and the HTTP API both call this, so they refuse and warn alike.
    """
    refused: List[str] = []
    warnings: List[str] = []
    names: Dict[str, Optional[str]] = {a.app_id: a.name for a in settings.apps}
    for app_id in settings.api_allowed_app_ids:
        names.setdefault(app_id, None)
    if matchers.app_id is not None:
        if not names:
            warnings.append(f"matchers.app_id: {matchers.app_id} could not be checked: neither SMS_SDK_APP_IDS "
                            "nor API_ALLOWED_APP_IDS is set here")
        elif matchers.app_id not in names:
            known = ", ".join(_app_label(a, names) for a in sorted(names))
            refused.append(f"matchers.app_id: {matchers.app_id} is not an app of this function (known: {known}); "
                           "a silence for it would match no alert here and no HTTP caller could see it")
    if matchers.code is not None:
        from difflib import get_close_matches

        from sms_receipt_stats.catalogue import load

        codes = load().entries
        if matchers.code not in codes:
            same = next((c for c in codes if c.lower() == matchers.code.lower()), None)
            if same is not None:
                refused.append(f"matchers.code: {matchers.code} is spelled {same} (codes match exactly)")
            else:
                near = get_close_matches(matchers.code, list(codes), n=1, cutoff=0.8)
                warnings.append(f"matchers.code: {matchers.code} is not a code the error catalogue knows"
                                + (f" (did you mean {near[0]}?)" if near else "")
                                + "; the silence matches only alerts with exactly this code")
    return refused, warnings


def _ttl(silence: Silence, now: datetime) -> float:
    return max(1.0, (silence.ends_at + KEEP_AFTER_END - now).total_seconds())


def load_all(raw: Optional[Mapping[str, str]], store: Any = None) -> List[Silence]:
    """Stored silences, oldest start first; an entry that does not validate (or whose id is not
    its key) is skipped, and dropped from `store` when given (logged once)."""
    out: List[Silence] = []
    for key, value in (raw or {}).items():
        silence = _load(value)
        if silence is None or silence.id != key:
            reject = getattr(store, "reject", None)
            if reject is not None:
                reject("silence", key, collection=COLLECTION, raw=value)
            continue
        out.append(silence)
    return sorted(out, key=lambda s: (s.starts_at, s.id))


def _load(raw: str) -> Optional[Silence]:
    try:
        return Silence.model_validate_json(raw)
    except (ValueError, TypeError, OverflowError):  # ValidationError is a ValueError
        return None


class SilenceStore:
    """Silences CRUD over a store (raw `Store` or `GuardedStore`; errors surface as they come)."""

    def __init__(self, store: Any, sleep: Callable[[float], None] = time.sleep):
        self.store = store
        self._sleep = sleep

    def list(self) -> List[Silence]:
        return load_all(self.store.items(COLLECTION), self.store)

    def active(self, now: datetime) -> List[Silence]:
        return [s for s in self.list() if s.active_at(now)]

    def add(self, silence: Silence, now: datetime) -> Silence:
        """Store `silence` unless `MAX_SILENCES` have not ended yet; the count and the insert run
        under a short lock, so concurrent adds (one per invocation) cannot pass the cap."""
        token = secrets.token_hex(8)
        if not self._lock(token):
            raise SilenceError("silences are busy being changed; try again")
        try:
            current = load_all(self.store.items(COLLECTION), self.store)
            if sum(1 for s in current if s.ends_at > now) >= MAX_SILENCES:
                raise SilenceError(f"there are already {MAX_SILENCES} silences; expire some first")
            if not self.store.replace(COLLECTION, silence.id, None, silence.model_dump_json(), _ttl(silence, now)):
                raise SilenceError("id: already taken, try again")
            return silence
        finally:
            self.store.replace(LOCK_COLLECTION, LOCK_ID, token, None, LOCK_TTL)

    def _lock(self, token: str) -> bool:
        """True once this caller holds the lock; a holder that died loses it after LOCK_TTL.
        A store that fails answers None: True then, so the caller meets the failure itself."""
        waited = 0.0
        while True:
            got = self.store.replace(LOCK_COLLECTION, LOCK_ID, None, token, LOCK_TTL)
            if got is None or got:
                return True
            if waited >= LOCK_WAIT:
                return False
            self._sleep(0.01)
            waited += 0.01

    def get(self, silence_id: str) -> Optional[Silence]:
        if not _ID.match(silence_id):
            return None
        raw = self.store.get_item(COLLECTION, silence_id)
        found = load_all({silence_id: raw}, self.store) if raw else []
        return found[0] if found else None

    def expire(self, silence_id: str, now: datetime) -> Optional[Silence]:
        """End a silence now (kept and listed as expired for a day); None when there is no such id."""
        if not _ID.match(silence_id):
            return None
        for _ in range(3):
            raw = self.store.get_item(COLLECTION, silence_id)
            if raw is None:
                return None
            found = load_all({silence_id: raw}, self.store)
            if not found:
                return None  # an unreadable record (now dropped) is no silence
            silence = found[0]
            if silence.ends_at <= now:
                return silence  # already over
            end = now.astimezone(timezone.utc).replace(microsecond=0)  # stored times are whole seconds
            update: Dict[str, Any] = {"ends_at": end}
            if end <= silence.starts_at:  # a pending (or just started) silence ends before it ever applies
                update["starts_at"] = end - timedelta(seconds=1)
            ended = silence.model_copy(update=update)
            if self.store.replace(COLLECTION, silence_id, raw, ended.model_dump_json(), _ttl(ended, now)):
                return ended
        raise SilenceError("the silence kept changing; try again")

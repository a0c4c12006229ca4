"""Time windows: parsing, named windows, limits, buckets, and the API's hour ranges.

Everything here is pure: the current time is always passed in as ``now``.

**The hour rule** (docs/hour-rule.md). A product window is half-open, ``[begin, end)``.
``CallbackStatusStatistics`` counts BeginTime's hour *through* EndTime's hour, both
included: the SDK's docstring of ``CallbackStatusStatisticsRequest`` (tencentcloud-sdk-python-sms,
``sms/v20210111/models.py``) says "EndTime 必须大于等于 BeginTime，且相差不超过32天" (so one hour
is Begin == End), the sibling ``SendStatusStatisticsRequest`` says the range includes the
hour named, and the 2019 API's full-day example is ``2016090800`` .. ``2016090823``. So a
window is sent as ``BeginTime = begin``, ``EndTime = end - 1h``, in Beijing time, which is
how the API reads both. :class:`HourRange` is that translation, and the only one.

A window is the half-open interval ``[begin, end)`` of two instants that are whole hours in
``REPORT_TIMEZONE``. All arithmetic and every comparison is done on UTC instants and only
converted back to the zone for display, because Python compares and subtracts two datetimes
that share a ``tzinfo`` by wall clock, which is wrong across daylight-saving changes (a local
day may last 23 or 25 hours; the repeated hour of a fall-back night would compare equal). Callers should do the same: by
PEP 495 a datetime inside a repeated or skipped hour never compares equal to one in another
zone, so compare ``dt.astimezone(timezone.utc)`` values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, List, Literal, Mapping, Optional, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sms_receipt_stats.variables import Variable, VariableError
from sms_receipt_stats.vocabulary import GRANULARITIES

HOUR_FORMAT = "%Y%m%d%H"
#: the SMS API reads BeginTime/EndTime as Beijing time
API_TIMEZONE = "Asia/Shanghai"
#: the API rejects ``EndTime - BeginTime`` longer than 32 days; one call here counts at most
#: 32 days of hours (EndTime - BeginTime = 32 days - 1 h), so a 32-day window is one call
MAX_API_HOURS = 32 * 24
WINDOW_NAMES = ("last_hour", "last_24h", "today", "yesterday", "last_7d", "last_30d")

BEGIN_TIME_VERIFY_FAIL = "InvalidParameterValue.BeginTimeVerifyFail"
END_TIME_VERIFY_FAIL = "InvalidParameterValue.EndTimeVerifyFail"
#: used for an unknown granularity (neither the begin nor the end is at fault)
INVALID_PARAMETER_VALUE = "InvalidParameterValue"

#: product limits: the longest window (in calendar days of the report zone) per granularity
MAX_SPAN_DAYS: Dict[str, int] = {"total": 366, "day": 366, "hour": 7}

#: accepted years; keeps every derived instant (D-30, UTC conversion, +32 days) representable
MIN_YEAR = 1970
MAX_YEAR = 9998

_UTC = timezone.utc
_HOUR = timedelta(hours=1)


class WindowError(ValueError):
    """A window the API (or the product) would refuse, with the API-style code of an HTTP answer.

    ``str(err)`` is the human message; ``err.code`` is what the HTTP layer returns as
    ``error.code`` with status 400.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self) -> Any:
        # the default pickling would call cls(message) and lose the code
        return (type(self), (self.code, self.message))

    def __repr__(self) -> str:
        return f"WindowError({self.code!r}, {self.message!r})"


def load_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; a ValueError naming it otherwise (a configuration error, not a crash)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"unknown time zone {name!r}: expected an IANA name such as 'Asia/Shanghai'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # ZoneInfoNotFoundError for unknown keys, ValueError for malformed keys such as
        # '../x', OSError (e.g. IsADirectoryError) for directories such as 'America'
        raise ValueError(f"unknown time zone {name!r}: expected an IANA name such as 'Asia/Shanghai'") from exc


def _utc(value: datetime) -> datetime:
    return value.astimezone(_UTC)


def _require_aware(value: Any, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return value


def _floor_hour(value: datetime, zone: ZoneInfo) -> datetime:
    """``value`` floored to the whole hour of ``zone``, computed on real elapsed time."""
    utc = _utc(value)
    local = utc.astimezone(zone)
    into_hour = timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
    return (utc - into_hour).astimezone(zone)


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of the local date ``day``.

    Normally local midnight; where midnight itself is skipped by a DST change, fold=0 maps
    it onto the transition instant, which is exactly where that day begins.
    """
    naive = datetime(day.year, day.month, day.day)
    return _utc(naive.replace(tzinfo=zone, fold=0)).astimezone(zone)


def _fmt(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime(HOUR_FORMAT)


def _describe_span(span: timedelta) -> str:
    hours = int(span.total_seconds() // 3600)
    days, rest = divmod(hours, 24)
    return f"{days} days {rest} hours" if rest else f"{days} days"


def _check_granularity(granularity: str) -> None:
    if granularity not in GRANULARITIES:
        raise WindowError(
            INVALID_PARAMETER_VALUE,
            f"unknown granularity {granularity!r}; expected one of: {', '.join(GRANULARITIES)}",
        )


@dataclass(frozen=True)
class Window:
    """The half-open interval ``[begin, end)``; ``begin``/``end`` are aware datetimes in ``tz``.

    The constructor accepts aware datetimes in any zone and converts them to ``tz``; it
    refuses ``end <= begin`` so that an empty window can never reach the API.

    Equality and hashing compare the UTC instants (plus ``tz``), not the wall clock, so the
    two occurrences of a repeated fall-back hour are different windows.

    ``begin_str``/``end_str`` are ``yyyymmddhh`` in ``tz`` (what users see); ``counted()``
    is the range of whole Beijing hours the API counts for it (what is sent).
    """

    begin: datetime
    end: datetime
    tz: str

    def __post_init__(self) -> None:
        zone = load_zone(self.tz)
        begin = _require_aware(self.begin, "begin").astimezone(zone)
        end = _require_aware(self.end, "end").astimezone(zone)
        if _utc(end) <= _utc(begin):
            raise WindowError(
                END_TIME_VERIFY_FAIL,
                f"end {_fmt(end, zone)} must be later than begin {_fmt(begin, zone)} "
                f"(windows are half-open [begin, end), {self.tz})",
            )
        object.__setattr__(self, "begin", begin)
        object.__setattr__(self, "end", end)

    # -- identity on instants, not wall clocks ------------------------------------------
    def _key(self) -> tuple:
        return (_utc(self.begin), _utc(self.end), self.tz)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Window):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    # -- display --------------------------------------------------------------------------
    @property
    def zone(self) -> ZoneInfo:
        return load_zone(self.tz)

    @property
    def begin_str(self) -> str:
        return self.begin.strftime(HOUR_FORMAT)

    @property
    def end_str(self) -> str:
        return self.end.strftime(HOUR_FORMAT)

    def counted(self) -> HourRange:
        """The whole Beijing hours the API counts for this window.

        Both ends are floored to a whole Beijing hour. In a zone whose offset from Beijing is
        a whole number of hours that changes nothing: the range is the window. Elsewhere
        (Asia/Kolkata, Asia/Kathmandu, Lord Howe's half-hour DST) the API cannot count a
        local hour exactly, so the window is shifted back by the part-hour: same length,
        and two adjacent windows (day or hour buckets) still share no hour, since both
        sides of a cut floor to the same instant.
        """
        return HourRange(_floor_epoch(self.begin), _floor_epoch(self.end))

    @property
    def exact(self) -> bool:
        """Whether the API counts exactly this window (see ``counted``)."""
        counted = self.counted()
        return (counted.begin, counted.end) == (_utc(self.begin).timestamp(), _utc(self.end).timestamp())

    @property
    def span(self) -> timedelta:
        """Real elapsed time (differs from the wall-clock difference across DST changes)."""
        return _utc(self.end) - _utc(self.begin)

    @property
    def hours(self) -> int:
        """Real elapsed hours; a trailing partial hour counts, matching ``buckets(.., "hour")``."""
        whole, rest = divmod(self.span, _HOUR)
        return whole + (1 if rest else 0)

    def to_doc(self) -> Dict[str, Any]:
        """The ``window`` object of an app result; ``counted`` only where the API counts other hours."""
        doc: Dict[str, Any] = {"begin": self.begin_str, "end": self.end_str, "timezone": self.tz}
        if not self.exact:
            doc["counted"] = self.counted().to_doc(exact=False)
        return doc


def _floor_epoch(value: datetime) -> int:
    """UTC epoch seconds floored to a whole hour, which is a whole Beijing hour (UTC+8)."""
    return int(_utc(value).timestamp()) // 3600 * 3600


@dataclass(frozen=True)
class HourRange:
    """Whole Beijing hours ``[begin, end)`` as UTC epoch seconds: what the API counts.

    ``begin_time``/``end_time`` are the API's BeginTime/EndTime for this range: EndTime names
    the last hour counted, so one hour is BeginTime == EndTime. An empty range (possible only
    for a window shorter than an hour in a zone with a part-hour offset) needs no call.
    """

    begin: int
    end: int

    @property
    def hours(self) -> int:
        return max(0, (self.end - self.begin) // 3600)

    @property
    def begin_time(self) -> str:
        return _beijing(self.begin)

    @property
    def end_time(self) -> str:
        return _beijing(self.end - 3600)

    def to_doc(self, exact: bool) -> Dict[str, Any]:
        """The ``counted`` object of a window: the API's own names, so it can be replayed."""
        if not self.hours:
            return {"BeginTime": None, "EndTime": None, "timezone": API_TIMEZONE, "hours": 0, "exact": exact}
        return {"BeginTime": self.begin_time, "EndTime": self.end_time, "timezone": API_TIMEZONE,
                "hours": self.hours, "exact": exact}


def _beijing(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, _UTC).astimezone(load_zone(API_TIMEZONE)).strftime(HOUR_FORMAT)


def split_for_api(hours: HourRange, max_hours: int = MAX_API_HOURS) -> List[HourRange]:
    """Consecutive API calls covering ``hours``, each at most ``max_hours`` long, sharing no hour.

    Each piece's ``end`` is the next piece's ``begin``; sent as BeginTime..EndTime (inclusive)
    that is ``..EndTime`` then ``EndTime+1h..``, so a seam is counted once. An empty range
    needs no call at all.
    """
    if max_hours < 1:
        raise ValueError(f"max_hours must be at least 1, not {max_hours}")
    step = max_hours * 3600
    return [HourRange(b, min(b + step, hours.end)) for b in range(hours.begin, hours.end, step)]


_ASCII_DIGITS = frozenset("0123456789")


def parse_hour(value: str, tz: str, *, which: Literal["begin", "end"]) -> datetime:
    """Parse ``yyyymmddhh`` as a local hour in ``tz``; a WindowError with the code for ``which``.

    Exactly ten ASCII digits (``str.isdigit`` would let fullwidth and other Unicode digits
    through), a real calendar date, hour 00-23. A local hour skipped by a spring-forward
    change is refused; a repeated fall-back hour means its first occurrence (fold=0).
    """
    if which not in ("begin", "end"):
        raise ValueError(f"which must be 'begin' or 'end', not {which!r}")
    code = BEGIN_TIME_VERIFY_FAIL if which == "begin" else END_TIME_VERIFY_FAIL
    zone = load_zone(tz)
    if not isinstance(value, str):
        raise WindowError(code, f"{which} must be a string yyyymmddhh, not {type(value).__name__}")
    if len(value) != 10 or not set(value) <= _ASCII_DIGITS:
        raise WindowError(code, f"{which} {value!r} is not yyyymmddhh (exactly 10 digits 0-9)")
    year, month, day, hour = int(value[:4]), int(value[4:6]), int(value[6:8]), int(value[8:])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise WindowError(code, f"{which} {value!r}: year must be between {MIN_YEAR} and {MAX_YEAR}")
    try:
        naive = datetime(year, month, day, hour)
    except ValueError:
        raise WindowError(code, f"{which} {value!r} is not a valid date and hour (yyyymmddhh, hour 00-23)") from None
    local = naive.replace(tzinfo=zone, fold=0)
    normalised = _utc(local).astimezone(zone)
    if normalised.replace(tzinfo=None) != naive:
        raise WindowError(
            code,
            f"{which} {value!r}: the local hour {naive:%Y-%m-%d %H}:00 does not exist in {tz} "
            "(skipped by a daylight-saving change)",
        )
    return normalised


def hour_label(value: Any) -> Optional[datetime]:
    """A ``yyyymmddhh`` label this package wrote (a document's window, a series point, a link)
    as a naive wall-clock hour; None when it is not one. Input from people goes through
    `parse_hour`, which says what is wrong."""
    try:
        return parse_hour(value, "UTC", which="begin").replace(tzinfo=None)
    except WindowError:
        return None


def current_hour(now: datetime, tz: str) -> datetime:
    """``now`` (aware, any zone) floored to the whole hour of ``tz``: H of the named windows."""
    _require_aware(now, "now")
    return _floor_hour(now, load_zone(tz))


def named_window(name: str, now: datetime, tz: str) -> Window:
    """One of WINDOW_NAMES at ``now`` (README, *Timer jobs*); hours are real hours, days local days."""
    zone = load_zone(tz)
    if name not in WINDOW_NAMES:
        raise WindowError(
            BEGIN_TIME_VERIFY_FAIL, f"unknown window {name!r}; expected one of: {', '.join(WINDOW_NAMES)}"
        )
    h = current_hour(now, tz)
    h_utc = _utc(h)
    today = h.date()
    if name == "last_hour":
        return Window(h_utc - _HOUR, h_utc, tz)
    if name == "last_24h":
        return Window(h_utc - 24 * _HOUR, h_utc, tz)
    midnight = _day_start(today, zone)
    if name == "today":
        if _utc(midnight) >= h_utc:
            raise WindowError(
                END_TIME_VERIFY_FAIL,
                f"window 'today' has no complete hour yet: it is {now.astimezone(zone):%H:%M} in {tz}; "
                "use 'yesterday' or 'last_24h'",
            )
        return Window(midnight, h_utc, tz)
    days_back = {"yesterday": 1, "last_7d": 7, "last_30d": 30}[name]
    return Window(_day_start(today - timedelta(days=days_back), zone), midnight, tz)


def explicit_window(begin: str, end: str, now: datetime, tz: str, granularity: str = "total") -> Window:
    """The window ``[begin, end)`` given as ``yyyymmddhh`` in ``tz``, clipped to the current hour.

    The product limits of ``granularity`` apply to the clipped window: the part after now
    holds no data and costs no API call.
    """
    _check_granularity(granularity)
    b = parse_hour(begin, tz, which="begin")
    e = parse_hour(end, tz, which="end")
    if _utc(e) <= _utc(b):
        raise WindowError(
            END_TIME_VERIFY_FAIL,
            f"end {end} must be later than begin {begin} (windows are half-open [begin, end), {tz})",
        )
    return _clipped(b, e, f"[{begin}, {end})", now, tz, granularity)


def _clipped(b: datetime, e: datetime, shown: str, now: datetime, tz: str, granularity: str) -> Window:
    h = current_hour(now, tz)
    if _utc(e) > _utc(h):
        if _utc(b) >= _utc(h):
            raise WindowError(
                END_TIME_VERIFY_FAIL,
                f"window {shown} has no complete hour yet: it begins at or after the current "
                f"hour {_fmt(h, load_zone(tz))} ({tz}), i.e. in the future",
            )
        e = h
    window = Window(b, e, tz)
    check_span(window, granularity)
    return window


def api_window(begin_time: str, end_time: str, now: datetime, tz: str, granularity: str = "total") -> Window:
    """The window the API's own BeginTime/EndTime name (Beijing time, EndTime's hour included).

    So that a request copied from the API's documentation gives the API's numbers:
    Begin == End is one hour. The window is shown in ``tz``.
    """
    _check_granularity(granularity)
    b = parse_hour(begin_time, API_TIMEZONE, which="begin")
    e = parse_hour(end_time, API_TIMEZONE, which="end")
    if _utc(e) < _utc(b):
        raise WindowError(
            END_TIME_VERIFY_FAIL,
            f"EndTime {end_time} must not be earlier than BeginTime {begin_time} "
            "(the API counts both hours; one hour is BeginTime == EndTime)",
        )
    return _clipped(b, _utc(e) + _HOUR, f"BeginTime {begin_time} .. EndTime {end_time}", now, tz, granularity)


def resolve_window(spec: Union[str, Mapping[str, str]], now: datetime, tz: str, granularity: str = "total") -> Window:
    """A window from a timer ``Message`` or a lookup: a name, or ``{"begin": .., "end": ..}``."""
    _check_granularity(granularity)
    if isinstance(spec, str):
        window = named_window(spec, now, tz)
    elif isinstance(spec, Mapping):
        unexpected = sorted(str(k) for k in spec if k not in ("begin", "end"))
        if unexpected:
            raise WindowError(
                BEGIN_TIME_VERIFY_FAIL,
                f"window has unexpected keys {unexpected}; expected only 'begin' and 'end' (yyyymmddhh)",
            )
        if "begin" not in spec:
            raise WindowError(BEGIN_TIME_VERIFY_FAIL, "window is missing 'begin' (yyyymmddhh)")
        if "end" not in spec:
            raise WindowError(END_TIME_VERIFY_FAIL, "window is missing 'end' (yyyymmddhh)")
        window = explicit_window(spec["begin"], spec["end"], now, tz, granularity)
    else:
        raise WindowError(
            BEGIN_TIME_VERIFY_FAIL,
            f"window must be one of {', '.join(WINDOW_NAMES)} or an object "
            f'{{"begin": "yyyymmddhh", "end": "yyyymmddhh"}}, not {type(spec).__name__}',
        )
    check_span(window, granularity)
    return window


def check_span(window: Window, granularity: str) -> None:
    """Enforce the product limits: 366 days for ``total``/``day``, 7 days for ``hour``.

    Days are calendar days of the window's zone (begin's wall clock + N days), so that
    "7 days" across a DST change is 167 or 169 real hours, as a user would count them.
    """
    _check_granularity(granularity)
    days = MAX_SPAN_DAYS[granularity]
    zone = window.zone
    limit_naive = window.begin.replace(tzinfo=None) + timedelta(days=days)
    limit = _utc(limit_naive.replace(tzinfo=zone, fold=0))
    if _utc(window.end) > limit:
        raise WindowError(
            END_TIME_VERIFY_FAIL,
            f"window [{window.begin_str}, {window.end_str}) spans {_describe_span(window.span)}; "
            f"granularity {granularity!r} allows at most {days} days",
        )


def buckets(window: Window, granularity: str) -> List[Window]:
    """The series buckets of ``window``: one per call, together covering it exactly.

    ``total`` -> ``[window]``; ``day`` -> local calendar days (23 or 25 hours on DST change
    days; the first and last clipped to the window); ``hour`` -> each real hour, so a
    fall-back day has 25 and a spring-forward day 23 (the repeated local hour appears twice
    with the same ``yyyymmddhh`` label but different API hours).
    """
    _check_granularity(granularity)
    if granularity == "total":
        return [window]
    zone = window.zone
    begin, end = _utc(window.begin), _utc(window.end)
    out: List[Window] = []
    cursor = begin
    while cursor < end:
        if granularity == "hour":
            nxt = cursor + _HOUR
        else:
            day = cursor.astimezone(zone).date()
            nxt = _utc(_day_start(day + timedelta(days=1), zone))
            while nxt <= cursor:  # a skipped local date (e.g. Pacific/Apia, 2011-12-30)
                day += timedelta(days=1)
                nxt = _utc(_day_start(day + timedelta(days=1), zone))
        nxt = min(nxt, end)
        out.append(Window(cursor, nxt, window.tz))
        cursor = nxt
    return out


def _zone_name(raw: str, variable: Variable, notes: list) -> str:
    try:
        load_zone(raw)
    except ValueError:  # never quoted: a secret pasted here must not reach a chat
        raise VariableError("not an IANA zone name like Asia/Shanghai") from None
    return raw


VARIABLES = (
    Variable("REPORT_TIMEZONE", "timezone", "text", "Asia/Shanghai",
             "IANA zone in which named windows and dates are computed", parse=_zone_name),
)

"""Time windows (SPEC section 4): parsing, named windows, limits, API splitting and buckets.

Everything here is pure: the current time is always passed in as ``now``.

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
from typing import Any, Dict, List, Literal, Mapping, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

HOUR_FORMAT = "%Y%m%d%H"
#: the SMS API reads BeginTime/EndTime as Beijing time
API_TIMEZONE = "Asia/Shanghai"
#: the API rejects ``EndTime - BeginTime`` longer than this
MAX_API_SPAN = timedelta(days=32)
WINDOW_NAMES = ("last_hour", "last_24h", "today", "yesterday", "last_7d", "last_30d")
GRANULARITIES = ("total", "day", "hour")

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
    """A window the API (or the product) would refuse, with the API-style code for section 5.

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


def _ceil_hour(value: datetime, zone: ZoneInfo) -> datetime:
    floored = _floor_hour(value, zone)
    if _utc(floored) == _utc(value):
        return floored
    return (_utc(floored) + _HOUR).astimezone(zone)


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

    ``begin_str``/``end_str`` are ``yyyymmddhh`` in ``tz`` (what users see). ``api_begin()``
    and ``api_end()`` are ``yyyymmddhh`` in Beijing time (what the API reads). For a zone
    whose offset from Beijing is not a whole number of hours (e.g. Asia/Kolkata, +05:30),
    a local whole hour is not a Beijing whole hour: ``api_begin`` is then floored and
    ``api_end`` ceiled to whole Beijing hours, so the API range *covers* the local window
    and may include up to one extra hour in total. Counts for such zones are therefore
    approximate at the edges, and adjacent hour/day buckets overlap by a partial Beijing
    hour on the API side; ``split_for_api`` pieces never overlap (see there).
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

    def api_begin(self) -> str:
        """BeginTime for the API: ``begin`` in Beijing time, floored to the whole hour."""
        return _floor_hour(self.begin, load_zone(API_TIMEZONE)).strftime(HOUR_FORMAT)

    def api_end(self) -> str:
        """EndTime for the API: ``end`` in Beijing time, ceiled to the whole hour."""
        return _ceil_hour(self.end, load_zone(API_TIMEZONE)).strftime(HOUR_FORMAT)

    @property
    def span(self) -> timedelta:
        """Real elapsed time (differs from the wall-clock difference across DST changes)."""
        return _utc(self.end) - _utc(self.begin)

    @property
    def hours(self) -> int:
        """Real elapsed hours; a trailing partial hour counts, matching ``buckets(.., "hour")``."""
        whole, rest = divmod(self.span, _HOUR)
        return whole + (1 if rest else 0)

    def to_doc(self) -> Dict[str, str]:
        """The ``window`` object of an app result (SPEC section 7)."""
        return {"begin": self.begin_str, "end": self.end_str, "timezone": self.tz}


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


def current_hour(now: datetime, tz: str) -> datetime:
    """``now`` (aware, any zone) floored to the whole hour of ``tz``: H in section 4."""
    _require_aware(now, "now")
    return _floor_hour(now, load_zone(tz))


def named_window(name: str, now: datetime, tz: str) -> Window:
    """One of WINDOW_NAMES at ``now`` (SPEC section 4); hours are real hours, days local days."""
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
    zone = load_zone(tz)
    b = parse_hour(begin, tz, which="begin")
    e = parse_hour(end, tz, which="end")
    if _utc(e) <= _utc(b):
        raise WindowError(
            END_TIME_VERIFY_FAIL,
            f"end {end} must be later than begin {begin} (windows are half-open [begin, end), {tz})",
        )
    h = current_hour(now, tz)
    if _utc(e) > _utc(h):
        if _utc(b) >= _utc(h):
            raise WindowError(
                END_TIME_VERIFY_FAIL,
                f"window [{begin}, {end}) has no complete hour yet: it begins at or after the current "
                f"hour {_fmt(h, zone)} ({tz}), i.e. in the future",
            )
        e = h
    window = Window(b, e, tz)
    check_span(window, granularity)
    return window


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


def split_for_api(window: Window, max_span: timedelta = MAX_API_SPAN) -> List[Window]:
    """Consecutive pieces covering ``window`` whose API ranges each span at most ``max_span``.

    The cuts are made on whole Beijing hours counted from ``api_begin()``, so each piece's
    ``api_end()`` is the next piece's ``api_begin()``: the summed counts neither miss nor
    double an hour. For whole-hour zones the cuts are also local whole hours; for zones such
    as Asia/Kolkata inner cuts fall on local half hours (whose ``begin_str`` is the floored
    local hour), and a window of exactly 32 local days needs two calls because its API
    range is 32 days plus one hour.
    """
    step = (max_span // _HOUR) * _HOUR
    if step < _HOUR:
        raise ValueError(f"max_span must be at least one hour, not {max_span}")
    api_zone = load_zone(API_TIMEZONE)
    api_begin = _utc(_floor_hour(window.begin, api_zone))
    api_end = _utc(_ceil_hour(window.end, api_zone))
    begin, end = _utc(window.begin), _utc(window.end)
    pieces: List[Window] = []
    cut = api_begin
    while True:
        cut = cut + step
        if cut >= api_end:
            pieces.append(Window(begin, end, window.tz))
            return pieces
        pieces.append(Window(begin, cut, window.tz))
        begin = cut


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

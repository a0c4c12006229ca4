"""Time windows: the rules users rely on, the API's inclusive hour rule, DST and odd offsets."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone
from typing import List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sms_receipt_stats.windows import (
    API_TIMEZONE,
    BEGIN_TIME_VERIFY_FAIL,
    END_TIME_VERIFY_FAIL,
    GRANULARITIES,
    HOUR_FORMAT,
    MAX_API_HOURS,
    WINDOW_NAMES,
    HourRange,
    Window,
    WindowError,
    api_window,
    buckets,
    check_span,
    current_hour,
    explicit_window,
    load_zone,
    named_window,
    parse_hour,
    resolve_window,
    split_for_api,
)

SH = "Asia/Shanghai"
NY = "America/New_York"
BERLIN = "Europe/Berlin"
KOLKATA = "Asia/Kolkata"
UTC = timezone.utc

#: 2021-05-01 13:25:41 Beijing time
NOW_SH = datetime(2021, 5, 1, 13, 25, 41, tzinfo=load_zone(SH))
#: far enough ahead that no explicit window in these tests is clipped
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def W(begin: str, end: str, tz: str = SH, granularity: str = "total") -> Window:
    return explicit_window(begin, end, FAR_FUTURE, tz, granularity)


def strs(windows: List[Window]) -> List[tuple]:
    return [(w.begin_str, w.end_str) for w in windows]


def utc(w_dt: datetime) -> datetime:
    return w_dt.astimezone(UTC)


# --------------------------------------------------------------------------- constants


def test_interface_constants():
    assert HOUR_FORMAT == "%Y%m%d%H"
    assert API_TIMEZONE == "Asia/Shanghai"
    assert MAX_API_HOURS == 32 * 24
    assert WINDOW_NAMES == ("last_hour", "last_24h", "today", "yesterday", "last_7d", "last_30d")
    assert GRANULARITIES == ("total", "day", "hour")


def test_window_error_carries_code_and_message_and_pickles():
    err = WindowError(END_TIME_VERIFY_FAIL, "boom")
    assert isinstance(err, ValueError)
    assert (err.code, err.message, str(err)) == (END_TIME_VERIFY_FAIL, "boom", "boom")
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.code, copy.message) == (END_TIME_VERIFY_FAIL, "boom")


# --------------------------------------------------------------------------- zones


def test_load_zone_known():
    assert load_zone(NY).key == NY


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", "   ", "../etc/passwd", "America", None])
def test_load_zone_unknown_names_the_zone(name):
    with pytest.raises(ValueError) as info:
        load_zone(name)
    assert repr(name) in str(info.value)


# --------------------------------------------------------------------------- parse_hour


def test_parse_hour_shanghai():
    dt = parse_hour("2021050113", SH, which="begin")
    assert dt == datetime(2021, 5, 1, 5, tzinfo=UTC)
    assert dt.strftime(HOUR_FORMAT) == "2021050113"


def test_parse_hour_leap_day():
    assert parse_hour("2024022900", SH, which="begin") == datetime(2024, 2, 28, 16, tzinfo=UTC)
    with pytest.raises(WindowError) as info:
        parse_hour("2023022900", SH, which="begin")
    assert info.value.code == BEGIN_TIME_VERIFY_FAIL


@pytest.mark.parametrize(
    "value",
    [
        "2021050",  # too short
        "2021053100x",  # trailing garbage
        "2021053100" + "x",
        "2021023010",  # February 30
        "2021043100",  # April 31
        "2021130100",  # month 13
        "2021000100",  # month 0
        "2021050100 ",
        " 2021050100",
        "2021050100\n",
        "2021050124",  # hour 24
        "abcdefghij",
        "2021-05-01",
        "+202105011",
        "２０２１０５０１１３",  # fullwidth digits
        "٢٠٢١٠٥٠١١٣",  # Arabic-Indic digits
        "²⁰²¹⁰⁵⁰¹¹³",  # superscripts (str.isdigit() is True for these)
        "",
        "0000010100",  # year 0
        "1969123123",  # before the supported range
        "9999123123",  # after it
        20210501,
        None,
    ],
)
@pytest.mark.parametrize("which,code", [("begin", BEGIN_TIME_VERIFY_FAIL), ("end", END_TIME_VERIFY_FAIL)])
def test_parse_hour_rejects_malformed(value, which, code):
    with pytest.raises(WindowError) as info:
        parse_hour(value, SH, which=which)
    assert info.value.code == code
    assert which in info.value.message


def test_parse_hour_which_must_be_begin_or_end():
    with pytest.raises(ValueError):
        parse_hour("2021050100", SH, which="middle")  # type: ignore[arg-type]


@pytest.mark.parametrize("tz,value", [(NY, "2024031002"), (BERLIN, "2024033102")])
@pytest.mark.parametrize("which,code", [("begin", BEGIN_TIME_VERIFY_FAIL), ("end", END_TIME_VERIFY_FAIL)])
def test_parse_hour_nonexistent_local_hour(tz, value, which, code):
    with pytest.raises(WindowError) as info:
        parse_hour(value, tz, which=which)
    assert info.value.code == code
    assert "does not exist" in info.value.message
    assert tz in info.value.message


def test_parse_hour_ambiguous_takes_first_occurrence():
    # New York 2024-11-03 01:00 happens at 05:00Z (EDT) and again at 06:00Z (EST)
    assert utc(parse_hour("2024110301", NY, which="begin")) == datetime(2024, 11, 3, 5, tzinfo=UTC)
    # Berlin 2024-10-27 02:00 happens at 00:00Z (CEST) and again at 01:00Z (CET)
    assert utc(parse_hour("2024102702", BERLIN, which="end")) == datetime(2024, 10, 27, 0, tzinfo=UTC)


def test_parse_hour_around_gap_exists():
    assert parse_hour("2024031001", NY, which="begin") == datetime(2024, 3, 10, 6, tzinfo=UTC)
    assert parse_hour("2024031003", NY, which="begin") == datetime(2024, 3, 10, 7, tzinfo=UTC)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=14))
def test_parse_hour_never_raises_anything_but_window_error(text):
    try:
        dt = parse_hour(text, NY, which="begin")
    except WindowError as err:
        assert err.code == BEGIN_TIME_VERIFY_FAIL
    else:
        assert dt.strftime(HOUR_FORMAT) == text


# --------------------------------------------------------------------------- current_hour


def test_current_hour_floors_in_zone_from_any_zone():
    now_utc = datetime(2021, 5, 1, 5, 25, 41, 123, tzinfo=UTC)
    h = current_hour(now_utc, SH)
    assert h.strftime(HOUR_FORMAT) == "2021050113"
    assert (h.minute, h.second, h.microsecond) == (0, 0, 0)
    assert h == datetime(2021, 5, 1, 5, tzinfo=UTC)


def test_current_hour_half_hour_zone():
    # 05:10Z is 10:40 in Kolkata: the local hour began at 04:30Z
    h = current_hour(datetime(2021, 5, 1, 5, 10, tzinfo=UTC), KOLKATA)
    assert h == datetime(2021, 5, 1, 4, 30, tzinfo=UTC)
    assert h.strftime(HOUR_FORMAT) == "2021050110"


def test_current_hour_in_repeated_hour_keeps_the_instant():
    # 06:30Z is the second 01:30 of the New York fall-back night
    h = current_hour(datetime(2024, 11, 3, 6, 30, tzinfo=UTC), NY)
    assert (h.strftime(HOUR_FORMAT), h.fold) == ("2024110301", 1)
    # a datetime in a repeated hour never compares equal across zones (PEP 495): compare in UTC
    assert utc(h) == datetime(2024, 11, 3, 6, tzinfo=UTC)


def test_current_hour_requires_aware_now():
    with pytest.raises(ValueError):
        current_hour(datetime(2021, 5, 1, 13), SH)


# --------------------------------------------------------------------------- named windows


@pytest.mark.parametrize(
    "name,begin,end,hours",
    [
        ("last_hour", "2021050112", "2021050113", 1),
        ("last_24h", "2021043013", "2021050113", 24),
        ("today", "2021050100", "2021050113", 13),
        ("yesterday", "2021043000", "2021050100", 24),
        ("last_7d", "2021042400", "2021050100", 168),
        ("last_30d", "2021040100", "2021050100", 720),
    ],
)
@pytest.mark.parametrize("now", [NOW_SH, NOW_SH.astimezone(UTC), NOW_SH.astimezone(load_zone(NY))])
def test_named_windows_at_fixed_now(name, begin, end, hours, now):
    w = named_window(name, now, SH)
    assert (w.begin_str, w.end_str, w.hours) == (begin, end, hours)
    assert w.to_doc() == {"begin": begin, "end": end, "timezone": SH}  # counted exactly: nothing more to say
    end_hour = (datetime.strptime(end, HOUR_FORMAT) - timedelta(hours=1)).strftime(HOUR_FORMAT)
    assert (w.counted().begin_time, w.counted().end_time, w.counted().hours) == (begin, end_hour, hours)
    assert resolve_window(name, now, SH) == w


def test_named_window_unknown_lists_valid_names():
    with pytest.raises(WindowError) as info:
        named_window("last_week", NOW_SH, SH)
    assert info.value.code == BEGIN_TIME_VERIFY_FAIL
    assert "last_week" in info.value.message
    for name in WINDOW_NAMES:
        assert name in info.value.message


def test_today_at_midnight_is_empty():
    just_after_midnight = datetime(2021, 5, 1, 0, 30, tzinfo=load_zone(SH))
    with pytest.raises(WindowError) as info:
        named_window("today", just_after_midnight, SH)
    assert info.value.code == END_TIME_VERIFY_FAIL
    assert "no complete hour" in info.value.message
    # the other windows still work at that moment
    assert named_window("yesterday", just_after_midnight, SH).begin_str == "2021043000"
    assert named_window("last_hour", just_after_midnight, SH).begin_str == "2021043023"


def test_today_at_one_is_one_hour():
    w = named_window("today", datetime(2021, 5, 1, 1, 0, tzinfo=load_zone(SH)), SH)
    assert (w.begin_str, w.end_str, w.hours) == ("2021050100", "2021050101", 1)


def test_named_windows_across_month_and_year_end():
    now = datetime(2022, 1, 1, 0, 5, tzinfo=load_zone(SH))
    assert strs([named_window("yesterday", now, SH)]) == [("2021123100", "2022010100")]
    assert strs([named_window("last_hour", now, SH)]) == [("2021123123", "2022010100")]
    assert strs([named_window("last_30d", now, SH)]) == [("2021120200", "2022010100")]
    leap = datetime(2024, 3, 1, 9, tzinfo=load_zone(SH))
    assert strs([named_window("yesterday", leap, SH)]) == [("2024022900", "2024030100")]
    assert strs([named_window("last_7d", leap, SH)]) == [("2024022300", "2024030100")]


def test_named_windows_in_dst_zone_use_real_hours_and_local_days():
    ny = load_zone(NY)
    now = datetime(2024, 3, 10, 12, 30, tzinfo=ny)  # spring-forward day, EDT
    last_24h = named_window("last_24h", now, NY)
    assert (last_24h.begin_str, last_24h.end_str, last_24h.hours) == ("2024030911", "2024031012", 24)
    today = named_window("today", now, NY)
    assert (today.begin_str, today.end_str, today.hours) == ("2024031000", "2024031012", 11)
    after = datetime(2024, 3, 11, 8, tzinfo=ny)
    yesterday = named_window("yesterday", after, NY)
    assert (yesterday.begin_str, yesterday.end_str, yesterday.hours) == ("2024031000", "2024031100", 23)
    last_7d = named_window("last_7d", after, NY)
    assert (last_7d.begin_str, last_7d.end_str, last_7d.hours) == ("2024030400", "2024031100", 167)
    fall = named_window("yesterday", datetime(2024, 11, 4, 8, tzinfo=ny), NY)
    assert (fall.begin_str, fall.end_str, fall.hours) == ("2024110300", "2024110400", 25)


def test_last_hour_during_repeated_hour_is_a_real_hour():
    # at the second 01:30 (06:30Z) the last whole hour is the first 01:00-02:00 (05:00Z-06:00Z)
    w = named_window("last_hour", datetime(2024, 11, 3, 6, 30, tzinfo=UTC), NY)
    assert (utc(w.begin), utc(w.end)) == (
        datetime(2024, 11, 3, 5, tzinfo=UTC),
        datetime(2024, 11, 3, 6, tzinfo=UTC),
    )
    assert w.hours == 1


def api(w: Window) -> tuple:
    """(BeginTime, EndTime) as sent to the API."""
    counted = w.counted()
    return counted.begin_time, counted.end_time


def test_named_windows_api_times_for_other_zone():
    # 2021-05-01 13:25 Beijing is 01:25 EDT: in New York "yesterday" is 2021-04-30,
    # 04:00Z .. 04:00Z = Beijing 12:00 .. 12:00; EndTime names the last hour counted
    w = named_window("yesterday", NOW_SH, NY)
    assert (w.begin_str, w.end_str) == ("2021043000", "2021050100")
    assert api(w) == ("2021043012", "2021050111")


def test_yesterday_is_sent_as_its_24_hours_not_25():
    w = named_window("yesterday", NOW_SH, SH)
    assert api(w) == ("2021043000", "2021043023")
    assert w.counted().hours == 24


def test_last_hour_is_sent_as_begin_equals_end():
    w = named_window("last_hour", NOW_SH, SH)
    assert (w.begin_str, w.end_str) == ("2021050112", "2021050113")
    assert api(w) == ("2021050112", "2021050112")


# --------------------------------------------------------------------------- explicit windows


def test_explicit_window_basic():
    w = explicit_window("2021050100", "2021050113", NOW_SH, SH)
    assert (w.begin_str, w.end_str, w.hours, w.tz) == ("2021050100", "2021050113", 13, SH)
    assert api(w) == ("2021050100", "2021050112")
    assert w.exact and "counted" not in w.to_doc()


def test_explicit_window_end_must_follow_begin():
    for begin, end in [("2021050110", "2021050110"), ("2021050112", "2021050110")]:
        with pytest.raises(WindowError) as info:
            explicit_window(begin, end, NOW_SH, SH)
        assert info.value.code == END_TIME_VERIFY_FAIL
        assert "later than begin" in info.value.message


def test_explicit_window_bad_begin_wins_over_bad_end():
    with pytest.raises(WindowError) as info:
        explicit_window("2021023010", "2021050124", NOW_SH, SH)
    assert info.value.code == BEGIN_TIME_VERIFY_FAIL


def test_explicit_window_bad_end():
    with pytest.raises(WindowError) as info:
        explicit_window("2021050100", "2021050124", NOW_SH, SH)
    assert info.value.code == END_TIME_VERIFY_FAIL


def test_explicit_window_one_hour_across_year_end():
    w = W("2021123123", "2022010100")
    assert w.hours == 1
    assert api(w) == ("2021123123", "2021123123")


def test_api_names_keep_the_apis_meaning_end_hour_included():
    w = api_window("2021050100", "2021050100", NOW_SH, SH)
    assert (w.begin_str, w.end_str, w.hours) == ("2021050100", "2021050101", 1)
    day = api_window("2016090800", "2016090823", NOW_SH, SH)  # the API's own full-day example
    assert (day.begin_str, day.end_str, day.hours) == ("2016090800", "2016090900", 24)
    assert api(day) == ("2016090800", "2016090823")


def test_api_names_are_beijing_hours_whatever_the_report_zone():
    w = api_window("2021050112", "2021050113", FAR_FUTURE, NY)  # 04:00Z-06:00Z
    assert (utc(w.begin), utc(w.end)) == (datetime(2021, 5, 1, 4, tzinfo=UTC), datetime(2021, 5, 1, 6, tzinfo=UTC))
    assert api(w) == ("2021050112", "2021050113")


def test_api_names_refuse_end_before_begin():
    with pytest.raises(WindowError) as info:
        api_window("2021050110", "2021050109", NOW_SH, SH)
    assert info.value.code == END_TIME_VERIFY_FAIL
    assert "BeginTime == EndTime" in info.value.message


def test_explicit_window_over_the_repeated_hour_is_two_real_hours():
    w = W("2024110301", "2024110302", NY)
    assert w.hours == 2


def test_future_end_is_clipped_to_current_hour():
    w = explicit_window("2021050100", "2021050300", NOW_SH, SH)
    assert (w.begin_str, w.end_str, w.hours) == ("2021050100", "2021050113", 13)


@pytest.mark.parametrize("begin", ["2021050113", "2021050114", "2022010100"])
def test_window_beginning_at_or_after_current_hour_is_refused(begin):
    with pytest.raises(WindowError) as info:
        explicit_window(begin, "2022050100", NOW_SH, SH)
    assert info.value.code == END_TIME_VERIFY_FAIL
    assert "no complete hour yet" in info.value.message
    assert "future" in info.value.message


def test_span_limit_applies_to_the_clipped_window():
    # 3 days of hours requested up to a month ahead: only 3 days are ever queried
    w = explicit_window("2021042813", "2021060100", NOW_SH, SH, "hour")
    assert w.hours == 72


# --------------------------------------------------------------------------- resolve_window


def test_resolve_window_mapping():
    w = resolve_window({"begin": "2021050100", "end": "2021050110"}, NOW_SH, SH, "hour")
    assert (w.begin_str, w.end_str) == ("2021050100", "2021050110")


@pytest.mark.parametrize(
    "spec,code",
    [
        ({"end": "2021050110"}, BEGIN_TIME_VERIFY_FAIL),
        ({"begin": "2021050100"}, END_TIME_VERIFY_FAIL),
        ({"begin": "2021050100", "end": "2021050110", "tz": "UTC"}, BEGIN_TIME_VERIFY_FAIL),
        ({"begin": 2021050100, "end": "2021050110"}, BEGIN_TIME_VERIFY_FAIL),
        (["2021050100", "2021050110"], BEGIN_TIME_VERIFY_FAIL),
        (None, BEGIN_TIME_VERIFY_FAIL),
        ("Yesterday", BEGIN_TIME_VERIFY_FAIL),
    ],
)
def test_resolve_window_rejects(spec, code):
    with pytest.raises(WindowError) as info:
        resolve_window(spec, NOW_SH, SH)
    assert info.value.code == code


def test_resolve_window_checks_span_for_named_windows():
    # last_30d is fine for day but too long for hourly buckets
    assert resolve_window("last_30d", NOW_SH, SH, "day").hours == 720
    with pytest.raises(WindowError) as info:
        resolve_window("last_30d", NOW_SH, SH, "hour")
    assert info.value.code == END_TIME_VERIFY_FAIL
    assert resolve_window("last_7d", NOW_SH, SH, "hour").hours == 168


def test_unknown_granularity_is_a_window_error():
    with pytest.raises(WindowError) as info:
        resolve_window("yesterday", NOW_SH, SH, "minute")
    assert "minute" in info.value.message
    with pytest.raises(WindowError):
        buckets(named_window("yesterday", NOW_SH, SH), "week")


# --------------------------------------------------------------------------- product limits


@pytest.mark.parametrize("granularity", ["total", "day"])
def test_366_day_limit(granularity):
    w = W("2024010100", "2025010100", granularity=granularity)  # 2024 is a leap year: 366 days
    assert w.hours == 366 * 24
    check_span(w, granularity)
    with pytest.raises(WindowError) as info:
        W("2024010100", "2025010101", granularity=granularity)
    assert info.value.code == END_TIME_VERIFY_FAIL
    assert "366" in info.value.message


def test_7_day_limit_for_hour():
    assert W("2021050100", "2021050800", granularity="hour").hours == 168
    with pytest.raises(WindowError) as info:
        W("2021050100", "2021050801", granularity="hour")
    assert info.value.code == END_TIME_VERIFY_FAIL
    # the 8-day window is fine for the other granularities
    check_span(W("2021050100", "2021050801"), "day")
    with pytest.raises(WindowError):
        check_span(W("2021050100", "2021050801"), "hour")


def test_7_day_limit_counts_local_days_across_dst():
    w = W("2024030700", "2024031400", NY, "hour")  # 7 local days, 167 real hours
    assert w.hours == 167
    with pytest.raises(WindowError):
        W("2024030700", "2024031401", NY, "hour")  # 168 real hours, but 7 days + 1 hour


# --------------------------------------------------------------------------- Window itself


def test_window_refuses_empty_and_naive():
    b = datetime(2021, 5, 1, tzinfo=UTC)
    with pytest.raises(WindowError) as info:
        Window(b, b, SH)
    assert info.value.code == END_TIME_VERIFY_FAIL
    with pytest.raises(ValueError):
        Window(datetime(2021, 5, 1), datetime(2021, 5, 2), SH)
    with pytest.raises(ValueError):
        Window(b, b + timedelta(hours=1), "No/Such_Zone")


def test_window_normalises_to_its_zone():
    w = Window(datetime(2021, 4, 30, 16, tzinfo=UTC), datetime(2021, 5, 1, 16, tzinfo=UTC), SH)
    assert w.begin.utcoffset() == timedelta(hours=8)
    assert (w.begin_str, w.end_str) == ("2021050100", "2021050200")


def test_window_equality_uses_instants_not_wall_clock():
    first = Window(datetime(2024, 11, 3, 5, tzinfo=UTC), datetime(2024, 11, 3, 6, tzinfo=UTC), NY)
    second = Window(datetime(2024, 11, 3, 6, tzinfo=UTC), datetime(2024, 11, 3, 7, tzinfo=UTC), NY)
    assert first.begin_str == second.begin_str == "2024110301"  # same label ...
    assert first != second  # ... different hours
    assert len({first, second}) == 2
    assert first == Window(first.begin.astimezone(UTC), first.end.astimezone(UTC), NY)


def test_half_hour_zone_counts_as_many_whole_beijing_hours_shifted_back():
    # 10:00-12:00 IST = 04:30Z-06:30Z = 12:30-14:30 Beijing -> the API counts 12:00-14:00
    w = W("2021050110", "2021050112", KOLKATA)
    assert (w.begin_str, w.end_str, w.hours) == ("2021050110", "2021050112", 2)
    assert api(w) == ("2021050112", "2021050113")
    assert not w.exact
    assert w.to_doc()["counted"] == {"BeginTime": "2021050112", "EndTime": "2021050113",
                                     "timezone": SH, "hours": 2, "exact": False}


def test_api_times_for_dst_zone():
    w = W("2024110300", "2024110400", NY)
    assert w.hours == 25 == w.counted().hours
    # 04:00Z .. 05:00Z next day; EndTime is the last hour counted
    assert api(w) == ("2024110312", "2024110412")
    assert w.exact


# --------------------------------------------------------------------------- split_for_api


def test_exactly_32_days_is_one_call():
    w = W("2021010100", "2021020200")
    assert w.hours == 32 * 24
    pieces = split_for_api(w.counted())
    assert [(p.begin_time, p.end_time) for p in pieces] == [("2021010100", "2021020123")]


def test_32_days_and_an_hour_is_two_calls_sharing_no_hour():
    pieces = split_for_api(W("2021010100", "2021020201").counted())
    assert [(p.begin_time, p.end_time) for p in pieces] == [
        ("2021010100", "2021020123"),
        ("2021020200", "2021020200"),
    ]


def test_366_days_is_twelve_calls():
    w = W("2024010100", "2025010100")
    pieces = split_for_api(w.counted())
    assert len(pieces) == 12  # ceil(366 / 32)
    assert pieces[-1].hours == (366 - 11 * 32) * 24
    assert sum(p.hours for p in pieces) == w.hours


def test_half_hour_zone_32_local_days_is_one_call():
    w = W("2021010100", "2021020200", KOLKATA)
    assert w.counted().hours == MAX_API_HOURS
    assert len(split_for_api(w.counted())) == 1


def test_split_custom_span():
    pieces = split_for_api(W("2021050100", "2021050200").counted(), 10)
    assert [(p.begin_time, p.end_time) for p in pieces] == [
        ("2021050100", "2021050109"),
        ("2021050110", "2021050119"),
        ("2021050120", "2021050123"),
    ]
    with pytest.raises(ValueError):
        split_for_api(W("2021050100", "2021050200").counted(), 0)


def test_an_empty_hour_range_needs_no_call():
    assert split_for_api(HourRange(7200, 7200)) == []
    assert HourRange(7200, 7200).to_doc(False)["hours"] == 0


ZONES = st.sampled_from([SH, NY, BERLIN, KOLKATA, "UTC", "Asia/Kathmandu", "Australia/Lord_Howe"])


@st.composite
def windows(draw, max_hours: int = 400 * 24) -> Window:
    tz = draw(ZONES)
    start = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)))
    begin = current_hour(start.replace(tzinfo=UTC), tz)
    hours = draw(st.integers(min_value=1, max_value=max_hours))
    return Window(begin, begin.astimezone(UTC) + timedelta(hours=hours), tz)


def _hour(s: str) -> datetime:
    return datetime.strptime(s, HOUR_FORMAT)


def assert_consecutive_cover(window: Window, pieces: List[Window]) -> None:
    assert pieces, "at least one piece"
    assert utc(pieces[0].begin) == utc(window.begin)
    assert utc(pieces[-1].end) == utc(window.end)
    for left, right in zip(pieces, pieces[1:]):
        assert utc(left.end) == utc(right.begin)
    assert all(p.tz == window.tz for p in pieces)
    assert sum((p.span for p in pieces), timedelta()) == window.span


@settings(max_examples=300, deadline=None)
@given(windows(), st.integers(min_value=1, max_value=40 * 24))
def test_split_for_api_property(window, max_hours):
    counted = window.counted()
    pieces = split_for_api(counted, max_hours)
    assert pieces[0].begin == counted.begin and pieces[-1].end == counted.end
    for left, right in zip(pieces, pieces[1:]):
        assert left.end == right.begin  # no gap, no overlap
        # sent inclusively, the seam hour is the first hour of the right piece only
        assert _hour(left.end_time) + timedelta(hours=1) == _hour(right.begin_time)
    assert all(0 < p.hours <= max_hours for p in pieces)
    assert sum(p.hours for p in pieces) == counted.hours == window.hours
    assert len(pieces) == -(-counted.hours // max_hours)  # as few calls as possible


# --------------------------------------------------------------------------- buckets


def test_buckets_total_is_the_window():
    w = W("2021050100", "2021050300")
    assert buckets(w, "total") == [w]


def test_day_buckets_clip_partial_days():
    w = W("2021043022", "2021050203")
    assert strs(buckets(w, "day")) == [
        ("2021043022", "2021050100"),
        ("2021050100", "2021050200"),
        ("2021050200", "2021050203"),
    ]


def test_day_buckets_over_month_and_year_end_and_leap_day():
    assert strs(buckets(W("2021123000", "2022010200"), "day")) == [
        ("2021123000", "2021123100"),
        ("2021123100", "2022010100"),
        ("2022010100", "2022010200"),
    ]
    assert [w.begin_str for w in buckets(W("2024022800", "2024030200"), "day")] == [
        "2024022800",
        "2024022900",
        "2024030100",
    ]


def test_hour_buckets_plain_day():
    hours = buckets(W("2021050100", "2021050200"), "hour")
    assert len(hours) == 24
    assert hours[0].begin_str == "2021050100" and hours[-1].end_str == "2021050200"
    assert all(h.hours == 1 for h in hours)


@pytest.mark.parametrize(
    "tz,day,next_day,expected",
    [
        (NY, "2024031000", "2024031100", 23),
        (NY, "2024110300", "2024110400", 25),
        (BERLIN, "2024033100", "2024040100", 23),
        (BERLIN, "2024102700", "2024102800", 25),
        (NY, "2024070400", "2024070500", 24),
    ],
)
def test_dst_days_have_23_or_25_hourly_buckets(tz, day, next_day, expected):
    w = W(day, next_day, tz)
    hours = buckets(w, "hour")
    assert len(hours) == expected == w.hours
    assert all(h.span == timedelta(hours=1) for h in hours)
    assert_consecutive_cover(w, hours)
    # each bucket is one Beijing hour, sent as BeginTime == EndTime, the next one right after
    sent = [api(h) for h in hours]
    assert all(b == e for b, e in sent)
    assert [_hour(b) for b, _ in sent[1:]] == [_hour(b) + timedelta(hours=1) for b, _ in sent[:-1]]


def test_spring_forward_hour_labels_skip_the_missing_hour():
    labels = [h.begin_str[-2:] for h in buckets(W("2024031000", "2024031100", NY), "hour")]
    assert "02" not in labels
    assert labels[:3] == ["00", "01", "03"]


def test_fall_back_hour_labels_repeat_the_hour():
    labels = [h.begin_str[-2:] for h in buckets(W("2024102700", "2024102800", BERLIN), "hour")]
    assert labels[:5] == ["00", "01", "02", "02", "03"]


@pytest.mark.parametrize("tz", [NY, BERLIN])
def test_dst_weeks_day_buckets_are_23_and_25_hours(tz):
    spring = {NY: ("2024030800", "2024031300"), BERLIN: ("2024032900", "2024040300")}[tz]
    fall = {NY: ("2024110100", "2024110600"), BERLIN: ("2024102500", "2024103000")}[tz]
    assert [d.hours for d in buckets(W(*spring, tz), "day")] == [24, 24, 23, 24, 24]
    assert [d.hours for d in buckets(W(*fall, tz), "day")] == [24, 24, 25, 24, 24]


def test_day_buckets_skip_a_missing_date():
    # Samoa skipped 2011-12-30 entirely when it crossed the date line
    tz = "Pacific/Apia"
    days = buckets(W("2011122900", "2012010100", tz), "day")
    assert [d.begin_str for d in days] == ["2011122900", "2011123100"]
    assert [d.hours for d in days] == [24, 24]


@settings(max_examples=200, deadline=None)
@given(windows(max_hours=40 * 24), st.sampled_from(GRANULARITIES))
def test_buckets_cover_the_window_exactly(window, granularity):
    parts = buckets(window, granularity)
    assert_consecutive_cover(window, parts)
    if granularity == "hour":
        assert len(parts) == window.hours
        assert all(p.span <= timedelta(hours=1) for p in parts)
    if granularity == "day":
        zone = load_zone(window.tz)
        for p in parts:
            # every day bucket lies within one local date (its end may be the next midnight)
            last_instant = (utc(p.end) - timedelta(microseconds=1)).astimezone(zone)
            assert p.begin.astimezone(zone).date() == last_instant.date()
            assert p.span <= timedelta(hours=25)
        for inner in parts[1:]:
            # inner cuts are exactly where a new local date begins
            just_before = (utc(inner.begin) - timedelta(microseconds=1)).astimezone(zone)
            assert just_before.date() < inner.begin.astimezone(zone).date()


def test_day_that_starts_at_one_because_midnight_is_skipped():
    # Sao Paulo sprang forward at 00:00 on 2018-11-04: that day began at 01:00 and lasted 23 hours
    tz = "America/Sao_Paulo"
    days = buckets(W("2018110300", "2018110500", tz), "day")
    assert strs(days) == [("2018110300", "2018110401"), ("2018110401", "2018110500")]
    assert [d.hours for d in days] == [24, 23]
    with pytest.raises(WindowError) as info:
        named_window("today", datetime(2018, 11, 4, 3, 30, tzinfo=UTC), tz)  # 01:30 local
    assert "no complete hour" in info.value.message
    yesterday = named_window("yesterday", datetime(2018, 11, 5, 12, tzinfo=UTC), tz)
    assert (yesterday.begin_str, yesterday.end_str, yesterday.hours) == ("2018110401", "2018110500", 23)
    one_hour = named_window("today", datetime(2018, 11, 4, 4, 30, tzinfo=UTC), tz)  # 02:30 local
    assert (one_hour.begin_str, one_hour.end_str, one_hour.hours) == ("2018110401", "2018110402", 1)

"""The KRX calendar: real closures, the session grid per timeframe, and its invariants."""

import subprocess
import sys
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketdata import krx_calendar as cal
from marketdata.krx_calendar import KST
from marketdata.models import Timeframe
from marketdata.tests.factories import ROOT

DATES = st.dates(min_value=date(2010, 1, 8), max_value=date(2050, 12, 20))


@pytest.mark.parametrize(
    "day",
    [
        date(2024, 2, 9),  # Friday before 설날
        date(2024, 2, 12),  # 대체공휴일: 설날 fell on a Saturday/Sunday
        date(2023, 10, 2),  # 임시공휴일
        date(2024, 10, 1),  # 임시공휴일 (국군의 날)
        date(2025, 1, 27),  # 임시공휴일
        date(2025, 6, 3),  # 대통령선거
        date(2024, 4, 10),  # 국회의원선거
        date(2022, 6, 1),  # 지방선거
        date(2017, 10, 6),  # 대체공휴일(추석)
        date(2025, 10, 8),  # 대체공휴일(추석)
        date(2025, 5, 6),  # 부처님오신날's substitute
        date(2023, 5, 1),  # 근로자의 날
        date(2021, 10, 11),  # 한글날's substitute
        date(2013, 10, 9),  # 한글날, a holiday again from 2013
        date(2022, 12, 30),  # 연말 휴장: Dec 31 was a Saturday
        date(2023, 12, 29),
        date(2024, 12, 31),
        date(2011, 12, 30),
        # The overrides: closures exchange-calendars does not have yet.
        date(2026, 6, 3),  # 제9회 전국동시지방선거
        date(2026, 7, 17),  # 제헌절
        date(2027, 5, 3),  # 대체공휴일(노동절)
        date(2027, 7, 19),  # 대체공휴일(제헌절)
    ],
)
def test_known_closures(day):
    assert day.weekday() < 5
    assert not cal.is_trading_day(day)
    assert cal.session(day) is None


@pytest.mark.parametrize(
    "day",
    [
        date(2012, 10, 9),  # 한글날 was not a holiday before 2013
        date(2021, 12, 24),
        date(2022, 12, 29),  # the last session of 2022
        date(2023, 12, 28),
        date(2024, 12, 30),
        date(2026, 5, 26),
        date(2026, 1, 2),
        date(2019, 5, 13),  # 부처님오신날 on a Sunday had no substitute before 2023
    ],
)
def test_known_sessions(day):
    assert cal.is_trading_day(day)


def test_every_year_has_a_plausible_number_of_sessions():
    for year in range(cal.FIRST_YEAR, cal.LAST_YEAR + 1):
        sessions = cal.trading_days(date(year, 1, 1), date(year, 12, 31))
        assert 240 <= len(sessions) <= 253, (year, len(sessions))
        assert sessions[0].month == 1 and sessions[0].day in range(2, 6)


def test_year_2024_session_count_matches_krx():
    assert len(cal.trading_days(date(2024, 1, 1), date(2024, 12, 31))) == 244


@pytest.mark.parametrize(
    ("day", "opens", "closes"),
    [
        (date(2026, 3, 4), time(9), time(15, 30)),  # a regular day
        (date(2026, 1, 2), time(10), time(15, 30)),  # the first trading day of the year
        (date(2027, 1, 4), time(10), time(15, 30)),
        (date(2016, 7, 29), time(9), time(15)),  # before 2016-08-01 the market closed at 15:00
        (date(2016, 8, 1), time(9), time(15, 30)),
        (date(2015, 1, 2), time(10), time(15)),  # a late open in the 15:00 era
        (date(2015, 11, 12), time(10), time(16)),  # 수능 in the 15:00 era: one hour late
        (date(2020, 12, 3), time(10), time(16, 30)),  # 수능, from the library
        (date(2024, 11, 14), time(10), time(16, 30)),  # 수능, an override
        (date(2026, 11, 19), time(10), time(16, 30)),
    ],
)
def test_each_day_has_its_own_hours(day, opens, closes):
    assert cal.session_open(day) == datetime.combine(day, opens, tzinfo=KST)
    assert cal.session_close(day) == datetime.combine(day, closes, tzinfo=KST)


def test_special_sessions_and_closures_name_their_source():
    special = {s.day: s for s in cal.special_sessions(2024)}
    assert set(special) == {date(2024, 1, 2), date(2024, 11, 14)}
    assert special[date(2024, 1, 2)].source == cal.SOURCE_LIBRARY
    assert special[date(2024, 11, 14)].source.startswith(cal.SOURCE_OVERRIDE)
    assert "수능" in special[date(2024, 11, 14)].name
    closures = {c.day: c for c in cal.closures(2026)}
    assert closures[date(2026, 6, 3)].name == "제9회 전국동시지방선거"
    assert closures[date(2026, 6, 3)].source.startswith(cal.SOURCE_OVERRIDE)
    assert closures[date(2026, 12, 31)].source == cal.SOURCE_LIBRARY


def test_every_override_has_a_source_and_changes_the_library():
    library = cal.library_sessions()
    for override in cal.OVERRIDES:
        assert override.name and override.source
        if override.closed:
            assert override.day in library and not cal.is_trading_day(override.day)
        else:
            assert library[override.day] != (override.open, override.close)
            assert cal.session_open(override.day).time() == override.open


def test_the_calendar_is_plain_xkrx_but_for_the_documented_overrides():
    """Every session 2010–2030 of the plain exchange-calendars XKRX calendar (built the
    library's own way, which takes a while) against this calendar: the differences are exactly
    the overrides."""
    import exchange_calendars

    xkrx = exchange_calendars.get_calendar("XKRX", start="2010-01-01", end="2030-12-31")
    plain = {
        label.date(): (opened.tz_convert(KST).time(), closed.tz_convert(KST).time())
        for label, opened, closed in zip(
            xkrx.schedule.index, xkrx.schedule["open"], xkrx.schedule["close"], strict=True
        )
    }
    ours = {
        d: (cal.session_open(d).time(), cal.session_close(d).time())
        for d in cal.trading_days(date(2010, 1, 1), date(2030, 12, 31))
    }
    differences = {d: ours.get(d) for d in set(plain) | set(ours) if plain.get(d) != ours.get(d)}
    expected = {
        o.day: None if o.closed else (o.open, o.close) for o in cal.OVERRIDES if o.day.year <= 2030
    }
    assert differences == expected


def test_outside_the_calendar_nothing_is_known():
    assert not cal.is_trading_day(date(2000, 12, 28))
    assert cal.bar_starts("1d", date(2051, 1, 1), date(2051, 1, 31)) == []
    assert cal.bar_starts("1d", date(2000, 12, 28), date(2001, 1, 3))[0] == datetime(
        2001, 1, 2, tzinfo=KST
    )
    assert cal.bar_start_for("5m", datetime(2000, 6, 1, 10, tzinfo=KST)) is None
    with pytest.raises(cal.OutsideCalendar, match="outside the KRX calendar"):
        cal.previous_trading_day(date(2001, 1, 2))
    with pytest.raises(cal.OutsideCalendar):
        cal.next_trading_day(date(2050, 12, 30))
    # The years before the stored ones come from a second, on-demand block of the library.
    assert cal.is_trading_day(date(2005, 3, 2)) and not cal.is_trading_day(date(2005, 3, 1))
    assert cal.previous_trading_day(date(2010, 1, 4)) == date(2009, 12, 30)


def test_is_trading_day_rejects_datetimes():
    with pytest.raises(TypeError):
        cal.is_trading_day(datetime(2026, 1, 2, 10, tzinfo=KST))


@given(DATES)
def test_weekends_are_never_sessions(day):
    if day.weekday() >= 5:
        assert not cal.is_trading_day(day)


@given(DATES)
def test_previous_and_next_are_adjacent_sessions(day):
    prev, nxt = cal.previous_trading_day(day), cal.next_trading_day(day)
    assert prev < day < nxt
    assert cal.is_trading_day(prev) and cal.is_trading_day(nxt)
    assert cal.trading_days(prev + timedelta(days=1), day - timedelta(days=1)) == []
    assert cal.trading_days(day + timedelta(days=1), nxt - timedelta(days=1)) == []


@given(DATES, st.integers(min_value=0, max_value=400))
def test_trading_days_is_the_filtered_range(start, span):
    end = min(start + timedelta(days=span), date(cal.LAST_YEAR, 12, 31))
    expected = [
        start + timedelta(days=i)
        for i in range((end - start).days + 1)
        if cal.is_trading_day(start + timedelta(days=i))
    ]
    assert cal.trading_days(start, end) == expected


def test_trading_days_empty_when_reversed():
    assert cal.trading_days(date(2026, 1, 10), date(2026, 1, 5)) == []


def test_intraday_bar_grid_of_one_session():
    day = date(2026, 3, 4)  # a Wednesday
    five = cal.bar_starts("5m", day, day)
    thirty = cal.bar_starts("30m", day, day)
    hour = cal.bar_starts("1h", day, day)
    assert len(five) == 78 and len(thirty) == 13 and len(hour) == 7
    assert five[0] == datetime(2026, 3, 4, 9, 0, tzinfo=KST)
    assert five[-1] == datetime(2026, 3, 4, 15, 25, tzinfo=KST)
    assert thirty[-1] == datetime(2026, 3, 4, 15, 0, tzinfo=KST)
    assert [t.hour for t in hour] == [9, 10, 11, 12, 13, 14, 15]
    assert all(t.tzinfo is KST for t in five)


def test_intraday_bar_grid_of_special_sessions():
    exam = date(2024, 11, 14)  # 수능: 10:00–16:30
    five = cal.bar_starts("5m", exam, exam)
    assert len(five) == 78
    assert five[0] == datetime(2024, 11, 14, 10, 0, tzinfo=KST)
    assert five[-1] == datetime(2024, 11, 14, 16, 25, tzinfo=KST)
    assert [t.hour for t in cal.bar_starts("1h", exam, exam)] == [10, 11, 12, 13, 14, 15, 16]
    late = date(2025, 1, 2)  # the first trading day: 10:00–15:30
    assert len(cal.bar_starts("5m", late, late)) == 66
    assert cal.bar_starts("30m", late, late)[0] == datetime(2025, 1, 2, 10, tzinfo=KST)
    early = date(2016, 7, 29)  # 09:00–15:00
    assert cal.bar_starts("5m", early, early)[-1] == datetime(2016, 7, 29, 14, 55, tzinfo=KST)
    assert len(cal.bar_starts("1h", early, early)) == 6


def test_on_a_exam_day_the_late_bars_exist_and_the_day_ends_at_16_30():
    assert cal.bar_start_for("5m", datetime(2024, 11, 14, 16, 27, tzinfo=KST)) == datetime(
        2024, 11, 14, 16, 25, tzinfo=KST
    )
    assert cal.bar_start_for("5m", datetime(2024, 11, 14, 9, 30, tzinfo=KST)) is None
    assert cal.bar_start_for("1h", datetime(2024, 11, 14, 16, 10, tzinfo=KST)) == datetime(
        2024, 11, 14, 16, tzinfo=KST
    )
    assert cal.bar_end("1d", datetime(2024, 11, 14, tzinfo=KST)) == datetime(
        2024, 11, 14, 16, 30, tzinfo=KST
    )
    assert cal.bar_end("1h", datetime(2024, 11, 14, 16, tzinfo=KST)) == datetime(
        2024, 11, 14, 16, 30, tzinfo=KST
    )
    # The week of the exam ends on its Friday, at 15:30.
    assert cal.bar_end("1w", datetime(2024, 11, 11, tzinfo=KST)) == datetime(
        2024, 11, 15, 15, 30, tzinfo=KST
    )


def test_intraday_bars_skip_weekends_and_holidays():
    # 2026-02-13 (Fri) … 2026-02-19 (Thu): weekend, then 설날 Mon–Wed.
    bars = cal.bar_starts("1h", date(2026, 2, 13), date(2026, 2, 19))
    assert sorted({b.date() for b in bars}) == [date(2026, 2, 13), date(2026, 2, 19)]


def test_daily_weekly_monthly_keys():
    start, end = date(2026, 2, 10), date(2026, 3, 10)
    daily = cal.bar_starts("1d", start, end)
    assert daily[0] == datetime(2026, 2, 10, tzinfo=KST)
    assert datetime(2026, 2, 17, tzinfo=KST) not in daily
    weekly = cal.bar_starts("1w", start, end)
    # The week of 설날 (Feb 16–20) still has Thursday and Friday, so it keeps its Monday key.
    assert weekly == [
        datetime(2026, 2, 9, tzinfo=KST),
        datetime(2026, 2, 16, tzinfo=KST),
        datetime(2026, 2, 23, tzinfo=KST),
        datetime(2026, 3, 2, tzinfo=KST),
        datetime(2026, 3, 9, tzinfo=KST),
    ]
    assert cal.bar_starts("1mo", start, end) == [
        datetime(2026, 2, 1, tzinfo=KST),
        datetime(2026, 3, 1, tzinfo=KST),
    ]


def test_range_without_sessions_has_no_bars():
    # 2025-10-06 (Mon) … 2025-10-09 (Thu): 추석, its substitute and 한글날; Friday trades again.
    assert cal.bar_starts("1w", date(2025, 10, 6), date(2025, 10, 9)) == []
    assert cal.bar_starts("1w", date(2025, 10, 6), date(2025, 10, 10)) == [
        datetime(2025, 10, 6, tzinfo=KST)
    ]


def test_unknown_timeframe_is_rejected():
    with pytest.raises(ValueError, match="unknown timeframe"):
        cal.bar_starts("2h", date(2026, 1, 5), date(2026, 1, 6))


@given(DATES, st.sampled_from(cal.TIMEFRAMES))
def test_bar_start_for_maps_every_bar_onto_itself(day, timeframe):
    for start in cal.bar_starts(timeframe, day, day + timedelta(days=3)):
        assert cal.bar_start_for(timeframe, start) == start
        assert cal.bar_start_for(timeframe, start + timedelta(minutes=4)) == start
        assert cal.bar_end(timeframe, start) > start


def test_bar_start_for_outside_the_session_is_none():
    assert cal.bar_start_for("5m", datetime(2026, 3, 4, 8, 59, tzinfo=KST)) is None
    assert cal.bar_start_for("5m", datetime(2026, 3, 4, 15, 30, tzinfo=KST)) is None
    assert cal.bar_start_for("1h", datetime(2026, 3, 1, 10, 0, tzinfo=KST)) is None
    assert cal.bar_start_for("1h", datetime(2026, 3, 4, 15, 29, tzinfo=KST)) == datetime(
        2026, 3, 4, 15, 0, tzinfo=KST
    )


def test_bar_end():
    assert cal.bar_end("1h", datetime(2026, 3, 4, 15, 0, tzinfo=KST)) == datetime(
        2026, 3, 4, 15, 30, tzinfo=KST
    )
    assert cal.bar_end("1d", datetime(2026, 3, 4, tzinfo=KST)) == datetime.combine(
        date(2026, 3, 4), time(15, 30), tzinfo=KST
    )
    # The week of 2026-09-21: 추석 closes Thu 24 and Fri 25, so it ends on Wednesday.
    assert cal.bar_end("1w", datetime(2026, 9, 21, tzinfo=KST)) == datetime(
        2026, 9, 23, 15, 30, tzinfo=KST
    )
    # December 2026 ends on the 30th: the 31st is the year-end closure.
    assert cal.bar_end("1mo", datetime(2026, 12, 1, tzinfo=KST)) == datetime(
        2026, 12, 30, 15, 30, tzinfo=KST
    )


def test_the_timeframe_vocabulary_is_the_models_choices():
    assert tuple(Timeframe.values) == cal.TIMEFRAMES
    assert cal.INTRADAY_TIMEFRAMES + cal.PERIOD_TIMEFRAMES == cal.TIMEFRAMES
    assert set(cal.INTRADAY_MINUTES) == set(cal.INTRADAY_TIMEFRAMES)


def test_the_library_computes_the_calendar_without_the_network():
    """exchange-calendars computes its sessions; nothing is downloaded (a fresh process whose
    sockets all fail still builds the calendar)."""
    script = (
        "import socket, datetime\n"
        "def refuse(*args, **kwargs):\n"
        "    raise OSError('no network in this test')\n"
        "socket.socket = socket.create_connection = socket.getaddrinfo = refuse\n"
        "from marketdata import krx_calendar as cal\n"
        "print(len(cal.trading_days(datetime.date(2024, 1, 1), datetime.date(2024, 12, 31))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "244"

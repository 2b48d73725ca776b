"""The KRX calendar: real closures, the session grid per timeframe, and its invariants."""

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketdata import krx_calendar as cal
from marketdata.krx_calendar import KST
from marketdata.models import Timeframe

DATES = st.dates(min_value=date(2010, 1, 1), max_value=date(2027, 12, 31))


@pytest.mark.parametrize(
    ("day", "name_part"),
    [
        (date(2024, 2, 9), "설날"),  # Friday before 설날
        (date(2024, 2, 12), "대체공휴일"),  # 설날 fell on a Saturday/Sunday
        (date(2023, 10, 2), "임시공휴일"),
        (date(2024, 10, 1), "국군의 날"),
        (date(2025, 1, 27), "임시공휴일"),
        (date(2025, 6, 3), "대통령선거"),
        (date(2024, 4, 10), "국회의원선거"),
        (date(2022, 6, 1), "지방선거"),
        (date(2026, 6, 3), "지방선거"),
        (date(2017, 10, 6), "대체공휴일(추석)"),
        (date(2025, 10, 8), "대체공휴일(추석)"),
        (date(2025, 5, 6), "부처님오신날"),
        (date(2023, 5, 1), "근로자의 날"),
        (date(2021, 10, 11), "한글날"),
        (date(2013, 10, 9), "한글날"),
        (date(2026, 7, 17), "제헌절"),
        (date(2022, 12, 30), "연말 휴장"),  # Dec 31 was a Saturday
        (date(2023, 12, 29), "연말 휴장"),
        (date(2024, 12, 31), "연말 휴장"),
        (date(2011, 12, 30), "연말 휴장"),
    ],
)
def test_known_closures(day, name_part):
    assert day.weekday() < 5
    assert not cal.is_trading_day(day)
    assert name_part in cal.holiday_name(day)


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
    assert cal.holiday_name(day) is None


def test_every_year_has_a_plausible_number_of_sessions():
    for year in range(cal.CALENDAR_FIRST_YEAR, cal.CALENDAR_LAST_YEAR + 1):
        sessions = cal.trading_days(date(year, 1, 1), date(year, 12, 31))
        assert 240 <= len(sessions) <= 251, (year, len(sessions))
        assert sessions[0].month == 1 and sessions[0].day in range(2, 6)


def test_year_2024_session_count_matches_krx():
    assert len(cal.trading_days(date(2024, 1, 1), date(2024, 12, 31))) == 244


def test_lunar_holidays_span_three_days_around_the_day_itself():
    for year in range(cal.CALENDAR_FIRST_YEAR, cal.CALENDAR_LAST_YEAR + 1):
        seollal = [d for d, n in cal.KRX_HOLIDAYS.items() if d.year == year and n == "설날"]
        chuseok = [d for d, n in cal.KRX_HOLIDAYS.items() if d.year == year and n == "추석"]
        assert len(seollal) == 1 and len(chuseok) == 1, year
        for day in seollal + chuseok:
            for neighbour in (day - timedelta(days=1), day + timedelta(days=1)):
                assert cal.holiday_name(neighbour), neighbour


def test_outside_the_table_weekends_and_fixed_closures_still_apply():
    assert not cal.is_trading_day(date(2028, 3, 1))
    assert not cal.is_trading_day(date(2028, 12, 29))  # Dec 31 2028 is a Sunday, 29 a Friday
    assert cal.is_trading_day(date(2028, 3, 2))
    assert not cal.is_trading_day(date(2009, 1, 3))


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
    end = start + timedelta(days=span)
    expected = [
        start + timedelta(days=i)
        for i in range(span + 1)
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

"""The KRX (Korea Exchange) trading calendar: holidays, sessions and the bar grid per timeframe.

The one home of the project's time-and-timeframe vocabulary: `KST`, the timeframe codes
(`TIMEFRAMES`, `INTRADAY_MINUTES`, `INTRADAY_TIMEFRAMES`, `PERIOD_TIMEFRAMES`), the bar-period
start (`period_start`), the bar grid (`bar_starts`, `bar_start_for`, `bar_end`) and the trading
days and sessions. Every other module imports these names from here.

Pure Python, no Django. Dates are KST calendar dates; instants are aware datetimes in `KST`.

The regular session runs 09:00–15:30 KST on every weekday that is not a KRX holiday. The holiday
table below covers 2010–2027 with the real closures: public holidays (신정, 설날, 삼일절, 어린이날,
부처님오신날, 현충일, 광복절, 추석, 개천절, 한글날 from 2013, 성탄절), 대체공휴일, election days,
one-off 임시공휴일, 근로자의 날/노동절 (May 1, a KRX closure; a public holiday from 2026, as is
제헌절 again) and the year-end
closure (연말 휴장: Dec 31, or the last weekday of the year when Dec 31 falls on a weekend).
Outside the table only weekends and the fixed-date closures are known (lunar holidays are not).

Bar-start convention (what `Candle.ts` stores):
- 5m, 30m, 1h: the bar's start instant in KST; 09:00 opens the session, so the 5m bars are
  09:00…15:25, the 30m bars 09:00…15:00 and the 1h bars 09:00…15:00 (the 15:00 bar lasts 30 min);
- 1d: 00:00 KST of the trading date;
- 1w: 00:00 KST of the Monday of the week (even when that Monday is a holiday);
- 1mo: 00:00 KST of the 1st of the month.
"""

from __future__ import annotations

import bisect
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

KST = ZoneInfo("Asia/Seoul")
SESSION_OPEN = time(9, 0)
SESSION_CLOSE = time(15, 30)
SESSION_MINUTES = 390

# Timeframe codes, shortest first (`marketdata.models.Timeframe` holds the same values).
TIMEFRAMES = ("5m", "30m", "1h", "1d", "1w", "1mo")
# Intraday timeframes and their bar width in minutes.
INTRADAY_MINUTES = {"5m": 5, "30m": 30, "1h": 60}
INTRADAY_TIMEFRAMES = tuple(INTRADAY_MINUTES)
# Daily-type timeframes: one bar per trading date, week or month.
PERIOD_TIMEFRAMES = ("1d", "1w", "1mo")

CALENDAR_FIRST_YEAR = 2010
CALENDAR_LAST_YEAR = 2027

UNKNOWN_TIMEFRAME = "unknown timeframe {timeframe!r}; expected one of 5m, 30m, 1h, 1d, 1w, 1mo"


def _d(text: str) -> date:
    return date.fromisoformat(text)


# Weekday closures only matter; weekend dates are listed where the holiday itself fell on one so
# the table reads as the official calendar. Names use the KRX notice wording.
_HOLIDAYS_BY_YEAR: dict[int, dict[str, str]] = {
    2010: {
        "2010-01-01": "신정",
        "2010-02-13": "설날 연휴",
        "2010-02-14": "설날",
        "2010-02-15": "설날 연휴",
        "2010-03-01": "삼일절",
        "2010-05-05": "어린이날",
        "2010-05-21": "부처님오신날",
        "2010-06-02": "제5회 전국동시지방선거",
        "2010-06-06": "현충일",
        "2010-08-15": "광복절",
        "2010-09-21": "추석 연휴",
        "2010-09-22": "추석",
        "2010-09-23": "추석 연휴",
        "2010-10-03": "개천절",
        "2010-12-25": "성탄절",
        "2010-12-31": "연말 휴장",
    },
    2011: {
        "2011-01-01": "신정",
        "2011-02-02": "설날 연휴",
        "2011-02-03": "설날",
        "2011-02-04": "설날 연휴",
        "2011-03-01": "삼일절",
        "2011-05-05": "어린이날",
        "2011-05-10": "부처님오신날",
        "2011-06-06": "현충일",
        "2011-08-15": "광복절",
        "2011-09-11": "추석 연휴",
        "2011-09-12": "추석",
        "2011-09-13": "추석 연휴",
        "2011-10-03": "개천절",
        "2011-12-25": "성탄절",
        "2011-12-30": "연말 휴장",
    },
    2012: {
        "2012-01-01": "신정",
        "2012-01-22": "설날 연휴",
        "2012-01-23": "설날",
        "2012-01-24": "설날 연휴",
        "2012-03-01": "삼일절",
        "2012-04-11": "제19대 국회의원선거",
        "2012-05-05": "어린이날",
        "2012-05-28": "부처님오신날",
        "2012-06-06": "현충일",
        "2012-08-15": "광복절",
        "2012-09-29": "추석 연휴",
        "2012-09-30": "추석",
        "2012-10-01": "추석 연휴",
        "2012-10-03": "개천절",
        "2012-12-19": "제18대 대통령선거",
        "2012-12-25": "성탄절",
        "2012-12-31": "연말 휴장",
    },
    2013: {
        "2013-01-01": "신정",
        "2013-02-09": "설날 연휴",
        "2013-02-10": "설날",
        "2013-02-11": "설날 연휴",
        "2013-03-01": "삼일절",
        "2013-05-05": "어린이날",
        "2013-05-17": "부처님오신날",
        "2013-06-06": "현충일",
        "2013-08-15": "광복절",
        "2013-09-18": "추석 연휴",
        "2013-09-19": "추석",
        "2013-09-20": "추석 연휴",
        "2013-10-03": "개천절",
        "2013-10-09": "한글날",
        "2013-12-25": "성탄절",
        "2013-12-31": "연말 휴장",
    },
    2014: {
        "2014-01-01": "신정",
        "2014-01-30": "설날 연휴",
        "2014-01-31": "설날",
        "2014-02-01": "설날 연휴",
        "2014-03-01": "삼일절",
        "2014-05-05": "어린이날",
        "2014-05-06": "부처님오신날",
        "2014-06-04": "제6회 전국동시지방선거",
        "2014-06-06": "현충일",
        "2014-08-15": "광복절",
        "2014-09-07": "추석 연휴",
        "2014-09-08": "추석",
        "2014-09-09": "추석 연휴",
        "2014-09-10": "대체공휴일(추석)",
        "2014-10-03": "개천절",
        "2014-10-09": "한글날",
        "2014-12-25": "성탄절",
        "2014-12-31": "연말 휴장",
    },
    2015: {
        "2015-01-01": "신정",
        "2015-02-18": "설날 연휴",
        "2015-02-19": "설날",
        "2015-02-20": "설날 연휴",
        "2015-03-01": "삼일절",
        "2015-05-05": "어린이날",
        "2015-05-25": "부처님오신날",
        "2015-06-06": "현충일",
        "2015-08-14": "임시공휴일(광복 70주년)",
        "2015-08-15": "광복절",
        "2015-09-26": "추석 연휴",
        "2015-09-27": "추석",
        "2015-09-28": "추석 연휴",
        "2015-09-29": "대체공휴일(추석)",
        "2015-10-03": "개천절",
        "2015-10-09": "한글날",
        "2015-12-25": "성탄절",
        "2015-12-31": "연말 휴장",
    },
    2016: {
        "2016-01-01": "신정",
        "2016-02-07": "설날 연휴",
        "2016-02-08": "설날",
        "2016-02-09": "설날 연휴",
        "2016-02-10": "대체공휴일(설날)",
        "2016-03-01": "삼일절",
        "2016-04-13": "제20대 국회의원선거",
        "2016-05-05": "어린이날",
        "2016-05-06": "임시공휴일",
        "2016-05-14": "부처님오신날",
        "2016-06-06": "현충일",
        "2016-08-15": "광복절",
        "2016-09-14": "추석 연휴",
        "2016-09-15": "추석",
        "2016-09-16": "추석 연휴",
        "2016-10-03": "개천절",
        "2016-10-09": "한글날",
        "2016-12-25": "성탄절",
        "2016-12-30": "연말 휴장",
    },
    2017: {
        "2017-01-01": "신정",
        "2017-01-27": "설날 연휴",
        "2017-01-28": "설날",
        "2017-01-29": "설날 연휴",
        "2017-01-30": "대체공휴일(설날)",
        "2017-03-01": "삼일절",
        "2017-05-03": "부처님오신날",
        "2017-05-05": "어린이날",
        "2017-05-09": "제19대 대통령선거",
        "2017-06-06": "현충일",
        "2017-08-15": "광복절",
        "2017-10-02": "임시공휴일",
        "2017-10-03": "개천절·추석 연휴",
        "2017-10-04": "추석",
        "2017-10-05": "추석 연휴",
        "2017-10-06": "대체공휴일(추석)",
        "2017-10-09": "한글날",
        "2017-12-25": "성탄절",
        "2017-12-29": "연말 휴장",
    },
    2018: {
        "2018-01-01": "신정",
        "2018-02-15": "설날 연휴",
        "2018-02-16": "설날",
        "2018-02-17": "설날 연휴",
        "2018-03-01": "삼일절",
        "2018-05-05": "어린이날",
        "2018-05-07": "대체공휴일(어린이날)",
        "2018-05-22": "부처님오신날",
        "2018-06-06": "현충일",
        "2018-06-13": "제7회 전국동시지방선거",
        "2018-08-15": "광복절",
        "2018-09-23": "추석 연휴",
        "2018-09-24": "추석",
        "2018-09-25": "추석 연휴",
        "2018-09-26": "대체공휴일(추석)",
        "2018-10-03": "개천절",
        "2018-10-09": "한글날",
        "2018-12-25": "성탄절",
        "2018-12-31": "연말 휴장",
    },
    2019: {
        "2019-01-01": "신정",
        "2019-02-04": "설날 연휴",
        "2019-02-05": "설날",
        "2019-02-06": "설날 연휴",
        "2019-03-01": "삼일절",
        "2019-05-05": "어린이날",
        "2019-05-06": "대체공휴일(어린이날)",
        "2019-05-12": "부처님오신날",
        "2019-06-06": "현충일",
        "2019-08-15": "광복절",
        "2019-09-12": "추석 연휴",
        "2019-09-13": "추석",
        "2019-09-14": "추석 연휴",
        "2019-10-03": "개천절",
        "2019-10-09": "한글날",
        "2019-12-25": "성탄절",
        "2019-12-31": "연말 휴장",
    },
    2020: {
        "2020-01-01": "신정",
        "2020-01-24": "설날 연휴",
        "2020-01-25": "설날",
        "2020-01-26": "설날 연휴",
        "2020-01-27": "대체공휴일(설날)",
        "2020-03-01": "삼일절",
        "2020-04-15": "제21대 국회의원선거",
        "2020-04-30": "부처님오신날",
        "2020-05-05": "어린이날",
        "2020-06-06": "현충일",
        "2020-08-15": "광복절",
        "2020-08-17": "임시공휴일",
        "2020-09-30": "추석 연휴",
        "2020-10-01": "추석",
        "2020-10-02": "추석 연휴",
        "2020-10-03": "개천절",
        "2020-10-09": "한글날",
        "2020-12-25": "성탄절",
        "2020-12-31": "연말 휴장",
    },
    2021: {
        "2021-01-01": "신정",
        "2021-02-11": "설날 연휴",
        "2021-02-12": "설날",
        "2021-02-13": "설날 연휴",
        "2021-03-01": "삼일절",
        "2021-05-05": "어린이날",
        "2021-05-19": "부처님오신날",
        "2021-06-06": "현충일",
        "2021-08-15": "광복절",
        "2021-08-16": "대체공휴일(광복절)",
        "2021-09-20": "추석 연휴",
        "2021-09-21": "추석",
        "2021-09-22": "추석 연휴",
        "2021-10-03": "개천절",
        "2021-10-04": "대체공휴일(개천절)",
        "2021-10-09": "한글날",
        "2021-10-11": "대체공휴일(한글날)",
        "2021-12-25": "성탄절",
        "2021-12-31": "연말 휴장",
    },
    2022: {
        "2022-01-01": "신정",
        "2022-01-31": "설날 연휴",
        "2022-02-01": "설날",
        "2022-02-02": "설날 연휴",
        "2022-03-01": "삼일절",
        "2022-03-09": "제20대 대통령선거",
        "2022-05-05": "어린이날",
        "2022-05-08": "부처님오신날",
        "2022-06-01": "제8회 전국동시지방선거",
        "2022-06-06": "현충일",
        "2022-08-15": "광복절",
        "2022-09-09": "추석 연휴",
        "2022-09-10": "추석",
        "2022-09-11": "추석 연휴",
        "2022-09-12": "대체공휴일(추석)",
        "2022-10-03": "개천절",
        "2022-10-09": "한글날",
        "2022-10-10": "대체공휴일(한글날)",
        "2022-12-25": "성탄절",
        "2022-12-30": "연말 휴장",
    },
    2023: {
        "2023-01-01": "신정",
        "2023-01-21": "설날 연휴",
        "2023-01-22": "설날",
        "2023-01-23": "설날 연휴",
        "2023-01-24": "대체공휴일(설날)",
        "2023-03-01": "삼일절",
        "2023-05-05": "어린이날",
        "2023-05-27": "부처님오신날",
        "2023-05-29": "대체공휴일(부처님오신날)",
        "2023-06-06": "현충일",
        "2023-08-15": "광복절",
        "2023-09-28": "추석 연휴",
        "2023-09-29": "추석",
        "2023-09-30": "추석 연휴",
        "2023-10-02": "임시공휴일",
        "2023-10-03": "개천절",
        "2023-10-09": "한글날",
        "2023-12-25": "성탄절",
        "2023-12-29": "연말 휴장",
    },
    2024: {
        "2024-01-01": "신정",
        "2024-02-09": "설날 연휴",
        "2024-02-10": "설날",
        "2024-02-11": "설날 연휴",
        "2024-02-12": "대체공휴일(설날)",
        "2024-03-01": "삼일절",
        "2024-04-10": "제22대 국회의원선거",
        "2024-05-05": "어린이날",
        "2024-05-06": "대체공휴일(어린이날)",
        "2024-05-15": "부처님오신날",
        "2024-06-06": "현충일",
        "2024-08-15": "광복절",
        "2024-09-16": "추석 연휴",
        "2024-09-17": "추석",
        "2024-09-18": "추석 연휴",
        "2024-10-01": "임시공휴일(국군의 날)",
        "2024-10-03": "개천절",
        "2024-10-09": "한글날",
        "2024-12-25": "성탄절",
        "2024-12-31": "연말 휴장",
    },
    2025: {
        "2025-01-01": "신정",
        "2025-01-27": "임시공휴일",
        "2025-01-28": "설날 연휴",
        "2025-01-29": "설날",
        "2025-01-30": "설날 연휴",
        "2025-03-01": "삼일절",
        "2025-03-03": "대체공휴일(삼일절)",
        "2025-05-05": "어린이날·부처님오신날",
        "2025-05-06": "대체공휴일(부처님오신날)",
        "2025-06-03": "제21대 대통령선거",
        "2025-06-06": "현충일",
        "2025-08-15": "광복절",
        "2025-10-03": "개천절",
        "2025-10-05": "추석 연휴",
        "2025-10-06": "추석",
        "2025-10-07": "추석 연휴",
        "2025-10-08": "대체공휴일(추석)",
        "2025-10-09": "한글날",
        "2025-12-25": "성탄절",
        "2025-12-31": "연말 휴장",
    },
    2026: {
        "2026-01-01": "신정",
        "2026-02-16": "설날 연휴",
        "2026-02-17": "설날",
        "2026-02-18": "설날 연휴",
        "2026-03-01": "삼일절",
        "2026-03-02": "대체공휴일(삼일절)",
        "2026-05-01": "노동절",
        "2026-05-05": "어린이날",
        "2026-05-24": "부처님오신날",
        "2026-05-25": "대체공휴일(부처님오신날)",
        "2026-06-03": "제9회 전국동시지방선거",
        "2026-06-06": "현충일",
        "2026-07-17": "제헌절",
        "2026-08-15": "광복절",
        "2026-08-17": "대체공휴일(광복절)",
        "2026-09-24": "추석 연휴",
        "2026-09-25": "추석",
        "2026-09-26": "추석 연휴",
        "2026-10-03": "개천절",
        "2026-10-05": "대체공휴일(개천절)",
        "2026-10-09": "한글날",
        "2026-12-25": "성탄절",
        "2026-12-31": "연말 휴장",
    },
    2027: {
        "2027-01-01": "신정",
        "2027-02-06": "설날 연휴",
        "2027-02-07": "설날",
        "2027-02-08": "설날 연휴",
        "2027-02-09": "대체공휴일(설날)",
        "2027-03-01": "삼일절",
        "2027-05-01": "노동절",
        "2027-05-03": "대체공휴일(노동절)",
        "2027-05-05": "어린이날",
        "2027-05-13": "부처님오신날",
        "2027-06-06": "현충일",
        "2027-07-17": "제헌절",
        "2027-07-19": "대체공휴일(제헌절)",
        "2027-08-15": "광복절",
        "2027-08-16": "대체공휴일(광복절)",
        "2027-09-14": "추석 연휴",
        "2027-09-15": "추석",
        "2027-09-16": "추석 연휴",
        "2027-10-03": "개천절",
        "2027-10-04": "대체공휴일(개천절)",
        "2027-10-09": "한글날",
        "2027-10-11": "대체공휴일(한글날)",
        "2027-12-25": "성탄절",
        "2027-12-27": "대체공휴일(성탄절)",
        "2027-12-31": "연말 휴장",
    },
}

# 근로자의 날 (May 1) closes KRX every year; until 2025 it was not a public holiday (since 2026
# it is, as 노동절, together with 제헌절, both with substitute holidays).
for _year, _days in _HOLIDAYS_BY_YEAR.items():
    _days.setdefault(f"{_year}-05-01", "근로자의 날")

KRX_HOLIDAYS: dict[date, str] = {
    _d(day): name for days in _HOLIDAYS_BY_YEAR.values() for day, name in days.items()
}

# Fixed-date closures assumed for years outside the table (lunar holidays cannot be known).
_FIXED_CLOSURES = {
    (1, 1): "신정",
    (3, 1): "삼일절",
    (5, 1): "근로자의 날",
    (5, 5): "어린이날",
    (6, 6): "현충일",
    (7, 17): "제헌절",
    (8, 15): "광복절",
    (10, 3): "개천절",
    (10, 9): "한글날",
    (12, 25): "성탄절",
}


def holiday_name(d: date) -> str | None:
    """The KRX closure name for a weekday `d`, or None when `d` is not a holiday.

    Weekends return None unless the table names them (they are closed either way).
    """
    if CALENDAR_FIRST_YEAR <= d.year <= CALENDAR_LAST_YEAR:
        return KRX_HOLIDAYS.get(d)
    name = _FIXED_CLOSURES.get((d.month, d.day))
    if name and (name != "제헌절" or d.year >= 2026):
        return name
    if d.month == 12 and d == _last_weekday_of_year(d.year):
        return "연말 휴장"
    return None


def _last_weekday_of_year(year: int) -> date:
    d = date(year, 12, 31)
    while d.weekday() >= 5:
        d -= timedelta(days=1)
    return d


def is_trading_day(d: date) -> bool:
    """True when KRX holds its regular session on the KST calendar date `d`."""
    if isinstance(d, datetime):
        raise TypeError("is_trading_day takes a date, not a datetime")
    return d.weekday() < 5 and holiday_name(d) is None


@lru_cache(maxsize=64)
def _trading_days_of_year(year: int) -> tuple[date, ...]:
    d = date(year, 1, 1)
    days = []
    while d.year == year:
        if is_trading_day(d):
            days.append(d)
        d += timedelta(days=1)
    return tuple(days)


def trading_days(start: date, end: date) -> list[date]:
    """All trading dates in [start, end] (both inclusive), ascending; empty when start > end."""
    result: list[date] = []
    for year in range(start.year, end.year + 1):
        days = _trading_days_of_year(year)
        lo = bisect.bisect_left(days, start)
        hi = bisect.bisect_right(days, end)
        result.extend(days[lo:hi])
    return result


def previous_trading_day(d: date) -> date:
    """The last trading date strictly before `d`."""
    d -= timedelta(days=1)
    while not is_trading_day(d):
        d -= timedelta(days=1)
    return d


def next_trading_day(d: date) -> date:
    """The first trading date strictly after `d`."""
    d += timedelta(days=1)
    while not is_trading_day(d):
        d += timedelta(days=1)
    return d


def session_open(d: date) -> datetime:
    """09:00 KST on date `d` (aware)."""
    return datetime.combine(d, SESSION_OPEN, tzinfo=KST)


def session_close(d: date) -> datetime:
    """15:30 KST on date `d` (aware)."""
    return datetime.combine(d, SESSION_CLOSE, tzinfo=KST)


def intraday_offsets(timeframe: str) -> list[int]:
    """Minutes after 09:00 at which the intraday bars of `timeframe` start (5m: 0, 5, …, 385)."""
    step = INTRADAY_MINUTES[timeframe]
    return list(range(0, SESSION_MINUTES, step))


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def period_start(timeframe: str, d: date) -> date:
    """The date that keys the daily/weekly/monthly bar containing date `d` (d, Monday, 1st)."""
    if timeframe == "1d":
        return d
    if timeframe == "1w":
        return _monday(d)
    if timeframe == "1mo":
        return d.replace(day=1)
    raise ValueError(UNKNOWN_TIMEFRAME.format(timeframe=timeframe))


def bar_starts(timeframe: str, start: date, end: date) -> list[datetime]:
    """The aware KST bar-start instants of `timeframe` for the trading dates in [start, end].

    Intraday bars are those of each trading date's session; 1d bars are 00:00 KST of each trading
    date; 1w and 1mo bars are those whose week/month holds at least one trading date in
    [start, end] — so the first one may start before `start` (a Monday or a 1st). Ascending.
    """
    days = trading_days(start, end)
    if timeframe in INTRADAY_MINUTES:
        offsets = [timedelta(minutes=m) for m in intraday_offsets(timeframe)]
        return [session_open(d) + off for d in days for off in offsets]
    if timeframe not in PERIOD_TIMEFRAMES:
        raise ValueError(UNKNOWN_TIMEFRAME.format(timeframe=timeframe))
    keys = sorted({period_start(timeframe, d) for d in days})
    return [datetime.combine(k, time(0), tzinfo=KST) for k in keys]


def bar_start_for(timeframe: str, instant: datetime) -> datetime | None:
    """The start of the `timeframe` bar that contains the aware `instant`, or None when the
    instant is outside every bar (intraday: outside a session; 1d/1w/1mo: a non-trading period).

    Daily-type bars contain the whole period (a 1d bar contains all of its trading date).
    """
    local = instant.astimezone(KST)
    d = local.date()
    if timeframe in INTRADAY_MINUTES:
        if not is_trading_day(d):
            return None
        minutes = (local - session_open(d)).total_seconds() / 60
        if minutes < 0 or minutes >= SESSION_MINUTES:
            return None
        step = INTRADAY_MINUTES[timeframe]
        return session_open(d) + timedelta(minutes=int(minutes // step) * step)
    key = period_start(timeframe, d)
    return datetime.combine(key, time(0), tzinfo=KST)


def bar_end(timeframe: str, bar_start: datetime) -> datetime:
    """When the bar starting at `bar_start` stops changing (aware KST).

    Intraday: start + width, capped at 15:30; 1d: 15:30 of that date; 1w/1mo: 15:30 of the last
    trading date of the week/month (the period's end when it has none).
    """
    local = bar_start.astimezone(KST)
    d = local.date()
    if timeframe in INTRADAY_MINUTES:
        return min(local + timedelta(minutes=INTRADAY_MINUTES[timeframe]), session_close(d))
    if timeframe == "1d":
        return session_close(d)
    if timeframe == "1w":
        last = d + timedelta(days=6)
    elif timeframe == "1mo":
        last = (d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    else:
        raise ValueError(UNKNOWN_TIMEFRAME.format(timeframe=timeframe))
    days = trading_days(d, last)
    return session_close(days[-1] if days else last)

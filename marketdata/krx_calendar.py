"""The KRX (Korea Exchange) trading calendar: sessions, their hours and the bar grid per timeframe.

The one home of the project's time-and-timeframe vocabulary: `KST`, the timeframe codes
(`TIMEFRAMES`, `INTRADAY_MINUTES`, `INTRADAY_TIMEFRAMES`, `PERIOD_TIMEFRAMES`), the bar-period
start (`period_start`), the bar grid (`bar_starts`, `bar_start_for`, `bar_end`) and the trading
days and sessions. Every other module imports these names from here.

Sessions come from the XKRX calendar of `exchange-calendars` (computed, nothing is downloaded):
trading days, holidays, and each day's open and close — 09:00–15:30 KST since 2016-08-01,
09:00–15:00 before; the first trading day of each year opens at 10:00; on the college entrance
exam day (수능) the market opens at 10:00 and closes an hour late. `OVERRIDES` below corrects
what the library does not have yet, each entry with its source (`manage.py calendar --year Y`
lists a year's closures and special sessions). The library is asked once per process for the
years the project stores (2010–2050; its lunar holiday rules cost about a second or two of CPU,
most of it fixed) and, only if a look-back reaches them, once for 2001–2009; each year's lookups
are then cached, so every function here is a dict lookup or a bisect. Outside 2001–2050 no
session is known: such dates are not trading days and hold no bars, and `previous_trading_day`/
`next_trading_day` raise `OutsideCalendar` when no trading day is left.

Pure Python, no Django. Dates are KST calendar dates; instants are aware datetimes in `KST`.

Bar-start convention (what `Candle.ts` stores):
- 5m, 30m, 1h: the bar's start instant in KST; the session's open starts the first bar and the
  bars follow every 5/30/60 minutes until the close (a regular day: 5m 09:00…15:25, 30m and 1h
  09:00…15:00, the 15:00 1h bar lasting 30 minutes; a 10:00–16:30 수능 day: 5m 10:00…16:25);
- 1d: 00:00 KST of the trading date;
- 1w: 00:00 KST of the Monday of the week (even when that Monday is a holiday);
- 1mo: 00:00 KST of the 1st of the month.
"""

from __future__ import annotations

import bisect
import functools
import threading
import warnings
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

KST = ZoneInfo("Asia/Seoul")

# Timeframe codes, shortest first (`marketdata.models.Timeframe` holds the same values).
TIMEFRAMES = ("5m", "30m", "1h", "1d", "1w", "1mo")
# Intraday timeframes and their bar width in minutes.
INTRADAY_MINUTES = {"5m": 5, "30m": 30, "1h": 60}
INTRADAY_TIMEFRAMES = tuple(INTRADAY_MINUTES)
# Daily-type timeframes: one bar per trading date, week or month.
PERIOD_TIMEFRAMES = ("1d", "1w", "1mo")

# The years the calendar covers: from the first full year of today's continuous session (no
# lunch break since 2000-05-22, no Saturday session since 1998-12-07) to the library's bound.
FIRST_YEAR = 2001
LAST_YEAR = 2050
# The library is asked in two blocks of years, each once per process when first needed: the
# years the project stores, and the older ones (only for look-backs that reach them).
STORED_FIRST_YEAR = 2010
_BLOCKS = ((FIRST_YEAR, STORED_FIRST_YEAR - 1), (STORED_FIRST_YEAR, LAST_YEAR))

UNKNOWN_TIMEFRAME = "unknown timeframe {timeframe!r}; expected one of 5m, 30m, 1h, 1d, 1w, 1mo"
OUTSIDE_CALENDAR = "{day} is outside the KRX calendar ({first}–{last})"

SOURCE_LIBRARY = "exchange-calendars XKRX"
SOURCE_OVERRIDE = "override"


class OutsideCalendar(ValueError):
    """A date outside FIRST_YEAR–LAST_YEAR, where no session is known."""


@dataclass(frozen=True)
class Override:
    """A correction of the library's calendar for one date: a closure (`open`/`close` None) or
    a session with other hours (KST). `source` says where the fact comes from."""

    day: date
    name: str
    source: str
    open: time | None = None
    close: time | None = None

    @property
    def closed(self) -> bool:
        return self.open is None


_PUBLIC_HOLIDAY = (
    "KRX closes on public holidays (유가증권시장 업무규정 §5 휴장일); {what} "
    "(관공서의 공휴일에 관한 규정)"
)
_CSAT = (
    "KRX notice for the {year} 수능 day (the regular market opens and closes one hour late, "
    "10:00–16:30 KST){report}; XKRX lists exam-day sessions only up to 2020-12-03"
)
# Press reports of each year's notice, where one was at hand.
_CSAT_REPORTS = {
    2021: "https://www.donga.com/news/amp/all/20211104/110076830/1",
    2022: "https://m.khan.co.kr/economy/finance/article/202211161242001",
    2024: "https://m.khan.co.kr/article/202410311029001",
    2025: "https://www.edaily.co.kr/News/Read?newsId=05520246642365064&mediaCodeNo=257",
}

# What exchange-calendars 4.13.2 does not have yet. To add one: an entry here with its source;
# the comparison test (test_krx_calendar.py) then expects exactly this difference from XKRX.
OVERRIDES: tuple[Override, ...] = (
    Override(
        date(2026, 6, 3),
        "제9회 전국동시지방선거",
        _PUBLIC_HOLIDAY.format(what="election days of nationwide elections are public holidays"),
    ),
    Override(
        date(2026, 7, 17),
        "제헌절",
        _PUBLIC_HOLIDAY.format(what="제헌절 is a public holiday again from 2026"),
    ),
    Override(
        date(2027, 5, 3),
        "대체공휴일(노동절)",
        _PUBLIC_HOLIDAY.format(
            what="노동절 (May 1) is a public holiday from 2026; 2027-05-01 is a Saturday, so the "
            "Monday after is the substitute holiday"
        ),
    ),
    Override(
        date(2027, 7, 19),
        "대체공휴일(제헌절)",
        _PUBLIC_HOLIDAY.format(
            what="2027-07-17 (제헌절) is a Saturday, so the Monday after is the substitute holiday"
        ),
    ),
    *(
        Override(
            day,
            "수능 (college entrance exam)",
            _CSAT.format(
                year=day.year,
                report=f", reported at {_CSAT_REPORTS[day.year]}"
                if day.year in _CSAT_REPORTS
                else "",
            ),
            time(10),
            time(16, 30),
        )
        for day in (
            date(2021, 11, 18),
            date(2022, 11, 17),
            date(2023, 11, 16),
            date(2024, 11, 14),
            date(2025, 11, 13),
            date(2026, 11, 19),
        )
    ),
)
OVERRIDES_BY_DAY: dict[date, Override] = {o.day: o for o in OVERRIDES}


@dataclass(frozen=True, slots=True)
class Session:
    """One trading day: its open and close (aware KST) and where they come from."""

    day: date
    open: datetime
    close: datetime
    source: str


@dataclass(frozen=True, slots=True)
class Special:
    """A session with other hours than `regular_hours`, and why."""

    day: date
    open: datetime
    close: datetime
    name: str
    source: str


@dataclass(frozen=True, slots=True)
class Closure:
    """A weekday without a session, and why."""

    day: date
    name: str
    source: str


# --- the library, asked once per process ---------------------------------------------------

_library_lock = threading.Lock()
_library_blocks: dict[tuple[int, int], dict[date, tuple[time, time]]] = {}


def library_sessions(year: int = STORED_FIRST_YEAR) -> dict[date, tuple[time, time]]:
    """{date: (open, close) KST} of every XKRX session in the block of years holding `year`
    (STORED_FIRST_YEAR–LAST_YEAR by default), without the overrides. Computed when first asked
    (about a second or two of CPU), then kept."""
    _check_year(year, date(year, 1, 1))
    block = next(b for b in _BLOCKS if b[0] <= year <= b[1])
    with _library_lock:
        if block not in _library_blocks:
            _library_blocks[block] = _compute_library_sessions(*block)
        return _library_blocks[block]


def _compute_library_sessions(first_year: int, last_year: int) -> dict[date, tuple[time, time]]:
    # Imported here: the library and pandas load only when a calendar function first runs.
    import pandas as pd
    from exchange_calendars.exchange_calendar import HolidayCalendar
    from exchange_calendars.exchange_calendar_xkrx import XKRXExchangeCalendar
    from exchange_calendars.xkrx_holidays import krx_regular_holiday_rules
    from pandas.tseries.offsets import CustomBusinessDay

    first = pd.Timestamp(first_year, 1, 1)
    last = pd.Timestamp(last_year, 12, 31)

    class CoveredXKRX(XKRXExchangeCalendar):
        # XKRX's own `day` evaluates its lunar holiday rules for 1956–2050 (many seconds);
        # the same rules over the covered years give the same sessions (the comparison test
        # checks this against the plain calendar).
        @functools.cached_property
        def day(self):
            regular = HolidayCalendar(krx_regular_holiday_rules).holidays(first, last)
            return CustomBusinessDay(
                holidays=pd.DatetimeIndex(self.adhoc_holidays).union(regular),
                weekmask=self.weekmask,
            )

    with warnings.catch_warnings():
        # pandas 3.1 deprecations inside the library's schedule building; nothing to act on here.
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        schedule = CoveredXKRX(start=first, end=last).schedule
    opens = schedule["open"].dt.tz_convert(KST)
    closes = schedule["close"].dt.tz_convert(KST)
    return {
        label.date(): (opened.time(), closed.time())
        for label, opened, closed in zip(schedule.index, opens, closes, strict=True)
    }


# --- one year ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Year:
    days: tuple[date, ...]  # trading dates, ascending
    sessions: dict[date, Session]


def _check_year(year: int, day: date) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise OutsideCalendar(OUTSIDE_CALENDAR.format(day=day, first=FIRST_YEAR, last=LAST_YEAR))


@functools.cache
def _year(year: int) -> _Year:
    _check_year(year, date(year, 1, 1))
    sessions: dict[date, Session] = {}
    library = library_sessions(year)
    day = date(year, 1, 1)
    while day.year == year:
        if day in library:
            opened, closed = library[day]
            sessions[day] = Session(day, _at(day, opened), _at(day, closed), SOURCE_LIBRARY)
        day += timedelta(days=1)
    for override in OVERRIDES:
        if override.day.year != year:
            continue
        if override.closed:
            sessions.pop(override.day, None)
        else:
            sessions[override.day] = Session(
                override.day,
                _at(override.day, override.open),
                _at(override.day, override.close),
                SOURCE_OVERRIDE,
            )
    days = tuple(sorted(sessions))
    return _Year(days, {day: sessions[day] for day in days})


def _at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=KST)


def session(d: date) -> Session | None:
    """The session held on KST date `d`, or None when KRX does not trade that day (or `d` is
    outside the calendar's years, where no session is known)."""
    if isinstance(d, datetime):
        raise TypeError("session takes a date, not a datetime")
    if not FIRST_YEAR <= d.year <= LAST_YEAR:
        return None
    return _year(d.year).sessions.get(d)


def is_trading_day(d: date) -> bool:
    """True when KRX holds a session on the KST calendar date `d`."""
    return session(d) is not None


def _covered_years(start: date, end: date) -> range:
    """The calendar's years between the dates `start` and `end` (inclusive)."""
    return range(max(start.year, FIRST_YEAR), min(end.year, LAST_YEAR) + 1)


def trading_days(start: date, end: date) -> list[date]:
    """All trading dates in [start, end] (both inclusive), ascending; empty when start > end.
    Dates outside the calendar's years have none."""
    result: list[date] = []
    for year in _covered_years(start, end):
        days = _year(year).days
        result.extend(days[bisect.bisect_left(days, start) : bisect.bisect_right(days, end)])
    return result


def previous_trading_day(d: date) -> date:
    """The last trading date strictly before `d`; OutsideCalendar when the calendar knows none."""
    for year in range(min(d.year, LAST_YEAR), FIRST_YEAR - 1, -1):
        days = _year(year).days
        i = bisect.bisect_left(days, d)
        if i:
            return days[i - 1]
    raise OutsideCalendar(OUTSIDE_CALENDAR.format(day=d, first=FIRST_YEAR, last=LAST_YEAR))


def next_trading_day(d: date) -> date:
    """The first trading date strictly after `d`; OutsideCalendar when the calendar knows none."""
    for year in range(max(d.year, FIRST_YEAR), LAST_YEAR + 1):
        days = _year(year).days
        i = bisect.bisect_right(days, d)
        if i < len(days):
            return days[i]
    raise OutsideCalendar(OUTSIDE_CALENDAR.format(day=d, first=FIRST_YEAR, last=LAST_YEAR))


def session_open(d: date) -> datetime:
    """When the session of trading date `d` opens (aware KST); ValueError on a closed day."""
    return _session_of(d).open


def session_close(d: date) -> datetime:
    """When the session of trading date `d` closes (aware KST); ValueError on a closed day."""
    return _session_of(d).close


def _session_of(d: date) -> Session:
    found = session(d)
    if found is None:
        raise ValueError(f"KRX does not trade on {d}")
    return found


def closures(year: int) -> list[Closure]:
    """The weekdays of `year` without a session, with their names (the library's English
    holiday names, or the override's) and sources. Slower than the rest (the library evaluates
    its holiday rules again for the names): for `manage.py calendar`, not for hot paths."""
    _check_year(year, date(year, 1, 1))
    sessions = _year(year).sessions
    names = _library_holiday_names(year)
    result = []
    d = date(year, 1, 1)
    while d.year == year:
        if d.weekday() < 5 and d not in sessions:
            override = OVERRIDES_BY_DAY.get(d)
            if override:
                result.append(Closure(d, override.name, f"{SOURCE_OVERRIDE}: {override.source}"))
            else:
                name = names.get(d, "holiday (the library's precomputed list)")
                result.append(Closure(d, name, SOURCE_LIBRARY))
        d += timedelta(days=1)
    return result


def _library_holiday_names(year: int) -> dict[date, str]:
    import pandas as pd
    from exchange_calendars.exchange_calendar import HolidayCalendar
    from exchange_calendars.xkrx_holidays import krx_regular_holiday_rules

    named = HolidayCalendar(krx_regular_holiday_rules).holidays(
        pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 31), return_name=True
    )
    names: dict[date, str] = {}
    for day, name in named.items():
        names.setdefault(day.date(), name)
    return names


def library_version() -> str:
    """The installed exchange-calendars version (requirements.txt pins it)."""
    from importlib.metadata import version

    return version("exchange-calendars")


def regular_hours(d: date) -> tuple[time, time]:
    """The ordinary session hours (KST) of the era of `d`: 09:00–15:30 from 2016-08-01,
    09:00–15:00 before."""
    return (time(9), time(15, 30)) if d >= date(2016, 8, 1) else (time(9), time(15))


def special_sessions(year: int) -> list[Special]:
    """The sessions of `year` whose hours differ from `regular_hours` (late opens, 수능 days),
    with the reason and source."""
    from exchange_calendars.xkrx_holidays import precomputed_csat_days

    exam_days = {d.date() for d in precomputed_csat_days}
    days = _year(year).days
    result = []
    for s in _year(year).sessions.values():
        if (s.open.time(), s.close.time()) == regular_hours(s.day):
            continue
        if s.source == SOURCE_OVERRIDE:
            override = OVERRIDES_BY_DAY[s.day]
            name, source = override.name, f"{SOURCE_OVERRIDE}: {override.source}"
        elif s.day in exam_days:
            name, source = "수능 (college entrance exam): 1 h late", SOURCE_LIBRARY
        elif s.day == days[0]:
            name, source = "first trading day of the year: opens 1 h late", SOURCE_LIBRARY
        else:
            name, source = "other hours", SOURCE_LIBRARY
        result.append(Special(s.day, s.open, s.close, name, source))
    return result


# --- the bar grid ---------------------------------------------------------------------------


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


def session_bar_starts(timeframe: str, d: date) -> list[datetime]:
    """The intraday bar starts (aware KST) of `timeframe` in the session of date `d` (empty on
    a closed day): from the open, every bar width, while before the close."""
    return list(_day_bars(timeframe, d))


@lru_cache(maxsize=4096)
def _day_bars(timeframe: str, d: date) -> tuple[datetime, ...]:
    found = session(d)
    if found is None:
        return ()
    step = timedelta(minutes=INTRADAY_MINUTES[timeframe])
    bars = []
    start = found.open
    while start < found.close:
        bars.append(start)
        start += step
    return tuple(bars)


@lru_cache(maxsize=128)
def _year_bars(timeframe: str, year: int) -> tuple[tuple[datetime, ...], tuple[date, ...]]:
    """Every bar start of `timeframe` in `year` and, aligned with it, the date of each bar."""
    starts: list[datetime] = []
    days: list[date] = []
    if timeframe in INTRADAY_MINUTES:
        for d in _year(year).days:
            bars = _day_bars(timeframe, d)
            starts.extend(bars)
            days.extend([d] * len(bars))
    else:
        keys: list[date] = []
        for d in _year(year).days:
            key = period_start(timeframe, d)
            if not keys or keys[-1] != key:
                keys.append(key)
                days.append(d)
        starts = [datetime.combine(k, time(0), tzinfo=KST) for k in keys]
    return tuple(starts), tuple(days)


def bar_starts(timeframe: str, start: date, end: date) -> list[datetime]:
    """The aware KST bar-start instants of `timeframe` for the trading dates in [start, end].

    Intraday bars are those of each trading date's session; 1d bars are 00:00 KST of each trading
    date; 1w and 1mo bars are those whose week/month holds at least one trading date in
    [start, end] — so the first one may start before `start` (a Monday or a 1st). Ascending.
    Dates outside the calendar's years have no bars.
    """
    if timeframe not in INTRADAY_MINUTES and timeframe not in PERIOD_TIMEFRAMES:
        raise ValueError(UNKNOWN_TIMEFRAME.format(timeframe=timeframe))
    if start > end:
        return []
    if timeframe in INTRADAY_MINUTES or timeframe == "1d":
        result: list[datetime] = []
        for year in _covered_years(start, end):
            starts, days = _year_bars(timeframe, year)
            lo = bisect.bisect_left(days, start)
            hi = bisect.bisect_right(days, end)
            result.extend(starts[lo:hi])
        return result
    # A week or month holding trading dates in [start, end]: keyed by its first trading date's
    # period start; weeks can straddle a year, so duplicates are dropped.
    keys: list[date] = []
    for d in trading_days(start, end):
        key = period_start(timeframe, d)
        if not keys or keys[-1] != key:
            keys.append(key)
    return [datetime.combine(k, time(0), tzinfo=KST) for k in keys]


def bar_start_for(timeframe: str, instant: datetime) -> datetime | None:
    """The start of the `timeframe` bar that contains the aware `instant`, or None when the
    instant is outside every bar (intraday: outside that day's session, or outside the
    calendar's years; 1d/1w/1mo: never — daily-type bars contain their whole date, week or month).
    """
    local = instant.astimezone(KST)
    d = local.date()
    if timeframe in INTRADAY_MINUTES:
        found = session(d)
        if found is None or not found.open <= local < found.close:
            return None
        step = INTRADAY_MINUTES[timeframe] * 60
        elapsed = int((local - found.open).total_seconds()) // step * step
        return found.open + timedelta(seconds=elapsed)
    key = period_start(timeframe, d)
    return datetime.combine(key, time(0), tzinfo=KST)


def bar_end(timeframe: str, bar_start: datetime) -> datetime:
    """When the bar starting at `bar_start` stops changing (aware KST): its day's real close
    bounds it.

    Intraday: start + width, capped at that day's close; 1d: the close of that date; 1w/1mo: the
    close of the last trading date of the week/month (when it has none, the end of its last
    day).
    """
    local = bar_start.astimezone(KST)
    d = local.date()
    if timeframe in INTRADAY_MINUTES:
        end = local + timedelta(minutes=INTRADAY_MINUTES[timeframe])
        found = session(d)
        return min(end, found.close) if found else end
    if timeframe == "1d":
        found = session(d)
        return found.close if found else _at(d + timedelta(days=1), time(0))
    if timeframe == "1w":
        last = d + timedelta(days=6)
    elif timeframe == "1mo":
        last = (d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    else:
        raise ValueError(UNKNOWN_TIMEFRAME.format(timeframe=timeframe))
    days = trading_days(d, last)
    return session_close(days[-1]) if days else _at(last + timedelta(days=1), time(0))

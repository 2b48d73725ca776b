"""Label ranges on the bar grid: snapping a typed range to the stored bars of a series (on the
KRX calendar's sessions and holidays), the bars around a range, and KST day filters."""

from bisect import bisect_left, bisect_right
from datetime import datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Max, Min, Q
from django.utils.translation import gettext_lazy as _

from marketdata.krx_calendar import INTRADAY_MINUTES, KST, bar_start_for, bar_starts
from marketdata.models import Candle

END_BEFORE_START = _("The end is before the start.")
NO_BARS_STORED = _("No bars are stored for {symbol} {timeframe} yet.")
RANGE_OUTSIDE_BARS = _(
    "The range is outside the stored bars of {symbol} {timeframe} ({first} – {last} KST)."
)
NO_BARS_IN_RANGE = _("No stored bar of {symbol} {timeframe} falls in this range.")
KEY_POINT_OUTSIDE = _(
    "Key point {role} ({ts}) is outside the labelled range ({start} – {end} KST)."
)


def kst_text(instant: datetime, timeframe: str) -> str:
    """A bar instant as KST text: a date for 1d/1w/1mo, date and time for intraday bars."""
    local = instant.astimezone(KST)
    if timeframe in INTRADAY_MINUTES:
        return local.strftime("%Y-%m-%d %H:%M")
    return local.strftime("%Y-%m-%d")


# Wider than any KRX closure (the longest, Chuseok 2017, kept the market shut for 10 days) and, for
# daily and longer bars, than a month: the bar grid this far around an instant holds its neighbours.
INTRADAY_GRID_DAYS = 14
GRID_DAYS = 35


def _grid_around(timeframe: str, instant: datetime) -> list[datetime]:
    day = instant.astimezone(KST).date()
    span = timedelta(days=INTRADAY_GRID_DAYS if timeframe in INTRADAY_MINUTES else GRID_DAYS)
    return bar_starts(timeframe, day - span, day + span)


def bar_at_or_after(timeframe: str, instant: datetime) -> datetime | None:
    """The start (aware, KST) of the KRX bar of `timeframe` that contains `instant`, or of the
    first bar after it when no session covers it (before 09:00, after 15:30, on a weekend or a
    KRX holiday); None when the calendar has no bar within weeks of it."""
    containing = bar_start_for(timeframe, instant)
    floor = containing if containing is not None else instant
    grid = _grid_around(timeframe, floor)
    i = bisect_left(grid, floor)
    return grid[i] if i < len(grid) else None


def bar_at_or_before(timeframe: str, instant: datetime) -> datetime | None:
    """The start (aware, KST) of the KRX bar of `timeframe` that contains `instant`, or of the
    last bar before it when no session covers it; None when there is none within weeks."""
    containing = bar_start_for(timeframe, instant)
    ceiling = containing if containing is not None else instant
    grid = _grid_around(timeframe, ceiling)
    i = bisect_right(grid, ceiling)
    return grid[i - 1] if i else None


def series_bounds(*, stock, timeframe: str) -> tuple[datetime | None, datetime | None]:
    """(first, last) stored bar instants of one series, or (None, None) when it has none."""
    agg = Candle.objects.filter(stock=stock, timeframe=timeframe).aggregate(
        first=Min("ts"), last=Max("ts")
    )
    return agg["first"], agg["last"]


def label_range_resolve(
    *, stock, timeframe: str, start: datetime, end: datetime, key_points=()
) -> dict:
    """Snaps a range (and its key points) to stored bars; raises ValidationError otherwise.

    `start`/`end` are aware instants. The range becomes the stored bars from the bar containing
    `start` to the bar containing `end` (bars on the KRX grid of `marketdata.krx_calendar`; an
    instant outside every session counts as itself). It is outside the stored bars only when a
    session bar between an end and the stored series is missing: a start on a holiday or before
    09:00 of the first stored day, or an end after 15:30 of the last one, is inside.
    Key points ({role, ts, price}) snap to the stored bar containing their instant (or the last
    one before it) and must lie inside the range.
    Returns {"start_ts", "end_ts", "key_points"} with aware UTC instants (key point `ts` as ISO
    text in KST). Errors are keyed by form field: start, end, key_points.
    """
    symbol = stock.code
    if end < start:
        raise ValidationError({"end": END_BEFORE_START})
    first, last = series_bounds(stock=stock, timeframe=timeframe)
    if first is None:
        raise ValidationError({"start": NO_BARS_STORED.format(symbol=symbol, timeframe=timeframe)})
    lo = bar_start_for(timeframe, start) or start
    hi = bar_start_for(timeframe, end) or end
    # The session bars nearest the ends decide whether the range reaches past the stored bars.
    first_session_bar = bar_at_or_after(timeframe, start) or lo
    last_session_bar = bar_at_or_before(timeframe, end) or hi
    if first_session_bar < first or last_session_bar > last:
        message = RANGE_OUTSIDE_BARS.format(
            symbol=symbol,
            timeframe=timeframe,
            first=kst_text(first, timeframe),
            last=kst_text(last, timeframe),
        )
        raise ValidationError({"start" if first_session_bar < first else "end": message})
    bars = Candle.objects.filter(stock=stock, timeframe=timeframe, ts__gte=lo, ts__lte=hi)
    agg = bars.aggregate(first=Min("ts"), last=Max("ts"))
    if agg["first"] is None:
        raise ValidationError(
            {"start": NO_BARS_IN_RANGE.format(symbol=symbol, timeframe=timeframe)}
        )
    start_ts, end_ts = agg["first"], agg["last"]
    # One query for every key point: the newest stored bar at or before each point's bar start,
    # counted from the range's first bar (a point before it has none, so it is outside).
    key_points = list(key_points)
    floors = [bar_start_for(timeframe, point["ts"]) or point["ts"] for point in key_points]
    snapped = (
        Candle.objects.filter(
            stock=stock, timeframe=timeframe, ts__gte=start_ts, ts__lte=max(floors)
        ).aggregate(
            **{f"p{i}": Max("ts", filter=Q(ts__lte=floor)) for i, floor in enumerate(floors)}
        )
        if floors
        else {}
    )
    resolved_points = []
    for i, point in enumerate(key_points):
        bar_ts = snapped[f"p{i}"]
        if bar_ts is None or not (start_ts <= bar_ts <= end_ts):
            raise ValidationError(
                {
                    "key_points": KEY_POINT_OUTSIDE.format(
                        role=point["role"],
                        ts=kst_text(point["ts"], timeframe),
                        start=kst_text(start_ts, timeframe),
                        end=kst_text(end_ts, timeframe),
                    )
                }
            )
        resolved_points.append(
            {
                "role": point["role"],
                "ts": bar_ts.astimezone(KST).isoformat(),
                "price": float(point["price"]),
            }
        )
    resolved_points.sort(key=lambda p: p["ts"])
    return {"start_ts": start_ts, "end_ts": end_ts, "key_points": resolved_points}


def label_context_bounds(*, stock_id: int, timeframe: str, start_ts, end_ts, context: int):
    """Instants of the bar `context` bars before `start_ts` and after `end_ts` (as far as
    stored bars go; the range's own ends when `context` is 0)."""
    series = Candle.objects.filter(stock_id=stock_id, timeframe=timeframe)
    first, last = start_ts, end_ts
    if context:
        before = list(
            series.filter(ts__lt=start_ts).order_by("-ts").values_list("ts", flat=True)[:context]
        )
        after = list(
            series.filter(ts__gt=end_ts).order_by("ts").values_list("ts", flat=True)[:context]
        )
        first = before[-1] if before else first
        last = after[-1] if after else last
    return first, last


def kst_days(*, date_from=None, date_to=None) -> tuple[datetime | None, datetime | None]:
    """(first, last) instants of the KST days from `date_from` through `date_to` (either may be
    None): 00:00 KST of `date_from` and the last microsecond of `date_to`."""
    start = datetime.combine(date_from, time(0), tzinfo=KST) if date_from else None
    end = (
        datetime.combine(date_to, time(0), tzinfo=KST) + timedelta(days=1, microseconds=-1)
        if date_to
        else None
    )
    return start, end

"""Reads for pattern labels: overlays for the Radar, the list, bar snapping."""

from bisect import bisect_left, bisect_right
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Max, Min, Q
from django.urls import reverse
from django.utils.http import urlencode

from marketdata.krx_calendar import INTRADAY_MINUTES, KST, bar_start_for, bar_starts
from marketdata.models import Candle

from .models import Label, LabelRevision, Source

END_BEFORE_START = "The end is before the start."
NO_BARS_STORED = "No bars are stored for {symbol} {timeframe} yet."
RANGE_OUTSIDE_BARS = (
    "The range is outside the stored bars of {symbol} {timeframe} ({first} – {last} KST)."
)
NO_BARS_IN_RANGE = "No stored bar of {symbol} {timeframe} falls in this range."
KEY_POINT_OUTSIDE = "Key point {role} ({ts}) is outside the labelled range ({start} – {end} KST)."


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
    resolved_points = []
    for point in key_points:
        floored = bar_start_for(timeframe, point["ts"]) or point["ts"]
        bar_ts = (
            Candle.objects.filter(stock=stock, timeframe=timeframe, ts__lte=floored)
            .order_by("-ts")
            .values_list("ts", flat=True)
            .first()
        )
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


MINI_CHART_CONTEXT_BARS = 30
MINI_CHART_HEIGHT = 380


def label_figure(*, label: Label, context: int = MINI_CHART_CONTEXT_BARS) -> dict | None:
    """A small Plotly figure {data, layout} of the label's bars with `context` bars either side
    and the label drawn as on the Radar (bar-index axis, KST ticks); None without bars."""
    from analysis.figures import build_radar_figure
    from marketdata.selectors import candles_frame

    first, last = label_context_bounds(
        stock_id=label.stock_id,
        timeframe=label.timeframe,
        start_ts=label.start_ts,
        end_ts=label.end_ts,
        context=context,
    )
    frame = candles_frame(stock=label.stock, timeframe=label.timeframe, start=first, end=last)
    if frame.empty:
        return None
    overlay = {
        "id": label.pk,
        "pattern_type": label.pattern_type,
        "start_ts": label.start_ts.astimezone(KST).isoformat(),
        "end_ts": label.end_ts.astimezone(KST).isoformat(),
        "direction": label.direction,
        "source": label.source,
        "url": "",
    }
    figure = build_radar_figure(frame, {}, timeframe=label.timeframe, labels=[overlay])
    layout = {**figure["layout"], "height": MINI_CHART_HEIGHT, "dragmode": "pan"}
    return {"data": figure["data"], "layout": layout}


def label_overlays(*, user, stock, timeframe: str, start=None, end=None) -> list[dict]:
    """The user's live labels on one series that overlap [start, end], oldest start first.

    Each: {"id", "pattern_type", "start_ts", "end_ts" (ISO, +09:00), "direction", "source",
    "url" (the label's page)}. Only `user`'s own labels (staff included), never deleted ones.
    """
    rows = (
        Label.objects.owned_by(user)
        .alive()
        .filter(stock=stock, timeframe=timeframe)
        .overlapping(start=start, end=end)
        .order_by("start_ts", "id")
        .values_list("id", "pattern_type", "start_ts", "end_ts", "direction", "source")
    )
    return [
        {
            "id": pk,
            "pattern_type": pattern_type,
            "start_ts": start_ts.astimezone(KST).isoformat(),
            "end_ts": end_ts.astimezone(KST).isoformat(),
            "direction": direction,
            "source": source,
            "url": reverse("labeling:detail", args=[pk]),
        }
        for pk, pattern_type, start_ts, end_ts, direction, source in rows
    ]


DECISION_SOURCES = (Source.ACCEPTED, Source.REJECTED)


def detection_snapshot(pattern) -> dict:
    """What a label keeps of the detection it answers (survives re-analysis of the series)."""
    return {
        "id": pattern.pk,
        "pattern_type": pattern.pattern_type,
        "status": pattern.status,
        "start_ts": pattern.start_ts.astimezone(KST).isoformat(),
        "end_ts": pattern.end_ts.astimezone(KST).isoformat(),
        "score": pattern.score,
    }


def detection_label(*, user, pattern) -> Label | None:
    """The user's live accept/reject label for detected `pattern`, or None.

    Matched on the series, type and bar range rather than the row id, because a re-analysis
    replaces the pattern rows: the decision stays attached to the same detection.
    """
    return (
        Label.objects.owned_by(user)
        .alive()
        .filter(
            source__in=DECISION_SOURCES,
            stock_id=pattern.stock_id,
            timeframe=pattern.timeframe,
            pattern_type=pattern.pattern_type,
            start_ts=pattern.start_ts,
            end_ts=pattern.end_ts,
        )
        .order_by("-id")
        .first()
    )


def current_detection(*, label: Label):
    """The stored detection with the label's series, type and range (after a re-analysis)."""
    from analysis.models import PatternInstance

    return (
        PatternInstance.objects.filter(
            stock_id=label.stock_id,
            timeframe=label.timeframe,
            pattern_type=label.pattern_type,
            start_ts=label.start_ts,
            end_ts=label.end_ts,
        )
        .order_by("-pk")
        .first()
    )


def detection_decisions(*, user, pattern_ids) -> dict[int, Label]:
    """{pattern id: the user's live accept/reject label} for many detections, in two queries."""
    from analysis.models import PatternInstance

    patterns = list(PatternInstance.objects.filter(pk__in=[int(i) for i in pattern_ids]))
    if not patterns:
        return {}
    labels = (
        Label.objects.owned_by(user)
        .alive()
        .filter(
            source__in=DECISION_SOURCES,
            stock_id__in={p.stock_id for p in patterns},
            timeframe__in={p.timeframe for p in patterns},
            pattern_type__in={p.pattern_type for p in patterns},
        )
        .order_by("id")
    )
    by_key = {
        (lb.stock_id, lb.timeframe, lb.pattern_type, lb.start_ts, lb.end_ts): lb for lb in labels
    }
    decisions = {}
    for p in patterns:
        label = by_key.get((p.stock_id, p.timeframe, p.pattern_type, p.start_ts, p.end_ts))
        if label is not None:
            decisions[p.pk] = label
    return decisions


def label_list(
    *,
    user,
    symbol: str = "",
    timeframe: str = "",
    pattern_type: str = "",
    outcome: str = "",
    source: str = "",
    date_from=None,
    date_to=None,
    deleted: bool = False,
):
    """Labels `user` may see (staff: everyone's), filtered, newest first.

    `symbol` matches the code exactly or the name partly; `date_from`/`date_to` (KST dates)
    keep labels whose range overlaps those days; `deleted` lists soft-deleted labels instead
    of live ones.
    """
    qs = Label.objects.visible_to(user).select_related("stock", "owner")
    qs = qs.deleted() if deleted else qs.alive()
    if symbol:
        qs = qs.filter(Q(stock__code=symbol) | Q(stock__name__icontains=symbol))
    if timeframe:
        qs = qs.filter(timeframe=timeframe)
    if pattern_type:
        qs = qs.filter(pattern_type=pattern_type)
    if outcome:
        qs = qs.filter(outcome=outcome)
    if source:
        qs = qs.filter(source=source)
    start = datetime.combine(date_from, datetime.min.time(), tzinfo=KST) if date_from else None
    end = (
        datetime.combine(date_to, datetime.min.time(), tzinfo=KST) + timedelta(days=1)
        if date_to
        else None
    )
    if end is not None:
        qs = qs.filter(start_ts__lt=end)
    if start is not None:
        qs = qs.filter(end_ts__gte=start)
    return qs.order_by("-created_at", "-id")


def radar_url(*, symbol: str, timeframe: str, start: datetime, end: datetime) -> str:
    """The Radar at one series, zoomed to the bars from `start` to `end` (its focus_* params)."""
    query = {
        "symbol": symbol,
        "tf": timeframe,
        "focus_start": start.astimezone(KST).isoformat(),
        "focus_end": end.astimezone(KST).isoformat(),
    }
    return f"{reverse('analysis:radar')}?{urlencode(query)}"


def label_history(*, label: Label) -> list[dict]:
    """The label's revisions, newest first: {revision, changes: [(field, before, after)]}."""
    revisions = list(
        LabelRevision.objects.filter(label=label).select_related("actor").order_by("number")
    )
    history = []
    previous: dict = {}
    for revision in revisions:
        changes = [
            (field, previous.get(field), revision.snapshot.get(field))
            for field in revision.changed_fields
        ]
        history.append({"revision": revision, "changes": changes})
        previous = revision.snapshot
    history.reverse()
    return history


def review_report(*, user, timeframe: str = "", date_from=None, date_to=None) -> dict:
    """The user's labels against the detector's stored patterns (see `labeling.review`).

    Compared: the user's live manual and accepted labels of the types the detector knows, and
    the detections (default-parameter runs, status forming or completed) of those types on each
    series the user labelled, within that series' reviewed window — from the earliest start to
    the latest end of the user's labels there (rejected ones included), cut to
    `date_from`/`date_to` (KST dates) when given. Ranges become bar indexes of the stored bars.

    Returns {"result": ReviewResult, "misses"/"false_alarms": [row dicts with Radar links],
    "series": number of series, "rejected": rejected detections in the windows,
    "other_types": labels of types the detector does not look for}.
    """
    from bisect import bisect_left

    from analysis.models import DetectedPatternType, PatternInstance, PatternStatus

    from .review import Span, review_metrics

    labels = Label.objects.owned_by(user).alive().select_related("stock")
    if timeframe:
        labels = labels.filter(timeframe=timeframe)
    start = datetime.combine(date_from, datetime.min.time(), tzinfo=KST) if date_from else None
    end = (
        datetime.combine(date_to, datetime.min.time(), tzinfo=KST) + timedelta(days=1)
        if date_to
        else None
    )
    labels = labels.overlapping(start=start, end=end - timedelta(microseconds=1) if end else None)
    other_types = labels.exclude(pattern_type__in=DetectedPatternType.values).count()
    labels = list(
        labels.filter(pattern_type__in=DetectedPatternType.values).order_by("start_ts", "id")
    )

    windows: dict[tuple, list] = {}
    for label in labels:
        key = (label.stock_id, label.timeframe)
        lo, hi = windows.get(key, (label.start_ts, label.end_ts))
        windows[key] = [min(lo, label.start_ts), max(hi, label.end_ts)]
    for window in windows.values():
        if start is not None:
            window[0] = max(window[0], start)
        if end is not None:
            window[1] = min(window[1], end)

    label_spans, detection_spans = [], []
    misses_rows, alarm_rows = {}, {}
    rejected = 0
    stocks = {label.stock_id: label.stock for label in labels}
    for (stock_id, tf), (lo, hi) in windows.items():
        stock = stocks[stock_id]
        detections = list(
            PatternInstance.objects.filter(
                stock_id=stock_id,
                timeframe=tf,
                run__is_default=True,
                pattern_type__in=DetectedPatternType.values,
                status__in=[PatternStatus.FORMING, PatternStatus.COMPLETED],
                start_ts__lte=hi,
                end_ts__gte=lo,
            ).order_by("start_ts", "pk")
        )
        series_labels = [lb for lb in labels if (lb.stock_id, lb.timeframe) == (stock_id, tf)]
        first = min([lo, *(d.start_ts for d in detections)])
        last = max([hi, *(d.end_ts for d in detections)])
        bars = list(
            Candle.objects.filter(stock_id=stock_id, timeframe=tf, ts__gte=first, ts__lte=last)
            .order_by("ts")
            .values_list("ts", flat=True)
        )

        def index(ts, bars=bars):
            return bisect_left(bars, ts)

        series = (stock.code, tf)
        for label in series_labels:
            if label.source == Source.REJECTED:
                rejected += 1
                continue
            key = ("label", label.pk)
            label_spans.append(
                Span(key, series, label.pattern_type, index(label.start_ts), index(label.end_ts))
            )
            misses_rows[key] = {
                "kind": "label",
                "id": label.pk,
                "url": label.get_absolute_url(),
                "symbol": stock.code,
                "name": stock.name,
                "timeframe": tf,
                "pattern_type": label.pattern_type,
                "start_ts": label.start_ts,
                "end_ts": label.end_ts,
                "radar_url": radar_url(
                    symbol=stock.code, timeframe=tf, start=label.start_ts, end=label.end_ts
                ),
            }
        for detection in detections:
            key = ("detection", detection.pk)
            detection_spans.append(
                Span(
                    key,
                    series,
                    detection.pattern_type,
                    index(detection.start_ts),
                    index(detection.end_ts),
                )
            )
            alarm_rows[key] = {
                "kind": "detection",
                "id": detection.pk,
                "pattern": detection,
                "symbol": stock.code,
                "name": stock.name,
                "timeframe": tf,
                "pattern_type": detection.pattern_type,
                "status": detection.status,
                "score": detection.score,
                "start_ts": detection.start_ts,
                "end_ts": detection.end_ts,
                "radar_url": radar_url(
                    symbol=stock.code, timeframe=tf, start=detection.start_ts, end=detection.end_ts
                ),
            }
    result = review_metrics(label_spans, detection_spans)
    return {
        "result": result,
        "misses": [misses_rows[s.key] for s in result.misses],
        "false_alarms": [alarm_rows[s.key] for s in result.false_alarms],
        "series": len(windows),
        "rejected": rejected,
        "other_types": other_types,
    }

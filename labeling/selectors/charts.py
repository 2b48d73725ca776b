"""Labels drawn on charts: the overlays of the Trading Radar and the mini chart of a label."""

from datetime import datetime

from django.urls import reverse

from analysis.figures import build_radar_figure
from marketdata.krx_calendar import KST
from marketdata.selectors import candles_frame

from ..models import Label, Source
from .ranges import label_context_bounds

MINI_CHART_CONTEXT_BARS = 30
MINI_CHART_HEIGHT = 380


def _overlay(
    *,
    pk: int,
    pattern_type: str,
    start_ts: datetime,
    end_ts: datetime,
    direction,
    source,
    url,
    key_points=(),
) -> dict:
    """One label in the shape `analysis.figures.build_radar_figure` draws (instants ISO, KST).

    A rejected detection goes to the figure's "rejected" layer (a grey dashed box), every other
    label to "labels" with its key points."""
    return {
        "id": pk,
        "pattern_type": pattern_type,
        "start_ts": start_ts.astimezone(KST).isoformat(),
        "end_ts": end_ts.astimezone(KST).isoformat(),
        "direction": direction,
        "source": source,
        "url": url,
        "layer": "rejected" if source == Source.REJECTED else "labels",
        "key_points": list(key_points),
    }


def label_overlays(*, user, stock, timeframe: str, start=None, end=None) -> list[dict]:
    """The user's live labels on one series that overlap [start, end], oldest start first.

    Each: {"id", "pattern_type", "start_ts", "end_ts" (ISO, +09:00), "direction", "source",
    "url" (the label's page), "layer" ("labels", or "rejected" for a rejected detection),
    "key_points" ([{"role", "ts", "price"}])}. Only `user`'s own labels (staff included),
    never deleted ones. One query. Registered as the Radar's overlays (`labeling.apps`).
    """
    rows = (
        Label.objects.owned_by(user)
        .alive()
        .filter(stock=stock, timeframe=timeframe)
        .overlapping(start=start, end=end)
        .order_by("start_ts", "id")
        .values_list(
            "id", "pattern_type", "start_ts", "end_ts", "direction", "source", "key_points"
        )
    )
    return [
        _overlay(
            pk=pk,
            pattern_type=pattern_type,
            start_ts=start_ts,
            end_ts=end_ts,
            direction=direction,
            source=source,
            url=reverse("labeling:detail", args=[pk]),
            key_points=key_points,
        )
        for pk, pattern_type, start_ts, end_ts, direction, source, key_points in rows
    ]


def label_figure(*, label: Label, context: int = MINI_CHART_CONTEXT_BARS) -> dict | None:
    """A small Plotly figure {data, layout} of the label's bars with `context` bars either side
    and the label drawn as on the Radar (bar-index axis, KST ticks); None without bars."""
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
    overlay = _overlay(
        pk=label.pk,
        pattern_type=label.pattern_type,
        start_ts=label.start_ts,
        end_ts=label.end_ts,
        direction=label.direction,
        source=label.source,
        url="",
        key_points=label.key_points,
    )
    figure = build_radar_figure(frame, {}, timeframe=label.timeframe, labels=[overlay])
    layout = {**figure["layout"], "height": MINI_CHART_HEIGHT, "dragmode": "pan"}
    return {"data": figure["data"], "layout": layout}


QUEUE_CHART_CONTEXT_BARS = 40


def detection_figure(*, pattern, context: int = QUEUE_CHART_CONTEXT_BARS) -> dict | None:
    """A focused Plotly figure {data, layout} of one stored detection (an
    `analysis.PatternInstance`): its bars with `context` bars either side and the detection
    drawn as on the Radar (box, neckline, target); None when no bar is stored."""
    first, last = label_context_bounds(
        stock_id=pattern.stock_id,
        timeframe=pattern.timeframe,
        start_ts=pattern.start_ts,
        end_ts=pattern.end_ts,
        context=context,
    )
    frame = candles_frame(stock=pattern.stock, timeframe=pattern.timeframe, start=first, end=last)
    if frame.empty:
        return None
    index = frame.index
    start = int(index.searchsorted(pattern.start_ts))
    end = max(start, int(index.searchsorted(pattern.end_ts, side="right")) - 1)
    level = (pattern.neckline or {}).get("level")
    shown = {
        "type": pattern.pattern_type,
        "status": pattern.status,
        "start_index": start,
        "end_index": end,
        "detected_index": end,
        "target": pattern.target,
        "neckline": {"level": level if level is not None else pattern.neckline_price},
    }
    figure = build_radar_figure(frame, {"patterns": [shown]}, timeframe=pattern.timeframe)
    layout = {**figure["layout"], "height": MINI_CHART_HEIGHT, "dragmode": "pan"}
    return {"data": figure["data"], "layout": layout}

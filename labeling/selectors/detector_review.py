"""The detector review: a user's labels against the detector's stored patterns (the numbers come
from the pure `labeling.review`)."""

from bisect import bisect_left
from collections import defaultdict

from django.db.models import Q

from analysis.engine import DETECTORS
from analysis.models import (
    DetectedPatternType,
    Detector,
    PatternInstance,
    PatternStatus,
    default_detector,
)
from marketdata.models import Candle

from ..models import Label, ReviewedRange, Source
from ..review import IOU_THRESHOLD, Span, review_metrics
from .detections import decisions_for
from .labels import radar_url
from .ranges import kst_days

REVIEWED_STATUSES = (PatternStatus.FORMING, PatternStatus.COMPLETED)


def _any_of(conditions: list[Q]) -> Q:
    combined = Q(pk__in=[])
    for condition in conditions:
        combined |= condition
    return combined


def _span(kind: str, obj, *, stock, bars: list) -> Span:
    """A label or detection as a span of bar indexes of its series (`bars`: its stored instants)."""
    return Span(
        (kind, obj.pk),
        (stock.code, obj.timeframe),
        obj.pattern_type,
        bisect_left(bars, obj.start_ts),
        bisect_left(bars, obj.end_ts),
    )


def _row(obj, stock) -> dict:
    """The columns a misses / false-alarms row shows for a label or a detection."""
    return {
        "kind": "label" if isinstance(obj, Label) else "detection",
        "id": obj.pk,
        "symbol": stock.code,
        "name": stock.name,
        "timeframe": obj.timeframe,
        "pattern_type": obj.pattern_type,
        "start_ts": obj.start_ts,
        "end_ts": obj.end_ts,
        "radar_url": radar_url(
            symbol=stock.code, timeframe=obj.timeframe, start=obj.start_ts, end=obj.end_ts
        ),
    }


def review_report(
    *,
    user,
    timeframe: str = "",
    date_from=None,
    date_to=None,
    iou: float | None = None,
    detector: str | None = None,
) -> dict:
    """The user's labels against the detector's stored patterns (see `labeling.review`).

    Compared per swing detector (a `DETECTORS` name; a pattern found by two detectors counts
    once in each detector's figures): the user's live manual and accepted labels of the types
    the detector knows, and the detections (that detector's default-parameter runs, status
    forming or completed) of those types on each
    series the user labelled or reviewed, from the earliest start to the latest end of the
    user's labels (rejected ones included) and reviewed ranges there, cut to
    `date_from`/`date_to` (KST dates) when given. Ranges become bar indexes of the stored bars;
    a label and a detection match at IoU ≥ `iou` (default `IOU_THRESHOLD`).

    Recall counts every label. Precision counts only the *reviewed* detections: those lying
    wholly inside one of the user's `ReviewedRange`s, and those the user accepted or rejected;
    the others are `not_counted` (docs/architecture.md#detector-review).

    Returns {"detector": `detector` (`default_detector()` when None), "detector_label" (its
    display name), "result": its ReviewResult, "detectors": [{"name", "label", "result"} for
    every detector, the default first], "comparison": [{"pattern_type", "cells": [{"name",
    "m": TypeMetrics or None}]} per type any detector saw, detectors in that order],
    "misses"/"false_alarms" (of `detector`): [row dicts with Radar links; a false alarm also
    carries the `pattern` and the user's `decision` on it], "series": number of series,
    "rejected": rejected detections in the windows, "other_types": labels of types the
    detector does not look for, "reviewed_ranges": the user's ranges in scope, "threshold"}.
    Six queries whatever the number of labels and series.
    """
    threshold = IOU_THRESHOLD if iou is None else iou
    detector = detector or default_detector()
    if detector not in DETECTORS:
        raise ValueError(f"unknown detector {detector!r}; expected one of: {', '.join(DETECTORS)}")
    default = default_detector()
    names = [default, *(name for name in DETECTORS if name != default)]
    start, end = kst_days(date_from=date_from, date_to=date_to)
    labels = Label.objects.owned_by(user).alive().select_related("stock")
    ranges = ReviewedRange.objects.owned_by(user).select_related("stock")
    if timeframe:
        labels = labels.filter(timeframe=timeframe)
        ranges = ranges.filter(timeframe=timeframe)
    labels = labels.overlapping(start=start, end=end)
    if end is not None:
        ranges = ranges.filter(start_ts__lte=end)
    if start is not None:
        ranges = ranges.filter(end_ts__gte=start)
    ranges = list(ranges.order_by("stock__code", "timeframe", "start_ts"))
    detector_types = DetectedPatternType.values
    other_types = labels.exclude(pattern_type__in=detector_types).count()
    labels = list(labels.filter(pattern_type__in=detector_types).order_by("start_ts", "id"))

    windows: dict[tuple, list] = {}
    stocks: dict[tuple, object] = {}
    labels_by_series: dict[tuple, list[Label]] = defaultdict(list)
    ranges_by_series: dict[tuple, list[ReviewedRange]] = defaultdict(list)
    for item in [*labels, *ranges]:
        key = (item.stock_id, item.timeframe)
        lo, hi = windows.get(key, (item.start_ts, item.end_ts))
        windows[key] = [min(lo, item.start_ts), max(hi, item.end_ts)]
        stocks[key] = item.stock
        if isinstance(item, Label):
            labels_by_series[key].append(item)
        else:
            ranges_by_series[key].append(item)
    for window in windows.values():
        if start is not None:
            window[0] = max(window[0], start)
        if end is not None:
            window[1] = min(window[1], end)

    # The detections of every window, then the bar instants of every series, in one query each.
    detections_by_series: dict[tuple, list[PatternInstance]] = defaultdict(list)  # every detector
    if windows:
        detections = PatternInstance.objects.filter(
            _any_of(
                [
                    Q(stock_id=stock_id, timeframe=tf, start_ts__lte=hi, end_ts__gte=lo)
                    for (stock_id, tf), (lo, hi) in windows.items()
                ]
            ),
            run__is_default=True,
            detector__in=names,
            pattern_type__in=detector_types,
            status__in=REVIEWED_STATUSES,
        ).order_by("start_ts", "pk")
        for detection in detections:
            detections_by_series[(detection.stock_id, detection.timeframe)].append(detection)
    spans = {
        key: (
            min([lo, *(d.start_ts for d in detections_by_series[key])]),
            max([hi, *(d.end_ts for d in detections_by_series[key])]),
        )
        for key, (lo, hi) in windows.items()
    }
    bars_by_series: dict[tuple, list] = defaultdict(list)
    if spans:
        bar_rows = (
            Candle.objects.filter(
                _any_of(
                    [
                        Q(stock_id=stock_id, timeframe=tf, ts__gte=first, ts__lte=last)
                        for (stock_id, tf), (first, last) in spans.items()
                    ]
                )
            )
            .order_by("stock_id", "timeframe", "ts")
            .values_list("stock_id", "timeframe", "ts")
        )
        for stock_id, tf, ts in bar_rows:
            bars_by_series[(stock_id, tf)].append(ts)
    all_detections = [d for found in detections_by_series.values() for d in found]
    decisions = decisions_for(user=user, patterns=all_detections)

    label_spans: list[Span] = []
    detection_spans: dict[str, list[Span]] = {name: [] for name in names}
    counted: set = set()
    misses_rows, alarm_rows = {}, {}
    rejected = 0
    for key in windows:
        stock = stocks[key]
        bars = bars_by_series[key]
        for label in labels_by_series[key]:
            if label.source == Source.REJECTED:
                rejected += 1
                continue
            span = _span("label", label, stock=stock, bars=bars)
            label_spans.append(span)
            misses_rows[span.key] = {**_row(label, stock), "url": label.get_absolute_url()}
        for detection in detections_by_series[key]:
            span = _span("detection", detection, stock=stock, bars=bars)
            detection_spans[detection.detector].append(span)
            if detection.pk in decisions or any(
                r.start_ts <= detection.start_ts and detection.end_ts <= r.end_ts
                for r in ranges_by_series[key]
            ):
                counted.add(span.key)
            alarm_rows[span.key] = {
                **_row(detection, stock),
                "pattern": detection,
                "decision": decisions.get(detection.pk),
                "status": detection.status,
                "score": detection.score,
            }
    results = {
        name: review_metrics(
            label_spans, detection_spans[name], threshold=threshold, counted=counted
        )
        for name in names
    }
    result = results[detector]
    labels_of = dict(Detector.choices)
    by_type = {name: {m.pattern_type: m for m in results[name].per_type} for name in names}
    comparison = [
        {"pattern_type": t, "cells": [{"name": n, "m": by_type[n].get(t)} for n in names]}
        for t in sorted({t for found in by_type.values() for t in found})
    ]
    return {
        "detector": detector,
        "detector_label": labels_of.get(detector, detector),
        "result": result,
        "detectors": [
            {"name": name, "label": labels_of.get(name, name), "result": results[name]}
            for name in names
        ],
        "comparison": comparison,
        "misses": [misses_rows[s.key] for s in result.misses],
        "false_alarms": [alarm_rows[s.key] for s in result.false_alarms],
        "series": len(windows),
        "rejected": rejected,
        "other_types": other_types,
        "reviewed_ranges": ranges,
        "threshold": threshold,
    }

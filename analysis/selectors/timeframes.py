"""The Radar's multi-timeframe strip: for one stock, the trend state and the newest pattern of
the stored default-parameter analysis on every timeframe (5m … 1mo), read in one query."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import OuterRef, Subquery

from analysis.models import (
    AnalysisRun,
    DetectedPatternType,
    PatternInstance,
    PatternStatus,
    TrendState,
)
from marketdata.krx_calendar import TIMEFRAMES
from marketdata.models import Stock


@dataclass(frozen=True)
class TimeframeCell:
    timeframe: str
    analysed: bool  # a stored default run exists for the series
    trend_state: str = ""  # up | down | sideways
    last_bar_ts: datetime | None = None
    pattern_type: str = ""  # newest detection (by detected bar), "" when none
    pattern_status: str = ""
    pattern_detected_ts: datetime | None = None

    @property
    def trend_label(self) -> str:
        return TrendState(self.trend_state).label if self.trend_state else ""

    @property
    def pattern_label(self) -> str:
        return DetectedPatternType(self.pattern_type).label if self.pattern_type else ""

    @property
    def status_label(self) -> str:
        return PatternStatus(self.pattern_status).label if self.pattern_status else ""


def timeframe_strip(*, stock: Stock, detector: str | None = None) -> list[TimeframeCell]:
    """One cell per timeframe in TIMEFRAMES order, from the runs of `detector` (the default
    detector when None); one query (the newest pattern of each run is a subquery)."""
    newest = PatternInstance.objects.filter(run_id=OuterRef("pk")).order_by("-detected_ts", "-id")
    runs = (
        AnalysisRun.objects.shown(detector)
        .filter(stock=stock)
        .annotate(
            newest_type=Subquery(newest.values("pattern_type")[:1]),
            newest_status=Subquery(newest.values("status")[:1]),
            newest_detected_ts=Subquery(newest.values("detected_ts")[:1]),
        )
        .values(
            "timeframe",
            "trend_state",
            "last_bar_ts",
            "newest_type",
            "newest_status",
            "newest_detected_ts",
        )
    )
    by_timeframe = {row["timeframe"]: row for row in runs}
    cells = []
    for timeframe in TIMEFRAMES:
        row = by_timeframe.get(timeframe)
        if row is None:
            cells.append(TimeframeCell(timeframe=timeframe, analysed=False))
            continue
        cells.append(
            TimeframeCell(
                timeframe=timeframe,
                analysed=True,
                trend_state=row["trend_state"] or "",
                last_bar_ts=row["last_bar_ts"],
                pattern_type=row["newest_type"] or "",
                pattern_status=row["newest_status"] or "",
                pattern_detected_ts=row["newest_detected_ts"],
            )
        )
    return cells

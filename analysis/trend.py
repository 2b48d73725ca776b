"""Dow-theory trend state and trend periods (docs/analysis-rules.md#trend-periods), causal (pure).

At each bar `i` the rules use only the swing points of the detector's `trend_levels` (majors
and minors for both detectors, as the original used its majors and its provisional points)
confirmed at or before `i`, one point per bar and kind; "last" means the point with the largest
bar index, "previous" the one before it.

- From sideways, a **downtrend** starts (checked first) when there are >= 2 peaks and >= 1
  valley, the last peak is lower than the previous one, the last valley lies before `i`, and
  the close breaks below the last valley's Low.
- Otherwise an **uptrend** starts when there are >= 2 valleys and >= 1 peak, the last valley is
  higher than the previous one, the last peak lies before `i`, and the close breaks above the
  last peak's High.
- An uptrend ends when the close falls below the last valley; a downtrend ends when the close
  rises above the last peak. The market is then sideways; no new trend starts on that bar.

Periods start and end on the bars where the conditions fire, so a period is known from its
first bar (`detected_index` = `start_index`) and its end from its last. A trend still running at
the last bar is reported with `end_index` = last bar and `ongoing` = True.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from .detection import MAJOR, PEAK, Extreme

UP = "up"
DOWN = "down"
SIDEWAYS = "sideways"


@dataclass(frozen=True, slots=True)
class TrendSegment:
    """One up or down trend period in bar indexes (stored as `analysis.models.TrendPeriod`)."""

    direction: str  # UP | DOWN
    start_index: int
    end_index: int
    ongoing: bool
    detected_index: int  # the bar from which the period is known


@dataclass(frozen=True, slots=True)
class CurrentTrend:
    """The trend at the last bar (stored in `AnalysisRun.trend_state`, choices `TrendState`)."""

    state: str  # UP | DOWN | SIDEWAYS
    since_index: int  # bar where the current state began (0 if sideways from the start)


def trend_periods(
    close: list[float], extremes: list[Extreme], *, levels: tuple[str, ...] = (MAJOR,)
) -> tuple[list[TrendSegment], CurrentTrend]:
    """Trend periods and the state at the last bar, from the points of `levels` as they
    became known."""
    n = len(close)
    inputs = sorted(
        (e for e in extremes if e.level in levels), key=lambda e: (e.confirmed_index, e.index)
    )
    peaks: list[tuple[int, float]] = []  # (index, price), sorted by index
    valleys: list[tuple[int, float]] = []
    periods: list[TrendSegment] = []
    state, since = SIDEWAYS, 0
    k = 0
    for i in range(n):
        while k < len(inputs) and inputs[k].confirmed_index <= i:
            e = inputs[k]
            points = peaks if e.kind == PEAK else valleys
            at = bisect.bisect_left(points, (e.index,))
            if at == len(points) or points[at][0] != e.index:  # a minor turned major: once
                points.insert(at, (e.index, e.price))
            k += 1
        c = close[i]
        if state == SIDEWAYS:
            if (
                len(peaks) >= 2
                and valleys
                and peaks[-1][1] < peaks[-2][1]
                and valleys[-1][0] < i
                and c < valleys[-1][1]
            ):
                state, since = DOWN, i
            elif (
                len(valleys) >= 2
                and peaks
                and valleys[-1][1] > valleys[-2][1]
                and peaks[-1][0] < i
                and c > peaks[-1][1]
            ):
                state, since = UP, i
        elif state == UP:
            if c < valleys[-1][1]:
                periods.append(TrendSegment(UP, since, i, False, since))
                state, since = SIDEWAYS, i
        elif c > peaks[-1][1]:
            periods.append(TrendSegment(DOWN, since, i, False, since))
            state, since = SIDEWAYS, i
    if state != SIDEWAYS:
        periods.append(TrendSegment(state, since, n - 1, True, since))
    return periods, CurrentTrend(state, since)

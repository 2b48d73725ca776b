"""What happened on a series in its newest bars: the events alert rules listen for (pure; no ORM).

The evaluation hands in the newest final bars of a series (`Tail`), the stored patterns and
trend periods that reach into them, and the first bar that is *new* — newer than the last bar
evaluated before, and among the newest `FRESH_BARS` bars. Only events at a new bar are
returned, so re-evaluating, re-analysing or back-filling history never reports an old event.

Events (bar = the bar at which the event happened; instants aware UTC, prices KRW):

- pattern **forming**: its detection bar (`detected_ts`);
- pattern **completed** / **failed** (invalidated before completing): its end bar (`end_ts`);
- pattern **target reached**: after completion, the first bar whose Low (DT, HS) or High (DB,
  IHS) reaches the target, within `OUTCOME_HORIZON_BARS` bars of the completion;
- pattern **failed** after completion: the first close beyond the pattern's extreme (above its
  highest top for DT/HS, below its lowest bottom for DB/IHS) before the target is reached,
  within the same horizon;
- **trend** change: a trend period's first bar (to up / down) and, for a period that ended,
  its last bar (to sideways);
- **price** crossing of a level L (per rule, `price_crossings`): the close crosses up when the
  previous close is below L and this close is at or above it, down when the previous close is
  above L and this close is at or below it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

FRESH_BARS = 5
OUTCOME_HORIZON_BARS = 120
TAIL_BARS = OUTCOME_HORIZON_BARS + FRESH_BARS + 1
BULLISH_TYPES = frozenset({"DB", "IHS"})

FORMING, COMPLETED, TARGET_REACHED, FAILED = "forming", "completed", "target_reached", "failed"
INVALIDATED = "invalidated"


@dataclass(frozen=True, slots=True)
class Tail:
    """The newest final bars of a series, oldest first (`ts` aware UTC, prices KRW)."""

    ts: list[datetime]
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(frozen=True, slots=True)
class PatternRow:
    type: str
    status: str  # forming | completed | invalidated
    start_ts: datetime
    detected_ts: datetime
    end_ts: datetime
    target: float
    neckline_price: float
    point_prices: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class TrendRow:
    direction: str  # up | down
    start_ts: datetime
    end_ts: datetime
    ongoing: bool


@dataclass(frozen=True, slots=True)
class Event:
    kind: str  # pattern | trend
    key: str  # unique within the series
    bar_ts: datetime
    pattern_type: str = ""
    status: str = ""  # AlertPatternStatus value (pattern events)
    pattern_start_ts: datetime | None = None
    trend_state: str = ""  # the new state (trend events)
    detail: dict = field(default_factory=dict)


def first_new_index(tail: Tail, *, since: datetime) -> int:
    """Position in `tail` of the first bar newer than `since` and among the last `FRESH_BARS`
    bars (== len(tail) when no bar is new)."""
    n = len(tail)
    newer = next((i for i in range(n - 1, -1, -1) if tail.ts[i] <= since), -1) + 1
    return max(newer, n - FRESH_BARS)


def _iso(ts: datetime) -> str:
    return ts.isoformat()


def _pattern_key(p: PatternRow, status: str) -> str:
    return f"pattern:{p.type}:{_iso(p.start_ts)}:{_iso(p.detected_ts)}:{status}"


def _pattern_event(p: PatternRow, status: str, bar_ts: datetime, **detail) -> Event:
    return Event(
        kind="pattern",
        key=_pattern_key(p, status),
        bar_ts=bar_ts,
        pattern_type=p.type,
        status=status,
        pattern_start_ts=p.start_ts,
        detail={"neckline": p.neckline_price, "target": p.target, **detail},
    )


def _outcome(p: PatternRow, tail: Tail, end: int) -> tuple[str, int] | None:
    """(TARGET_REACHED | FAILED, bar position) of a completed pattern ending at `end`, or None
    while neither happened within the horizon."""
    stop = min(len(tail), end + 1 + OUTCOME_HORIZON_BARS)
    if p.type in BULLISH_TYPES:
        reached = np.flatnonzero(tail.high[end + 1 : stop] >= p.target)
        failed = np.flatnonzero(tail.close[end + 1 : stop] < min(p.point_prices))
    else:
        reached = np.flatnonzero(tail.low[end + 1 : stop] <= p.target)
        failed = np.flatnonzero(tail.close[end + 1 : stop] > max(p.point_prices))
    first_reached = int(reached[0]) if len(reached) else None
    first_failed = int(failed[0]) if len(failed) else None
    if first_reached is None and first_failed is None:
        return None
    if first_failed is None or (first_reached is not None and first_reached <= first_failed):
        return TARGET_REACHED, end + 1 + first_reached
    return FAILED, end + 1 + first_failed


def pattern_events(patterns: list[PatternRow], tail: Tail, *, first_new: int) -> list[Event]:
    """The pattern events at the bars `tail[first_new:]` (see the module docstring)."""
    if first_new >= len(tail):
        return []
    fresh_ts = tail.ts[first_new]
    position = {ts: i for i, ts in enumerate(tail.ts)}
    events = []
    for p in patterns:
        if p.detected_ts >= fresh_ts:
            events.append(_pattern_event(p, FORMING, p.detected_ts))
        if p.status == COMPLETED:
            if p.end_ts >= fresh_ts:
                events.append(_pattern_event(p, COMPLETED, p.end_ts))
            end = position.get(p.end_ts)
            outcome = None if end is None else _outcome(p, tail, end)
            if outcome is not None and outcome[1] >= first_new:
                status, bar = outcome
                events.append(_pattern_event(p, status, tail.ts[bar], close=float(tail.close[bar])))
        elif p.status == INVALIDATED and p.end_ts >= fresh_ts:
            events.append(_pattern_event(p, FAILED, p.end_ts))
    return events


def trend_events(periods: list[TrendRow], tail: Tail, *, first_new: int) -> list[Event]:
    """Trend state changes at the bars `tail[first_new:]`."""
    if first_new >= len(tail):
        return []
    fresh_ts = tail.ts[first_new]
    events = []
    for period in periods:
        if period.start_ts >= fresh_ts:
            events.append(
                Event(
                    kind="trend",
                    key=f"trend:{period.direction}:{_iso(period.start_ts)}",
                    bar_ts=period.start_ts,
                    trend_state=period.direction,
                    detail={"from": "sideways"},
                )
            )
        if not period.ongoing and period.end_ts >= fresh_ts:
            events.append(
                Event(
                    kind="trend",
                    key=f"trend:sideways:{_iso(period.end_ts)}",
                    bar_ts=period.end_ts,
                    trend_state="sideways",
                    detail={"from": period.direction},
                )
            )
    return events


def close_range(tail: Tail, *, first_new: int) -> tuple[float, float] | None:
    """(lowest, highest) close from the bar before the first new one to the last: a level
    outside it was not crossed. None when no bar is new or no earlier bar is known."""
    if first_new >= len(tail) or first_new == 0:
        return None
    closes = tail.close[first_new - 1 :]
    return float(closes.min()), float(closes.max())


def price_crossings(
    tail: Tail, *, first_new: int, level: float, direction: str
) -> list[tuple[int, str]]:
    """(bar position, "up" | "down") of every close crossing `level` at the new bars;
    `direction` "up", "down" or "any" keeps those wanted."""
    out = []
    for i in range(max(first_new, 1), len(tail)):
        before, now = tail.close[i - 1], tail.close[i]
        if before < level <= now and direction in ("up", "any"):
            out.append((i, "up"))
        elif before > level >= now and direction in ("down", "any"):
            out.append((i, "down"))
    return out

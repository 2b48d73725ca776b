"""The pure event finder: hand-checked cases and properties (no database)."""

from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.events import (
    FRESH_BARS,
    OUTCOME_HORIZON_BARS,
    PatternRow,
    Tail,
    TrendRow,
    close_range,
    first_new_index,
    pattern_events,
    price_crossings,
    trend_events,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def ts(i: int) -> datetime:
    return T0 + timedelta(days=i)


def tail(closes, lows=None, highs=None) -> Tail:
    closes = np.asarray(closes, dtype=float)
    return Tail(
        [ts(i) for i in range(len(closes))],
        np.asarray(highs if highs is not None else closes + 1, dtype=float),
        np.asarray(lows if lows is not None else closes - 1, dtype=float),
        closes,
    )


def dt(status="forming", start=0, detected=5, end=9, target=80.0, prices=(110.0, 90.0, 109.0)):
    return PatternRow("DT", status, ts(start), ts(detected), ts(end), target, 90.0, prices)


def test_first_new_index_counts_bars_after_since_capped_at_fresh_bars():
    t = tail([100] * 20)
    assert first_new_index(t, since=ts(19)) == 20  # nothing new
    assert first_new_index(t, since=ts(17)) == 18
    assert first_new_index(t, since=ts(2)) == 20 - FRESH_BARS
    assert first_new_index(t, since=ts(-100)) == 20 - FRESH_BARS


def test_forming_completed_invalidated_at_their_bars():
    t = tail([100] * 10)
    patterns = [
        dt(detected=9),  # forming, detected now
        dt(status="completed", detected=4, end=9),
        PatternRow("HS", "invalidated", ts(0), ts(3), ts(9), 80.0, 90.0, (100.0, 120.0)),
        dt(status="completed", detected=2, end=5),  # completed before: no event
    ]
    events = pattern_events(patterns, t, first_new=9)
    assert [(e.pattern_type, e.status, e.bar_ts) for e in events] == [
        ("DT", "forming", ts(9)),
        ("DT", "completed", ts(9)),
        ("HS", "failed", ts(9)),
    ]
    assert len({e.key for e in events}) == 3


def test_target_reached_and_failure_after_completion():
    lows = [100] * 12
    lows[8] = 79.0  # DT target 80 reached at bar 8
    t = tail([100] * 12, lows=lows)
    reached = pattern_events([dt(status="completed", detected=3, end=5)], t, first_new=8)
    assert [(e.status, e.bar_ts) for e in reached] == [("target_reached", ts(8))]
    assert pattern_events([dt(status="completed", detected=3, end=5)], t, first_new=9) == []
    closes = [100] * 12
    closes[10] = 111.0  # above the highest top (110) before any target
    failed = tail(closes)
    events = pattern_events([dt(status="completed", detected=3, end=5)], failed, first_new=10)
    assert [(e.status, e.bar_ts, e.detail["close"]) for e in events] == [("failed", ts(10), 111.0)]


def test_outcomes_stop_at_the_horizon():
    n = OUTCOME_HORIZON_BARS + 20
    lows = np.full(n, 100.0)
    lows[-1] = 50.0  # reaches the target long after completion at bar 2
    t = tail(np.full(n, 100.0), lows=lows)
    assert pattern_events([dt(status="completed", detected=1, end=2)], t, first_new=n - 1) == []


def test_trend_starts_and_ends():
    t = tail([100] * 10)
    periods = [
        TrendRow("up", ts(2), ts(8), False),  # ended at 8
        TrendRow("down", ts(9), ts(9), True),  # started at 9, ongoing
    ]
    events = trend_events(periods, t, first_new=8)
    assert [(e.trend_state, e.bar_ts, e.detail["from"]) for e in events] == [
        ("sideways", ts(8), "up"),
        ("down", ts(9), "sideways"),
    ]


def test_price_crossings_by_close():
    t = tail([100, 104, 106, 105, 95])
    assert price_crossings(t, first_new=1, level=105, direction="up") == [(2, "up")]
    # 106 -> 105 reaches the level from above: a crossing down (the level itself counts).
    assert price_crossings(t, first_new=1, level=105, direction="down") == [(3, "down")]
    assert price_crossings(t, first_new=1, level=105, direction="any") == [(2, "up"), (3, "down")]
    assert price_crossings(t, first_new=4, level=105, direction="any") == []
    assert price_crossings(t, first_new=4, level=100, direction="any") == [(4, "down")]
    assert close_range(t, first_new=3) == (95.0, 106.0)
    assert close_range(t, first_new=5) is None


@settings(max_examples=200, deadline=None)
@given(
    closes=st.lists(st.floats(90, 110), min_size=2, max_size=60),
    level=st.floats(90, 110),
    since=st.integers(-5, 70),
    detections=st.lists(st.tuples(st.integers(0, 59), st.integers(0, 5)), max_size=8),
)
def test_no_event_is_ever_at_an_old_or_stale_bar(closes, level, since, detections):
    """Whatever the history, every event lies after `since` and among the last FRESH_BARS."""
    t = tail(closes)
    n = len(t)
    first = first_new_index(t, since=ts(since))
    patterns = []
    for detected, width in detections:
        detected = min(detected, n - 1)
        end = min(n - 1, detected + width)
        patterns.append(dt(status="completed", start=0, detected=detected, end=end))
    periods = [TrendRow("up", ts(min(d, n - 1)), ts(n - 1), True) for d, _ in detections]
    found = pattern_events(patterns, t, first_new=first) + trend_events(periods, t, first_new=first)
    crossings = price_crossings(t, first_new=first, level=level, direction="any")
    bars = [e.bar_ts for e in found] + [t.ts[i] for i, _ in crossings]
    for bar in bars:
        assert bar > ts(since)
        assert bar >= t.ts[max(0, n - FRESH_BARS)]

"""Hypothesis properties of analyze(): determinism, alternation, extremes, causality (swing
points, trend periods, patterns and their outcomes)."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.detection import MAJOR, PEAK
from analysis.engine import analyze
from analysis.patterns import FORMING
from analysis.tests.factories import SETTINGS, ohlcv
from marketdata.krx_calendar import KST


def _extreme_keys(result):
    return [
        (e.kind, e.level, e.index, e.price, e.confirmed_index, e.strength) for e in result.extremes
    ]


def _pattern_key(p):
    return (
        p.type,
        p.status,
        tuple(sorted(p.points.items())),
        p.start_index,
        p.end_index,
        p.detected_index,
        p.score,
        p.target,
        p.extreme,
        p.confirm_by_index,
        tuple(sorted(p.features.items())),
    )


def _known_outcome(p, k):
    """The pattern's outcome as far as bars before `k` tell: None while still pending."""
    o = p.outcome
    if o is None or o.index is None or o.index >= k:
        return None
    return (o.result, o.index, o.horizon_index, o.entry, o.bars_to_target, o.mfe_pct, o.mae_pct)


def _ended(result, k):
    """Patterns that ended before bar `k`, with their outcomes as known before `k`."""
    return [
        (_pattern_key(p), _known_outcome(p, k))
        for p in result.patterns
        if p.status != FORMING and p.end_index < k
    ]


def _assert_causal(full, prefix, k):
    assert _extreme_keys(prefix) == [key for key in _extreme_keys(full) if key[4] < k]
    # Patterns that ended before the cut are identical, and so are outcomes set before it:
    # an outcome, once set, never changes.
    assert _ended(prefix, k) == _ended(full, k)
    # A pattern still forming in the prefix has the same points in the full run.
    full_points = {
        (p.type, tuple(sorted(p.points.items())), p.detected_index) for p in full.patterns
    }
    for p in prefix.patterns:
        if p.status == FORMING:
            assert (p.type, tuple(sorted(p.points.items())), p.detected_index) in full_points
    # Closed trend periods before the cut are identical too, and known from the same bar.
    closed = lambda r: [  # noqa: E731
        (t.direction, t.start_index, t.end_index, t.detected_index)
        for t in r.trend_periods
        if not t.ongoing
    ]
    assert closed(prefix) == [t for t in closed(full) if t[2] < k]
    assert all(t.detected_index <= t.start_index for t in full.trend_periods)


@SETTINGS
@given(ohlcv())
def test_analysis_is_deterministic(frame):
    assert analyze(frame).to_dict() == analyze(frame.copy()).to_dict()


@SETTINGS
@given(ohlcv(), st.sampled_from([0.5, 1.0, 2.0]))
def test_zigzag_strictly_alternates_and_peaks_top_their_valleys(frame, sensitivity):
    result = analyze(frame, sensitivity=sensitivity)
    zz = result.zigzag
    assert all(a.kind != b.kind for a, b in zip(zz, zz[1:], strict=False))
    assert all(a.index < b.index for a, b in zip(zz, zz[1:], strict=False))
    high, low = frame["high"].to_numpy(), frame["low"].to_numpy()
    for k, point in enumerate(zz):
        left = zz[k - 1].index + 1 if k > 0 else 0
        right = zz[k + 1].index if k + 1 < len(zz) else len(frame)
        if point.kind == PEAK:
            assert point.price == high[point.index] == high[left:right].max()
        else:
            assert point.price == low[point.index] == low[left:right].min()


@SETTINGS
@given(ohlcv())
def test_majors_alternate_in_confirmation_order(frame):
    majors = [e for e in analyze(frame).extremes if e.level == MAJOR]
    assert all(a.kind != b.kind for a, b in zip(majors, majors[1:], strict=False))
    assert all(e.index <= e.confirmed_index for e in analyze(frame).extremes)


@SETTINGS
@given(ohlcv(min_size=3), st.data())
def test_causality_for_any_cut(frame, data):
    k = data.draw(st.integers(2, len(frame)))
    _assert_causal(analyze(frame), analyze(frame.iloc[:k]), k)


def _walk(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 1000 + np.cumsum(rng.integers(-8, 9, n)).astype(float)
    open_ = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(open_, close) + rng.integers(0, 5, n)
    low = np.minimum(open_, close) - rng.integers(0, 5, n)
    index = pd.date_range("2020-01-01", periods=n, freq="D", tz=KST)
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": 1.0}, index=index
    )


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 10**6), st.data())
def test_causality_on_long_pattern_rich_walks(seed, data):
    frame = _walk(seed, 500)
    k = data.draw(st.integers(50, 500))
    _assert_causal(analyze(frame), analyze(frame.iloc[:k]), k)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10**6), st.data())
def test_outcomes_come_from_later_bars_only(seed, data):
    """Changing bars after an outcome was set (or after a pattern ended) changes nothing."""
    frame = _walk(seed, 500)
    full = analyze(frame)
    k = data.draw(st.integers(100, 499))
    changed = frame.copy()
    changed.iloc[k:, :4] = changed.iloc[k:, :4].to_numpy()[::-1]  # a different future
    assert _ended(analyze(changed), k) == _ended(full, k)
    for p in full.patterns:
        if p.outcome is not None and p.outcome.result is not None:
            assert p.outcome.index > p.end_index
            if p.outcome.result == "target":
                assert p.outcome.bars_to_target == p.outcome.index - p.end_index


def test_a_long_walk_exercises_every_pattern_type_and_outcome():
    patterns = analyze(_walk(6, 700)).patterns
    assert {p.type for p in patterns if p.status == "completed"} == {"DT", "DB", "HS", "IHS"}
    outcomes = [analyze(_walk(seed, 700)).patterns for seed in (6, 18)]
    results = {p.outcome.result for found in outcomes for p in found if p.outcome}
    assert {"target", "failed", "expired"} <= results

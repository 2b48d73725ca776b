"""The structural detector (docs/analysis-rules.md, "Structural detector"): every state
transition on hand-built bars, promotions, the zigzag gap the original crashed on, selection
through analyze(), causality (hypothesis) and realistic counts on synthetic daily series."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import engine
from analysis.detection import MAJOR, MINOR, PEAK, VALLEY, Extreme, causal_atr
from analysis.engine import analyze
from analysis.patterns import FORMING
from analysis.structural import (
    BAD_N_CRITERIA,
    CONFIRMED,
    DEVELOPING,
    HYPOTHESIS,
    WATCHING,
    StructuralSwingDetector,
)
from analysis.tests.factories import SETTINGS, bars, frame, mirror_rows, ohlcv
from analysis.trend import DOWN, UP, trend_periods
from analysis.zigzag import FILL
from marketdata.krx_calendar import KST

DETECTOR = StructuralSwingDetector()


def states(rows):
    return [(s.state, s.direction) for s in DETECTOR.states(bars(rows))]


def points(rows):
    return [
        (e.kind, e.level, e.index, e.price, e.confirmed_index) for e in DETECTOR.detect(bars(rows))
    ]


# Bar 0 opens the band (11, 9); bar 1 up with a higher High: the band becomes (12, 10).
START_UP = [(10, 11, 9, 10), (10, 12, 10, 11.5)]


@pytest.mark.parametrize(
    "bar_one, expected",
    [
        ((10, 10.5, 9.5, 10.4), (HYPOTHESIS, UP)),  # bullish, even inside bar 0
        ((10, 10.5, 9.5, 9.6), (HYPOTHESIS, DOWN)),
        ((10, 10.5, 9.5, 10), (WATCHING, None)),  # doji
    ],
)
def test_the_colour_of_bar_one_opens_the_first_hypothesis(bar_one, expected):
    trace = DETECTOR.states(bars([(10, 11, 9, 10), bar_one]))
    assert (trace[1].state, trace[1].direction) == expected
    # Bar 1 lies inside bar 0: the band stays bar 0's.
    assert trace[1].inside and (trace[1].reference_high, trace[1].reference_low) == (11, 9)


@pytest.mark.parametrize(
    "bar_two, expected",
    [
        ((10, 10.8, 9.2, 10.5), (WATCHING, None)),  # inside: keeps watching
        ((10, 11.5, 9.5, 11), (HYPOTHESIS, UP)),  # High above the band
        ((10, 10.5, 8.5, 9), (HYPOTHESIS, DOWN)),  # Low below the band
        ((10, 11.5, 8.5, 11), (HYPOTHESIS, DOWN)),  # outside bar: the Low break wins
    ],
)
def test_watching_opens_a_hypothesis_on_a_band_break(bar_two, expected):
    rows = [(10, 11, 9, 10), (10, 10.5, 9.5, 10), bar_two]
    assert states(rows)[2] == expected


def test_two_qualifying_bars_confirm_and_a_bearish_close_below_the_band_makes_the_peak():
    rows = START_UP + [
        (11.5, 13, 11, 12.5),  # High above 12, close above 11.5: forming (1 of 2)
        (12.5, 14, 12, 13.5),  # again: confirmed up, highest High 14
        (13.5, 15, 13, 14.5),  # new highest High 15 (bar 4)
        (14.5, 14.8, 13.5, 14),  # inside bar: held
        (14, 14.5, 11, 11.5),  # bearish, close 11.5 below the band Low 13: the peak
    ]
    assert states(rows) == [
        (WATCHING, None),
        (HYPOTHESIS, UP),
        (DEVELOPING, UP),
        (CONFIRMED, UP),
        (CONFIRMED, UP),
        (CONFIRMED, UP),
        (HYPOTHESIS, DOWN),
    ]
    assert points(rows) == [(PEAK, MAJOR, 4, 15.0, 6)]
    # Mirrored prices (no outside bar while watching): the same swing as a valley.
    assert points(mirror_rows(rows)) == [(VALLEY, MAJOR, 4, 300.0 - 15.0, 6)]


def test_a_strong_move_confirms_at_once():
    rows = [
        (10, 11, 9, 10),
        (10, 11.5, 9.5, 11),  # hypothesis up; its range is 2
        (11, 14, 10.8, 13.5),  # bullish, +2.5 close to close > 2: confirmed, highest High 14
        (13.5, 13.8, 10, 10.2),  # bearish close below the band Low 10.8
    ]
    assert [s for s, _ in states(rows)] == [WATCHING, HYPOTHESIS, CONFIRMED, HYPOTHESIS]
    assert points(rows) == [(PEAK, MAJOR, 2, 14.0, 3)]
    # The same move against the hypothesis is no shortcut.
    down = [(10, 11, 9, 10), (10, 10.5, 9.5, 9.6), (9.6, 14, 9.4, 13.5)]
    assert states(down)[2] == (HYPOTHESIS, UP)  # a reversal (close above bar 1's open)


@pytest.mark.parametrize(
    "bar_two, expected",
    [
        ((11, 11.2, 9, 9.8), (HYPOTHESIS, DOWN)),  # Low below the band, close below open 10
        ((11, 11.2, 9, 10.2), (WATCHING, None)),  # close above it: cancelled
        ((11, 11.8, 10.2, 10.9), (HYPOTHESIS, UP)),  # High above, close below 11: held
    ],
)
def test_a_hypothesis_reverses_is_cancelled_or_holds(bar_two, expected):
    rows = [(10, 11, 9, 10), (10, 11.5, 9.5, 11), bar_two]
    assert states(rows)[2] == expected


@pytest.mark.parametrize(
    "bar_three, expected",
    [
        ((12.5, 12.8, 10.5, 11.2), (HYPOTHESIS, DOWN)),  # Low below 11, close below open 11.5
        ((12.5, 12.8, 10.5, 11.8), (WATCHING, None)),  # close above it: reset
        ((12.5, 13.5, 11.5, 12.2), (DEVELOPING, UP)),  # High above, close lower: held
    ],
)
def test_forming_reverses_resets_or_holds(bar_three, expected):
    rows = START_UP + [(11.5, 13, 11, 12.5), bar_three]
    assert states(rows)[2:] == [(DEVELOPING, UP), expected]


def test_inside_bars_freeze_the_state_even_after_a_big_close_to_close_move():
    rows = [
        (10, 11, 9, 10),
        (10, 12, 10, 11.5),  # hypothesis up, band (12, 10)
        (11.5, 11.6, 11.4, 11.5),  # tiny inside bar (range 0.2)
        (11.5, 12, 10.5, 11.8),  # touches the band High: inside; +0.3 > 0.2 but held
    ]
    trace = DETECTOR.states(bars(rows))
    assert [(s.state, s.inside) for s in trace[1:]] == [
        (HYPOTHESIS, False),
        (HYPOTHESIS, True),
        (HYPOTHESIS, True),
    ]
    assert all((s.reference_high, s.reference_low) == (12, 10) for s in trace[1:])


def test_more_qualifying_bars_with_a_higher_n_criteria():
    rows = START_UP + [(11.5, 13, 11, 12.5), (12.5, 14, 12, 13.5), (13.5, 15, 13, 14.5)]
    trace = StructuralSwingDetector(n_criteria=3).states(bars(rows))
    assert [s.state for s in trace] == [WATCHING, HYPOTHESIS, 2, 2, CONFIRMED]


@pytest.mark.parametrize("value", [1, 0, 2.0, True, "2"])
def test_bad_n_criteria_is_rejected(value):
    with pytest.raises(ValueError) as caught:
        StructuralSwingDetector(n_criteria=value)
    assert str(caught.value) == BAD_N_CRITERIA.format(value=value)


# A down leg to a major valley (bar 4), an up leg whose highest High (bar 8) is first promoted
# to a minor peak by a lower local peak (bar 11, known at 12) and then registered as a major
# peak (bar 13); a reversal up (bar 15) and a second major peak (bar 17, known at 18) with no
# minor valley between the two peaks: the valley candidate (bar 14) is promoted at bar 18.
SWINGS = [
    (20, 21, 19, 20),
    (20, 20, 18, 18.5),  # bearish bar 1: hypothesis down
    (18.5, 19, 17, 17.5),  # forming down
    (17.5, 18, 16, 16.5),  # confirmed down
    (16.5, 17, 15, 15.5),  # lowest Low 15
    (15.5, 18.5, 15.2, 18),  # bullish close above the band High 17: major valley at bar 4
    (18, 19, 17.5, 18.8),  # forming up
    (18.8, 18.9, 17.6, 17.8),  # inside
    (17.8, 19.5, 17.7, 19.3),  # confirmed up; bar 6 (High 19) is the peak candidate
    (19.3, 19.4, 18.5, 18.7),  # inside; bar 8 (19.5) is the better candidate
    (18.7, 19.2, 18.0, 18.2),  # inside
    (18.2, 19.3, 18.1, 19.0),  # inside
    (19.0, 19.1, 18.3, 18.4),  # inside; bar 11 (19.3) is a lower local peak: bar 8 promoted
    (18.4, 18.6, 17.0, 17.2),  # bearish close below 17.7: major peak at bar 8
    (17.2, 17.5, 16.5, 17.4),  # hypothesis down holds
    (17.4, 18.8, 17.3, 18.7),  # High above, close above bar 14's open: reversal up
    (18.7, 19.6, 18.5, 19.5),  # forming up; bar 14 (Low 16.5) is the valley candidate
    (19.5, 20.5, 19.4, 20.4),  # confirmed up, highest High 20.5
    (20.4, 20.45, 18.0, 18.2),  # bearish close below 19.4: major peak at bar 17
]


def test_majors_and_live_and_retro_promoted_minors():
    assert points(SWINGS) == [
        (VALLEY, MAJOR, 4, 15.0, 5),
        (PEAK, MINOR, 8, 19.5, 12),  # live promotion
        (PEAK, MAJOR, 8, 19.5, 13),  # the same bar turns major
        (VALLEY, MINOR, 14, 16.5, 18),  # retro promotion between two major peaks
        (PEAK, MAJOR, 17, 20.5, 18),
    ]
    assert states(SWINGS) == [
        (WATCHING, None),
        *[(HYPOTHESIS, DOWN), (DEVELOPING, DOWN), (CONFIRMED, DOWN), (CONFIRMED, DOWN)],
        *[(HYPOTHESIS, UP), (DEVELOPING, UP), (DEVELOPING, UP)],
        *[(CONFIRMED, UP)] * 5,
        *[(HYPOTHESIS, DOWN), (HYPOTHESIS, DOWN)],
        *[(HYPOTHESIS, UP), (DEVELOPING, UP), (CONFIRMED, UP), (HYPOTHESIS, DOWN)],
    ]
    zigzag = analyze(frame(SWINGS), detector="structural").zigzag
    assert [(z.kind, z.level, z.index) for z in zigzag] == [
        (VALLEY, MAJOR, 4),
        (PEAK, MAJOR, 8),
        (VALLEY, MINOR, 14),
        (PEAK, MAJOR, 17),
    ]


def test_strength_is_the_swing_from_the_previous_opposite_point_in_atr():
    found = DETECTOR.detect(bars(SWINGS))
    atr = causal_atr(bars(SWINGS))
    assert found[0].strength == 0.0  # nothing before the first point
    assert found[2].strength == pytest.approx((19.5 - 15.0) / atr[13], abs=1e-6)
    assert found[4].strength == pytest.approx((20.5 - 16.5) / atr[18], abs=1e-6)


def test_two_peaks_without_a_valley_between_get_a_filled_zigzag_instead_of_a_crash():
    # After the peak at bar 8 a staircase (equal Lows 16.9 at bars 14 and 15) leaves no local
    # valley before the next highest High (bar 16); the first local valley (bar 17) lies after
    # it, so no retro promotion happens and the original raised an error here.
    rows = SWINGS[:14] + [
        (17.2, 18.9, 16.9, 18.8),
        (18.8, 19.8, 16.9, 19.7),
        (19.7, 20.8, 19.6, 20.7),
        (20.7, 20.75, 19.0, 19.7),
        (19.7, 20.0, 19.5, 19.9),
        (19.9, 19.95, 18.5, 18.6),
    ]
    assert points(rows)[-1] == (PEAK, MAJOR, 16, 20.8, 19)
    assert not [p for p in points(rows) if p[0] == VALLEY and p[1] == MINOR]
    # The valley candidate (bar 17) is kept: a later local valley that is not lower (bar 22,
    # 19.1) promotes it. (The original once dropped it at the major: its "team-kill" bug.)
    later = [
        (18.6, 18.9, 18.5, 18.8),
        (18.8, 19.5, 19.2, 19.4),
        (19.4, 19.6, 19.1, 19.3),
        (19.3, 19.7, 19.4, 19.6),
    ]
    assert points(rows + later)[4:] == [(VALLEY, MINOR, 17, 19.0, 23)]
    zigzag = analyze(frame(rows), detector="structural").zigzag
    assert [(z.kind, z.level, z.index, z.price) for z in zigzag] == [
        (VALLEY, MAJOR, 4, 15.0),
        (PEAK, MAJOR, 8, 19.5),
        (VALLEY, FILL, 14, 16.9),  # the lowest Low between the peaks (first of the equal two)
        (PEAK, MAJOR, 16, 20.8),
    ]


def test_no_retro_promotion_when_a_minor_already_separates_the_two_peaks():
    rows = SWINGS[:15] + [
        (17.4, 17.8, 16.8, 17.6),  # reversal up; bar 14 (Low 16.5) is the valley candidate
        (17.6, 17.7, 16.6, 17.5),  # Low below the band, close above bar 15's open: cancelled
        (17.5, 18.0, 17.2, 17.9),  # hypothesis up; bar 16 (16.6, not lower): bar 14 promoted
        (17.9, 19.0, 17.8, 18.9),  # +1.0 > bar 17's range 0.8: confirmed at once
        (18.9, 19.2, 18.5, 19.1),  # highest High 19.2
        (19.1, 19.15, 17.5, 17.6),  # bearish close below 18.5: major peak at bar 19
    ]
    assert states(rows)[15:] == [
        (HYPOTHESIS, UP),
        (WATCHING, None),
        (HYPOTHESIS, UP),
        (CONFIRMED, UP),
        (CONFIRMED, UP),
        (HYPOTHESIS, DOWN),
    ]
    assert points(rows)[3:] == [(VALLEY, MINOR, 14, 16.5, 17), (PEAK, MAJOR, 19, 19.2, 20)]


def test_an_equal_local_peak_also_promotes_the_candidate():
    # As SWINGS up to bar 11, but bar 11's High equals the candidate's 19.5.
    rows = [*SWINGS[:11], (18.2, 19.5, 18.1, 19.0), (19.0, 19.1, 18.3, 18.4)]
    assert (PEAK, MINOR, 8, 19.5, 12) in points(rows)


def test_the_trend_uses_minors_and_counts_a_minor_turned_major_once():
    extremes = [
        Extreme(PEAK, MINOR, 1, 20.0, 2, 1.0),
        Extreme(VALLEY, MAJOR, 3, 10.0, 4, 1.0),
        Extreme(PEAK, MINOR, 5, 18.0, 7, 1.0),
        Extreme(PEAK, MAJOR, 5, 18.0, 8, 1.0),  # the same bar, later a major
    ]
    close = [15.0] * 12
    close[10] = 9.0  # below the last valley after a lower high: a downtrend starts
    periods, state = trend_periods(close, extremes, levels=(MAJOR, MINOR))
    assert [(p.direction, p.start_index, p.end_index, p.ongoing) for p in periods] == [
        (DOWN, 10, 11, True)
    ]
    assert state.state == DOWN
    assert trend_periods(close, extremes)[0] == []  # majors only: a single peak, no trend


def test_analyze_picks_the_detector_by_name_or_instance():
    data = frame(SWINGS)
    structural = analyze(data, detector="structural")
    assert structural.params == {"detector": "structural", "n_criteria": 2}
    assert structural.to_dict() == analyze(data, detector=StructuralSwingDetector()).to_dict()
    assert analyze(data).params["detector"] == "atr"
    assert analyze(data, detector="atr", sensitivity=2.0).params["sensitivity"] == 2.0
    assert {(e.kind, e.index) for e in structural.extremes} != {
        (e.kind, e.index) for e in analyze(data).extremes
    }


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"detector": "zigzag"},
            engine.UNKNOWN_DETECTOR.format(name="zigzag", names="atr, structural"),
        ),
        (
            {"detector": "structural", "sensitivity": 2.0},
            engine.NO_SENSITIVITY.format(name="structural"),
        ),
        (
            {"detector": StructuralSwingDetector(), "sensitivity": 1.0},
            engine.SENSITIVITY_WITH_INSTANCE,
        ),
    ],
)
def test_bad_detector_choices_are_rejected(kwargs, message):
    with pytest.raises(ValueError) as caught:
        analyze(frame(SWINGS), **kwargs)
    assert str(caught.value) == message


def _keys(extremes):
    return [(e.kind, e.level, e.index, e.price, e.confirmed_index, e.strength) for e in extremes]


@SETTINGS
@given(ohlcv(min_size=3), st.data())
def test_causality_for_any_cut(frame_, data):
    k = data.draw(st.integers(2, len(frame_)))
    full = analyze(frame_, detector="structural")
    prefix = analyze(frame_.iloc[:k], detector="structural")
    assert _keys(prefix.extremes) == [key for key in _keys(full.extremes) if key[4] < k]
    closed = lambda r: [  # noqa: E731
        (t.direction, t.start_index, t.end_index) for t in r.trend_periods if not t.ongoing
    ]
    assert closed(prefix) == [t for t in closed(full) if t[2] < k]
    ended = lambda r: [  # noqa: E731
        (p.type, p.status, tuple(sorted(p.points.items())), p.end_index)
        for p in r.patterns
        if p.status != FORMING and p.end_index < k
    ]
    assert ended(prefix) == ended(full)
    # The state log of the prefix is the full run's, bar for bar.
    b = engine.bars_from_frame(frame_)[1]
    prefix_bars = engine.bars_from_frame(frame_.iloc[:k])[1]
    assert DETECTOR.states(prefix_bars) == DETECTOR.states(b)[:k]


@SETTINGS
@given(ohlcv())
def test_points_obey_their_rules(frame_):
    result = analyze(frame_, detector="structural")
    high, low = frame_["high"].to_numpy(), frame_["low"].to_numpy()
    majors = [e for e in result.extremes if e.level == MAJOR]
    for e in result.extremes:
        assert e.index <= e.confirmed_index
        assert e.price == (high[e.index] if e.kind == PEAK else low[e.index])
    for e in majors:  # the most extreme bar from the point to its confirmation
        span = slice(e.index, e.confirmed_index + 1)
        assert e.price == (high[span].max() if e.kind == PEAK else low[span].min())
    for e in result.extremes:
        if e.level == MINOR:  # a 3-bar local extreme, strictly, known after its right bar
            i = e.index
            assert i + 1 <= e.confirmed_index
            if e.kind == PEAK:
                assert high[i] > high[i - 1] and high[i] > high[i + 1]
            else:
                assert low[i] < low[i - 1] and low[i] < low[i + 1]
    # Majors come in bar order, each found after the previous one was known.
    assert all(a.confirmed_index < b.index for a, b in zip(majors, majors[1:], strict=False))
    zz = result.zigzag
    assert all(a.kind != b.kind and a.index < b.index for a, b in zip(zz, zz[1:], strict=False))


@SETTINGS
@given(ohlcv())
def test_inside_bars_never_move_the_band_or_a_running_state(frame_):
    trace = DETECTOR.states(engine.bars_from_frame(frame_)[1])
    for before, now in zip(trace, trace[1:], strict=False):
        assert (now.state == WATCHING) == (now.direction is None)
        if now.inside:
            assert (now.reference_high, now.reference_low) == (
                before.reference_high,
                before.reference_low,
            )
            if before.state != WATCHING:
                assert (now.state, now.direction) == (before.state, before.direction)


def _daily_walk(seed: int, n: int = 1200) -> pd.DataFrame:
    """Daily-like KRW bars: Student-t returns, slowly varying volatility, 10 KRW ticks."""
    rng = np.random.default_rng(seed)
    vol = 0.015 * np.exp(np.clip(np.cumsum(rng.normal(0, 0.05, n)), -1, 1))
    close = np.round(50_000 * np.exp(np.cumsum(rng.standard_t(4, n) * vol / np.sqrt(2))), -1)
    open_ = np.round(np.concatenate([[close[0]], close[:-1]]) * (1 + rng.normal(0, 0.002, n)), -1)
    high = np.round(np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.006, n))), -1)
    low = np.round(np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.006, n))), -1)
    index = pd.date_range("2020-01-01", periods=n, freq="B", tz=KST)
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": 1e5}, index=index
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_realistic_counts_spacing_and_lags_on_daily_series(seed):
    """What the rules lead one to expect on ~5 years of daily bars: a major swing every one to
    four weeks, known within days; minors about as many as majors, known a few bars late; a
    trend period every few months; a zigzag point every one to two weeks."""
    n = 1200
    result = analyze(_daily_walk(seed, n), detector="structural")
    majors = [e for e in result.extremes if e.level == MAJOR]
    minors = [e for e in result.extremes if e.level == MINOR]
    spacing = np.median(np.diff([e.index for e in majors]))
    assert 5 <= spacing <= 25
    assert 0.5 <= len(minors) / len(majors) <= 4
    assert np.median([e.confirmed_index - e.index for e in majors]) <= 3
    assert 3 <= np.median([e.confirmed_index - e.index for e in minors]) <= 8
    assert n / 120 <= len(result.trend_periods) <= n / 20
    assert 3 <= np.median(np.diff([z.index for z in result.zigzag])) <= 15

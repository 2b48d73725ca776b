"""Double top/bottom and (inverse) head-and-shoulders on hand-built bars and swing points."""

import pytest

from analysis.detection import MAJOR, MINOR, PEAK, VALLEY, Extreme
from analysis.patterns import (
    COMPLETED,
    DB,
    DT,
    FORMING,
    HS,
    IHS,
    INVALIDATED,
    detect_patterns,
)
from analysis.tests.factories import bars, mirror_rows

# Double top: straight valley 95 at bar 1, P1 = 110 at bar 3 confirmed at bar 5 (bearish),
# pullback to 98 (bar 6), retest by body at bar 8 (P2 = 109.8), completion at bar 9.
DT_ROWS = [
    (100, 101, 99, 100),
    (100, 100, 95, 96),
    (96, 104, 96, 103),
    (103, 110, 102, 108),  # P1, bullish -> starts in the pullback stage
    (108, 109, 104, 105),
    (105, 106, 101, 102),  # confirmation bar, bearish, close 102
    (102, 103, 98, 99),  # bearish close < 102 -> reentry stage
    (99, 104, 99, 103),  # below the band
    (103, 109.8, 102, 109.5),  # body top 109.5 >= band low 109.4 -> P2, forming
    (109, 109.5, 101, 102),  # close 102 < previous open 103 -> completed
]
DT_POINTS = [
    Extreme(VALLEY, MAJOR, 1, 95.0, 2, 3.0),
    Extreme(PEAK, MAJOR, 3, 110.0, 5, 3.0),
]


def _atr(n, value=2.0):
    import numpy as np

    return np.full(n, value)


def _run(rows, points):
    return detect_patterns(bars(rows), points, _atr(len(rows)))


def _mirror_points(points, pivot=300.0):
    return [
        Extreme(
            VALLEY if p.kind == PEAK else PEAK,
            p.level,
            p.index,
            pivot - p.price,
            p.confirmed_index,
            p.strength,
        )
        for p in points
    ]


def test_double_top_goes_through_every_stage_to_completion():
    (pattern,) = _run(DT_ROWS, DT_POINTS)
    assert pattern.type == DT and pattern.status == COMPLETED
    assert pattern.points == {"P1": (3, 110.0), "V1": (6, 98.0), "P2": (8, 109.8)}
    assert (pattern.start_index, pattern.detected_index, pattern.end_index) == (3, 8, 9)
    assert pattern.neckline == ("level", 98.0)
    assert pattern.target == pytest.approx(98 - (110 - 98))
    assert 0 <= pattern.score <= 1


def test_double_top_is_forming_until_confirmed():
    (pattern,) = _run(DT_ROWS[:9], DT_POINTS)
    assert pattern.status == FORMING
    assert pattern.end_index == 8
    assert pattern.points["P2"] == (8, 109.8)


def test_double_top_not_reported_before_the_second_top():
    assert _run(DT_ROWS[:8], DT_POINTS) == []


def test_double_top_needs_a_bearish_confirmation_bar():
    rows = list(DT_ROWS)
    rows[5] = (101, 106, 101, 102)  # bullish confirmation bar
    assert _run(rows, DT_POINTS) == []


def test_double_top_needs_a_straight_valley_before_the_first_top():
    assert _run(DT_ROWS, DT_POINTS[1:]) == []


def test_double_top_pullback_stage_waits_for_a_close_below_the_confirmation_close():
    rows = list(DT_ROWS)
    rows[6] = (102, 103, 98, 102.5)  # bearish but closes above 102: still pullback
    rows[7] = (102.5, 104, 99, 103)  # bullish: still pullback
    assert _run(rows, DT_POINTS) == []  # the bar-8 retest is ignored outside reentry


def test_double_top_starts_in_reentry_when_the_first_top_bar_is_bearish():
    rows = list(DT_ROWS)
    rows[3] = (109, 110, 102, 108)  # bearish top bar
    rows[6] = (102, 103, 98, 102.5)  # no pullback trigger needed any more
    (pattern,) = _run(rows, DT_POINTS)
    assert pattern.status == COMPLETED and pattern.points["P2"] == (8, 109.8)


def test_double_top_wick_only_retest_needs_a_rising_bullish_bar():
    rows = list(DT_ROWS)
    rows[8] = (103, 109.8, 101, 102.5)  # wick reaches the band, bearish bar, close falls
    rows[9] = (102.5, 104, 100, 101)
    assert _run(rows, DT_POINTS) == []
    rows[8] = (103, 109.8, 102, 104)  # wick touch, bullish, close 104 > 103
    (pattern,) = _run(rows, DT_POINTS)
    assert pattern.points["P2"] == (8, 109.8)


def test_double_top_reset_after_the_second_top_is_invalidated():
    rows = list(DT_ROWS)
    rows[9] = (109.5, 111.5, 109, 111)  # close above the band high (110)
    (pattern,) = _run(rows, DT_POINTS)
    assert pattern.status == INVALIDATED and pattern.end_index == 9


def test_double_top_reset_below_the_straight_valley():
    rows = list(DT_ROWS)
    rows[7] = (99, 99.5, 93, 94)  # close 94 < straight valley 95 before any retest
    rows[8] = (94, 109.8, 94, 109.5)
    assert _run(rows, DT_POINTS) == []


def test_double_bottom_is_the_mirror_of_the_double_top():
    rows = mirror_rows(DT_ROWS)
    (pattern,) = _run(rows, _mirror_points(DT_POINTS))
    assert pattern.type == DB and pattern.status == COMPLETED
    assert pattern.points == {
        "V1": (3, 190.0),
        "P1": (6, 202.0),
        "V2": (8, pytest.approx(190.2)),
    }
    assert pattern.neckline == ("level", 202.0)
    assert pattern.target == pytest.approx(202 + (202 - 190))


def test_double_bottom_accepts_a_wick_only_retest():
    rows = list(DT_ROWS)
    rows[8] = (103, 109.8, 101, 102.5)  # as a top: rejected (bearish wick-only)
    rows[9] = (102.5, 104, 100, 101)
    (pattern,) = _run(mirror_rows(rows), _mirror_points(DT_POINTS))
    assert pattern.type == DB and pattern.points["V2"][0] == 8


# Head and shoulders: V1 90 @2, P1 110 @5, V2 95 @8, P2 130 @11, V3 97 @14, P3 112 @17
# (each confirmed the next bar). Neckline through (8, 95) and (14, 97).
HS_SHAPE = {2: 90.0, 5: 110.0, 8: 95.0, 11: 130.0, 14: 97.0, 17: 112.0}


def _hs_case(shape=None, closes=None, n=24):
    shape = dict(HS_SHAPE if shape is None else shape)
    points = []
    for number, (index, price) in enumerate(sorted(shape.items())):
        kind = VALLEY if number % 2 == 0 else PEAK
        points.append(Extreme(kind, MAJOR, index, price, index + 1, 2.0))
    closes = dict(closes or {})
    rows = []
    level = 100.0
    for i in range(n):
        c = closes.get(i, level)
        rows.append((c, c + 0.5, c - 0.5, c))
    return rows, points


def test_head_and_shoulders_completes_on_the_neckline():
    rows, points = _hs_case(closes={20: 99.0})  # neckline at bar 20: 95 + 12/3 = 99
    (pattern,) = [p for p in _run(rows, points) if p.type == HS]
    assert pattern.status == COMPLETED
    assert pattern.end_index == 20 and pattern.detected_index == 18
    assert pattern.points == {
        "V1": (2, 90.0),
        "P1": (5, 110.0),
        "V2": (8, 95.0),
        "P2": (11, 130.0),
        "V3": (14, 97.0),
        "P3": (17, 112.0),
    }
    assert pattern.neckline_at(20) == pytest.approx(99.0)
    head_neck = 95 + 3 / 3
    assert pattern.target == pytest.approx(99.0 - (130 - head_neck))
    assert 0 <= pattern.score <= 1


def test_head_and_shoulders_forming_then_invalidated_above_the_shoulders():
    rows, points = _hs_case(n=21)
    (forming,) = [p for p in _run(rows, points) if p.type == HS]
    assert forming.status == FORMING and forming.end_index == 20
    rows, points = _hs_case(closes={21: 113.0})
    (dead,) = [p for p in _run(rows, points) if p.type == HS]
    assert dead.status == INVALIDATED and dead.end_index == 21


def test_head_and_shoulders_times_out_when_the_neckline_is_not_broken():
    # Falling neckline (V3 below V2) that closes at 100 never reach: P1 @5 .. P3 @17 = 12 bars,
    # so the setup is stale 12 bars after P3, at bar 29, and not found again afterwards.
    shape = {**HS_SHAPE, 14: 93.0}
    rows, points = _hs_case(shape, n=29)
    (forming,) = [p for p in _run(rows, points) if p.type == HS]
    assert forming.status == FORMING and forming.end_index == 28
    rows, points = _hs_case(shape, n=45)
    points.append(Extreme(PEAK, MAJOR, 17, 112.0, 35, 2.0))  # P3 confirmed again later
    (stale,) = [p for p in _run(rows, points) if p.type == HS]
    assert stale.status == INVALIDATED and stale.end_index == 29


def _hs_found(shape=None, closes=None):
    rows, points = _hs_case(shape, closes)
    return [p for p in _run(rows, points) if p.type == HS]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({2: 96.0}, "V2 not above V1"),
        ({11: 111.5}, "head not above the right shoulder"),
        ({5: 103.0}, "left shoulder below the right side's midpoint (balance)"),
        ({11: 117.0}, "head prominence (117-112)/(117-90) < 0.20"),
    ],
)
def test_head_and_shoulders_rejection_rules(change, why):
    assert _hs_found({**HS_SHAPE, **change}) == [], why


def test_head_and_shoulders_head_prominence_boundary():
    # (119 - 112) / (119 - 90) = 0.241 passes
    assert len(_hs_found({**HS_SHAPE, 11: 119.0})) == 1


def test_head_and_shoulders_rejected_when_already_invalidated_before_the_search():
    assert _hs_found(closes={16: 113.0}) == []


def test_head_and_shoulders_time_symmetry_is_measured_in_bars():
    # P1->P2 = 6 bars; P2->P3 = 15 bars is exactly 2.5x (kept), 16 bars is rejected.
    ok = {2: 90.0, 5: 110.0, 8: 95.0, 11: 130.0, 20: 97.0, 26: 112.0}
    rows, points = _hs_case(ok, n=30)
    assert [p.type for p in _run(rows, points)].count(HS) == 1
    bad = {**ok, 20: 97.0, 27: 112.0}
    del bad[26]
    rows, points = _hs_case(bad, n=30)
    assert [p.type for p in _run(rows, points)].count(HS) == 0


def test_completed_anchor_is_never_detected_again():
    rows, points = _hs_case(closes={20: 99.0}, n=30)
    # P3 confirmed again (as a major after a minor) after the completion: same anchor V3
    points[-1] = Extreme(PEAK, MINOR, 17, 112.0, 18, 1.0)
    points.append(Extreme(PEAK, MAJOR, 17, 112.0, 25, 2.0))
    assert [p.type for p in _run(rows, points)].count(HS) == 1


def test_only_one_active_detector_per_left_shoulder():
    rows, points = _hs_case(n=30)  # never completes: stays forming
    points.append(Extreme(PEAK, MAJOR, 17, 112.0, 25, 2.0))
    assert [p.type for p in _run(rows, points)].count(HS) == 1


def test_inverse_head_and_shoulders_is_the_mirror():
    rows, points = _hs_case(closes={20: 99.0})
    found = detect_patterns(bars(mirror_rows(rows)), _mirror_points(points), _atr(len(rows)))
    (pattern,) = [p for p in found if p.type == IHS]
    assert pattern.status == COMPLETED and pattern.end_index == 20
    assert pattern.points["P1"] == (2, 210.0) and pattern.points["V2"] == (11, 170.0)
    assert pattern.neckline == ("line", (8, 205.0), (14, 203.0))
    assert pattern.target == pytest.approx(300 - (99.0 - (130 - 96)))

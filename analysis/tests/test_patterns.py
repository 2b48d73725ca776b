"""Double top/bottom and (inverse) head-and-shoulders on constructed series, rule by rule
(docs/analysis-rules.md#chart-patterns).

Series are drawn through waypoints: the close moves in a straight line from one (bar, close) to
the next and stays at the last value; the open is the previous close and High/Low are the body
+/- 0.5. ATR is a constant 2, so "3 ATR" is 6 KRW. Swing peaks (valleys) are handed in as minor
points confirmed two bars after their bar.
"""

import numpy as np
import pytest

from analysis.detection import MINOR, PEAK, VALLEY, Bars, Extreme
from analysis.patterns import (
    COMPLETED,
    DB,
    DT,
    EXPIRED,
    FAILED,
    FORMING,
    HS,
    IHS,
    INVALIDATED,
    TARGET,
    detect_patterns,
)

ATR = 2.0


def rows(waypoints, n=None, spread=0.5):
    xs, ys = zip(*waypoints, strict=True)
    n = n or xs[-1] + 1
    close = np.interp(np.arange(n), xs, ys)
    open_ = np.concatenate([[close[0]], close[:-1]])
    return np.column_stack(
        [open_, np.maximum(open_, close) + spread, np.minimum(open_, close) - spread, close]
    )


def run(data, peaks=(), valleys=()):
    bars = Bars(data[:, 0], data[:, 1], data[:, 2], data[:, 3], np.full(len(data), 1000.0))
    points = [Extreme(PEAK, MINOR, i, data[i, 1], i + 2, 1.0) for i in peaks]
    points += [Extreme(VALLEY, MINOR, i, data[i, 2], i + 2, 1.0) for i in valleys]
    points.sort(key=lambda e: (e.confirmed_index, e.index))
    return detect_patterns(bars, points, np.full(len(data), ATR))


def mirror(data, pivot=300.0):
    """Prices reflected (High and Low swap): tops become bottoms."""
    return np.column_stack(
        [pivot - data[:, 0], pivot - data[:, 2], pivot - data[:, 1], pivot - data[:, 3]]
    )


def of_type(found, kind):
    return [p for p in found if p.type == kind]


# Double top: a rise from 100 to the first top (High 120.5 at bar 20), a valley (Low 107.5 at
# bar 30), a second top (High 120.5 at bar 40), then a decline of 1 a bar. Height 13 = 6.5 ATR.
DT_PATH = [(0, 100), (20, 120), (30, 108), (40, 120), (80, 80)]
DT_TOPS = (20, 40)


def test_double_top_completes_at_the_first_close_below_the_valley():
    (pattern,) = run(rows(DT_PATH, 100), DT_TOPS)
    assert pattern.type == DT and pattern.status == COMPLETED
    assert pattern.points == {"P1": (20, 120.5), "V1": (30, 107.5), "P2": (40, 120.5)}
    # Reported once the close is back halfway to the neckline (120.5 - 13/2 = 114 at bar 46);
    # completed by the first close below 107.5 (107 at bar 53).
    assert (pattern.start_index, pattern.detected_index, pattern.end_index) == (20, 46, 53)
    assert pattern.neckline == ("level", 107.5) and pattern.extreme == 120.5
    assert pattern.target == pytest.approx(107.5 - 13)
    assert pattern.confirm_by_index == 40 + 20  # one top-to-top leg after P2
    assert 0 <= pattern.score <= 1
    assert pattern.features["height_atr"] == pytest.approx(6.5)


def test_double_top_is_not_reported_before_the_close_has_come_back_halfway():
    assert run(rows(DT_PATH, 46), DT_TOPS) == []
    (pattern,) = run(rows(DT_PATH, 47), DT_TOPS)
    assert pattern.status == FORMING and pattern.end_index == 46 and pattern.outcome is None


def test_double_top_that_never_breaks_its_neckline_stays_forming_then_is_invalidated():
    path = [(0, 100), (20, 120), (30, 108), (40, 120), (47, 113), (100, 110)]
    (forming,) = run(rows(path, 60), DT_TOPS)
    assert forming.status == FORMING and forming.end_index == 59
    (stale,) = run(rows(path, 100), DT_TOPS)
    assert stale.status == INVALIDATED and stale.end_index == 60  # the window's last bar
    assert stale.detected_index == forming.detected_index and stale.outcome is None


def test_a_break_after_the_window_does_not_complete_the_pattern():
    path = [(0, 100), (20, 120), (30, 108), (40, 120), (47, 113), (62, 110), (80, 95)]
    (pattern,) = run(rows(path, 90), DT_TOPS)
    assert pattern.status == INVALIDATED and pattern.end_index == 60


def test_double_top_is_invalidated_by_a_high_above_its_second_top():
    path = [(0, 100), (20, 120), (30, 108), (40, 120), (47, 113), (52, 122), (70, 100)]
    (pattern,) = run(rows(path, 70), DT_TOPS)
    assert pattern.status == INVALIDATED
    assert pattern.end_index == 51  # High 121 > 120.5


@pytest.mark.parametrize(
    ("path", "tops", "why"),
    [
        (
            [(0, 100), (20, 120), (30, 108), (40, 123), (80, 80)],
            DT_TOPS,
            "tops 3 KRW > 1 ATR apart",
        ),
        ([(0, 100), (20, 120), (24, 110), (28, 120), (68, 80)], (20, 28), "tops 8 bars apart"),
        ([(0, 100), (20, 120), (30, 116), (40, 120), (80, 80)], DT_TOPS, "valley 4.5 < 3 ATR deep"),
        ([(0, 112), (20, 120), (30, 108), (40, 120), (80, 80)], DT_TOPS, "no rise into P1"),
        (
            [(0, 100), (8, 124), (12, 110), (20, 120), (30, 108), (40, 120), (80, 80)],
            DT_TOPS,
            "a higher High between the trend low and V1",
        ),
    ],
)
def test_double_top_rules(path, tops, why):
    assert of_type(run(rows(path, 100), tops), DT) == [], why


def test_a_double_top_with_no_prior_trend_is_not_reported():
    flat = [(0, 110), (12, 110), (20, 120), (30, 108), (40, 120), (80, 80)]
    assert run(rows(flat, 100), DT_TOPS) == []
    rising = [(0, 100), (12, 106), (20, 120), (30, 108), (40, 120), (80, 80)]
    assert len(run(rows(rising, 100), DT_TOPS)) == 1


def test_of_several_first_tops_the_best_one_is_reported_once():
    # Two earlier peaks level with P2 (bars 12 and 20); bar 12 fails the true-extreme rule
    # (bar 20 is as high and comes before the valley), so bar 20 pairs with P2, once.
    path = [(0, 96), (12, 120), (16, 112), (20, 120), (30, 108), (40, 120), (80, 80)]
    found = run(rows(path, 100), (12, 20, 40))
    assert [(p.type, p.points["P1"][0], p.points["P2"][0]) for p in found] == [(DT, 20, 40)]


def test_a_third_top_does_not_report_the_same_tops_again():
    # DT (20, 40) completes; price comes back to the top level at bar 75 and falls again.
    path = [(0, 100), (20, 120), (30, 108), (40, 120), (55, 105), (75, 120), (110, 85)]
    found = run(rows(path, 110), (20, 40, 75))
    assert [(p.points["P1"][0], p.points["P2"][0]) for p in found] == [(20, 40)]


def test_double_bottom_is_the_mirror_of_the_double_top():
    (pattern,) = run(mirror(rows(DT_PATH, 100)), (), DT_TOPS)
    assert pattern.type == DB and pattern.status == COMPLETED
    assert pattern.points == {"V1": (20, 179.5), "P1": (30, 192.5), "V2": (40, 179.5)}
    assert pattern.neckline == ("level", 192.5) and pattern.extreme == 179.5
    assert pattern.target == pytest.approx(192.5 + 13)
    assert (pattern.detected_index, pattern.end_index) == (46, 53)


# --- outcomes ---------------------------------------------------------------------------------


def test_outcome_target_reached_with_excursions():
    (pattern,) = run(rows(DT_PATH, 100), DT_TOPS)
    outcome = pattern.outcome
    # Entry: the close of the completion bar 53 (107). Lows fall 1 a bar: 94.5 at bar 65.
    assert outcome.result == TARGET and outcome.index == 65 and outcome.bars_to_target == 12
    assert outcome.entry == 107.0 and outcome.horizon_index == 53 + 40
    assert outcome.mfe_pct == pytest.approx(100 * (107 - 94.5) / 107, abs=1e-4)
    assert outcome.mae_pct == pytest.approx(100 * 0.5 / 107, abs=1e-4)


def test_outcome_failed_on_a_close_back_above_the_extreme():
    path = [(0, 100), (20, 120), (30, 108), (40, 120), (53, 107), (56, 104), (70, 124)]
    (pattern,) = run(rows(path, 90), DT_TOPS)
    assert pattern.status == COMPLETED and pattern.end_index == 53
    outcome = pattern.outcome
    first_close_above = next(i for i in range(54, 90) if rows(path, 90)[i, 3] > 120.5)
    assert outcome.result == FAILED and outcome.index == first_close_above
    assert outcome.bars_to_target is None
    assert outcome.mfe_pct == pytest.approx(100 * (107 - 103.5) / 107, abs=1e-4)


def test_outcome_expires_after_twice_the_width_and_is_pending_before():
    path = [(0, 100), (20, 120), (30, 108), (40, 120), (53, 107), (56, 104), (200, 104)]
    (pending,) = run(rows(path, 80), DT_TOPS)
    assert pending.outcome.result is None and pending.outcome.index is None
    (expired,) = run(rows(path, 120), DT_TOPS)
    assert expired.outcome.result == EXPIRED and expired.outcome.index == 53 + 40
    assert expired.outcome.mfe_pct == pending.outcome.mfe_pct  # nothing new after bar 56


def test_outcome_of_a_double_bottom_measures_the_rise():
    (pattern,) = run(mirror(rows(DT_PATH, 100)), (), DT_TOPS)
    assert pattern.outcome.result == TARGET and pattern.outcome.index == 65
    assert pattern.outcome.entry == 300 - 107.0
    assert pattern.outcome.mfe_pct == pytest.approx(100 * 12.5 / 193, abs=1e-4)


# --- head and shoulders -----------------------------------------------------------------------

# V1 89.5 at bar 0, left shoulder 115.5 at bar 20, V2 105.5 at bar 28, head 125.5 at bar 38,
# V3 105.5 at bar 48, right shoulder 115.5 at bar 58, then a decline of 1 a bar. Height 20.
HS_PATH = [(0, 90), (20, 115), (28, 106), (38, 125), (48, 106), (58, 115), (100, 73)]
HS_PEAKS = (20, 38, 58)


def test_head_and_shoulders_completes_on_the_neckline():
    (pattern,) = run(rows(HS_PATH, 100), HS_PEAKS)
    assert pattern.type == HS and pattern.status == COMPLETED
    assert pattern.points == {
        "V1": (0, 89.5),
        "P1": (20, 115.5),
        "V2": (28, 105.5),
        "P2": (38, 125.5),
        "V3": (48, 105.5),
        "P3": (58, 115.5),
    }
    # Halfway back to the neckline (110.5) at bar 63; first close below 105.5 at bar 68.
    assert (pattern.detected_index, pattern.end_index) == (63, 68)
    assert pattern.neckline == ("line", (28, 105.5), (48, 105.5))
    assert pattern.target == pytest.approx(105.5 - 20)
    assert pattern.confirm_by_index == 58 + 19
    assert pattern.outcome.result == TARGET and pattern.outcome.bars_to_target == 19


def test_head_and_shoulders_with_a_sloping_neckline_breaks_the_line_at_that_bar():
    path = [(0, 90), (20, 115), (28, 108), (38, 125), (48, 104), (58, 114), (100, 73)]
    (pattern,) = of_type(run(rows(path, 100), HS_PEAKS), HS)
    (ia, pa), (ib, pb) = pattern.neckline[1:]
    end = pattern.end_index
    closes = rows(path, 100)[:, 3]
    line = lambda j: pa + (j - ia) * (pb - pa) / (ib - ia)  # noqa: E731
    assert closes[end] < line(end) and all(closes[j] >= line(j) for j in range(59, end))


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({3: (38, 116.5)}, "head 1.5 above the shoulders < 1 ATR"),
        ({5: (58, 109)}, "right shoulder 3.5 above the neckline < 0.3 height"),
        ({1: (20, 122)}, "shoulders 6.5 apart > 0.3 x height 20"),
        ({4: (48, 97)}, "neckline drops 9 > 0.4 x height"),
        ({0: (0, 104)}, "no prior trend: the rise into P1 is smaller than the height"),
    ],
)
def test_head_and_shoulders_rules(change, why):
    path = list(HS_PATH)
    for at, point in change.items():
        path[at] = point
    assert of_type(run(rows(path, 100), HS_PEAKS), HS) == [], why


def test_head_and_shoulders_time_symmetry_in_bars():
    # Head 10 bars after P1 and 22 before P3: 2.2 > 2 -> rejected; 20 before P3 -> kept.
    far = [(0, 90), (20, 115), (25, 106), (30, 125), (45, 106), (52, 115), (100, 68)]
    assert of_type(run(rows(far, 100), (20, 30, 52)), HS) == []
    ok = [(0, 90), (20, 115), (25, 106), (30, 125), (42, 106), (50, 115), (100, 65)]
    assert len(of_type(run(rows(ok, 100), (20, 30, 50)), HS)) == 1


def test_a_head_is_reported_once():
    # The head at bar 38 could pair with two left shoulders (bars 16 and 20) and with two
    # right shoulders (bars 56 and 62, the second after the first was surpassed). The old
    # search reported such a head several times; now one report holds it.
    path = [
        (0, 90),
        (16, 115),
        (18, 111),
        (20, 115),
        (28, 106),
        (38, 125),
        (48, 106),
        (56, 114),
        (59, 110),
        (62, 115.5),
        (100, 77),
    ]
    found = of_type(run(rows(path, 100), (16, 20, 38, 56, 62)), HS)
    assert len(found) == 1 and found[0].points["P2"][0] == 38


def test_inverse_head_and_shoulders_is_the_mirror():
    (pattern,) = of_type(run(mirror(rows(HS_PATH, 100)), (), HS_PEAKS), IHS)
    assert pattern.status == COMPLETED and pattern.end_index == 68
    assert pattern.points["V2"] == (38, 174.5) and pattern.points["P1"] == (0, 210.5)
    assert pattern.neckline == ("line", (28, 194.5), (48, 194.5))
    assert pattern.target == pytest.approx(194.5 + 20)


def test_range_queries_match_numpy_on_every_range_ties_included():
    """The scan's sparse-table range queries give NumPy's argmin/argmax (first of ties) for
    every range, including ranges longer than the tables cover."""
    from analysis import patterns

    rng = np.random.default_rng(3)
    n = 2 ** (patterns.RANGE_TABLE_LEVELS + 1) + 40
    low = rng.integers(0, 6, n).astype(float)  # few values: many ties
    high = low + rng.integers(0, 6, n)
    bars = Bars(low, high, low, low, np.ones(n))
    scan = patterns._Scan(bars, [], np.ones(n), mirrored=False)
    for a in range(0, n, 7):
        for b in [*range(a + 1, min(n, a + 70)), n]:
            assert scan._low_at(a, b) == a + int(np.argmin(low[a:b]))
            assert scan._high_at(a, b) == a + int(np.argmax(high[a:b]))

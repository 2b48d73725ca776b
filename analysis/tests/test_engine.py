"""analyze(): detector, zigzag, trend rules on hand-built data; output contract; edge cases."""

import json

import numpy as np
import pandas as pd
import pytest

from analysis import engine
from analysis.detection import (
    BAD_SENSITIVITY,
    MAJOR,
    MINOR,
    PEAK,
    VALLEY,
    AtrSwingDetector,
    Extreme,
    check_sensitivity,
)
from analysis.engine import analyze
from analysis.tests.factories import bars, closes_frame, frame
from analysis.trend import DOWN, SIDEWAYS, UP, trend_periods
from analysis.zigzag import FILL, build_zigzag
from marketdata.krx_calendar import KST

# Closes move 1 per bar with High/Low = close +/- 1 and open = previous close: every true range
# is 2, so ATR = 2 and the major threshold is 2.3 x 2 = 4.6.
UP_DOWN = [10 + i for i in range(11)] + [19 - i for i in range(10)] + [10 + i for i in range(8)]


def _frame_from_closes(closes):
    closes = np.asarray(closes, dtype=float)
    rows = np.column_stack([closes, closes + 1, closes - 1, closes])
    rows[1:, 0] = closes[:-1]
    return frame(rows)


def test_major_peak_is_confirmed_by_an_atr_scaled_reversal():
    result = analyze(_frame_from_closes(UP_DOWN))
    majors = [e for e in result.extremes if e.level == MAJOR]
    # The start: Low 9 at bar 0 is a valley once a High reaches 13.6 (bar 3, high 14).
    assert (majors[0].kind, majors[0].index, majors[0].confirmed_index) == (VALLEY, 0, 3)
    majors = majors[1:]
    # Peak High 21 at bar 10; first Low <= 21 - 4.6 is bar 13 (close 17, low 16).
    assert majors[0].kind == PEAK and majors[0].index == 10 and majors[0].price == 21.0
    assert majors[0].confirmed_index == 13
    # Valley Low 9 at bar 20 (close 10); first High >= 9 + 4.6 is bar 24 (close 14, high 15).
    assert majors[1].kind == VALLEY and majors[1].index == 20 and majors[1].price == 9.0
    assert majors[1].confirmed_index == 24
    assert majors[1].strength == pytest.approx((21 - 9) / 2.0)


def test_sensitivity_scales_the_major_threshold():
    closes = [10, 12, 14, 16, 13, 15, 17, 19, 16, 18, 20, 22, 18, 16, 14, 12]
    coarse = analyze(_frame_from_closes(closes), sensitivity=0.5)
    fine = analyze(_frame_from_closes(closes), sensitivity=3.0)
    count = lambda r: sum(e.level == MAJOR for e in r.extremes)  # noqa: E731
    assert count(fine) > count(coarse)


@pytest.mark.parametrize("value", [0, -1, 11, float("nan"), "2", True])
def test_bad_sensitivity_is_rejected(value):
    with pytest.raises(ValueError) as caught:
        check_sensitivity(value)
    assert str(caught.value) == BAD_SENSITIVITY.format(value=value)


def test_minor_points_are_local_extremes_confirmed_two_bars_later():
    closes = [10, 11, 12, 11, 10, 11, 12, 13, 12, 11]
    result = analyze(_frame_from_closes(closes))
    minors = [(e.kind, e.index, e.confirmed_index) for e in result.extremes if e.level == MINOR]
    assert (PEAK, 2, 4) in minors and (VALLEY, 4, 6) in minors and (PEAK, 7, 9) in minors


def test_zigzag_fills_a_same_kind_gap_with_the_best_minor():
    b = bars([(10, 11, 9, 10)] * 8)
    points = [
        Extreme(PEAK, MAJOR, 1, 20.0, 2, 1.0),
        Extreme(VALLEY, MINOR, 3, 8.0, 5, 1.0),
        Extreme(VALLEY, MINOR, 4, 7.0, 6, 1.0),
        Extreme(PEAK, MAJOR, 6, 21.0, 7, 1.0),
    ]
    zz = build_zigzag(points, b)
    assert [(z.kind, z.level, z.index, z.price) for z in zz] == [
        (PEAK, MAJOR, 1, 20.0),
        (VALLEY, MINOR, 4, 7.0),
        (PEAK, MAJOR, 6, 21.0),
    ]


def test_zigzag_falls_back_to_the_lowest_bar_and_never_raises():
    rows = [(10, 11, 9, 10), (10, 20, 9, 10), (10, 11, 6, 10), (10, 11, 5.5, 10), (10, 21, 8, 10)]
    zz = build_zigzag(
        [Extreme(PEAK, MAJOR, 1, 20.0, 2, 1.0), Extreme(PEAK, MAJOR, 4, 21.0, 4, 1.0)], bars(rows)
    )
    assert [(z.kind, z.level, z.index) for z in zz] == [
        (PEAK, MAJOR, 1),
        (VALLEY, FILL, 3),
        (PEAK, MAJOR, 4),
    ]


def test_zigzag_keeps_the_more_extreme_of_adjacent_same_kind_majors():
    rows = [(10, 11, 9, 10), (10, 20, 9, 10), (10, 22, 9, 10)]
    zz = build_zigzag(
        [Extreme(PEAK, MAJOR, 1, 20.0, 2, 1.0), Extreme(PEAK, MAJOR, 2, 22.0, 2, 1.0)], bars(rows)
    )
    assert [(z.index, z.price) for z in zz] == [(2, 22.0)]


def _p(kind, index, price, confirmed=None):
    return Extreme(kind, MAJOR, index, price, index + 1 if confirmed is None else confirmed, 1.0)


def test_uptrend_starts_on_a_break_of_the_last_peak_after_a_higher_low_and_ends_below_it():
    points = [_p(VALLEY, 1, 100), _p(PEAK, 3, 120), _p(VALLEY, 5, 105)]
    close = [110, 101, 110, 119, 112, 106, 115, 121, 118, 110, 104, 108]
    periods, state = trend_periods(close, points)
    assert [(p.direction, p.start_index, p.end_index, p.ongoing) for p in periods] == [
        (UP, 7, 10, False)
    ]
    assert state.state == SIDEWAYS and state.since_index == 10


def test_downtrend_starts_on_a_break_of_the_last_valley_after_a_lower_high_and_runs_on():
    points = [_p(PEAK, 1, 120), _p(VALLEY, 3, 100), _p(PEAK, 5, 115)]
    close = [110, 119, 110, 101, 108, 114, 105, 99, 97]
    periods, state = trend_periods(close, points)
    assert [(p.direction, p.start_index, p.end_index, p.ongoing) for p in periods] == [
        (DOWN, 7, 8, True)
    ]
    assert state.state == DOWN and state.since_index == 7


def test_trend_uses_only_points_already_confirmed():
    # The higher low at bar 5 is only known at bar 9: no uptrend on the bar-7 break.
    points = [_p(VALLEY, 1, 100), _p(PEAK, 3, 120), _p(VALLEY, 5, 105, confirmed=9)]
    close = [110, 101, 110, 119, 112, 106, 115, 121, 119, 118, 119]
    periods, state = trend_periods(close, points)
    assert periods == [] and state.state == SIDEWAYS


def test_the_atr_detector_feeds_majors_and_minors_to_the_trend():
    assert AtrSwingDetector.trend_levels == (MAJOR, MINOR)


def test_minor_points_feed_the_trend_like_the_originals_provisional_points():
    # The higher low at bar 5 is only a minor point: it still makes the bar-7 break an uptrend,
    # known from that bar on.
    points = [_p(VALLEY, 1, 100), _p(PEAK, 3, 120)]
    points.append(Extreme(VALLEY, MINOR, 5, 105.0, 6, 0.5))
    close = [110, 101, 110, 119, 112, 106, 115, 121, 118, 110, 104, 108]
    both = (MAJOR, MINOR)
    periods, _ = trend_periods(close, points, levels=both)
    assert [(p.direction, p.start_index, p.end_index, p.detected_index) for p in periods] == [
        (UP, 7, 10, 7)
    ]
    assert trend_periods(close, points[:2], levels=both)[0] == []
    assert trend_periods(close, points)[0] == []  # majors only: no higher low yet


def test_a_minor_later_confirmed_as_a_major_counts_once():
    points = [_p(VALLEY, 1, 100), _p(PEAK, 3, 120)]
    points += [Extreme(VALLEY, MINOR, 5, 105.0, 6, 0.5), _p(VALLEY, 5, 105, confirmed=8)]
    close = [110, 101, 110, 119, 112, 106, 115, 121, 118, 110, 104, 108]
    # Counted twice, the second copy would be "the last valley" (105 > 105 fails): no trend.
    periods = trend_periods(close, points, levels=(MAJOR, MINOR))[0]
    assert [p.start_index for p in periods] == [7]


def test_patterns_carry_outcomes_and_features_in_to_dict():
    rng = np.random.default_rng(6)
    closes = 1000 + np.cumsum(rng.integers(-8, 9, 700)).astype(float)
    result = analyze(closes_frame(closes, spread=2.0))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["engine_version"] == engine.ENGINE_VERSION == "5"
    completed = [p for p in data["patterns"] if p["status"] == "completed"]
    assert completed
    for p in data["patterns"]:
        assert {"extreme", "confirm_by_index", "features", "outcome"} <= set(p)
        assert set(p["features"]) >= {"height_atr", "width_bars", "prior_heights", "quality"}
        assert p["features"]["quality"] == p["score"]  # uncalibrated: the geometric quality
        assert (p["outcome"] is None) == (p["status"] != "completed")
    for p in completed:
        outcome = p["outcome"]
        assert outcome["result"] in ("target", "failed", "expired", None)
        assert outcome["entry"] == closes[p["end_index"]]
        if outcome["result"] is not None:
            assert outcome["index"] > p["end_index"]
            assert outcome["ts"] == result.ts(outcome["index"])
    for period in data["trend_periods"]:
        assert period["detected_index"] == period["start_index"]
        assert period["detected_ts"] == period["start_ts"]


def test_window_rebases_outcomes_and_confirmation_windows():
    rng = np.random.default_rng(6)
    closes = 1000 + np.cumsum(rng.integers(-8, 9, 700)).astype(float)
    result = analyze(closes_frame(closes, spread=2.0))
    full = {(p["type"], p["start_ts"]): p for p in result.to_dict()["patterns"]}
    win = result.window(300, 700)
    assert win["patterns"]
    for p in win["patterns"]:
        f = full[(p["type"], p["start_ts"])]
        assert p["confirm_by_index"] == f["confirm_by_index"] - 300
        if f["outcome"] and f["outcome"]["index"] is not None:
            assert p["outcome"]["index"] == f["outcome"]["index"] - 300
            assert p["outcome"]["ts"] == f["outcome"]["ts"]


def test_to_dict_is_json_ready_with_iso_offsets():
    closes = 100 + 10 * np.sin(np.arange(200) / 6.0) + np.arange(200) * 0.1
    result = analyze(closes_frame(closes))
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data) >= {"extremes", "zigzag", "trend_periods", "trend_state", "patterns"}
    first = data["extremes"][0]
    assert set(first) == {
        "kind",
        "level",
        "index",
        "ts",
        "price",
        "confirmed_index",
        "confirmed_ts",
        "strength",
    }
    assert first["ts"].endswith("+09:00")
    assert set(data["trend_state"]) == {"state", "since_index", "since_ts"}
    for pattern in data["patterns"]:
        assert {"type", "status", "points", "start_index", "end_index", "detected_index"} <= set(
            pattern
        )
        assert {"neckline", "target", "score"} <= set(pattern)


def test_window_rebases_indexes_and_clips_the_left_edge():
    closes = 100 + 10 * np.sin(np.arange(300) / 6.0)
    result = analyze(closes_frame(closes))
    full = result.to_dict()
    win = result.window(100, 300)
    assert win["offset"] == 100 and win["bars"] == 200
    expected = [e for e in full["extremes"] if e["index"] >= 100]
    assert [e["ts"] for e in win["extremes"]] == [e["ts"] for e in expected]
    assert all(
        e["index"] == f["index"] - 100 for e, f in zip(win["extremes"], expected, strict=True)
    )
    assert min(z["index"] for z in win["zigzag"]) >= 0
    for period in win["trend_periods"]:
        assert 0 <= period["start_index"] <= period["end_index"] < 200
    straddling = [p for p in full["trend_periods"] if p["start_index"] < 100 <= p["end_index"]]
    for p in straddling:
        (clipped,) = [w for w in win["trend_periods"] if w["start_ts"] == p["start_ts"]]
        assert clipped["start_index"] == 0


def test_window_drops_points_before_the_window_but_keeps_overlapping_patterns():
    # A full analysis of a noisy zigzag; whatever patterns exist must be clipped consistently.
    closes = 100 + 15 * np.sin(np.arange(400) / 5.0) + np.random.default_rng(3).normal(0, 2, 400)
    result = analyze(closes_frame(closes))
    win = result.window(200, 400)
    for pattern in win["patterns"]:
        assert pattern["start_index"] >= 0 and pattern["end_index"] < 200
        for point in pattern["points"].values():
            assert point["index"] is None or point["index"] >= 0


def test_edge_cases_do_not_crash():
    constant = frame([(5.0, 5.0, 5.0, 5.0)] * 50)
    result = analyze(constant)
    assert result.extremes == [] and result.patterns == []
    assert result.to_dict()["trend_state"]["state"] == SIDEWAYS
    assert analyze(frame([(5.0, 6.0, 4.0, 5.0), (5.0, 7.0, 3.0, 6.0)])).to_dict()["zigzag"] == []
    assert analyze(frame([(5.0, 6.0, 4.0, 5.0)])).to_dict()["extremes"] == []
    empty = frame([(5.0, 6.0, 4.0, 5.0)]).iloc[:0]
    assert analyze(empty).to_dict()["trend_state"]["since_ts"] is None
    closes = 100 + 5 * np.sin(np.arange(120) / 4.0)
    spike = closes_frame(closes)
    spike.iloc[60, spike.columns.get_loc("high")] = 10_000.0
    result = analyze(spike)
    assert any(e.index == 60 and e.kind == PEAK for e in result.extremes)
    gappy = closes_frame(closes).iloc[[i for i in range(120) if i % 7 not in (2, 3)]]
    assert analyze(gappy).to_dict()["extremes"]


def test_unsorted_and_duplicate_stamps_are_cleaned():
    f = closes_frame(100 + 5 * np.sin(np.arange(60) / 4.0))
    messy = pd.concat([f.iloc[30:], f.iloc[:30], f.iloc[[5]]])
    assert analyze(messy).to_dict() == analyze(f).to_dict()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.drop(columns=["low"]), engine.MISSING_COLUMNS.format(columns="low")),
        (lambda f: f.tz_localize(None), engine.NOT_AWARE_INDEX),
        (
            lambda f: f.assign(close=[np.nan] + f["close"].tolist()[1:]),
            engine.NOT_FINITE.format(columns="close"),
        ),
    ],
)
def test_bad_input_is_rejected_with_clear_messages(mutate, message):
    with pytest.raises(ValueError) as caught:
        analyze(mutate(closes_frame([1.0, 2.0, 3.0])))
    assert str(caught.value) == message


def test_a_second_detector_plugs_in_through_the_protocol():
    class Fixed:
        name = "fixed"
        trend_levels = (MAJOR,)

        def params(self):
            return {"detector": self.name}

        def detect(self, b):
            return [Extreme(PEAK, MAJOR, 1, float(b.high[1]), 2, 1.0)]

        def reversal_atr_series(self, b):
            return AtrSwingDetector().reversal_atr_series(b)

    result = analyze(closes_frame([1.0, 3.0, 2.0, 1.0]), detector=Fixed())
    assert [z.index for z in result.zigzag] == [1]
    assert result.params == {"detector": "fixed"}


def test_window_dict_of_a_stored_result_equals_the_live_window():
    closes = 100 + 12 * np.sin(np.arange(350) / 5.0) + np.random.default_rng(5).normal(0, 2, 350)
    result = analyze(closes_frame(closes))
    stored = json.loads(json.dumps(result.to_dict()))
    for start in (0, 50, 175, 349):
        assert engine.window_dict(stored, start, 350) == result.window(start, 350)


def test_window_that_stops_early_cuts_periods_and_needs_timestamps():
    closes = 100 + 12 * np.sin(np.arange(350) / 5.0) + np.arange(350) * 0.05
    result = analyze(closes_frame(closes))
    (period,) = result.to_dict()["trend_periods"]
    assert (period["start_index"], period["end_index"], period["ongoing"]) == (70, 349, True)
    win = result.window(100, 200)
    (cut,) = win["trend_periods"]
    assert (cut["start_index"], cut["end_index"], cut["ongoing"]) == (0, 99, False)
    assert cut["start_ts"] == period["start_ts"] and cut["end_ts"] == result.ts(199)
    assert all(p["end_index"] < 100 and p["detected_index"] < 100 for p in win["patterns"])
    assert all(e["confirmed_index"] < 100 for e in win["extremes"])
    with pytest.raises(ValueError, match=engine.WINDOW_NEEDS_TS):
        engine.window_dict(result.to_dict(), 100, 200)


@pytest.mark.parametrize(
    "index",
    [
        pd.date_range("2024-01-02 09:00", periods=5, freq="5min", tz=KST),
        pd.date_range("2024-03-09", periods=4, freq="D", tz="America/New_York"),  # DST change
        pd.DatetimeIndex([pd.Timestamp("2024-01-01 00:00:00.5", tz="UTC")]),
    ],
)
def test_iso_timestamps_match_isoformat(index):
    assert engine.iso_timestamps(index) == [t.isoformat() for t in index]

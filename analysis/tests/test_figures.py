"""The Radar figure builder on hand-built bars and analysis dicts (no database)."""

from datetime import date

import pandas as pd
import pytest

from accounts import colors
from analysis.figures import (
    LABEL_COLOR,
    LAYERS,
    PATTERN_TYPES,
    REJECTED_COLOR,
    bar_label,
    bar_labels,
    build_radar_figure,
    iso_kst,
    thin_ticks,
    tick_candidates,
    trend_state_at,
)
from marketdata.krx_calendar import TIMEFRAMES, bar_starts

# 2024-02-05 … 2024-02-16: a weekend and the 설날 closure (Fri 9 – Mon 12 Feb) in the middle.
DAILY_DAYS = bar_starts("1d", date(2024, 2, 5), date(2024, 2, 16))


def bars(starts, closes=None) -> pd.DataFrame:
    n = len(starts)
    closes = closes or [100.0 + i for i in range(n)]
    return pd.DataFrame(
        {
            "open": [c - 0.5 for c in closes],
            "high": [c + 2 for c in closes],
            "low": [c - 2 for c in closes],
            "close": closes,
            "volume": [1000.0 + 10 * i for i in range(n)],
        },
        index=pd.DatetimeIndex(starts).tz_convert("UTC"),
    )


def trace(fig, name):
    matches = [t for t in fig["data"] if t.get("name") == name]
    assert len(matches) == 1, [t.get("name") for t in fig["data"]]
    return matches[0]


EMPTY = {"extremes": [], "zigzag": [], "trend_periods": [], "trend_state": None, "patterns": []}


def extreme(kind, level, index, price, confirmed):
    return {
        "kind": kind,
        "level": level,
        "index": index,
        "ts": "",
        "price": price,
        "confirmed_index": confirmed,
        "confirmed_ts": "",
        "strength": 1.0,
    }


def test_daily_bar_axis_has_no_gap_across_weekend_and_holiday():
    frame = bars(DAILY_DAYS)
    assert len(frame) == 8  # Feb 9, 10, 11, 12 absent
    fig = build_radar_figure(frame, EMPTY, timeframe="1d")
    candles = trace(fig, "Price")
    assert candles["x"] == list(range(8))
    assert fig["layout"]["xaxis"]["type"] == "linear"
    # Bar 3 is Thu 8 Feb and bar 4 Tue 13 Feb: adjacent on the axis, labelled in KST.
    assert candles["text"][3].startswith("2024-02-08 (Thu) KST")
    assert candles["text"][4].startswith("2024-02-13 (Tue) KST")
    assert fig["radar"]["ts"][4] == "2024-02-13T00:00:00+09:00"
    # Every trace and shape uses the same x axis (integers/bar positions).
    for t in fig["data"]:
        assert t.get("xaxis", "x") == "x"
        assert all(isinstance(v, int) for v in t["x"])


def test_hourly_bar_axis_has_no_overnight_or_holiday_gap():
    starts = bar_starts("1h", date(2024, 2, 8), date(2024, 2, 13))
    frame = bars(starts)
    fig = build_radar_figure(frame, EMPTY, timeframe="1h")
    candles = trace(fig, "Price")
    assert candles["x"] == list(range(14))
    assert candles["text"][6].startswith("2024-02-08 15:00 KST")
    assert candles["text"][7].startswith("2024-02-13 09:00 KST")
    ticks = tick_candidates(frame.index, "1h")
    assert [t[:3] for t in ticks if t[2] == 0] == [[0, "02/08", 0], [7, "02/13", 0]]


def test_hover_has_kst_time_ohlc_volume_and_change():
    frame = bars(DAILY_DAYS[:3], closes=[71000.0, 72420.0, 72420.0])
    fig = build_radar_figure(frame, EMPTY, timeframe="1d")
    text = trace(fig, "Price")["text"]
    assert "O 72,420" in text[2] and "C 72,420" in text[2] and "H 72,422" in text[2]
    assert "Vol 1,010" in text[1]
    assert "Chg +2.00%" in text[1]
    assert "Chg –" in text[0]


def test_volume_coloured_by_close_vs_previous_close():
    frame = bars(DAILY_DAYS[:4], closes=[100.0, 101.0, 99.0, 99.0])
    fig = build_radar_figure(frame, EMPTY, timeframe="1d", candle_colors=colors.INTERNATIONAL)
    bar_colors = trace(fig, "Volume")["marker"]["color"]
    assert bar_colors[1].startswith("rgba(8,153,129")  # up: TradingView green
    assert bar_colors[2].startswith("rgba(242,54,69")  # down: TradingView red
    assert bar_colors[0] == bar_colors[3]  # first bar and unchanged close: grey
    assert bar_colors[3].startswith("rgba(120,123,134")


def test_extremes_land_on_their_bar_major_and_minor_distinct():
    frame = bars(DAILY_DAYS)
    analysis = dict(
        EMPTY,
        extremes=[
            extreme("peak", "major", 2, 104.0, 4),
            extreme("valley", "major", 5, 103.0, 7),
            extreme("peak", "minor", 4, 106.0, 5),
        ],
    )
    fig = build_radar_figure(frame, analysis, timeframe="1d")
    peak = trace(fig, "Major peak")
    assert peak["x"] == [2]
    assert peak["y"][0] > 104.0  # ▼ sits above the High
    assert peak["marker"]["symbol"] == "triangle-down"
    valley = trace(fig, "Major valley")
    assert valley["x"] == [5] and valley["y"][0] < 103.0
    assert valley["marker"]["symbol"] == "triangle-up"
    minor = trace(fig, "Minor peak")
    assert minor["x"] == [4]
    assert minor["marker"]["symbol"] == "triangle-down-open"
    assert minor["marker"]["size"] < peak["marker"]["size"]


def test_zigzag_joins_points_in_order():
    frame = bars(DAILY_DAYS)
    zig = [extreme("valley", "major", 0, 98.0, 2), extreme("peak", "major", 3, 105.0, 5)]
    fig = build_radar_figure(frame, dict(EMPTY, zigzag=zig), timeframe="1d")
    assert trace(fig, "Zigzag")["x"] == [0, 3]
    assert trace(fig, "Zigzag")["y"] == [98.0, 105.0]


def test_trend_shading_up_down_and_sideways_gaps():
    frame = bars(DAILY_DAYS)
    periods = [
        {"direction": "up", "start_index": 1, "end_index": 3, "start_ts": "", "end_ts": ""},
        {"direction": "down", "start_index": 5, "end_index": 6, "start_ts": "", "end_ts": ""},
    ]
    fig = build_radar_figure(frame, dict(EMPTY, trend_periods=periods), timeframe="1d")
    shapes = [fig["layout"]["shapes"][i] for i in fig["radar"]["layers"]["trend"]["shapes"]]
    spans = [(s["x0"] + 0.5, s["x1"] - 0.5, s["fillcolor"]) for s in shapes]
    assert [(a, b) for a, b, _ in spans] == [(0, 1), (1, 3), (3, 5), (5, 6), (6, 7)]
    assert spans[1][2].startswith("rgba(34,197,94")  # up green
    assert spans[3][2].startswith("rgba(239,68,68")  # down red
    assert spans[0][2] == spans[2][2] == spans[4][2]  # sideways grey
    assert all(s["yref"] == "y domain" for s in shapes)


def pattern(kind, status, start, end, detected, target=None, neckline=None):
    return {
        "type": kind,
        "status": status,
        "points": {},
        "start_index": start,
        "end_index": end,
        "detected_index": detected,
        "neckline": neckline,
        "target": target,
        "score": 0.7,
    }


def test_pattern_boxes_neckline_target_and_status_styles():
    frame = bars(DAILY_DAYS)
    analysis = dict(
        EMPTY,
        patterns=[
            pattern("DT", "completed", 1, 5, 5, target=95.0, neckline={"level": 101.0}),
            pattern(
                "IHS",
                "forming",
                2,
                7,
                7,
                neckline={
                    "start": {"index": 3, "price": 104.0},
                    "end": {"index": 5, "price": 106.0},
                },
            ),
        ],
    )
    fig = build_radar_figure(frame, analysis, timeframe="1d")
    shapes = fig["layout"]["shapes"]
    dt = [shapes[i] for i in fig["radar"]["layers"]["DT"]["shapes"]]
    box, neck, target = dt
    assert (box["x0"], box["x1"]) == (0.5, 5.5)  # bars 1…5
    assert box["y0"] < 99.0 and box["y1"] > 107.0  # covers the lows/highs of bars 1…5
    assert box["line"]["dash"] == "solid"
    assert neck["y0"] == neck["y1"] == 101.0 and (neck["x0"], neck["x1"]) == (1, 5)
    assert target["y0"] == 95.0 and target["x0"] == 5
    ihs = [shapes[i] for i in fig["radar"]["layers"]["IHS"]["shapes"]]
    assert ihs[0]["line"]["dash"] == "dash"  # forming looks different from completed
    assert ihs[0]["line"]["color"] != box["line"]["color"]  # bullish vs bearish
    # Sloped neckline extended by bar-index slope to the box end (bar 7): 104 + 1 × 4.
    assert (ihs[1]["x0"], ihs[1]["y0"], ihs[1]["x1"], ihs[1]["y1"]) == (3.0, 104.0, 7, 108.0)
    texts = [
        fig["layout"]["annotations"][i]["text"]
        for i in fig["radar"]["layers"]["IHS"]["annotations"]
    ]
    assert texts == ["IHS forming"]
    dt_texts = [
        fig["layout"]["annotations"][i]["text"] for i in fig["radar"]["layers"]["DT"]["annotations"]
    ]
    assert dt_texts == ["DT", "DT target 95"]


def test_replay_hides_later_bars_points_and_shows_later_completion_as_forming():
    frame = bars(DAILY_DAYS)
    analysis = dict(
        EMPTY,
        extremes=[extreme("peak", "major", 2, 104.0, 3), extreme("valley", "major", 3, 101.0, 6)],
        zigzag=[extreme("peak", "major", 2, 104.0, 3), extreme("valley", "major", 3, 101.0, 6)],
        patterns=[
            pattern("DB", "completed", 1, 6, 4, target=110.0),
            pattern("HS", "completed", 4, 7, 7),
        ],
    )
    fig = build_radar_figure(frame, analysis, timeframe="1d", asof=4)
    assert trace(fig, "Price")["x"] == [0, 1, 2, 3, 4]
    assert trace(fig, "Major peak")["x"] == [2]  # confirmed at 3 ≤ 4
    assert trace(fig, "Major valley")["x"] == []  # its bar is in view but it was confirmed at 6
    assert trace(fig, "Zigzag")["x"] == [2]
    assert "HS" not in fig["radar"]["layers"]  # detected at bar 7: unknown at bar 4
    db_box = fig["layout"]["shapes"][fig["radar"]["layers"]["DB"]["shapes"][0]]
    assert db_box["line"]["dash"] == "dash"  # completed only at bar 6: forming at bar 4
    assert db_box["x1"] == 4.5
    full = build_radar_figure(frame, analysis, timeframe="1d")
    assert trace(full, "Major valley")["x"] == [3]
    assert "HS" in full["radar"]["layers"]


def test_labels_snap_to_bars_and_use_their_own_style():
    frame = bars(DAILY_DAYS)
    labels = [
        {
            "id": 7,
            "pattern_type": "DB",
            # Saturday 10 Feb → first bar on/after it is Tue 13 Feb (bar 4).
            "start_ts": "2024-02-10T00:00:00+09:00",
            "end_ts": "2024-02-15T00:00:00+09:00",
            "direction": "bullish",
            "source": "manual",
            "url": "/labels/7/",
        },
        {
            "id": 8,
            "pattern_type": "DT",
            "start_ts": "2023-01-02T00:00:00+09:00",
            "end_ts": "2023-01-03T00:00:00+09:00",
            "direction": "bearish",
            "source": "manual",
            "url": "/labels/8/",
        },
    ]
    fig = build_radar_figure(frame, EMPTY, timeframe="1d", labels=labels)
    layer = fig["radar"]["layers"]["labels"]
    assert len(layer["shapes"]) == 1  # the label outside the bars is not drawn
    box = fig["layout"]["shapes"][layer["shapes"][0]]
    assert (box["x0"], box["x1"]) == (3.5, 6.5)
    assert box["line"]["color"] == LABEL_COLOR
    assert box["line"]["dash"] == "longdashdot"
    note = fig["layout"]["annotations"][layer["annotations"][0]]
    assert 'href="/labels/7/"' in note["text"] and "DB" in note["text"]


def test_key_points_are_markers_and_a_rejected_detection_is_a_grey_dashed_box_of_its_own():
    frame = bars(DAILY_DAYS)  # bars 0–7; high = close + 2, low = close − 2, close = 100 + bar
    label = {
        "id": 7,
        "pattern_type": "DB",
        "start_ts": "2024-02-06T00:00:00+09:00",
        "end_ts": "2024-02-15T00:00:00+09:00",
        "direction": "bullish",
        "source": "manual",
        "url": "/labels/7/",
        "layer": "labels",
        "key_points": [
            {"role": "V1", "ts": "2024-02-07T00:00:00+09:00", "price": 100.0},
            {"role": "P1", "ts": "2024-02-08T00:00:00+09:00", "price": 105.0},
        ],
    }
    rejected = {
        **label,
        "id": 8,
        "pattern_type": "DT",
        "start_ts": "2024-02-13T00:00:00+09:00",
        "end_ts": "2024-02-16T00:00:00+09:00",
        "source": "rejected_detection",
        "url": "/labels/8/",
        "layer": "rejected",
        "key_points": [],
    }
    fig = build_radar_figure(frame, EMPTY, timeframe="1d", labels=[label, rejected])
    layers = fig["radar"]["layers"]
    assert len(layers["labels"]["shapes"]) == 1 and len(layers["labels"]["annotations"]) == 1
    points = fig["data"][layers["labels"]["traces"][0]]
    assert points["name"] == "Key points" and points["meta"]["layer"] == "labels"
    assert (points["x"], points["y"], points["text"]) == ([2, 3], [100.0, 105.0], ["V1", "P1"])
    assert points["textposition"] == ["bottom center", "top center"]  # valley below, peak above

    (box_index,) = layers["rejected"]["shapes"]
    box = fig["layout"]["shapes"][box_index]
    assert (box["x0"], box["x1"]) == (3.5, 7.5)
    assert box["line"] == {"color": REJECTED_COLOR, "width": 1.5, "dash": "dash"}
    assert box["fillcolor"] == "rgba(0,0,0,0)"
    (note_index,) = layers["rejected"]["annotations"]
    assert "✗ DT rejected" in fig["layout"]["annotations"][note_index]["text"]
    assert not layers["rejected"]["traces"]
    assert "rejected" in LAYERS
    hidden = build_radar_figure(
        frame, EMPTY, timeframe="1d", labels=[rejected], hidden=["rejected"]
    )
    (hidden_box,) = hidden["radar"]["layers"]["rejected"]["shapes"]
    assert hidden["layout"]["shapes"][hidden_box]["visible"] is False


def test_layer_toggles_map_to_traces_and_shapes_and_hidden_start_invisible():
    frame = bars(DAILY_DAYS)
    analysis = dict(
        EMPTY,
        extremes=[extreme("peak", "major", 2, 104.0, 3), extreme("peak", "minor", 4, 106.0, 5)],
        zigzag=[extreme("peak", "major", 2, 104.0, 3)],
        trend_periods=[
            {"direction": "up", "start_index": 0, "end_index": 7, "start_ts": "", "end_ts": ""}
        ],
        patterns=[pattern(kind, "completed", 1, 5, 5) for kind in PATTERN_TYPES]
        + [pattern("DT", "invalidated", 2, 6, 6)],
    )
    labels = [
        {
            "id": 1,
            "pattern_type": "HS",
            "start_ts": DAILY_DAYS[1].isoformat(),
            "end_ts": DAILY_DAYS[3].isoformat(),
            "direction": "bearish",
            "source": "manual",
            "url": "",
        },
        {
            "id": 2,
            "pattern_type": "DT",
            "start_ts": DAILY_DAYS[4].isoformat(),
            "end_ts": DAILY_DAYS[6].isoformat(),
            "direction": "bearish",
            "source": "rejected_detection",
            "url": "",
            "layer": "rejected",
        },
    ]
    fig = build_radar_figure(frame, analysis, timeframe="1d", labels=labels, hidden=["minor", "DB"])
    layers = fig["radar"]["layers"]
    assert set(LAYERS) <= set(layers)
    for key, slot in layers.items():
        for i in slot["traces"]:
            assert fig["data"][i]["meta"]["layer"] == key
            assert (fig["data"][i].get("visible", True) is False) == (key in {"minor", "DB"})
        for i in slot["shapes"]:
            assert fig["layout"]["shapes"][i]["name"] == key
            assert (fig["layout"]["shapes"][i].get("visible", True) is False) == (
                key in {"minor", "DB"}
            )
        for i in slot["annotations"]:
            assert fig["layout"]["annotations"][i]["name"] == key
    assert [fig["data"][i]["name"] for i in layers["major"]["traces"]] == [
        "Major peak",
        "Major valley",
    ]
    assert [fig["data"][i]["name"] for i in layers["minor"]["traces"]] == [
        "Minor peak",
        "Minor valley",
    ]
    assert layers["volume"]["traces"] and layers["zigzag"]["traces"] and layers["trend"]["shapes"]
    assert all(layers[k]["shapes"] for k in PATTERN_TYPES) and layers["labels"]["shapes"]
    # An invalidated pattern goes to its own layer, not its type's.
    assert len(layers["DT"]["shapes"]) == 1 and len(layers["invalidated"]["shapes"]) == 1
    assert fig["radar"]["hidden"] == ["DB", "minor"]


def test_indicator_overlays_and_panes_get_their_own_axes():
    frame = bars(DAILY_DAYS)
    n = len(frame)
    series = {
        "sma20": {"value": [None] * 3 + [100.0] * (n - 3)},
        "bb": {"upper": [110.0] * n, "mid": [100.0] * n, "lower": [90.0] * n},
        "rsi": {"value": [None] + [55.0] * (n - 1)},
        "macd": {"macd": [1.0] * n, "signal": [0.5] * n, "hist": [0.5] * n},
    }
    fig = build_radar_figure(frame, EMPTY, timeframe="1d", indicator_series=series)
    sma = trace(fig, "SMA 20")
    assert sma["yaxis"] == "y" and sma["y"][:4] == [None, None, None, 100.0]
    assert trace(fig, "Bollinger 20, 2σ upper")["yaxis"] == "y"
    rsi = trace(fig, "RSI 14")
    macd_hist = trace(fig, "MACD hist")
    assert rsi["yaxis"] == "y3" and macd_hist["yaxis"] == "y4" and macd_hist["type"] == "bar"
    layout = fig["layout"]
    assert layout["yaxis3"]["range"] == [0, 100]
    # Panes stack below the volume pane, price on top, no overlaps.
    domains = sorted(layout[k]["domain"] for k in ("yaxis", "yaxis2", "yaxis3", "yaxis4"))
    for (a0, a1), (b0, _b1) in zip(domains, domains[1:], strict=False):
        assert a0 < a1 <= b0
    assert layout["yaxis"]["domain"][1] == 1.0
    assert layout["xaxis"]["anchor"] == "y4"  # tick labels under the lowest pane


def test_focus_zooms_x_and_y_to_the_range():
    frame = bars(bar_starts("1d", date(2023, 1, 2), date(2023, 12, 28)))
    fig = build_radar_figure(frame, EMPTY, timeframe="1d", focus=(100, 120))
    lo, hi = fig["layout"]["xaxis"]["range"]
    assert 80 <= lo < 100 and 120 < hi <= 140
    y0, y1 = fig["layout"]["yaxis"]["range"]
    assert y0 < frame["low"].iloc[90] and y1 > frame["high"].iloc[130]
    assert y1 < frame["high"].iloc[-1]  # fitted to the focus, not the whole series
    band = fig["layout"]["shapes"][fig["radar"]["layers"]["focus"]["shapes"][0]]
    assert (band["x0"], band["x1"]) == (99.5, 120.5) and band["yref"] == "y domain"


def test_ticks_daily_months_and_thinning():
    frame = bars(bar_starts("1d", date(2023, 1, 2), date(2024, 12, 30)))
    ticks = tick_candidates(frame.index, "1d")
    months = [t for t in ticks if t[2] == 0]
    assert len(months) == 24
    assert months[0][1] == "2023/01" and months[1][1] == "2023/02" and months[12][1] == "2024/01"
    shown = thin_ticks(ticks, 0, len(frame))
    assert 3 <= len(shown) <= 10 and all(t[2] == 0 for t in shown)
    # Zoomed to two weeks: no month boundary, so the week ticks show.
    close_up = thin_ticks(ticks, 22, 35)
    assert close_up and all(t[2] == 1 for t in close_up)


@pytest.mark.parametrize("timeframe", TIMEFRAMES)
def test_every_timeframe_builds_and_empty_series_builds(timeframe):
    frame = bars(bar_starts(timeframe, date(2024, 1, 2), date(2024, 3, 29))[:300])
    fig = build_radar_figure(frame, EMPTY, timeframe=timeframe)
    assert trace(fig, "Price")["x"] == list(range(len(frame)))
    assert fig["layout"]["xaxis"]["tickvals"]
    empty = build_radar_figure(frame.iloc[:0], EMPTY, timeframe=timeframe)
    assert trace(empty, "Price")["x"] == []


def test_zigzag_fill_point_known_with_the_next_point_in_replay():
    frame = bars(DAILY_DAYS)
    analysis = dict(
        EMPTY,
        extremes=[extreme("valley", "major", 0, 98.0, 2), extreme("valley", "major", 5, 100.0, 7)],
        zigzag=[
            {"kind": "valley", "level": "major", "index": 0, "ts": "", "price": 98.0},
            {"kind": "peak", "level": "fill", "index": 3, "ts": "", "price": 105.0},
            {"kind": "valley", "level": "major", "index": 5, "ts": "", "price": 100.0},
        ],
    )
    assert trace(build_radar_figure(frame, analysis, timeframe="1d", asof=6), "Zigzag")["x"] == [0]
    assert trace(build_radar_figure(frame, analysis, timeframe="1d", asof=7), "Zigzag")["x"] == [
        0,
        3,
        5,
    ]


def test_pattern_starting_before_the_window_keeps_box_without_neckline():
    frame = bars(DAILY_DAYS)
    hs = pattern(
        "HS",
        "completed",
        0,
        4,
        4,
        target=90.0,
        neckline={
            "start": {"index": None, "ts": "2024-01-30T00:00:00+09:00", "price": 101.0},
            "end": {"index": 4, "ts": "", "price": 102.0},
        },
    )
    fig = build_radar_figure(frame, dict(EMPTY, patterns=[hs]), timeframe="1d")
    shapes = [fig["layout"]["shapes"][i] for i in fig["radar"]["layers"]["HS"]["shapes"]]
    assert [s["type"] for s in shapes] == ["rect", "line"]  # box and target, no neckline
    assert shapes[1]["y0"] == 90.0


@pytest.mark.parametrize("timeframe", ["5m", "1h", "1d", "1w", "1mo"])
def test_vectorised_labels_match_the_single_bar_label(timeframe):
    index = pd.DatetimeIndex(bar_starts(timeframe, date(2024, 2, 1), date(2024, 6, 28))[:400])
    utc = index.tz_convert("UTC")
    assert bar_labels(utc, timeframe) == [bar_label(ts, timeframe) for ts in utc]
    assert iso_kst(utc) == [ts.isoformat() for ts in index]


def test_trend_state_at_a_replay_bar():
    """The trend as known at a bar: a period holds from its start to the bar before its break,
    an ongoing one to its last bar; sideways counts from the last break."""
    analysis = {
        "trend_state": {"state": "down", "since_index": 60, "since_ts": "T60"},
        "trend_periods": [
            {
                "direction": "up",
                "start_index": 10,
                "end_index": 40,
                "start_ts": "T10",
                "end_ts": "T40",
                "ongoing": False,
                "detected_index": 10,
            },
            {
                "direction": "down",
                "start_index": 60,
                "end_index": 99,
                "start_ts": "T60",
                "end_ts": "T99",
                "ongoing": True,
                "detected_index": 60,
            },
        ],
    }
    assert trend_state_at(analysis, None) == {"state": "down", "since_ts": "T60"}
    assert trend_state_at(analysis, 5) == {"state": "sideways", "since_ts": None}
    assert trend_state_at(analysis, 10) == {"state": "up", "since_ts": "T10"}
    assert trend_state_at(analysis, 39) == {"state": "up", "since_ts": "T10"}
    assert trend_state_at(analysis, 40) == {"state": "sideways", "since_ts": "T40"}
    assert trend_state_at(analysis, 59) == {"state": "sideways", "since_ts": "T40"}
    assert trend_state_at(analysis, 99) == {"state": "down", "since_ts": "T60"}


def test_last_price_tag_on_the_price_axis():
    frame = bars(DAILY_DAYS, [1000.0, 1200.0, 1100.0, 1300.0, 1250.0, 1400.0, 1500.0, 1450.0])
    fig = build_radar_figure(frame, EMPTY, timeframe="1d", asof=5)  # replay: bar 5's close
    [tag] = [a for a in fig["layout"]["annotations"] if a["name"] == "price"]
    up, down = colors.up_down_colors(colors.DEFAULT)
    assert tag["text"] == "1,400" and tag["y"] == 1400.0 and tag["bgcolor"] == up
    assert tag["xref"] == "x domain" and tag["x"] == 1 and tag["xanchor"] == "left"
    live = build_radar_figure(frame, EMPTY, timeframe="1d")
    [tag] = [a for a in live["layout"]["annotations"] if a["name"] == "price"]
    assert tag["text"] == "1,450" and tag["bgcolor"] == down

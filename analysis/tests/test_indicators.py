"""Indicators against values computed by hand (docs/analysis-rules.md#indicators)."""

import math

import numpy as np
import pytest

from analysis import indicators as ind
from analysis.engine import indicators
from analysis.tests.factories import frame

CLOSES = [10.0, 11.0, 12.0, 11.0, 13.0, 14.0]


def test_sma_has_warm_up_then_window_means():
    out = ind.sma(np.array(CLOSES), 3)
    assert np.isnan(out[:2]).all()
    assert out[2:].tolist() == pytest.approx([11.0, 34 / 3, 12.0, 38 / 3])


def test_ema_is_seeded_with_the_sma_then_recursive():
    out = ind.ema(np.array(CLOSES), 3)
    assert np.isnan(out[:2]).all()
    # seed 11 at bar 2; alpha 0.5: 11, (11+11)/2, (13+11)/2, (14+12)/2
    assert out[2:].tolist() == pytest.approx([11.0, 11.0, 12.0, 13.0])


def test_rsi_uses_wilder_smoothing():
    out = ind.rsi(np.array(CLOSES), 3)
    assert np.isnan(out[:3]).all()
    # changes +1 +1 -1 +2 +1; seed gains (1+1+0)/3, losses (0+0+1)/3 -> 66.67
    assert out[3] == pytest.approx(100 * (2 / 3) / 1.0)
    gain = (2 / 3 * 2 + 2) / 3
    loss = (1 / 3 * 2 + 0) / 3
    assert out[4] == pytest.approx(100 * gain / (gain + loss))
    gain2, loss2 = (gain * 2 + 1) / 3, (loss * 2) / 3
    assert out[5] == pytest.approx(100 * gain2 / (gain2 + loss2))


def test_rsi_of_a_flat_series_is_50():
    out = ind.rsi(np.full(10, 5.0), 3)
    assert out[3:].tolist() == [50.0] * 7


def test_atr_is_wilder_average_of_true_range():
    high = np.array([10.0, 12.0, 11.0, 15.0])
    low = np.array([8.0, 9.0, 7.0, 12.0])
    close = np.array([9.0, 11.0, 8.0, 14.0])
    # TR: 2, max(3, 3, 0)=3, max(4, 0, 4)=4, max(3, 7, 4)=7
    assert ind.true_range(high, low, close).tolist() == [2.0, 3.0, 4.0, 7.0]
    out = ind.atr(high, low, close, 2)
    assert math.isnan(out[0])
    assert out[1:].tolist() == pytest.approx([2.5, (2.5 + 4) / 2, ((2.5 + 4) / 2 + 7) / 2])


def test_bollinger_uses_population_sigma():
    lower, mid, upper, bandwidth, percent_b = ind.bollinger(np.array([1.0, 2.0, 3.0, 4.0]), 3, 2)
    sigma = math.sqrt(2 / 3)  # population std of 1, 2, 3
    assert mid[2] == pytest.approx(2.0)
    assert upper[2] == pytest.approx(2 + 2 * sigma)
    assert lower[3] == pytest.approx(3 - 2 * sigma)
    assert bandwidth[2] == pytest.approx(100 * 4 * sigma / 2)
    assert percent_b[3] == pytest.approx((4 - (3 - 2 * sigma)) / (4 * sigma))
    assert np.isnan(mid[:2]).all() and np.isnan(percent_b[:2]).all()


def test_macd_line_signal_and_histogram():
    close = np.arange(1.0, 11.0)
    line, signal, hist = ind.macd(close, 2, 3, 2)
    # EMA2 and EMA3 of a straight line lag by (n-1)/2 -> the difference is 0.5 once defined
    assert np.isnan(line[:2]).all()
    assert line[2:].tolist() == pytest.approx([0.5] * 8)
    assert math.isnan(signal[2]) and signal[3:].tolist() == pytest.approx([0.5] * 7)
    assert hist[3:].tolist() == pytest.approx([0.0] * 7)


def test_obv_counts_the_first_bar_positive():
    out = ind.obv(np.array([10.0, 11.0, 11.0, 9.0]), np.array([5.0, 7.0, 3.0, 2.0]))
    assert out.tolist() == [5.0, 12.0, 12.0, 10.0]


def test_engine_indicators_spec_gives_json_ready_series_aligned_to_bars():
    rows = [(c, c + 1, c - 1, c) for c in [10.0, 11.0, 12.0, 11.0, 13.0, 14.0] * 10]
    spec = {
        "sma": [20, 3],
        "ema": [5],
        "bollinger": {"period": 20, "k": 2},
        "rsi": 14,
        "macd": [12, 26, 9],
        "atr": 14,
        "obv": True,
    }
    out = indicators(frame(rows), spec)
    expected = {"SMA_20", "SMA_3", "EMA_5", "RSI_14", "ATR_14", "OBV"}
    expected |= {f"{p}_20_2.0" for p in ("BBL", "BBM", "BBU", "BBB", "BBP")}
    expected |= {"MACD_12_26_9", "MACDs_12_26_9", "MACDh_12_26_9"}
    assert set(out) == expected
    assert all(len(values) == 60 for values in out.values())
    assert out["SMA_3"][:2] == [None, None] and out["SMA_3"][2] == pytest.approx(11.0)
    # MACD from bar 25 (slow - 1); its 9-bar signal from bar 33
    assert out["MACDs_12_26_9"][32] is None and out["MACDs_12_26_9"][33] is not None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"vwap": 3}, ind.UNKNOWN_INDICATOR.format(name="vwap")),
        ({"sma": [0]}, ind.BAD_PERIOD.format(name="sma", value=[0])),
        ({"macd": [26, 12, 9]}, ind.BAD_MACD.format(value=[26, 12, 9])),
        ({"bollinger": {"period": 20, "k": -1}}, None),
    ],
)
def test_bad_specs_are_rejected_with_clear_messages(spec, message):
    rows = [(1.0, 2.0, 0.5, 1.5)] * 30
    with pytest.raises(ValueError) as caught:
        indicators(frame(rows), spec)
    if message is not None:
        assert str(caught.value) == message

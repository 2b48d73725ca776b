import pandas as pd
import pytest

from marketdata.krx_calendar import KST
from marketdata.models import Candle
from marketdata.selectors import candles_frame, candles_frames
from marketdata.tests.factories import make_candles, make_stock

pytestmark = pytest.mark.django_db


def _daily(n: int) -> pd.DataFrame:
    index = pd.bdate_range("2025-01-06", periods=n, tz=KST)
    close = pd.Series(range(100, 100 + n), index=index, dtype="float64")
    return pd.DataFrame(
        {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 1000},
        index=index,
    )


def test_candles_frame_types_order_and_limit():
    stock = make_stock()
    make_candles(stock, "1d", _daily(10))
    frame = candles_frame(stock=stock, timeframe="1d")
    assert len(frame) == 10
    assert str(frame.index.tz) == KST.key
    assert frame.index.is_monotonic_increasing
    assert frame["close"].dtype == "float64" and frame["is_final"].dtype == bool
    assert frame.index[0] == pd.Timestamp("2025-01-06", tz=KST)
    newest = candles_frame(stock=stock, timeframe="1d", limit=3)
    assert list(newest["close"]) == [107.0, 108.0, 109.0]
    older = candles_frame(stock=stock, timeframe="1d", limit=2, before=newest.index[0])
    assert list(older["close"]) == [105.0, 106.0]


def test_candles_frame_empty_series():
    frame = candles_frame(stock=make_stock(), timeframe="5m")
    assert frame.empty and list(frame.columns)[:5] == ["open", "high", "low", "close", "volume"]


def test_candles_frame_keeps_instants_missing_values_and_forming_bars():
    stock = make_stock()
    index = pd.date_range("2025-03-04 09:00", periods=6, freq="5min", tz=KST)
    make_candles(
        stock,
        "5m",
        pd.DataFrame(
            dict.fromkeys(("open", "high", "low", "close"), 100.0) | {"volume": 10}, index=index
        ),
    )
    Candle.objects.filter(stock=stock, ts=index[1]).update(traded_value=None)
    Candle.objects.filter(stock=stock, ts=index[-1]).update(is_final=False, close=101.5)
    frame = candles_frame(stock=stock, timeframe="5m")
    assert list(frame.index) == list(index)
    assert frame["traded_value"].isna().tolist() == [False, True, False, False, False, False]
    assert frame["is_final"].tolist() == [True] * 5 + [False]
    assert frame["close"].iloc[-1] == 101.5 and frame["volume"].dtype == "float64"
    bounded = candles_frame(stock=stock, timeframe="5m", start=index[2], end=index[3])
    assert list(bounded.index) == list(index[2:4])


def test_candles_frames_reads_many_series_as_candles_frame_reads_each():
    first, second, empty = make_stock("000010"), make_stock("000020"), make_stock("000030")
    make_candles(first, "1d", _daily(12))
    make_candles(second, "1d", _daily(5))
    make_candles(second, "1w", _daily(3))
    Candle.objects.filter(stock=second, timeframe="1d").update(traded_value=None)
    Candle.objects.filter(stock=first, ts=_daily(12).index[-1]).update(is_final=False)
    series = [(second, "1d"), (empty, "1d"), (first, "1d"), (second, "1w"), (first, "1d")]

    frames = candles_frames(series=series, limit=10)

    assert len(frames) == len(series)
    for (stock, timeframe), frame in zip(series, frames, strict=True):
        expected = candles_frame(stock=stock, timeframe=timeframe, limit=10)
        pd.testing.assert_frame_equal(frame, expected)
    assert len(frames[2]) == 10 and not frames[2]["is_final"].iloc[-1]
    assert frames[1].empty and frames[0]["traded_value"].isna().all()

"""Labeling test data: one stock with weekday daily bars and a day of 5-minute bars."""

import pandas as pd
import pytest

from labeling.tests.factories import price_frame
from marketdata.krx_calendar import KST
from marketdata.tests.factories import make_candles, make_stock

DAILY_START = "2024-01-02"
DAILY_BARS = 60


def daily_index(start: str = DAILY_START, bars: int = DAILY_BARS) -> pd.DatetimeIndex:
    """Weekday dates at 00:00 KST (weekends carry no bar)."""
    return pd.bdate_range(start, periods=bars, tz=KST)


@pytest.fixture
def stock(db):
    stock = make_stock("005930", "삼성전자")
    make_candles(stock, "1d", price_frame(daily_index()))
    return stock


@pytest.fixture
def other_stock(db):
    stock = make_stock("000660", "SK하이닉스")
    make_candles(stock, "1d", price_frame(daily_index(), base=150_000.0))
    return stock


@pytest.fixture
def intraday_stock(db):
    stock = make_stock("035420", "NAVER")
    index = pd.date_range("2024-03-04 09:00", "2024-03-04 15:25", freq="5min", tz=KST)
    make_candles(stock, "5m", price_frame(index, base=190_000.0))
    return stock

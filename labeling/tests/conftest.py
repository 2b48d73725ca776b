"""Labeling test data: one stock with weekday daily bars and a day of 5-minute bars."""

import pandas as pd
import pytest

from labeling.tests.factories import daily_index, price_frame
from marketdata.krx_calendar import KST
from marketdata.tests.factories import make_candles, make_stock


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

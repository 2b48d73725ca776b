"""Small factories for tests that need stocks and candles without going through Kiwoom."""

import pandas as pd
from django.utils import timezone

from marketdata.models import Candle, Market, Stock


def make_stock(code: str = "005930", name: str = "삼성전자", **fields) -> Stock:
    defaults = {"market": Market.KOSPI, "is_active": True, "is_analysis_target": True}
    defaults.update(fields)
    stock, _ = Stock.objects.update_or_create(code=code, defaults={"name": name, **defaults})
    return stock


def make_candles(stock: Stock, timeframe: str, frame: pd.DataFrame) -> list[Candle]:
    """Stores `frame` (aware DatetimeIndex; open/high/low/close/volume columns) as final bars."""
    now = timezone.now()
    rows = [
        Candle(
            stock=stock,
            timeframe=timeframe,
            ts=ts.to_pydatetime(),
            open=float(row.open),
            high=float(row.high),
            low=float(row.low),
            close=float(row.close),
            volume=int(row.volume),
            traded_value=int(row.close * row.volume),
            is_final=True,
            fetched_at=now,
        )
        for ts, row in frame.iterrows()
    ]
    return Candle.objects.bulk_create(rows)

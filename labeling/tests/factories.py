"""Factories for labeling tests (stored detections: `analysis.tests.factories.make_detection`;
stocks and bars: `marketdata.tests.factories`)."""

from datetime import datetime

import numpy as np
import pandas as pd

from labeling.models import Label
from labeling.services import label_create
from marketdata.krx_calendar import KST
from marketdata.tests.factories import kst

DAILY_START = "2024-01-02"
DAILY_BARS = 60


def daily_index(start: str = DAILY_START, bars: int = DAILY_BARS) -> pd.DatetimeIndex:
    """Weekday dates at 00:00 KST (weekends carry no bar)."""
    return pd.bdate_range(start, periods=bars, tz=KST)


def make_label(
    owner,
    stock,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    timeframe: str = "1d",
    pattern_type: str = "DT",
    **fields,
) -> Label:
    """A label made by `label_create` (snapped to the stored bars, with its first revision);
    by default a double top on the daily bars of 8–12 January 2024."""
    return label_create(
        owner=owner,
        stock=stock,
        timeframe=timeframe,
        pattern_type=pattern_type,
        start=start or kst(2024, 1, 8),
        end=end or kst(2024, 1, 12),
        **fields,
    )


def price_frame(index: pd.DatetimeIndex, base: float = 70_000.0) -> pd.DataFrame:
    """A deterministic zig-zag OHLCV frame on `index` (KRW, shares)."""
    steps = np.sin(np.arange(len(index)) / 4.0) * 2_000.0
    close = base + steps
    return pd.DataFrame(
        {
            "open": close - 100.0,
            "high": close + 400.0,
            "low": close - 400.0,
            "close": close,
            "volume": np.full(len(index), 1_000_000),
        },
        index=index,
    )


# Extra keyword arguments of the test client for an HTMX request (the Radar's label panel).
HTMX = {"HTTP_HX_REQUEST": "true"}


def post_data(**overrides) -> dict:
    """A valid label form POST on the `stock` fixture's bars (005930 1d), with `overrides`."""
    data = {
        "symbol": "005930",
        "timeframe": "1d",
        "pattern_type": "DB",
        "start": "2024-01-08",
        "end": "2024-01-19",
        "direction": "",
        "outcome": "success",
        "notes": "textbook double bottom",
        "tags": "study, 2024",
        "key_points": "V1 2024-01-09 68000\nV2 2024-01-17 68100",
    }
    data.update(overrides)
    return data

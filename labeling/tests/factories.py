"""Factories for labeling tests."""

import numpy as np
import pandas as pd


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

"""Synthetic daily/intraday series for the Radar tests: a random walk with swings on the real KRX
bar grid (weekends and holidays absent). Test data only; never shown to a user."""

from datetime import date

import numpy as np
import pandas as pd

from marketdata.krx_calendar import bar_starts


def swing_series(timeframe: str, start: date, end: date, *, seed: int = 7, base: float = 70000.0):
    """OHLCV DataFrame (aware KST index) on the KRX grid between `start` and `end`."""
    starts = bar_starts(timeframe, start, end)
    n = len(starts)
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    drift = 0.12 * np.sin(i / 11.0) + 0.06 * np.sin(i / 37.0)
    log_close = np.log(base) + drift + np.cumsum(rng.normal(0, 0.008, n))
    close = np.round(np.exp(log_close), -1)
    open_ = np.r_[close[0], close[:-1]] * (1 + rng.normal(0, 0.002, n))
    spread = np.abs(rng.normal(0, 0.006, n)) * close
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    volume = np.round(rng.lognormal(13, 0.4, n))
    return pd.DataFrame(
        {
            "open": np.round(open_),
            "high": np.round(high),
            "low": np.round(low),
            "close": close,
            "volume": volume,
        },
        index=pd.DatetimeIndex(starts),
    )

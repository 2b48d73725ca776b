"""Builders for hand-made bar series used by the analysis tests (no database)."""

import numpy as np
import pandas as pd

from analysis.detection import Bars
from marketdata.krx_calendar import KST


def frame(rows, start="2024-01-02", freq="B") -> pd.DataFrame:
    """DataFrame from (open, high, low, close) rows with a KST business-day index."""
    data = np.asarray(rows, dtype=float)
    index = pd.date_range(start, periods=len(data), freq=freq, tz=KST)
    out = pd.DataFrame(data[:, :4], columns=["open", "high", "low", "close"], index=index)
    out["volume"] = 1000.0
    return out


def bars(rows) -> Bars:
    data = np.asarray(rows, dtype=float)
    return Bars(data[:, 0], data[:, 1], data[:, 2], data[:, 3], np.full(len(data), 1000.0))


def closes_frame(closes, spread=1.0, **kwargs) -> pd.DataFrame:
    """Bars whose open is the previous close and whose High/Low are the body +/- `spread`."""
    closes = np.asarray(closes, dtype=float)
    opens = np.concatenate([[closes[0]], closes[:-1]])
    rows = np.column_stack(
        [opens, np.maximum(opens, closes) + spread, np.minimum(opens, closes) - spread, closes]
    )
    return frame(rows, **kwargs)


def mirror_rows(rows, pivot=300.0):
    """Prices reflected around pivot/2 (High and Low swap): tops become bottoms."""
    return [(pivot - o, pivot - lo, pivot - h, pivot - c) for o, h, lo, c in rows]

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


def make_detection(
    stock, pattern_type, start, end, *, timeframe="1d", status="completed", score=0.8
):
    """A stored detected pattern (with the analysis run it belongs to)."""
    from django.utils import timezone

    from analysis.models import AnalysisRun, PatternInstance

    run, _ = AnalysisRun.objects.get_or_create(
        stock=stock,
        timeframe=timeframe,
        params_hash="test",
        defaults={
            "params": {},
            "is_default": True,
            "engine_version": "test",
            "bars": 0,
            "bars_fingerprint": "test",
            "trend_state": "sideways",
            "result": {},
            "analysed_at": timezone.now(),
            "duration_ms": 0.0,
        },
    )
    return PatternInstance.objects.create(
        run=run,
        stock=stock,
        timeframe=timeframe,
        pattern_type=pattern_type,
        status=status,
        start_ts=start,
        end_ts=end,
        detected_ts=end,
        points={},
        neckline={"level": 70_000.0},
        neckline_price=70_000.0,
        target=66_000.0,
        score=score,
    )

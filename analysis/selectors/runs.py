"""Reads of stored analysis runs: the analysis the Radar shows (stored or computed on the fly)
and the series that hold candles to analyse."""

from __future__ import annotations

import pandas as pd
from django.db.models import Exists, OuterRef

from marketdata.models import Candle, Stock, Timeframe

from ..calibration import score_pattern_dicts
from ..engine import analyze, window_dict
from ..models import AnalysisRun, default_detector
from ..services import params_for, params_hash
from .calibration import active_calibration_params


def _stored_run(*, stock: Stock, timeframe: str, detector: str) -> AnalysisRun | None:
    return AnalysisRun.objects.filter(
        stock=stock,
        timeframe=timeframe,
        detector=detector,
        params_hash=params_hash(params_for(None, detector)),
    ).first()


def radar_analysis(
    *,
    stock: Stock,
    timeframe: str,
    candles: pd.DataFrame,
    window_start: int,
    use_stored: bool = True,
    detector: str | None = None,
) -> dict:
    """The analysis shown on the Radar for `candles[window_start:]`, in `window_dict` shape,
    made by `detector` (`default_detector()` when None).

    `candles` is the frame the Radar loaded (`candles_frame`: history + shown bars, oldest
    first); indexes in the result count from `candles.index[window_start]` (0) and item edge
    rules are those of `analysis.engine.window_dict`.

    With `use_stored`, the detector's stored default-parameter run is used when it ends at the same
    bar with the same close and starts at or before the window: the window is then cut from the
    stored analysis (which may have seen more history — so the Radar shows exactly what the scanner
    found). Otherwise — no stored run, a stale one, or a newest bar still forming (stored runs hold
    final bars only) — `analyze(candles)` runs on the fly and its patterns are scored with the
    active calibration, as stored ones are. The dict carries `"source": "stored" | "computed"`; its
    `params` name the detector.
    """
    detector = detector or default_detector()
    n = len(candles)
    shown = n - window_start
    if use_stored and n:
        run = _stored_run(stock=stock, timeframe=timeframe, detector=detector)
        if (
            run is not None
            and run.last_bar_ts == candles.index[-1]
            and run.last_close == float(candles["close"].iloc[-1])
            and run.bars >= shown
            and run.first_bar_ts <= candles.index[window_start]
        ):
            data = window_dict(run.result, run.bars - shown, run.bars)
            data["source"] = "stored"
            return data
    data = analyze(candles, detector=detector).window(window_start, n)
    score_pattern_dicts(data["patterns"], active_calibration_params(), timeframe)
    data["source"] = "computed"
    return data


def analysis_series(
    *, timeframes: list[str] | None = None, targets_only: bool = True
) -> list[tuple[str, str]]:
    """(code, timeframe) of every analysis target (every stock, without `targets_only`)
    holding candles on the given timeframes (all by default), ordered by timeframe then code."""
    out = []
    stocks = Stock.objects.analysis_targets() if targets_only else Stock.objects.all()
    for timeframe in timeframes or Timeframe.values:
        has_candles = Exists(Candle.objects.filter(stock=OuterRef("pk"), timeframe=timeframe))
        codes = stocks.filter(has_candles).order_by("code").values_list("code", flat=True)
        out.extend((code, timeframe) for code in codes)
    return out

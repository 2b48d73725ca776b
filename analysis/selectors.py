"""Reads of stored analyses for the Trading Radar and the pattern scanner."""

from __future__ import annotations

from datetime import date, datetime, time

import pandas as pd
from django.utils import timezone

from marketdata.krx_calendar import KST, is_trading_day, previous_trading_day
from marketdata.models import Stock

from .engine import analyze, window_dict
from .models import AnalysisRun, PatternInstance
from .services import params_for, params_hash

SCAN_LIMIT = 500


def _stored_run(*, stock: Stock, timeframe: str) -> AnalysisRun | None:
    return AnalysisRun.objects.filter(
        stock=stock, timeframe=timeframe, params_hash=params_hash(params_for(None))
    ).first()


def radar_analysis(
    *,
    stock: Stock,
    timeframe: str,
    candles: pd.DataFrame,
    window_start: int,
    use_stored: bool = True,
) -> dict:
    """The analysis shown on the Radar for `candles[window_start:]`, in `window_dict` shape.

    `candles` is the frame the Radar loaded (`candles_frame`: history + shown bars, oldest
    first); indexes in the result count from `candles.index[window_start]` (0) and item edge
    rules are those of `analysis.engine.window_dict`.

    With `use_stored`, the stored default-parameter run is used when it ends at the same bar
    with the same close and starts at or before the window: the window is then cut from the
    stored analysis (which may have seen more history — so the Radar shows exactly what the
    scanner found). Otherwise — no stored run, a stale one, or a newest bar still forming
    (stored runs hold final bars only) — `analyze(candles)` runs on the fly. The dict carries
    `"source": "stored" | "computed"`.
    """
    n = len(candles)
    shown = n - window_start
    if use_stored and n:
        run = _stored_run(stock=stock, timeframe=timeframe)
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
    data = analyze(candles).window(window_start, n)
    data["source"] = "computed"
    return data


def trading_days_cutoff(days: int, *, today: date | None = None) -> datetime:
    """00:00 KST of the trading day `days - 1` sessions before `today` (today counts if it
    is a trading day): `days=5` on a Friday gives Monday 00:00 KST of that week."""
    day = today or timezone.localdate(timezone=KST)
    if not is_trading_day(day):
        day = previous_trading_day(day)
    for _ in range(max(days, 1) - 1):
        day = previous_trading_day(day)
    return datetime.combine(day, time(0, 0), tzinfo=KST)


def _percent(target: float | None, close: float | None) -> float | None:
    if target is None or not close:
        return None
    return round((target - close) / close * 100, 2)


def pattern_scan(
    *,
    timeframe: str = "1d",
    pattern_type: str | None = None,
    status: str | None = None,
    market: str | None = None,
    days_back: int | None = 5,
    min_score: float | None = None,
    limit: int = SCAN_LIMIT,
    today: date | None = None,
) -> list[dict]:
    """Stored patterns across all stocks for the scanner, newest first.

    Filters: `pattern_type` DT|DB|HS|IHS, `status` forming|completed|invalidated, `market`
    KOSPI|KOSDAQ, `days_back` trading days (end bar on or after `trading_days_cutoff`; None =
    any time; a forming pattern ends at the last analysed bar), `min_score` 0..1.
    Each row: {"stock": Stock, "code", "name", "market", "timeframe", "type", "type_label",
    "status", "start_ts", "end_ts", "detected_ts" (aware datetimes), "score", "target",
    "neckline" (KRW), "last_close" (KRW, newest analysed bar), "to_target_pct",
    "to_neckline_pct" (percent from the last close; positive = above it), "trend_state"
    (up|down|sideways), "trend_since" (aware datetime), "points" ({role: {ts, price}})}.
    One query.
    """
    since = trading_days_cutoff(days_back, today=today) if days_back else None
    qs = PatternInstance.objects.scan(
        timeframe=timeframe,
        pattern_type=pattern_type,
        status=status,
        since=since,
        min_score=min_score,
        market=market,
    )[:limit]
    rows = []
    for p in qs:
        run = p.run
        rows.append(
            {
                "stock": p.stock,
                "code": p.stock.code,
                "name": p.stock.name,
                "market": p.stock.market,
                "timeframe": p.timeframe,
                "type": p.pattern_type,
                "type_label": p.get_pattern_type_display(),
                "status": p.status,
                "start_ts": p.start_ts,
                "end_ts": p.end_ts,
                "detected_ts": p.detected_ts,
                "score": p.score,
                "target": p.target,
                "neckline": p.neckline_price,
                "last_close": run.last_close,
                "to_target_pct": _percent(p.target, run.last_close),
                "to_neckline_pct": _percent(p.neckline_price, run.last_close),
                "trend_state": run.trend_state,
                "trend_since": run.trend_since_ts,
                "points": p.points,
            }
        )
    return rows


def series_trend(*, stock: Stock, timeframe: str) -> dict | None:
    """{"state", "since", "analysed_at", "last_bar_ts"} of the stored default run, or None."""
    run = _stored_run(stock=stock, timeframe=timeframe)
    if run is None:
        return None
    return {
        "state": run.trend_state,
        "since": run.trend_since_ts,
        "analysed_at": run.analysed_at,
        "last_bar_ts": run.last_bar_ts,
    }

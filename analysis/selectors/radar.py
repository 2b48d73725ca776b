"""Reads behind the Trading Radar: symbol search, the `/api/radar` payload, the page's figure,
info line and pattern rows (with what the registered `analysis.radar_extensions` add).

Keyword-only selectors; the numeric work is in `analysis.engine` and `analysis.figures`.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts import colors
from analysis import radar_extensions
from analysis.engine import indicators as compute_indicators
from analysis.figures import (
    bar_label,
    build_radar_figure,
    iso_kst,
    pattern_outcome_at,
    pattern_status_at,
    trend_state_at,
)
from analysis.models import PatternInstance, default_detector
from analysis.selectors.runs import radar_analysis
from marketdata.hangul import initials, is_initials_query
from marketdata.krx_calendar import KST
from marketdata.models import Candle, Stock
from marketdata.selectors import candles_frame

DEFAULT_BARS = 500
MORE_BARS_STEP = 500
MAX_BARS = 20_000
# Bars analysed before the visible window so its left edge has the swings, trends and patterns
# that started earlier (a major swing every 8–15 bars; H&S spans ~60–120 bars).
HISTORY_BARS = 300
SEARCH_LIMIT = 12

NO_DATA = _(
    "No {timeframe} bars stored for {code} yet. Load them with: "
    "python manage.py backfill --codes {code} --timeframes {timeframe}"
)
UNKNOWN_SYMBOL = _("Unknown symbol {symbol!r}: no stock with that code.")

# Indicator choice → (engine spec, {engine column: line name in the figure}).
INDICATOR_SPECS: dict[str, tuple[dict, dict[str, str]]] = {
    "sma20": ({"sma": [20]}, {"SMA_20": "value"}),
    "sma60": ({"sma": [60]}, {"SMA_60": "value"}),
    "sma120": ({"sma": [120]}, {"SMA_120": "value"}),
    "ema12": ({"ema": [12]}, {"EMA_12": "value"}),
    "ema26": ({"ema": [26]}, {"EMA_26": "value"}),
    "bb": (
        {"bollinger": {"period": 20, "k": 2.0}},
        {"BBU_20_2.0": "upper", "BBM_20_2.0": "mid", "BBL_20_2.0": "lower"},
    ),
    "rsi": ({"rsi": [14]}, {"RSI_14": "value"}),
    "macd": (
        {"macd": [12, 26, 9]},
        {"MACD_12_26_9": "macd", "MACDs_12_26_9": "signal", "MACDh_12_26_9": "hist"},
    ),
    "atr": ({"atr": [14]}, {"ATR_14": "value"}),
    "obv": ({"obv": True}, {"OBV": "value"}),
}


class RadarError(Exception):
    """A request the Radar cannot answer: `status` (404/400) and a user-facing `message`."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def stock_search(*, query: str, limit: int = SEARCH_LIMIT) -> list[Stock]:
    """Active stocks for the symbol box: codes starting with `query` first (005 → 005930…),
    then names containing it (삼성), or, for a query of initial consonants, names whose
    initials contain it (ㅅㅅㅈㅈ → 삼성전자, marketdata/hangul.py); each group by code."""
    query = query.strip()
    if not query:
        return []
    by_code = list(Stock.objects.active().filter(code__startswith=query).order_by("code")[:limit])
    if len(by_code) >= limit:
        return by_code
    if is_initials_query(query):
        matches = Q(name_initials__contains=initials(query))
    else:
        matches = Q(name__icontains=query)
    by_name = (
        Stock.objects.active()
        .filter(matches)
        .exclude(code__startswith=query)
        .order_by("code")[: limit - len(by_code)]
    )
    return by_code + list(by_name)


def stock_for_symbol(*, symbol: str) -> Stock:
    """The stock with code `symbol`, or RadarError 404."""
    stock = Stock.objects.filter(code=symbol).first()
    if stock is None:
        raise RadarError(404, UNKNOWN_SYMBOL.format(symbol=symbol))
    return stock


def default_stock(*, preferred: str) -> Stock | None:
    """The stock with code `preferred`, else the first active stock by code, else None."""
    return (
        Stock.objects.filter(code=preferred).first()
        or Stock.objects.active().order_by("code").first()
    )


def bars_since(*, stock: Stock, timeframe: str, start: datetime) -> int:
    """How many stored bars of the series start at or after `start`."""
    return Candle.objects.filter(stock=stock, timeframe=timeframe, ts__gte=start).count()


def series_bar_count(*, stock: Stock, timeframe: str) -> int:
    return Candle.objects.filter(stock=stock, timeframe=timeframe).count()


def _clean(values: np.ndarray) -> list[float | None]:
    return [None if not math.isfinite(v) else float(v) for v in np.asarray(values, dtype=float)]


def indicator_series(frame: pd.DataFrame, choices: list[str], window_start: int) -> dict:
    """{choice: {line: values}} for the bars from `window_start`, computed over all of `frame`
    (so the warm-up falls in the history, not in the visible window)."""
    out: dict[str, dict[str, list]] = {}
    for choice in choices:
        spec, columns = INDICATOR_SPECS[choice]
        computed = compute_indicators(frame[["open", "high", "low", "close", "volume"]], spec)
        out[choice] = {
            line: _clean(np.asarray(computed[column], dtype=float)[window_start:])
            for column, line in columns.items()
        }
    return out


def _candles_json(window: pd.DataFrame) -> list[dict]:
    ts = iso_kst(window.index)
    cols = [window[c].tolist() for c in ("open", "high", "low", "close", "volume")]
    finals = window["is_final"].tolist()
    return [
        {
            "ts": ts[i],
            "open": cols[0][i],
            "high": cols[1][i],
            "low": cols[2][i],
            "close": cols[3][i],
            "volume": int(cols[4][i]),
            "is_final": bool(finals[i]),
        }
        for i in range(len(ts))
    ]


def radar_series(
    *,
    stock: Stock,
    timeframe: str,
    bars: int,
    use_stored: bool = True,
    detector: str | None = None,
) -> dict:
    """The latest `bars` bars of a series with their analysis by `detector` (the default
    detector when None).

    Returns {"frame": all loaded bars (history + window), "window_start", "window" (DataFrame of
    the shown bars), "analysis" (the window dict, indexes from the window's first bar),
    "total" (bars stored)}. RadarError 404 with the backfill command when nothing is stored.
    """
    frame = candles_frame(stock=stock, timeframe=timeframe, limit=bars + HISTORY_BARS)
    if frame.empty:
        raise RadarError(404, NO_DATA.format(code=stock.code, timeframe=timeframe))
    window_start = max(0, len(frame) - bars)
    analysis = radar_analysis(
        stock=stock,
        timeframe=timeframe,
        candles=frame,
        window_start=window_start,
        use_stored=use_stored,
        detector=detector,
    )
    total = series_bar_count(stock=stock, timeframe=timeframe)
    return {
        "frame": frame,
        "window_start": window_start,
        "window": frame.iloc[window_start:],
        "analysis": analysis,
        "total": total,
    }


def radar_api_payload(
    *, user, stock: Stock, timeframe: str, bars: int, use_stored=True, detector: str | None = None
) -> dict:
    """The `/api/radar` body: symbol, name, timeframe, detector, candles, analysis (by that
    detector; the default one when None), labels, bar counts."""
    detector = detector or default_detector()
    series = radar_series(
        stock=stock, timeframe=timeframe, bars=bars, use_stored=use_stored, detector=detector
    )
    window = series["window"]
    return {
        "symbol": stock.code,
        "name": stock.name,
        "timeframe": timeframe,
        "detector": detector,
        "bars": len(window),
        "bars_stored": series["total"],
        "candles": _candles_json(window),
        "analysis": series["analysis"],
        "labels": radar_extensions.overlays(
            user=user,
            stock=stock,
            timeframe=timeframe,
            start=window.index[0],
            end=window.index[-1],
        ),
    }


def _stored_pattern_ids(*, stock: Stock, timeframe: str, detector: str, analysis: dict) -> dict:
    """{(type, start ISO, detected ISO): PatternInstance id} for the shown patterns that are
    stored (a Radar extension's decisions are about stored patterns). A window computed on the
    fly (during the session, when the last bar is still forming) matches the stored patterns
    by type, start and detection instant: the engine is causal, so a pattern found on final
    bars is the same in both runs. One query."""
    patterns = analysis.get("patterns", [])
    if not patterns:
        return {}
    earliest = min(pd.Timestamp(p["start_ts"]) for p in patterns)
    rows = (
        PatternInstance.objects.shown(detector)
        .filter(stock=stock, timeframe=timeframe, start_ts__gte=earliest)
        .values_list("id", "pattern_type", "start_ts", "detected_ts")
    )
    return {
        (
            kind,
            pd.Timestamp(start).tz_convert(KST).isoformat(),
            pd.Timestamp(detected).tz_convert(KST).isoformat(),
        ): pk
        for pk, kind, start, detected in rows
    }


def radar_page_data(
    *,
    user,
    stock: Stock,
    timeframe: str,
    bars: int,
    indicators: list[str],
    hidden: list[str],
    asof: int | None = None,
    focus: tuple[datetime, datetime] | None = None,
    pattern_rows: bool = True,
    candle_colors: str = colors.DEFAULT,
    detector: str | None = None,
) -> dict:
    """Everything the Radar page shows: the figure dict, the info line and the pattern list,
    from the analysis of `detector` (the default detector when None; its stored run when
    current, see `radar_analysis`).

    `asof` is a bar position in the shown window (replay). `focus` an instant range to zoom to
    (the window grows to include it, up to MAX_BARS). Each pattern row carries its stored `id`
    (None when computed on the fly) and `cells`, one {"template", "decision"} per Radar extension
    column (`decision_columns`), fetched in bulk. Without `pattern_rows` (the figure endpoint)
    the pattern list is empty and costs no query.
    """
    if focus is not None:
        needed = bars_since(stock=stock, timeframe=timeframe, start=focus[0]) + 20
        if needed > MAX_BARS:
            raise RadarError(
                400, _("That range is more than {n} bars back.").format(n=f"{MAX_BARS:,}")
            )
        bars = max(bars, needed)
    detector = detector or default_detector()
    series = radar_series(stock=stock, timeframe=timeframe, bars=bars, detector=detector)
    window, analysis = series["window"], series["analysis"]
    n = len(window)
    if asof is not None and not 0 <= asof < n:
        raise RadarError(400, _("Replay bar must be between 0 and {last}.").format(last=n - 1))
    labels = radar_extensions.overlays(
        user=user, stock=stock, timeframe=timeframe, start=window.index[0], end=window.index[-1]
    )
    focus_bars = None
    if focus is not None:
        first = int(window.index.searchsorted(pd.Timestamp(focus[0]), side="left"))
        last = int(window.index.searchsorted(pd.Timestamp(focus[1]), side="right")) - 1
        if first <= last:
            focus_bars = (first, last)
    close_before = (
        float(series["frame"]["close"].iloc[series["window_start"] - 1])
        if series["window_start"] > 0
        else None
    )
    figure = build_radar_figure(
        window[["open", "high", "low", "close", "volume"]],
        analysis,
        timeframe=timeframe,
        indicator_series=indicator_series(series["frame"], indicators, series["window_start"]),
        labels=labels,
        hidden=hidden,
        asof=asof,
        focus=focus_bars,
        close_before=close_before,
        candle_colors=candle_colors,
    )
    # Replay: the info line, trend and pattern list stop at the cursor like the chart.
    cursor = n - 1 if asof is None else asof
    closes = window["close"].to_numpy()
    last_close = float(closes[cursor])
    prev_close = float(closes[cursor - 1]) if cursor > 0 else close_before
    change = last_close - prev_close if prev_close else None
    state = trend_state_at(analysis, asof)
    trend_since = (
        bar_label(pd.Timestamp(state["since_ts"]), timeframe) if state.get("since_ts") else None
    )
    patterns, decision_columns = [], []
    if pattern_rows:
        patterns, decision_columns = _pattern_rows(
            user=user,
            stock=stock,
            timeframe=timeframe,
            detector=detector,
            analysis=analysis,
            asof=asof,
            window=window,
        )
    return {
        "figure": figure,
        "bars": n,
        "bars_stored": series["total"],
        "asof": asof,
        "last_ts": window.index[cursor],
        "last_close": last_close,
        "change": change,
        "change_pct": (change / prev_close * 100) if change is not None else None,
        "trend_state": state.get("state"),
        "trend_since": trend_since,
        "detector": detector,
        "patterns": patterns,
        "decision_columns": decision_columns,
        "labels": labels,
    }


def _pattern_rows(
    *,
    user,
    stock: Stock,
    timeframe: str,
    detector: str,
    analysis: dict,
    asof: int | None,
    window: pd.DataFrame,
) -> tuple[list[dict], list[str]]:
    """The pattern list of the Radar page, newest end first, and its extension columns. In
    replay (`asof`) only the patterns known by then, with their status then and their end cut
    at the cursor (a pattern still forming at the cursor has not ended yet)."""
    stored_ids = _stored_pattern_ids(
        stock=stock, timeframe=timeframe, detector=detector, analysis=analysis
    )
    patterns = []
    for pattern in sorted(
        analysis.get("patterns", []),
        key=lambda p: (
            min(p["end_index"], asof if asof is not None else p["end_index"]),
            p["start_index"],
        ),
        reverse=True,
    ):
        status = pattern_status_at(pattern, asof)
        if status is None:  # replay: not known by then
            continue
        end_index, end_ts = pattern["end_index"], pd.Timestamp(pattern["end_ts"])
        if asof is not None and end_index > asof:
            end_index, end_ts = asof, window.index[asof]
        patterns.append(
            {
                **pattern,
                "id": stored_ids.get(
                    (pattern["type"], pattern["start_ts"], pattern["detected_ts"])
                ),
                "symbol": stock.code,
                "timeframe": timeframe,
                "start_ts": pd.Timestamp(pattern["start_ts"]),
                "end_index": end_index,
                "end_ts": end_ts,
                "status": status,
                "outcome_known": pattern_outcome_at(pattern, asof),
            }
        )
    cells = radar_extensions.decision_cells(
        user=user, pattern_ids=[p["id"] for p in patterns if p["id"] is not None]
    )
    for pattern in patterns:
        pattern["cells"] = [
            {"template": extension.decision_template, "decision": found.get(pattern["id"])}
            for extension, found in cells
        ]
    return patterns, [extension.decision_column for extension, _ in cells]

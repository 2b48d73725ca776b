"""The Trading Radar figure: a pure function from bars + analysis to a Plotly figure dict.

No ORM, no I/O. Inputs:
- `ohlcv`: DataFrame with an aware DatetimeIndex (any zone; shown in Asia/Seoul) and float columns
  open, high, low, close (KRW), volume (shares); oldest first. These are the bars on the chart.
- `analysis`: the `AnalysisResult.to_dict()` shape (extremes, zigzag, trend_periods, trend_state,
  patterns) restricted to those bars, with every `*_index` counting from the first bar (0).
- `indicator_series`: `{choice: {line name: [float | None, ...]}}` aligned with the bars.
- `labels`: the user's labels, `{id, pattern_type, start_ts, end_ts, direction, source, url}`,
  optionally `key_points` (`[{role, ts, price}]`, drawn as markers) and `layer`: "labels" (the
  default) or "rejected" — a detection the user rejected, drawn as a grey dashed "✗ DT rejected"
  box in its own layer, never like a label.

The x-axis is the **bar index** (0 … N-1) for every timeframe, with KST tick labels: nights,
weekends and holidays take no space, and every overlay (markers, zigzag, shapes, labels) sits on the
same integer axis (docs/architecture.md#data-path).

Besides `data` and `layout`, the dict carries a `radar` key that Plotly ignores and
`static/js/radar.js` reads (and strips) to toggle layers client-side:
`radar.layers` (layer → trace indexes / shape indexes / annotation indexes), `radar.ts` (ISO
instants of the bars), `radar.ticks` (tick candidates for re-thinning on zoom) and `radar.hidden`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.utils.translation import gettext, gettext_lazy, pgettext, pgettext_lazy

from accounts import colors
from marketdata.krx_calendar import INTRADAY_MINUTES, KST

# TradingView colours.
# Rising/falling colours (candles, volume) come from the user's candle convention
# (accounts/colors.py: Korean red up / blue down by default, or green up / red down).
VOLUME_ALPHA = 0.55
VOLUME_FLAT = "rgba(120,123,134,0.55)"
PEAK_COLOR = "#ef4444"
VALLEY_COLOR = "#22c55e"
MINOR_PEAK_COLOR = "#f59e0b"
MINOR_VALLEY_COLOR = "#3b82f6"
ZIGZAG_COLOR = "#6b7280"
TREND_FILL = {
    "up": "rgba(34,197,94,0.09)",
    "down": "rgba(239,68,68,0.09)",
    "sideways": "rgba(120,120,120,0.06)",
}
BULLISH_TYPES = frozenset({"DB", "IHS"})
PATTERN_COLOR = {True: "#16a34a", False: "#dc2626"}  # bullish → green, bearish → red
PATTERN_FILL = {True: "rgba(34,197,94,0.07)", False: "rgba(239,68,68,0.07)"}
INVALIDATED_COLOR = "#9ca3af"
LABEL_COLOR = "#7e22ce"
LABEL_FILL = "rgba(126,34,206,0.07)"
REJECTED_COLOR = "#9ca3af"
FOCUS_FILL = "rgba(250,204,21,0.12)"
FOCUS_LINE = "#ca8a04"

# Layers the user toggles on the page (client-side visibility; no recomputation).
# Names and tags on the chart are text of the active language (`gettext` when the figure is
# built, in the request); keys, layers and trace meta stay English for the scripts.
LAYERS: dict[str, str] = {
    "volume": gettext_lazy("Volume"),
    "major": gettext_lazy("Major peaks/valleys"),
    "minor": gettext_lazy("Minor peaks/valleys"),
    "zigzag": gettext_lazy("Zigzag"),
    "trend": gettext_lazy("Trend shading"),
    "DT": gettext_lazy("Double tops"),
    "DB": gettext_lazy("Double bottoms"),
    "HS": gettext_lazy("Head & shoulders"),
    "IHS": gettext_lazy("Inverse H&S"),
    "invalidated": gettext_lazy("Invalidated patterns"),
    "labels": gettext_lazy("My labels"),
    "rejected": gettext_lazy("Rejected detections"),
}
# A calm chart by default: candles, volume, major points, zigzag, confirmed and forming
# patterns (and the user's own labels). Minor points, trend shading and invalidated patterns
# are one click away; they crowd 500 bars.
DEFAULT_HIDDEN = frozenset({"minor", "trend", "invalidated"})
PATTERN_TYPES = ("DT", "DB", "HS", "IHS")

# Indicator choices: overlays share the price pane, panes get their own y-axis under volume.
OVERLAY_CHOICES: dict[str, str] = {
    "sma20": "SMA 20",
    "sma60": "SMA 60",
    "sma120": "SMA 120",
    "ema12": "EMA 12",
    "ema26": "EMA 26",
    "bb": pgettext_lazy("indicator", "Bollinger 20, 2σ"),
}
PANE_CHOICES: dict[str, str] = {
    "rsi": "RSI 14",
    "macd": "MACD 12/26/9",
    "atr": "ATR 14",
    "obv": "OBV",
}
OVERLAY_COLORS = {
    "sma20": "#f59e0b",
    "sma60": "#8b5cf6",
    "sma120": "#0ea5e9",
    "ema12": "#ec4899",
    "ema26": "#14b8a6",
    "bb": "#64748b",
}

WEEKDAYS = (
    pgettext_lazy("weekday", "Mon"),
    pgettext_lazy("weekday", "Tue"),
    pgettext_lazy("weekday", "Wed"),
    pgettext_lazy("weekday", "Thu"),
    pgettext_lazy("weekday", "Fri"),
    pgettext_lazy("weekday", "Sat"),
    pgettext_lazy("weekday", "Sun"),
)
PANE_HEIGHT = 0.13
VOLUME_HEIGHT = 0.12
PANE_GAP = 0.02
LABEL_PAD_FRACTION = 0.08
PATTERN_PAD_FRACTION = 0.05


@dataclass
class _Builder:
    data: list[dict] = field(default_factory=list)
    shapes: list[dict] = field(default_factory=list)
    annotations: list[dict] = field(default_factory=list)
    layers: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    hidden: frozenset[str] = frozenset()

    def _slot(self, layer: str) -> dict[str, list[int]]:
        return self.layers.setdefault(layer, {"traces": [], "shapes": [], "annotations": []})

    def trace(self, layer: str, trace: dict) -> None:
        if layer in self.hidden:
            trace["visible"] = False
        trace.setdefault("meta", {})["layer"] = layer
        self._slot(layer)["traces"].append(len(self.data))
        self.data.append(trace)

    def shape(self, layer: str, shape: dict) -> None:
        if layer in self.hidden:
            shape["visible"] = False
        shape["name"] = layer
        self._slot(layer)["shapes"].append(len(self.shapes))
        self.shapes.append(shape)

    def annotation(self, layer: str, annotation: dict) -> None:
        if layer in self.hidden:
            annotation["visible"] = False
        annotation["name"] = layer
        self._slot(layer)["annotations"].append(len(self.annotations))
        self.annotations.append(annotation)


def pattern_tag(kind: str) -> str:
    """The short name of a pattern type on the chart: 'DT' in English, '쌍봉' in Korean; a
    label's other types ('flag_bull', …) as they are."""
    short = {
        "DT": pgettext_lazy("chart tag", "DT"),
        "DB": pgettext_lazy("chart tag", "DB"),
        "HS": pgettext_lazy("chart tag", "HS"),
        "IHS": pgettext_lazy("chart tag", "IHS"),
    }
    return str(short.get(kind, kind))


def format_krw(value: float | None) -> str:
    """71500.0 → '71,500' (KRW has no minor unit)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.0f}"


def bar_label(ts: pd.Timestamp, timeframe: str) -> str:
    """KST text for one bar: '2024-01-05 (Fri)' for daily+, '2024-01-05 09:05' intraday."""
    local = ts.tz_convert(KST)
    if timeframe in INTRADAY_MINUTES:
        return local.strftime("%Y-%m-%d %H:%M")
    if timeframe == "1mo":
        return local.strftime("%Y-%m")
    if timeframe == "1w":
        return f"{local:%Y-%m-%d} ({gettext('week')})"
    return f"{local:%Y-%m-%d} ({WEEKDAYS[local.weekday()]})"


def iso_kst(index: pd.DatetimeIndex) -> list[str]:
    """ISO 8601 text with +09:00 for every bar instant, vectorised (Korea keeps no summer time,
    so the offset is always +09:00)."""
    if len(index) == 0:
        return []
    local = index.tz_convert(KST).tz_localize(None).to_numpy()
    return (np.datetime_as_string(local, unit="s").astype(object) + "+09:00").tolist()


def bar_labels(index: pd.DatetimeIndex, timeframe: str) -> list[str]:
    """`bar_label` for every bar, vectorised."""
    iso = iso_kst(index)
    if timeframe in INTRADAY_MINUTES:
        return [f"{text[:10]} {text[11:16]}" for text in iso]
    if timeframe == "1mo":
        return [text[:7] for text in iso]
    if timeframe == "1w":
        week = gettext("week")
        return [f"{text[:10]} ({week})" for text in iso]
    weekdays = index.tz_convert(KST).day_of_week
    names = [str(day) for day in WEEKDAYS]  # translated once, not per bar
    return [f"{text[:10]} ({names[day]})" for text, day in zip(iso, weekdays, strict=True)]


def tick_candidates(index: pd.DatetimeIndex, timeframe: str) -> list[list]:
    """[[bar, text, level], …]: bars that open a new period, for tick labels on the bar axis.

    Level 0 marks the coarse boundaries (a new day intraday, a new month daily, a new year weekly
    or monthly), level 1 the finer ones (a new hour intraday, a new week daily, a new quarter
    weekly). The client keeps at most ~10 visible ticks, preferring level 0.
    """
    if len(index) == 0:
        return []
    local = index.tz_convert(KST)
    if timeframe in INTRADAY_MINUTES:
        day = local.normalize()
        coarse = np.r_[True, day[1:] != day[:-1]]
        fine = np.r_[True, local.hour[1:] != local.hour[:-1]]
        coarse_text = [f"{t:%m/%d}" for t in local]
        fine_text = [f"{t:%H:%M}" for t in local]
    elif timeframe == "1d":
        month = local.year * 12 + local.month
        coarse = np.r_[True, month[1:] != month[:-1]]
        iso_week = local.isocalendar().week.to_numpy()
        fine = np.r_[True, iso_week[1:] != iso_week[:-1]]
        coarse_text = [f"{t:%Y/%m}" for t in local]
        fine_text = [f"{t:%m/%d}" for t in local]
    else:
        coarse = np.r_[True, local.year[1:] != local.year[:-1]]
        quarter = local.year * 4 + (local.month - 1) // 3
        fine = np.r_[True, quarter[1:] != quarter[:-1]]
        coarse_text = [f"{t:%Y}" for t in local]
        fine_text = [f"{t:%Y/%m}" for t in local]
    ticks = []
    for i in range(len(local)):
        if coarse[i]:
            ticks.append([i, coarse_text[i], 0])
        elif fine[i]:
            ticks.append([i, fine_text[i], 1])
    return ticks


def thin_ticks(ticks: Sequence[Sequence], lo: float, hi: float, most: int = 10) -> list[list]:
    """The ticks to show for the visible bar range [lo, hi]: level 0 first, then level 1, evenly
    thinned to at most `most` (mirrors `thinTicks` in static/js/radar.js)."""
    visible = [t for t in ticks if lo <= t[0] <= hi]
    coarse = [t for t in visible if t[2] == 0]
    chosen = coarse if len(coarse) >= 3 else visible
    step = max(1, math.ceil(len(chosen) / most))
    return [list(t) for t in chosen[::step]]


def _marker_offset(ohlcv: pd.DataFrame) -> float:
    """A vertical gap (KRW) between a bar's extreme and its ▲/▼ marker: a third of the median
    bar range, so markers clear the wick at every price level."""
    spread = (ohlcv["high"] - ohlcv["low"]).to_numpy()
    spread = spread[np.isfinite(spread) & (spread > 0)]
    if len(spread):
        return float(np.median(spread)) / 3
    closes = ohlcv["close"].to_numpy()
    return float(abs(closes[-1]) * 0.003) if len(closes) else 0.0


def _nullable(values: Iterable) -> list[float | None]:
    return [
        None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v for v in values
    ]


def _bar_of(index: pd.DatetimeIndex, ts: str | pd.Timestamp, *, side: str) -> int | None:
    """Snap an instant to a bar position: side='start' → first bar at/after it, 'end' → last bar
    at/before it. None when outside the bars."""
    instant = pd.Timestamp(ts)
    if instant.tzinfo is None:
        instant = instant.tz_localize(KST)
    if side == "start":
        pos = int(index.searchsorted(instant, side="left"))
        return pos if pos < len(index) else None
    pos = int(index.searchsorted(instant, side="right")) - 1
    return pos if pos >= 0 else None


def _span_extent(
    ohlcv: pd.DataFrame, start: int, end: int, pad_fraction: float
) -> tuple[float, float]:
    lows = ohlcv["low"].to_numpy()[start : end + 1]
    highs = ohlcv["high"].to_numpy()[start : end + 1]
    lo, hi = float(np.nanmin(lows)), float(np.nanmax(highs))
    pad = (hi - lo) * pad_fraction or abs(hi) * 0.01
    return lo - pad, hi + pad


def pattern_status_at(pattern: dict, asof: int | None) -> str | None:
    """The pattern's status as known at bar `asof` (None: not known yet)."""
    detected = pattern.get("detected_index", pattern.get("end_index"))
    if asof is None:
        return pattern.get("status")
    if detected is None or detected > asof:
        return None
    end = pattern.get("end_index")
    if pattern.get("status") in ("completed", "invalidated") and end is not None and end > asof:
        return "forming"
    return pattern.get("status")


def trend_state_at(analysis: dict, asof: int | None) -> dict:
    """{"state": up|down|sideways, "since_ts": ISO instant or None} as known at bar `asof`
    (None: the analysis' own state at its last bar). A period holds from its start up to the
    bar before its break (at the break the state is sideways again); an ongoing period up to
    its last bar. Sideways counts from the end of the last period that broke by then."""
    state = analysis.get("trend_state") or {}
    if asof is None:
        return {"state": state.get("state"), "since_ts": state.get("since_ts")}
    since_ts = None
    for period in sorted(analysis.get("trend_periods", []), key=lambda p: p["start_index"]):
        if period.get("detected_index", period["start_index"]) > asof:
            break
        end = period["end_index"]
        if asof < end or (period.get("ongoing") and asof <= end):
            return {"state": period["direction"], "since_ts": period.get("start_ts")}
        since_ts = period.get("end_ts")
    return {"state": "sideways", "since_ts": since_ts}


def pattern_outcome_at(pattern: dict, asof: int | None) -> str | None:
    """The outcome of a completed pattern as known at bar `asof`: "target", "failed",
    "expired", "pending" (completed, nothing decided yet) or None (not completed by then)."""
    if pattern_status_at(pattern, asof) != "completed":
        return None
    outcome = pattern.get("outcome") or {}
    index = outcome.get("index")
    if not outcome.get("result") or (asof is not None and (index is None or index > asof)):
        return "pending"
    return outcome["result"]


def _neckline_points(pattern: dict, start: int, end: int) -> list[tuple[float, float]] | None:
    """Neckline as two (bar, price) points across the pattern box, or None."""
    neck = pattern.get("neckline")
    if neck is None:
        return None
    if isinstance(neck, int | float):
        return [(start, float(neck)), (end, float(neck))]
    if "level" in neck and neck["level"] is not None:
        level = float(neck["level"])
        return [(start, level), (end, level)]
    a, b = neck.get("start"), neck.get("end")
    if not a or not b or b.get("index") is None:
        return None
    if a.get("index") is None:  # starts before the shown bars: its bar-index slope is unknown
        return None
    x0, y0, x1, y1 = float(a["index"]), float(a["price"]), float(b["index"]), float(b["price"])
    if x1 == x0:
        return [(x0, y0), (end, y1)]
    slope = (y1 - y0) / (x1 - x0)
    # Extend (by bar-index slope) to the box end so the break is visible.
    return [(x0, y0), (end, y0 + slope * (end - x0))]


def volume_bar_colors(candle_colors: str) -> tuple[str, str]:
    """(rising, falling) volume bar colours of a candle convention: its colours, translucent."""

    def translucent(hex_color: str) -> str:
        r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
        return f"rgba({r},{g},{b},{VOLUME_ALPHA})"

    up, down = colors.up_down_colors(candle_colors)
    return translucent(up), translucent(down)


def build_radar_figure(
    ohlcv: pd.DataFrame,
    analysis: dict,
    *,
    timeframe: str,
    indicator_series: dict[str, dict[str, list]] | None = None,
    labels: Sequence[dict] = (),
    hidden: Iterable[str] = (),
    asof: int | None = None,
    focus: tuple[int, int] | None = None,
    close_before: float | None = None,
    candle_colors: str = colors.DEFAULT,
) -> dict:
    """The Radar's Plotly figure dict (see the module docstring).

    `hidden`: layer keys (from `LAYERS`) drawn with `visible: false`.
    `asof`: replay — show the chart as known at that bar: bars after it are dropped and only the
    extremes confirmed by then (`confirmed_index <= asof`) and patterns detected by then appear
    (a pattern completed later shows as forming).
    `focus`: (first bar, last bar) to zoom the x-axis to (e.g. a pattern from the Scanner).
    `close_before`: close (KRW) of the stored bar before the first one, so the first bar's
    change and volume colour compare with it; None when the series starts there.
    `candle_colors`: the colour convention of rising/falling bars (`accounts.colors`).
    """
    up_color, down_color = colors.up_down_colors(candle_colors)
    volume_up, volume_down = volume_bar_colors(candle_colors)
    indicator_series = indicator_series or {}
    builder = _Builder(hidden=frozenset(hidden))
    n_all = len(ohlcv)
    last = n_all - 1 if asof is None else max(0, min(int(asof), n_all - 1))
    bars = ohlcv.iloc[: last + 1] if n_all else ohlcv
    n = len(bars)
    x = list(range(n))
    index = bars.index
    o, h, lo, c = (bars[col].to_numpy(dtype=float) for col in ("open", "high", "low", "close"))
    volume = bars["volume"].to_numpy(dtype=float)
    prev_close = np.r_[np.nan if close_before is None else close_before, c[:-1]] if n else c
    change = np.where(prev_close > 0, (c / prev_close - 1) * 100, np.nan)

    panes = [p for p in PANE_CHOICES if p in indicator_series]
    # y domains, bottom-up: indicator panes, volume, price.
    domains: dict[str, tuple[float, float]] = {}
    bottom = 0.0
    for pane in reversed(panes):
        domains[pane] = (bottom, bottom + PANE_HEIGHT)
        bottom += PANE_HEIGHT + PANE_GAP
    domains["volume"] = (bottom, bottom + VOLUME_HEIGHT)
    bottom += VOLUME_HEIGHT + PANE_GAP
    domains["price"] = (bottom, 1.0)
    axis_of = {"price": "y", "volume": "y2"}
    for k, pane in enumerate(panes):
        axis_of[pane] = f"y{k + 3}"

    labels_text = bar_labels(index, timeframe)
    o_, h_ = pgettext("bar", "O"), pgettext("bar", "H")
    l_, c_ = pgettext("bar", "L"), pgettext("bar", "C")
    vol_, chg_ = pgettext("bar", "Vol"), pgettext("bar", "Chg")
    hover = [
        f"{labels_text[i]} KST<br>{o_} {format_krw(o[i])}  {h_} {format_krw(h[i])}<br>"
        f"{l_} {format_krw(lo[i])}  {c_} {format_krw(c[i])}<br>{vol_} {volume[i]:,.0f}<br>"
        + (f"{chg_} –" if math.isnan(change[i]) else f"{chg_} {change[i]:+.2f}%")
        for i in range(n)
    ]
    builder.trace(
        "candles",
        {
            "type": "candlestick",
            "name": gettext("Price"),
            "x": x,
            "open": o.tolist(),
            "high": h.tolist(),
            "low": lo.tolist(),
            "close": c.tolist(),
            "increasing": {"line": {"color": up_color, "width": 1}, "fillcolor": up_color},
            "decreasing": {"line": {"color": down_color, "width": 1}, "fillcolor": down_color},
            "text": hover,
            # The hovered bar's values go to the fixed legend in the chart (static/js/radar.js),
            # not to a tooltip that covers the candles.
            "hoverinfo": "none",
            "showlegend": False,
            "yaxis": "y",
        },
    )
    volume_colors = [
        VOLUME_FLAT
        if np.isnan(prev_close[i]) or c[i] == prev_close[i]
        else (volume_up if c[i] > prev_close[i] else volume_down)
        for i in range(n)
    ]
    builder.trace(
        "volume",
        {
            "type": "bar",
            "name": gettext("Volume"),
            "x": x,
            "y": volume.tolist(),
            "marker": {"color": volume_colors},
            "hoverinfo": "none",
            "showlegend": False,
            "yaxis": "y2",
        },
    )
    # Invisible helper on the same axis: Plotly cannot box-select candlesticks, so label mode
    # selects these points (static/js/radar.js).
    builder.trace(
        "select",
        {
            "type": "scatter",
            "mode": "markers",
            "name": "range-select",
            "x": x,
            "y": ((h + lo) / 2).tolist(),
            "marker": {"size": 6, "opacity": 0},
            "hoverinfo": "none",
            "showlegend": False,
            "yaxis": "y",
        },
    )

    _add_last_price(builder, c, prev_close, up_color, down_color)
    _add_trend(builder, analysis, n)
    _add_extremes(builder, analysis, bars, last)
    _add_zigzag(builder, analysis, last)
    _add_patterns(builder, analysis, bars, asof, last)
    _add_labels(builder, labels, bars)
    _add_indicators(builder, indicator_series, n, axis_of, panes)

    ticks = tick_candidates(index, timeframe)
    x_range = [-0.5, n - 0.5 + max(2, n * 0.02)]
    if focus is not None and n:
        start, end = max(0, focus[0]), min(n - 1, focus[1])
        pad = max(5, (end - start) // 2)
        x_range = [max(-0.5, start - pad), min(n - 0.5 + 2, end + pad)]
        # Mark what was asked for (a Scanner row, a shared link), whatever the layers show.
        builder.shape(
            "focus",
            {
                "type": "rect",
                "xref": "x",
                "yref": "y domain",
                "x0": start - 0.5,
                "x1": end + 0.5,
                "y0": 0,
                "y1": 1,
                "fillcolor": FOCUS_FILL,
                "line": {"color": FOCUS_LINE, "width": 1, "dash": "dot"},
                "layer": "below",
            },
        )
    shown = thin_ticks(ticks, x_range[0], x_range[1])
    layout: dict = {
        "template": None,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "margin": {"l": 10, "r": 70, "t": 20, "b": 40},
        "height": 720 + 110 * len(panes),
        "dragmode": "pan",
        "hovermode": "closest",
        "showlegend": True,
        "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "font": {"size": 11}},
        "xaxis": {
            "type": "linear",
            "range": x_range,
            "tickmode": "array",
            "tickvals": [t[0] for t in shown],
            "ticktext": [t[1] for t in shown],
            "showgrid": True,
            "gridcolor": "#f0f3fa",
            "rangeslider": {"visible": False},
            "anchor": axis_of[panes[-1]] if panes else "y2",
            "zeroline": False,
        },
        "shapes": builder.shapes,
        "annotations": builder.annotations,
    }
    if focus is not None and n:
        lo_y, hi_y = _span_extent(bars, int(max(0, x_range[0])), int(min(n - 1, x_range[1])), 0.08)
        price_range: list | None = [lo_y, hi_y]
    else:
        price_range = None
    layout["yaxis"] = {
        "domain": list(domains["price"]),
        "side": "right",
        "tickformat": ",.0f",
        "gridcolor": "#f0f3fa",
        "zeroline": False,
        **({"range": price_range, "autorange": False} if price_range else {"autorange": True}),
    }
    layout["yaxis2"] = {
        "domain": list(domains["volume"]),
        "side": "right",
        "tickformat": "~s",
        "gridcolor": "#f0f3fa",
        "zeroline": False,
        "rangemode": "tozero",
    }
    for pane in panes:
        axis = axis_of[pane]
        layout[f"yaxis{axis[1:]}"] = {
            "domain": list(domains[pane]),
            "side": "right",
            "gridcolor": "#f0f3fa",
            "zeroline": False,
            "title": {"text": str(PANE_CHOICES[pane]), "font": {"size": 10}},
            **({"range": [0, 100]} if pane == "rsi" else {}),
        }
    return {
        "data": builder.data,
        "layout": layout,
        "radar": {
            "timeframe": timeframe,
            "ts": iso_kst(index),
            "bars": n,
            "window": n_all,
            "asof": asof,
            "focus": focus is not None,
            "close_before": close_before,
            "ticks": ticks,
            "layers": builder.layers,
            "hidden": sorted(builder.hidden),
        },
    }


def _add_last_price(
    builder: _Builder, close: np.ndarray, prev_close: np.ndarray, up_color: str, down_color: str
) -> None:
    """The last shown bar's close as a tag on the price axis with a dotted line across the
    pane, coloured like its candle (in replay: the bar at the cursor)."""
    if not len(close):
        return
    last, before = float(close[-1]), float(prev_close[-1])
    # NaN before (first bar of the series) compares false both ways: grey.
    color = up_color if last > before else down_color if last < before else ZIGZAG_COLOR
    builder.shape(
        "price",
        {
            "type": "line",
            "xref": "x domain",
            "yref": "y",
            "x0": 0,
            "x1": 1,
            "y0": last,
            "y1": last,
            "line": {"color": color, "width": 1, "dash": "dot"},
            "layer": "below",
        },
    )
    builder.annotation(
        "price",
        {
            "xref": "x domain",
            "yref": "y",
            "x": 1,
            "y": last,
            "xanchor": "left",
            "yanchor": "middle",
            "text": format_krw(last),
            "showarrow": False,
            "font": {"color": "#ffffff", "size": 11},
            "bgcolor": color,
            "borderpad": 2,
        },
    )


def _add_trend(builder: _Builder, analysis: dict, n: int) -> None:
    """Up/down periods and the sideways stretches between them, full height of the price pane.
    A period is drawn only once it is known (`detected_index`, the bar its rule fired) and up
    to the last shown bar, so replay shading is what was known then."""
    if n == 0:
        return
    periods = sorted(
        (
            p
            for p in analysis.get("trend_periods", [])
            if p.get("detected_index", p["start_index"]) < n
        ),
        key=lambda p: p["start_index"],
    )
    cursor = 0
    spans: list[tuple[str, int, int]] = []
    for period in periods:
        start, end = max(0, period["start_index"]), min(n - 1, period["end_index"])
        if start > cursor:
            spans.append(("sideways", cursor, start))
        spans.append((period["direction"], start, end))
        cursor = max(cursor, end)
    if cursor < n - 1:
        spans.append(("sideways", cursor, n - 1))
    for direction, start, end in spans:
        builder.shape(
            "trend",
            {
                "type": "rect",
                "xref": "x",
                "yref": "y domain",
                "x0": start - 0.5,
                "x1": end + 0.5,
                "y0": 0,
                "y1": 1,
                "fillcolor": TREND_FILL.get(direction, TREND_FILL["sideways"]),
                "line": {"width": 0},
                "layer": "below",
            },
        )


def _add_extremes(builder: _Builder, analysis: dict, bars: pd.DataFrame, last: int) -> None:
    offset = _marker_offset(bars)
    groups: dict[tuple[str, str], list[dict]] = {}
    for point in analysis.get("extremes", []):
        if point["index"] > last or point.get("confirmed_index", point["index"]) > last:
            continue
        groups.setdefault((point["level"], point["kind"]), []).append(point)
    styles = {
        ("major", "peak"): (gettext("Major peak"), "triangle-down", 11, PEAK_COLOR, 1),
        ("major", "valley"): (gettext("Major valley"), "triangle-up", 11, VALLEY_COLOR, -1),
        ("minor", "peak"): (gettext("Minor peak"), "triangle-down-open", 7, MINOR_PEAK_COLOR, 1),
        ("minor", "valley"): (
            gettext("Minor valley"),
            "triangle-up-open",
            7,
            MINOR_VALLEY_COLOR,
            -1,
        ),
    }
    confirmed_text = gettext("confirmed at bar +{bars}")
    for key in (("major", "peak"), ("major", "valley"), ("minor", "peak"), ("minor", "valley")):
        name, symbol, size, color, sign = styles[key]
        points = groups.get(key, [])
        builder.trace(
            key[0],
            {
                "type": "scatter",
                "mode": "markers",
                "name": name,
                "x": [p["index"] for p in points],
                "y": [
                    p["price"] + sign * offset * (1 if key[0] == "major" else 0.6) for p in points
                ],
                "marker": {
                    "symbol": symbol,
                    "size": size,
                    "color": color,
                    "line": {"width": 1.5, "color": color},
                },
                "text": [
                    f"{name} {format_krw(p['price'])}<br>"
                    + confirmed_text.format(bars=p.get("confirmed_index", p["index"]) - p["index"])
                    for p in points
                ],
                "hoverinfo": "text",
                "yaxis": "y",
                "legendgroup": key[0],
            },
        )


def zigzag_known_at(analysis: dict) -> list[int]:
    """For each zigzag point, the bar at which it was known: its extreme's `confirmed_index`; a
    gap-filling point (no extreme of its own) is known when the next point is."""
    confirmed = {
        (e["kind"], e["index"]): e["confirmed_index"] for e in analysis.get("extremes", [])
    }
    points = analysis.get("zigzag", [])
    known: list[int | None] = [
        p.get("confirmed_index", confirmed.get((p.get("kind"), p["index"]))) for p in points
    ]
    upcoming: int | None = None
    for i in range(len(points) - 1, -1, -1):
        if known[i] is None:
            known[i] = upcoming if upcoming is not None else points[i]["index"]
        upcoming = known[i]
    return [int(k) for k in known]


def _add_zigzag(builder: _Builder, analysis: dict, last: int) -> None:
    points = [
        p
        for p, known in zip(analysis.get("zigzag", []), zigzag_known_at(analysis), strict=True)
        if p["index"] <= last and known <= last
    ]
    builder.trace(
        "zigzag",
        {
            "type": "scatter",
            "mode": "lines",
            "name": gettext("Zigzag"),
            "x": [p["index"] for p in points],
            "y": [p["price"] for p in points],
            "line": {"color": ZIGZAG_COLOR, "width": 1.4},
            "hoverinfo": "skip",
            "yaxis": "y",
        },
    )


def _add_patterns(
    builder: _Builder, analysis: dict, bars: pd.DataFrame, asof: int | None, last: int
) -> None:
    for pattern in analysis.get("patterns", []):
        kind = pattern.get("type")
        if kind not in PATTERN_TYPES:
            continue
        status = pattern_status_at(pattern, asof)
        if status is None:
            continue
        start = max(0, int(pattern["start_index"]))
        end = min(
            last, int(pattern.get("end_index") if pattern.get("end_index") is not None else last)
        )
        if start > last:
            continue
        end = max(end, start)
        bullish = kind in BULLISH_TYPES
        layer = "invalidated" if status == "invalidated" else kind
        color = INVALIDATED_COLOR if status == "invalidated" else PATTERN_COLOR[bullish]
        y0, y1 = _span_extent(bars, start, end, PATTERN_PAD_FRACTION)
        builder.shape(
            layer,
            {
                "type": "rect",
                "xref": "x",
                "yref": "y",
                "x0": start - 0.5,
                "x1": end + 0.5,
                "y0": y0,
                "y1": y1,
                "fillcolor": "rgba(0,0,0,0)" if status != "completed" else PATTERN_FILL[bullish],
                "line": {
                    "color": color,
                    "width": 2 if status == "completed" else 1.5,
                    "dash": {"completed": "solid", "forming": "dash", "invalidated": "dot"}[status],
                },
            },
        )
        tag = {
            "completed": "{kind}",
            "forming": gettext("{kind} forming"),
            "invalidated": gettext("{kind} invalidated"),
        }[status].format(kind=pattern_tag(kind))
        builder.annotation(
            layer,
            {
                "x": (start + end) / 2,
                "y": y1,
                "xref": "x",
                "yref": "y",
                # Bold through the font, not <b>: plotly.js draws <b> as a style attribute,
                # which the Content-Security-Policy refuses.
                "text": tag,
                "showarrow": False,
                "yanchor": "bottom",
                "font": {
                    "color": "#ffffff" if status == "completed" else color,
                    "size": 11,
                    "weight": "bold",
                },
                "bgcolor": color if status == "completed" else "rgba(255,255,255,0.85)",
                "bordercolor": color,
                "borderpad": 2,
            },
        )
        neck = _neckline_points(pattern, start, end)
        if neck:
            (nx0, ny0), (nx1, ny1) = neck
            builder.shape(
                layer,
                {
                    "type": "line",
                    "xref": "x",
                    "yref": "y",
                    "x0": nx0,
                    "y0": ny0,
                    "x1": nx1,
                    "y1": ny1,
                    "line": {"color": color, "width": 1.5, "dash": "dashdot"},
                },
            )
        target = pattern.get("target")
        if target is not None and status != "invalidated":
            reach = max(5, (end - start) // 2)
            builder.shape(
                layer,
                {
                    "type": "line",
                    "xref": "x",
                    "yref": "y",
                    "x0": end,
                    "x1": end + reach,
                    "y0": float(target),
                    "y1": float(target),
                    "line": {"color": color, "width": 1.5, "dash": "dot"},
                },
            )
            builder.annotation(
                layer,
                {
                    "x": end + reach,
                    "y": float(target),
                    "xref": "x",
                    "yref": "y",
                    "text": gettext("{kind} target {price}").format(
                        kind=pattern_tag(kind), price=format_krw(float(target))
                    ),
                    "showarrow": False,
                    "xanchor": "left",
                    "font": {"color": color, "size": 10},
                },
            )


def _add_labels(builder: _Builder, labels: Sequence[dict], bars: pd.DataFrame) -> None:
    """The user's own labels: purple dash-dot boxes, taller than pattern boxes, with a link, and
    their key points as markers; rejected detections (`layer` "rejected"): grey dashed boxes."""
    index = bars.index
    point_x: list[int] = []
    point_y: list[float] = []
    point_text: list[str] = []
    point_position: list[str] = []
    high = bars["high"].to_numpy(dtype=float) if len(bars) else np.array([])
    low = bars["low"].to_numpy(dtype=float) if len(bars) else np.array([])
    for label in labels:
        start = _bar_of(index, label["start_ts"], side="start")
        end = _bar_of(index, label["end_ts"], side="end")
        if start is None or end is None or end < start:
            continue
        if label.get("layer") == "rejected":
            _add_rejected(builder, label, bars, start, end)
            continue
        y0, y1 = _span_extent(bars, start, end, LABEL_PAD_FRACTION)
        builder.shape(
            "labels",
            {
                "type": "rect",
                "xref": "x",
                "yref": "y",
                "x0": start - 0.5,
                "x1": end + 0.5,
                "y0": y0,
                "y1": y1,
                "fillcolor": LABEL_FILL,
                "line": {"color": LABEL_COLOR, "width": 1.5, "dash": "longdashdot"},
            },
        )
        text = f"✎ {pattern_tag(label['pattern_type'])}"
        if label.get("url"):
            # The font colours the link: a style="…" here would become a style attribute in the
            # SVG, which the Content-Security-Policy refuses.
            text = f'<a href="{label["url"]}">{text}</a>'
        builder.annotation(
            "labels",
            {
                "x": start - 0.5,
                "y": y0,
                "xref": "x",
                "yref": "y",
                "text": text,
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "top",
                "font": {"color": LABEL_COLOR, "size": 11},
                "bgcolor": "rgba(255,255,255,0.85)",
            },
        )
        for point in label.get("key_points") or ():
            bar = _bar_of(index, point["ts"], side="start")
            if bar is None:
                continue
            price = float(point["price"])
            point_x.append(bar)
            point_y.append(price)
            point_text.append(str(point["role"]))
            # A point at the bar's upper half (a peak) gets its role above, a valley's below.
            upper = price >= (high[bar] + low[bar]) / 2
            point_position.append("top center" if upper else "bottom center")
    if point_x:
        builder.trace(
            "labels",
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": gettext("Key points"),
                "x": point_x,
                "y": point_y,
                "text": point_text,
                "textposition": point_position,
                "textfont": {"color": LABEL_COLOR, "size": 11},
                "marker": {
                    "color": "#ffffff",
                    "size": 9,
                    "symbol": "circle",
                    "line": {"color": LABEL_COLOR, "width": 2},
                },
                "hovertemplate": "%{text} %{y:,.0f}<extra></extra>",
                "showlegend": False,
                "yaxis": "y",
            },
        )


def _add_rejected(builder: _Builder, label: dict, bars: pd.DataFrame, start: int, end: int) -> None:
    """A detection the user rejected: a grey dashed box labelled "✗ DT rejected" in the
    "rejected" layer (no fill, so it never reads as a label or a live pattern)."""
    y0, y1 = _span_extent(bars, start, end, PATTERN_PAD_FRACTION)
    builder.shape(
        "rejected",
        {
            "type": "rect",
            "xref": "x",
            "yref": "y",
            "x0": start - 0.5,
            "x1": end + 0.5,
            "y0": y0,
            "y1": y1,
            "fillcolor": "rgba(0,0,0,0)",
            "line": {"color": REJECTED_COLOR, "width": 1.5, "dash": "dash"},
        },
    )
    text = "✗ " + gettext("{kind} rejected").format(kind=pattern_tag(label["pattern_type"]))
    if label.get("url"):
        text = f'<a href="{label["url"]}">{text}</a>'
    builder.annotation(
        "rejected",
        {
            "x": (start + end) / 2,
            "y": y1,
            "xref": "x",
            "yref": "y",
            "text": text,
            "showarrow": False,
            "yanchor": "bottom",
            "font": {"color": "#6b7280", "size": 11},
            "bgcolor": "rgba(255,255,255,0.85)",
            "bordercolor": REJECTED_COLOR,
            "borderpad": 2,
        },
    )


def _add_indicators(
    builder: _Builder,
    series: dict[str, dict[str, list]],
    n: int,
    axis_of: dict[str, str],
    panes: list[str],
) -> None:
    x = list(range(n))
    for choice in OVERLAY_CHOICES:
        lines = series.get(choice)
        if not lines:
            continue
        color = OVERLAY_COLORS[choice]
        for name, values in lines.items():
            builder.trace(
                choice,
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": str(OVERLAY_CHOICES[choice])
                    if name == "value"
                    else f"{OVERLAY_CHOICES[choice]} {name}",
                    "x": x,
                    "y": _nullable(values[:n]),
                    "line": {
                        "color": color,
                        "width": 1.2,
                        "dash": "dot" if name != "mid" and choice == "bb" else "solid",
                    },
                    "hovertemplate": f"%{{y:,.0f}}<extra>{OVERLAY_CHOICES[choice]}</extra>",
                    "yaxis": "y",
                    "legendgroup": choice,
                },
            )
    pane_colors = ["#2962ff", "#f59e0b", "#9ca3af"]
    for pane in panes:
        lines = series[pane]
        axis = axis_of[pane]
        for k, (name, values) in enumerate(lines.items()):
            trace = {
                "type": "bar" if name == "hist" else "scatter",
                "name": PANE_CHOICES[pane] if name == "value" else f"{pane.upper()} {name}",
                "x": x,
                "y": _nullable(values[:n]),
                "yaxis": axis,
                "legendgroup": pane,
                "hovertemplate": "%{y:,.2f}<extra>" + pane.upper() + "</extra>",
            }
            if name == "hist":
                trace["marker"] = {"color": "rgba(100,116,139,0.5)"}
            else:
                trace["mode"] = "lines"
                trace["line"] = {"color": pane_colors[k % 3], "width": 1.2}
            builder.trace(pane, trace)
        if pane == "rsi":
            for level in (30, 70):
                builder.shape(
                    pane,
                    {
                        "type": "line",
                        "xref": "x domain",
                        "yref": axis,
                        "x0": 0,
                        "x1": 1,
                        "y0": level,
                        "y1": level,
                        "line": {"color": "#9ca3af", "width": 1, "dash": "dot"},
                    },
                )

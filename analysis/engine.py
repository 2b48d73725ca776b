"""Entry points of the numeric core: `analyze()` and `indicators()` (pure; no ORM).

`analyze(ohlcv, detector=...)` finds causal swing points (`detection`: the ATR detector, the
default; `structural`: the original product's state machine), the zigzag (`zigzag`), Dow trend
periods and the current trend state (`trend`) and chart patterns (`patterns`). A point or a
pattern is reported at the bar where it became knowable (`confirmed_index`,
`detected_index`) and never changes afterwards: analysing a prefix of the bars gives the same
points and ended patterns as analysing all of them.
"""

from __future__ import annotations

import gc
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import indicators as ind
from .detection import AtrSwingDetector, Bars, Extreme, SwingDetector
from .patterns import Pattern, detect_patterns
from .structural import StructuralSwingDetector
from .trend import SIDEWAYS, CurrentTrend, TrendSegment, trend_periods
from .zigzag import ZigzagPoint, build_zigzag

ENGINE_VERSION = "5"
OHLCV = ("open", "high", "low", "close", "volume")

# The swing detectors users pick by name: the ATR-reversal zigzag (default) and the original
# product's structural state machine (docs/analysis-rules.md, "Structural detector").
DETECTORS: dict[str, type] = {
    AtrSwingDetector.name: AtrSwingDetector,
    StructuralSwingDetector.name: StructuralSwingDetector,
}
DEFAULT_DETECTOR = AtrSwingDetector.name

NOT_A_FRAME = "ohlcv must be a pandas DataFrame, got {type_name}"
MISSING_COLUMNS = "ohlcv is missing columns: {columns}"
NOT_AWARE_INDEX = "ohlcv must have a timezone-aware DatetimeIndex (e.g. Asia/Seoul)"
NOT_FINITE = "ohlcv has missing or infinite prices in {columns}"
UNKNOWN_DETECTOR = "unknown detector {name!r}; expected one of: {names}"
NO_SENSITIVITY = (
    "sensitivity applies to the atr detector only; the {name} detector has no threshold to scale"
)
SENSITIVITY_WITH_INSTANCE = "give a detector instance its sensitivity when creating it"


def make_detector(detector: str | SwingDetector, sensitivity: float | None = None) -> SwingDetector:
    """The detector called `detector` (a `DETECTORS` name), or `detector` itself when it is an
    instance. Raises ValueError(UNKNOWN_DETECTOR) for an unknown name,
    ValueError(NO_SENSITIVITY | SENSITIVITY_WITH_INSTANCE) when `sensitivity` is given for a
    detector it does not scale or with an instance, and ValueError(BAD_SENSITIVITY) for a bad
    sensitivity."""
    if not isinstance(detector, str):
        if sensitivity is not None:
            raise ValueError(SENSITIVITY_WITH_INSTANCE)
        return detector
    if detector not in DETECTORS:
        raise ValueError(UNKNOWN_DETECTOR.format(name=detector, names=", ".join(DETECTORS)))
    if detector == AtrSwingDetector.name:
        return AtrSwingDetector(sensitivity)
    if sensitivity is not None:
        raise ValueError(NO_SENSITIVITY.format(name=detector))
    return DETECTORS[detector]()


def bars_from_frame(ohlcv: pd.DataFrame) -> tuple[pd.DatetimeIndex, Bars]:
    """Validated index and float arrays. Sorts by time and keeps the first of duplicate stamps."""
    if not isinstance(ohlcv, pd.DataFrame):
        raise TypeError(NOT_A_FRAME.format(type_name=type(ohlcv).__name__))
    missing = [c for c in OHLCV if c not in ohlcv.columns]
    if missing:
        raise ValueError(MISSING_COLUMNS.format(columns=", ".join(missing)))
    if not isinstance(ohlcv.index, pd.DatetimeIndex) or ohlcv.index.tz is None:
        raise ValueError(NOT_AWARE_INDEX)
    frame = ohlcv
    if not frame.index.is_monotonic_increasing or frame.index.has_duplicates:
        frame = frame[~frame.index.duplicated(keep="first")].sort_index(kind="stable")
    arrays = [frame[c].to_numpy(dtype="float64", copy=True) for c in OHLCV]
    bad = [c for c, a in zip(OHLCV[:4], arrays[:4], strict=True) if not np.isfinite(a).all()]
    if bad:
        raise ValueError(NOT_FINITE.format(columns=", ".join(bad)))
    arrays[4] = np.nan_to_num(arrays[4], nan=0.0)
    return frame.index, Bars(*arrays)


def iso_timestamps(index: pd.DatetimeIndex) -> list[str]:
    """`Timestamp.isoformat()` of every bar, vectorised: local wall time plus UTC offset
    (seconds precision, or microseconds when a bar has them)."""
    if len(index) == 0:
        return []
    index = index.as_unit("ns")
    wall = index.tz_localize(None)
    has_fraction = bool((wall.asi8 % 1_000_000_000).any())
    unit = "us" if has_fraction else "s"
    local = np.datetime_as_string(wall.to_numpy(dtype="datetime64[ns]"), unit=unit).tolist()
    offsets = (wall.asi8 - index.tz_convert("UTC").tz_localize(None).asi8) // 60_000_000_000
    if (offsets == offsets[0]).all():  # one UTC offset (Asia/Seoul has had one since 1988)
        minutes = int(offsets[0])
        sign = "+" if minutes >= 0 else "-"
        hours, mins = divmod(abs(minutes), 60)
        label = f"{sign}{hours:02d}:{mins:02d}"
        return [text + label for text in local]
    offsets = offsets.tolist()
    labels: dict[int, str] = {}
    out = []
    for text, minutes in zip(local, offsets, strict=True):
        label = labels.get(minutes)
        if label is None:
            sign = "+" if minutes >= 0 else "-"
            hours, mins = divmod(abs(minutes), 60)
            label = labels[minutes] = f"{sign}{hours:02d}:{mins:02d}"
        out.append(text + label)
    return out


def _round(price: float) -> float:
    return float(round(price, 6))


@dataclass
class AnalysisResult:
    """Everything `analyze()` found; indexes are bar positions in the analysed frame."""

    index: pd.DatetimeIndex
    extremes: list[Extreme]
    zigzag: list[ZigzagPoint]
    trend_periods: list[TrendSegment]
    trend_state: CurrentTrend
    patterns: list[Pattern]
    params: dict = field(default_factory=dict)
    _iso: list[str] | None = field(default=None, repr=False)

    @property
    def bars(self) -> int:
        return len(self.index)

    def ts(self, i: int | None) -> str | None:
        """ISO 8601 timestamp with offset (e.g. 2024-01-02T00:00:00+09:00) of bar `i`."""
        if i is None:
            return None
        if self._iso is None:
            self._iso = iso_timestamps(self.index)
        return self._iso[i]

    def to_dict(self) -> dict:
        """JSON-ready result over all analysed bars (`offset` 0); `window()` slices it.

        - `extremes`: [{kind: peak|valley, level: major|minor, index, ts, price,
          confirmed_index, confirmed_ts, strength}] sorted by (confirmed_index, index);
        - `zigzag`: [{kind, level: major|minor|fill, index, ts, price}] strictly alternating;
        - `trend_periods`: [{direction: up|down, start_index, end_index, start_ts, end_ts,
          ongoing, detected_index, detected_ts}] (a trend still running ends at the last bar
          with ongoing = true; `detected_index` is the bar from which the period is known);
        - `trend_state`: {state: up|down|sideways, since_index, since_ts};
        - `patterns`: [{type: DT|DB|HS|IHS, status: forming|completed|invalidated,
          points: {role: {index, ts, price}}, start_index, end_index, start_ts, end_ts,
          detected_index, detected_ts, neckline, target, score}] where `neckline` is
          {level} for DT/DB and {start: {index, ts, price}, end: {index, ts, price}} for
          HS/IHS (the line through V2 and V3, or P2 and P3 for IHS, extended to end_index);
          a forming pattern ends at the last bar; `extreme` (the price a close beyond which
          fails the pattern), `confirm_by_index` (last bar on which a neckline break still
          completes it; may lie beyond the data), `features` {name: number} (its geometry) and
          `outcome`: null unless completed, else {result: target|failed|expired|null (pending),
          index, ts, horizon_index, entry, bars_to_target, mfe_pct, mae_pct};
          rules: docs/analysis-rules.md#chart-patterns;
        - `offset` (0), `bars`, `params`, `engine_version`.
        Prices are KRW rounded to 6 decimals; timestamps ISO 8601 with offset (+09:00).
        """
        ts = self.ts
        n = self.bars
        point = lambda i, price: {"index": i, "ts": ts(i), "price": _round(price)}  # noqa: E731
        patterns = []
        for p in self.patterns:
            if p.neckline[0] == "level":
                neckline = {"level": _round(p.neckline[1])}
            else:
                ia, pa = p.neckline[1]
                neckline = {
                    "start": point(ia, pa),
                    "end": point(p.end_index, p.neckline_at(p.end_index)),
                }
            patterns.append(
                {
                    "type": p.type,
                    "status": p.status,
                    "points": {role: point(i, price) for role, (i, price) in p.points.items()},
                    "start_index": p.start_index,
                    "end_index": p.end_index,
                    "start_ts": ts(p.start_index),
                    "end_ts": ts(p.end_index),
                    "detected_index": p.detected_index,
                    "detected_ts": ts(p.detected_index),
                    "neckline": neckline,
                    "target": _round(p.target),
                    "score": p.score,
                    "extreme": _round(p.extreme),
                    "confirm_by_index": p.confirm_by_index,
                    "features": p.features,
                    "outcome": None if p.outcome is None else _outcome_dict(p.outcome, ts, n),
                }
            )
        return {
            "extremes": [
                {
                    "kind": e.kind,
                    "level": e.level,
                    "index": e.index,
                    "ts": ts(e.index),
                    "price": _round(e.price),
                    "confirmed_index": e.confirmed_index,
                    "confirmed_ts": ts(e.confirmed_index),
                    "strength": e.strength,
                }
                for e in self.extremes
            ],
            "zigzag": [
                {"kind": z.kind, "level": z.level, **point(z.index, z.price)} for z in self.zigzag
            ],
            "trend_periods": [
                {
                    "direction": p.direction,
                    "start_index": p.start_index,
                    "end_index": p.end_index,
                    "start_ts": ts(p.start_index),
                    "end_ts": ts(p.end_index),
                    "ongoing": p.ongoing,
                    "detected_index": p.detected_index,
                    "detected_ts": ts(p.detected_index),
                }
                for p in self.trend_periods
            ],
            "trend_state": {
                "state": self.trend_state.state,
                "since_index": self.trend_state.since_index if n else 0,
                "since_ts": ts(self.trend_state.since_index) if n else None,
            },
            "patterns": patterns,
            "offset": 0,
            "bars": n,
            "params": self.params,
            "engine_version": ENGINE_VERSION,
        }

    def window(self, start: int, stop: int) -> dict:
        """`to_dict()` restricted to bars [start, stop), re-based so 0 is bar `start`.

        See `window_dict` for how items at the edges are treated.
        """
        return window_dict(self.to_dict(), start, stop, ts_of=self.ts)


def _outcome_dict(outcome, ts, n: int) -> dict:
    return {
        "result": outcome.result,
        "index": outcome.index,
        "ts": ts(outcome.index) if outcome.index is not None and outcome.index < n else None,
        "horizon_index": outcome.horizon_index,
        "entry": _round(outcome.entry),
        "bars_to_target": outcome.bars_to_target,
        "mfe_pct": outcome.mfe_pct,
        "mae_pct": outcome.mae_pct,
    }


WINDOW_NEEDS_TS = "a window that stops before the last analysed bar needs ts_of"


def window_dict(data: dict, start: int, stop: int, ts_of=None) -> dict:
    """The `AnalysisResult.to_dict()` shape for bars [start, stop) of a full result dict `data`
    (for example one stored in the database), every index re-based so 0 is bar `start`.

    Meant for showing the last bars of a longer analysed history (the left edge keeps its
    context). Items first known at or after `stop` (confirmed_index / detected_index / start)
    are dropped; statuses are those of the whole analysis. At the left edge:

    - extremes and zigzag points whose bar is before `start` are dropped;
    - trend periods and patterns that overlap the window are kept: start_index is clipped to
      0 while start_ts keeps the true start; pattern points (and a neckline start) before the
      window keep their ts and price with `index` = null;
    - trend_state.since_index and a period's detected_index are clipped to 0 (their ts keep
      the true instant); a pattern's detected_index, confirm_by_index and outcome indexes are
      only re-based (they may be negative, or beyond the window).
    At a right edge before the last analysed bar, periods and patterns are cut at stop - 1
    (`ts_of(i)` gives the ISO timestamp of bar i; required in that case only).
    Extra keys: `offset` (= start) and `bars` (= stop - start).
    """
    n = data["bars"]
    start = max(0, min(int(start), n))
    stop = max(start, min(int(stop), n))
    last = stop - 1

    def end_ts(index: int, ts: str) -> str:
        if index <= last:
            return ts
        if ts_of is None:
            raise ValueError(WINDOW_NEEDS_TS)
        return ts_of(last)

    def rebase(point: dict) -> dict:
        i = point["index"]
        inside = i is not None and i >= start
        return {**point, "index": i - start if inside else None}

    extremes = [
        {**e, "index": e["index"] - start, "confirmed_index": e["confirmed_index"] - start}
        for e in data["extremes"]
        if e["index"] >= start and e["confirmed_index"] < stop
    ]
    zigzag = [
        {**z, "index": z["index"] - start} for z in data["zigzag"] if start <= z["index"] < stop
    ]
    periods = [
        {
            **p,
            "start_index": max(p["start_index"], start) - start,
            "end_index": min(p["end_index"], last) - start,
            "end_ts": end_ts(p["end_index"], p["end_ts"]),
            "ongoing": p["ongoing"] and p["end_index"] <= last,
            "detected_index": max(p.get("detected_index", p["start_index"]), start) - start,
        }
        for p in data["trend_periods"]
        if p["end_index"] >= start and p.get("detected_index", p["start_index"]) < stop
    ]
    patterns = []
    for p in data["patterns"]:
        if p["detected_index"] >= stop or p["end_index"] < start or p["start_index"] >= stop:
            continue
        end = min(p["end_index"], last)
        shifted = {"detected_index": p["detected_index"] - start}
        if "confirm_by_index" in p:
            shifted["confirm_by_index"] = p["confirm_by_index"] - start
        if p.get("outcome"):
            outcome = p["outcome"]
            shifted["outcome"] = {
                **outcome,
                "index": None if outcome["index"] is None else outcome["index"] - start,
                "horizon_index": outcome["horizon_index"] - start,
            }
        neckline = p["neckline"]
        if "start" in neckline:
            a, b = neckline["start"], neckline["end"]
            if end != b["index"]:
                slope = (b["price"] - a["price"]) / (b["index"] - a["index"])
                price = _round(a["price"] + (end - a["index"]) * slope)
                b = {"index": end, "ts": end_ts(b["index"], b["ts"]), "price": price}
            neckline = {"start": rebase(a), "end": rebase(b)}
        patterns.append(
            {
                **p,
                "points": {role: rebase(point) for role, point in p["points"].items()},
                "start_index": max(p["start_index"], start) - start,
                "end_index": end - start,
                "end_ts": end_ts(p["end_index"], p["end_ts"]),
                **shifted,
                "neckline": neckline,
            }
        )
    state = data["trend_state"]
    return {
        **data,
        "extremes": extremes,
        "zigzag": zigzag,
        "trend_periods": periods,
        "trend_state": {
            **state,
            "since_index": min(max(state["since_index"], start), max(last, start)) - start,
        },
        "patterns": patterns,
        "offset": start,
        "bars": stop - start,
    }


def analyze(
    ohlcv: pd.DataFrame,
    *,
    sensitivity: float | None = None,
    detector: str | SwingDetector = DEFAULT_DETECTOR,
) -> AnalysisResult:
    """Swing points, zigzag, trend periods/state and patterns of `ohlcv`.

    `ohlcv`: aware DatetimeIndex (any zone; timestamps are reported in it), float columns open,
    high, low, close (KRW) and volume (shares); extra columns are ignored. `detector`: a name
    in `DETECTORS` ("atr", the default, or "structural") or a `SwingDetector` instance.
    `sensitivity` (atr only; default 1; 0.1..10) scales how small a reversal still counts as a
    major swing: the threshold is `DEFAULT_REVERSAL_ATR / sensitivity` x ATR(14). Fewer than 2
    bars give an empty result. Raises ValueError (messages are this module's constants and
    `detection.BAD_SENSITIVITY`) on bad input.
    """
    swing = make_detector(detector, sensitivity)
    index, bars = bars_from_frame(ohlcv)
    params = swing.params()
    if len(bars) < 2:
        return AnalysisResult(index, [], [], [], CurrentTrend(SIDEWAYS, 0), [], params)
    # The engine allocates many small objects and frees them by reference counting; pausing
    # the cyclic collector keeps the time per bar flat on long series (100,000 bars: -30 %).
    collecting = gc.isenabled()
    gc.disable()
    try:
        extremes = swing.detect(bars)
        zigzag = build_zigzag(extremes, bars)
        periods, state = trend_periods(
            bars.close.tolist(), extremes, levels=tuple(swing.trend_levels)
        )
        patterns = detect_patterns(bars, extremes, swing.reversal_atr_series(bars))
    finally:
        if collecting:
            gc.enable()
    return AnalysisResult(index, extremes, zigzag, periods, state, patterns, params)


def indicators(ohlcv: pd.DataFrame, spec: dict) -> dict[str, list[float | None]]:
    """Indicator series aligned to the bars of `ohlcv`, JSON-ready.

    `spec` (compute only what is asked), e.g. `{"sma": [20, 60], "ema": [20], "bollinger":
    {"period": 20, "k": 2}, "rsi": 14, "macd": [12, 26, 9], "atr": 14, "obv": true}` (also
    accepted: a list for rsi/atr, {"fast", "slow", "signal"} for macd, {"length", "std"} or
    the key "bbands" for Bollinger).

    Returns `{key: [value | None, ...]}` with one value per bar (None during warm-up), keys in
    pandas-ta naming: SMA_20, EMA_20, RSI_14, MACD_12_26_9 / MACDs_12_26_9 (signal) /
    MACDh_12_26_9 (histogram), BBL_20_2.0 / BBM_20_2.0 / BBU_20_2.0 / BBB_20_2.0 (bandwidth %)
    / BBP_20_2.0 (%B), ATR_14, OBV. Formulas: `analysis.indicators` docstring. Raises
    ValueError (constants in `analysis.indicators`) on an unknown name or bad parameters.
    """
    index, bars = bars_from_frame(ohlcv)
    del index
    arrays = ind.compute(bars.open, bars.high, bars.low, bars.close, bars.volume, spec)
    return {
        key: [None if math.isnan(v) else float(v) for v in values.tolist()]
        for key, values in arrays.items()
    }

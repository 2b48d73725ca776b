"""Swing detection: causal peaks and valleys (pure; no ORM).

A detector turns bars into `Extreme` events. Trend, zigzag, pattern and chart code depend only
on the `SwingDetector` protocol and the `Extreme` record, so a second detector (the original
product's structural state machine, `analysis.structural`,
docs/analysis-rules.md#structural-detector) plugs in beside it.

The default `AtrSwingDetector`:

- **Major** swings: an ATR-scaled reversal zigzag on High/Low. While looking for a peak it tracks
  the highest High since the last valley; the peak is confirmed at the first later bar whose Low
  is at least `reversal_atr x ATR(14)` below it (ATR of the confirming bar, Wilder; during the
  first 13 bars the running mean of the true range). Valleys mirror this. Confirmation uses
  bars up to the confirming bar only, and a confirmed point never moves.
  Ties resolve to the earliest bar. If, before the reversal, price runs past the previous
  opposite swing (a High above the last peak while looking for a valley — possible when ATR
  grows), the opposite swing is confirmed at that bar from the extreme between them, so a peak
  is always the highest High strictly between its neighbouring valleys (and vice versa).
- **Minor** swings: `scipy.signal.argrelextrema` local extremes of High (strictly greater than
  the `minor_order` bars on each side) and of Low (strictly lower), confirmed `minor_order`
  bars later. A bar can be reported twice: first as a minor point, later as a major one.
- `strength`: for majors, the swing from the previous opposite major (or, for the first, the
  confirming reversal) in ATR units at confirmation; for minors, the High-to-lowest-Low (or
  Low-to-highest-High) of the window around it in ATR units. Both are fixed at confirmation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.signal import argrelextrema

from .indicators import true_range, wilder

PEAK = "peak"
VALLEY = "valley"
MAJOR = "major"
MINOR = "minor"

ATR_PERIOD = 14
# Reversal (in ATR multiples) that confirms a major swing at sensitivity 1. On Samsung Electronics
# daily bars 2020-10..2025-08 this gives one major point every ~11 bars (see the README).
DEFAULT_REVERSAL_ATR = 2.3
DEFAULT_SENSITIVITY = 1.0
MIN_SENSITIVITY = 0.1
MAX_SENSITIVITY = 10.0
MINOR_ORDER = 2
# Floor of the reversal threshold as a fraction of price, so flat series (ATR 0) do not flip.
MIN_REVERSAL_FRACTION = 1e-4

BAD_SENSITIVITY = (
    f"sensitivity must be a number between {MIN_SENSITIVITY} and {MAX_SENSITIVITY} "
    "(1 is the default; higher marks more swings), got {value!r}"
)


@dataclass(frozen=True, slots=True)
class Bars:
    """OHLCV as float64 arrays of equal length, oldest first (prices KRW, volume shares)."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return int(self.close.shape[0])

    def mirrored(self) -> Bars:
        """Prices negated (High and Low swap), so valley logic can reuse peak logic."""
        return Bars(-self.open, -self.low, -self.high, -self.close, self.volume)


@dataclass(frozen=True, slots=True)
class Extreme:
    """A swing point at bar `index`, known from bar `confirmed_index` on."""

    kind: str  # PEAK | VALLEY
    level: str  # MAJOR | MINOR
    index: int
    price: float  # the bar's High for a peak, Low for a valley (KRW)
    confirmed_index: int
    strength: float  # swing size in ATR units, fixed at confirmation

    def mirrored(self) -> Extreme:
        kind = VALLEY if self.kind == PEAK else PEAK
        return Extreme(
            kind, self.level, self.index, -self.price, self.confirmed_index, self.strength
        )


class SwingDetector(Protocol):
    """Finds causal swing points. `detect` must only use bars <= `confirmed_index` for each
    point, return points sorted by (confirmed_index, index), and return majors that strictly
    alternate peak/valley or leave gaps to `zigzag.build_zigzag` to fill. `name` is the name
    users pick it by; `trend_levels` the levels of points the Dow trend is built from."""

    name: str
    trend_levels: tuple[str, ...]

    def detect(self, bars: Bars) -> list[Extreme]: ...

    def params(self) -> dict: ...

    def reversal_atr_series(self, bars: Bars) -> np.ndarray:
        """ATR array (KRW) used to scale the detector's thresholds; patterns reuse it."""
        ...


def causal_atr(bars: Bars, period: int = ATR_PERIOD) -> np.ndarray:
    """Wilder ATR; before it is defined, the running mean of the true range (still causal)."""
    tr = true_range(bars.high, bars.low, bars.close)
    out = wilder(tr, period)
    warm = np.isnan(out)
    if warm.any():
        running = np.cumsum(tr) / np.arange(1, tr.size + 1)
        out[warm] = running[warm]
    return out


def check_sensitivity(sensitivity: float | None) -> float:
    """The effective sensitivity; raises ValueError(BAD_SENSITIVITY) when out of range."""
    if sensitivity is None:
        return DEFAULT_SENSITIVITY
    if (
        isinstance(sensitivity, bool)
        or not isinstance(sensitivity, int | float)
        or not math.isfinite(sensitivity)
        or not MIN_SENSITIVITY <= sensitivity <= MAX_SENSITIVITY
    ):
        raise ValueError(BAD_SENSITIVITY.format(value=sensitivity))
    return float(sensitivity)


class AtrSwingDetector:
    """ATR-reversal majors plus `argrelextrema` minors (see the module docstring)."""

    name = "atr"
    trend_levels = (MAJOR, MINOR)

    def __init__(
        self,
        sensitivity: float | None = None,
        *,
        atr_period: int = ATR_PERIOD,
        minor_order: int = MINOR_ORDER,
    ):
        self.sensitivity = check_sensitivity(sensitivity)
        self.reversal_atr = DEFAULT_REVERSAL_ATR / self.sensitivity
        self.atr_period = atr_period
        self.minor_order = minor_order

    def params(self) -> dict:
        return {
            "detector": self.name,
            "sensitivity": self.sensitivity,
            "reversal_atr": self.reversal_atr,
            "atr_period": self.atr_period,
            "minor_order": self.minor_order,
        }

    def reversal_atr_series(self, bars: Bars) -> np.ndarray:
        return causal_atr(bars, self.atr_period)

    def detect(self, bars: Bars) -> list[Extreme]:
        if len(bars) < 2:
            return []
        atr_values = self.reversal_atr_series(bars)
        threshold = np.maximum(
            self.reversal_atr * atr_values, MIN_REVERSAL_FRACTION * np.abs(bars.close)
        )
        points = self._majors(bars, threshold, atr_values) + self._minors(bars, atr_values)
        points.sort(key=lambda p: (p.confirmed_index, p.index, p.kind, p.level))
        return points

    def _majors(self, bars: Bars, threshold: np.ndarray, atr_values: np.ndarray) -> list[Extreme]:
        hi = bars.high.tolist()
        lo = bars.low.tolist()
        thr = threshold.tolist()
        atr_list = atr_values.tolist()
        out: list[Extreme] = []

        def add(kind: str, index: int, confirmed: int, swing: float) -> None:
            unit = atr_list[confirmed]
            strength = swing / unit if unit > 0 else 0.0
            price = hi[index] if kind == PEAK else lo[index]
            out.append(Extreme(kind, MAJOR, index, price, confirmed, round(strength, 6)))

        # mode 0: no swing yet; 1: looking for a peak (last was a valley); -1: for a valley.
        mode = 0
        max_p, max_i = hi[0], 0
        min_p, min_i = lo[0], 0
        last_p = 0.0  # price of the last confirmed swing
        for i in range(1, len(hi)):
            h = hi[i]
            low_i = lo[i]
            t = thr[i]
            if mode == 0:
                if h > max_p:
                    max_p, max_i = h, i
                if low_i < min_p:
                    min_p, min_i = low_i, i
                peak_ok = max_i < i and low_i <= max_p - t
                valley_ok = min_i < i and h >= min_p + t
                if peak_ok and (not valley_ok or max_i < min_i):
                    add(PEAK, max_i, i, max_p - low_i)
                    mode, last_p = -1, max_p
                    seg = lo[max_i + 1 : i + 1]
                    min_p = min(seg)
                    min_i = max_i + 1 + seg.index(min_p)
                elif valley_ok:
                    add(VALLEY, min_i, i, h - min_p)
                    mode, last_p = 1, min_p
                    seg = hi[min_i + 1 : i + 1]
                    max_p = max(seg)
                    max_i = min_i + 1 + seg.index(max_p)
                else:
                    continue
            elif mode == 1:
                if h > max_p:
                    max_p, max_i = h, i
            elif low_i < min_p:
                min_p, min_i = low_i, i
            # A confirmation can enable the opposite one on the same bar (a wide bar).
            while True:
                if mode == 1:
                    fire = max_i < i and low_i <= max_p - t
                    if not fire and low_i < last_p:  # ran past the last valley
                        fire = True
                    if not fire:
                        break
                    add(PEAK, max_i, i, max_p - last_p)
                    mode, last_p = -1, max_p
                    if max_i == i:
                        min_p, min_i = math.inf, i
                        break
                    seg = lo[max_i + 1 : i + 1]
                    min_p = min(seg)
                    min_i = max_i + 1 + seg.index(min_p)
                else:
                    fire = min_i < i and h >= min_p + t
                    if not fire and h > last_p:  # ran past the last peak
                        fire = True
                    if not fire:
                        break
                    add(VALLEY, min_i, i, last_p - min_p)
                    mode, last_p = 1, min_p
                    if min_i == i:
                        max_p, max_i = -math.inf, i
                        break
                    seg = hi[min_i + 1 : i + 1]
                    max_p = max(seg)
                    max_i = min_i + 1 + seg.index(max_p)
        return out

    def _minors(self, bars: Bars, atr_values: np.ndarray) -> list[Extreme]:
        m = self.minor_order
        n = len(bars)
        if n < 2 * m + 1:
            return []
        out: list[Extreme] = []
        windows_hi = np.lib.stride_tricks.sliding_window_view(bars.high, 2 * m + 1)
        windows_lo = np.lib.stride_tricks.sliding_window_view(bars.low, 2 * m + 1)
        for kind, series, found in (
            (PEAK, bars.high, argrelextrema(bars.high, np.greater, order=m, mode="clip")[0]),
            (VALLEY, bars.low, argrelextrema(bars.low, np.less, order=m, mode="clip")[0]),
        ):
            # Need m real bars on each side: clipping at the left edge compares with bar 0.
            found = found[(found >= m) & (found + m < n)]
            if found.size == 0:
                continue
            starts = found - m
            if kind == PEAK:
                swing = series[found] - windows_lo[starts].min(axis=1)
            else:
                swing = windows_hi[starts].max(axis=1) - series[found]
            unit = atr_values[found + m]
            strength = np.where(unit > 0, swing / np.where(unit > 0, unit, 1.0), 0.0)
            for idx, price, st in zip(
                found.tolist(), series[found].tolist(), strength.tolist(), strict=True
            ):
                out.append(Extreme(kind, MINOR, idx, price, idx + m, round(st, 6)))
        return out

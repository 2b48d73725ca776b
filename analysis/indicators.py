"""Technical indicators over NumPy arrays (pure; no ORM).

Conventions (docs/analysis-rules.md#indicators, pandas-ta naming):

- SMA(n): rolling mean of close; first value at bar n-1.
- EMA(n): seeded with the SMA of the first n values at bar n-1, then the non-adjusted recursion
  with alpha = 2/(n+1).
- RSI(n): Wilder smoothing (alpha = 1/n) of gains and losses, seeded with their plain mean over
  the first n changes (bars 1..n); RSI = 100 * avgGain / (avgGain + avgLoss), first value at
  bar n; 50 when both averages are 0 (a flat series).
- MACD(fast, slow, signal): EMA(fast) - EMA(slow); signal = EMA(signal) of MACD from its first
  valid value; histogram = MACD - signal.
- Bollinger(n, k): mid = SMA(n); sigma = rolling population standard deviation (ddof 0);
  upper/lower = mid +/- k*sigma; bandwidth = 100*(upper-lower)/mid;
  %B = (close-lower)/(upper-lower).
- ATR(n): Wilder average of the true range max(H-L, |H-C_prev|, |L-C_prev|) (bar 0: H-L),
  seeded with the mean of the first n true ranges at bar n-1.
- OBV: cumulative volume signed by the close change; bar 0 counts +volume.

Warm-up values are NaN. Everything is causal: the value at bar i uses bars 0..i only.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

UNKNOWN_INDICATOR = "unknown indicator {name!r}; expected sma, ema, bollinger, rsi, macd, atr, obv"
BAD_PERIOD = "indicator {name}: periods must be whole numbers >= 1, got {value!r}"
BAD_MACD = "indicator macd: expected [fast, slow, signal] with fast < slow, got {value!r}"
BAD_BOLLINGER = (
    "indicator bollinger: expected {{'period': n, 'k': width}} with k > 0, got {value!r}"
)


def _recursive_mean(values: np.ndarray, period: int, alpha: float) -> np.ndarray:
    """Exponential recursion seeded with the mean of the first `period` finite values.

    Leading NaNs are skipped; the seed sits at the `period`-th finite value. NaN before it.
    """
    out = np.full(values.shape, np.nan)
    finite = np.flatnonzero(~np.isnan(values))
    if finite.size < period:
        return out
    first = int(finite[0])
    seed_at = first + period - 1
    seed = float(np.mean(values[first : seed_at + 1]))
    out[seed_at] = seed
    rest = values[seed_at + 1 :]
    if rest.size:
        y, _ = lfilter([alpha], [1.0, alpha - 1.0], rest, zi=[(1.0 - alpha) * seed])
        out[seed_at + 1 :] = y
    return out


def sma(values: np.ndarray, period: int) -> np.ndarray:
    """Simple moving average; NaN for the first `period - 1` bars."""
    values = np.asarray(values, dtype=float)
    out = np.full(values.shape, np.nan)
    if values.size >= period:
        csum = np.cumsum(np.insert(values, 0, 0.0))
        out[period - 1 :] = (csum[period:] - csum[:-period]) / period
    return out


def ema(values: np.ndarray, period: int) -> np.ndarray:
    """EMA with alpha = 2/(period+1), seeded by the SMA of the first `period` values."""
    return _recursive_mean(np.asarray(values, dtype=float), period, 2.0 / (period + 1))


def wilder(values: np.ndarray, period: int) -> np.ndarray:
    """Wilder's moving average (RMA, alpha = 1/period) seeded by the SMA of the first values."""
    return _recursive_mean(np.asarray(values, dtype=float), period, 1.0 / period)


def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """max(H-L, |H-C_prev|, |L-C_prev|); bar 0 is H-L."""
    tr = np.asarray(high, dtype=float) - np.asarray(low, dtype=float)
    if tr.size > 1:
        prev = close[:-1]
        tr[1:] = np.maximum.reduce([tr[1:], np.abs(high[1:] - prev), np.abs(low[1:] - prev)])
    return tr


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """Average true range (Wilder); first value at bar period-1."""
    return wilder(true_range(high, low, close), period)


def rsi(close: np.ndarray, period: int = 14) -> np.ndarray:
    """Wilder RSI in [0, 100]; first value at bar `period`."""
    close = np.asarray(close, dtype=float)
    out = np.full(close.shape, np.nan)
    if close.size <= period:
        return out
    change = np.diff(close)
    gain = wilder(np.clip(change, 0.0, None), period)
    loss = wilder(np.clip(-change, 0.0, None), period)
    total = gain + loss
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(total > 0, 100.0 * gain / np.where(total > 0, total, 1.0), 50.0)
    value[np.isnan(gain)] = np.nan
    out[1:] = value
    return out


def macd(close: np.ndarray, fast: int = 12, slow: int = 26, signal: int = 9):
    """(macd, signal, histogram) arrays."""
    line = ema(close, fast) - ema(close, slow)
    sig = ema(line, signal)
    return line, sig, line - sig


def bollinger(close: np.ndarray, period: int = 20, k: float = 2.0):
    """(lower, mid, upper, bandwidth %, percent_b) with population sigma."""
    close = np.asarray(close, dtype=float)
    mid = sma(close, period)
    sigma = np.full(close.shape, np.nan)
    if close.size >= period:
        windows = np.lib.stride_tricks.sliding_window_view(close, period)
        sigma[period - 1 :] = windows.std(axis=1, ddof=0)
    upper = mid + k * sigma
    lower = mid - k * sigma
    with np.errstate(invalid="ignore", divide="ignore"):
        bandwidth = np.where(mid != 0, 100.0 * (upper - lower) / mid, np.nan)
        width = upper - lower
        percent_b = np.where(width > 0, (close - lower) / np.where(width > 0, width, 1.0), np.nan)
    percent_b[np.isnan(mid)] = np.nan
    return lower, mid, upper, bandwidth, percent_b


def obv(close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """On-balance volume; bar 0 counts +volume."""
    close = np.asarray(close, dtype=float)
    sign = np.ones(close.shape)
    if close.size > 1:
        sign[1:] = np.sign(np.diff(close))
    return np.cumsum(sign * np.asarray(volume, dtype=float))


def _periods(name: str, value) -> list[int]:
    items = value if isinstance(value, list | tuple) else [value]
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or item < 1:
            raise ValueError(BAD_PERIOD.format(name=name, value=value))
        out.append(item)
    return out


def _k_label(k: float) -> str:
    return f"{float(k):.1f}"


def compute(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    spec: dict,
) -> dict[str, np.ndarray]:
    """Indicator arrays requested by `spec`, keyed by pandas-ta names (see `engine.indicators`)."""
    out: dict[str, np.ndarray] = {}
    for name, value in spec.items():
        if value is None or value is False:
            continue
        if name == "sma":
            for n in _periods(name, value):
                out[f"SMA_{n}"] = sma(close, n)
        elif name == "ema":
            for n in _periods(name, value):
                out[f"EMA_{n}"] = ema(close, n)
        elif name == "rsi":
            for n in _periods(name, value):
                out[f"RSI_{n}"] = rsi(close, n)
        elif name == "atr":
            for n in _periods(name, value):
                out[f"ATR_{n}"] = atr(high, low, close, n)
        elif name == "macd":
            params = value if value is not True else [12, 26, 9]
            if isinstance(params, dict):
                params = [params.get("fast"), params.get("slow"), params.get("signal")]
            try:
                fast, slow, sig = _periods(name, list(params))
            except (TypeError, ValueError):
                raise ValueError(BAD_MACD.format(value=value)) from None
            if fast >= slow:
                raise ValueError(BAD_MACD.format(value=value))
            line, signal_line, hist = macd(close, fast, slow, sig)
            suffix = f"{fast}_{slow}_{sig}"
            out[f"MACD_{suffix}"] = line
            out[f"MACDs_{suffix}"] = signal_line
            out[f"MACDh_{suffix}"] = hist
        elif name in ("bollinger", "bbands"):
            params = value if isinstance(value, dict) else {}
            if value is not True and not isinstance(value, dict):
                raise ValueError(BAD_BOLLINGER.format(value=value))
            period = params.get("period", params.get("length", 20))
            k = params.get("k", params.get("std", 2.0))
            if isinstance(k, bool) or not isinstance(k, int | float) or k <= 0:
                raise ValueError(BAD_BOLLINGER.format(value=value))
            (period,) = _periods(name, period)
            lower, mid, upper, bandwidth, percent_b = bollinger(close, period, float(k))
            suffix = f"{period}_{_k_label(k)}"
            out[f"BBL_{suffix}"] = lower
            out[f"BBM_{suffix}"] = mid
            out[f"BBU_{suffix}"] = upper
            out[f"BBB_{suffix}"] = bandwidth
            out[f"BBP_{suffix}"] = percent_b
        elif name == "obv":
            out["OBV"] = obv(close, volume)
        else:
            raise ValueError(UNKNOWN_INDICATOR.format(name=name))
    return out

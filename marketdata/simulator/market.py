"""Deterministic synthetic KRX prices for the simulator's universe, and the ground truth for tests.

The model, per stock (seeded by its code; the same output on every run):

- Daily bars from 2012 (or the listing date) to `HISTORY_END`: a common market factor with
  regime switching (bull, bear, range, crisis) and GARCH(1,1) volatility, plus a stock-specific
  part with its own regimes (up trend, down trend, mean-reverting range) and GARCH with
  Student-t shocks. Each day's return splits into an overnight gap and an intraday move; high and
  low come from the exact Brownian-bridge extreme distribution. Prices sit on KRX ticks (호가단위)
  inside the ±30 % daily limit. Volume follows turnover × listed shares with persistence and a
  link to the size of the move; traded value is volume × a VWAP inside the day's range, in whole
  millions of KRW (the unit of Kiwoom's daily rows).
- 5-minute bars for the trading dates within `minute_history_days` of "now": a Brownian bridge
  inside each day's open/high/low/close, U-shaped volume, so that 5m bars aggregate EXACTLY to the
  daily bar (first open, max high, min low, last close, summed volume and traded value).
- 30m/1h aggregate the 5m bars; 1w/1mo aggregate the daily bars.
- "Now" (`SimulatedMarket.now()`): nothing after it exists; the bar containing it is forming.
  A forming 5m bar follows a fixed path through its open, extremes and close, so a later state
  extends an earlier one (high only rises, low only falls, volume only grows). The forming 30m,
  1h, daily, weekly and monthly bars aggregate the forming 5m bar with the completed ones.

Sessions and bar starts follow `marketdata.krx_calendar`: each day's own open and close (late
opens on the first trading day of a year and on 수능 days, 16:30 closes on 수능 days, 15:00 closes
before 2016-08-01), intraday bars from the open (5m/30m/1h: KST start; 1d: 00:00 KST of the date;
1w: Monday 00:00 KST; 1mo: the 1st 00:00 KST). Prices are KRW (adjusted: the model has no
corporate actions), volume is shares, traded value is KRW.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.special import ndtri

from marketdata import krx_calendar as cal
from marketdata.krx_calendar import KST
from marketdata.simulator.universe import ANCHOR_DATE, UNIVERSE, UNIVERSE_BY_CODE, StockSpec

HISTORY_START = date(2012, 1, 2)
HISTORY_END = date(2030, 12, 31)
DEFAULT_MINUTE_HISTORY_DAYS = 400
# The longest session has 78 5-minute bars (6 h 30 min: 09:00–15:30, or 10:00–16:30 on a 수능
# day); shorter ones (late opens, 15:00 closes before 2016-08-01) use the first bars of a row.
MAX_BARS_PER_SESSION = 78

UNKNOWN_CODE = "unknown stock code {code!r}"

_TICK_BOUNDS = np.array([2_000, 5_000, 20_000, 50_000, 200_000, 500_000], dtype=np.float64)
_TICK_SIZES = np.array([1, 5, 10, 50, 100, 500, 1_000], dtype=np.float64)
_DAILY_LIMIT = 0.30

_EPOCH_DAY = np.datetime64("1970-01-01", "D")
KST_OFFSET_S = int(KST.utcoffset(datetime(2020, 1, 1)).total_seconds())  # +09:00, no DST


# --- ticks -----------------------------------------------------------------------------------


def tick_size(price):
    """KRX tick size (호가단위, KRW) for a price or an array of prices in KRW."""
    return _TICK_SIZES[np.searchsorted(_TICK_BOUNDS, price, side="right")]


def round_to_tick(price):
    """Nearest valid KRX price (KRW) to `price` (scalar or array)."""
    step = tick_size(price)
    return np.rint(np.asarray(price, dtype=np.float64) / step) * step


def _ceil_to_tick(price):
    step = tick_size(price)
    return np.ceil(np.asarray(price, dtype=np.float64) / step - 1e-9) * step


def _floor_to_tick(price):
    step = tick_size(price)
    return np.floor(np.asarray(price, dtype=np.float64) / step + 1e-9) * step


def price_limits(previous_close):
    """KRX daily price limits (KRW) for a previous close: (lower, upper) = ∓30 % on ticks,
    rounded inwards."""
    lower = _ceil_to_tick(np.asarray(previous_close, dtype=np.float64) * (1 - _DAILY_LIMIT))
    upper = _floor_to_tick(np.asarray(previous_close, dtype=np.float64) * (1 + _DAILY_LIMIT))
    return lower, upper


def is_valid_tick(price) -> np.ndarray:
    """True where `price` (KRW) is a multiple of the tick size at its own level."""
    price = np.asarray(price, dtype=np.float64)
    return np.fmod(price, tick_size(price)) == 0


# --- seeding ---------------------------------------------------------------------------------


def _seed(*parts: object) -> int:
    text = ":".join(str(p) for p in ("chartinsight-kiwoom-simulator", *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


# --- series containers -------------------------------------------------------------------------


@dataclass
class Series:
    """Bars as parallel arrays, ascending by start.

    start_s: bar start as Unix seconds (UTC); key_day: for daily-type bars the KST date of the
    first trading day inside the bar (what Kiwoom's `dt` shows), else the bar's date.
    Prices KRW (float64 holding integers), volume shares, value KRW (int64), final: bar complete.
    """

    start_s: np.ndarray
    key_day: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    value: np.ndarray
    final: np.ndarray

    def __len__(self) -> int:
        return len(self.start_s)

    @classmethod
    def concat(cls, parts: list[Series]) -> Series:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))

    @classmethod
    def empty(cls) -> Series:
        f8, i8 = np.empty(0, np.float64), np.empty(0, np.int64)
        return cls(i8, np.empty(0, "datetime64[D]"), f8, f8, f8, f8, i8, i8, np.empty(0, bool))

    def take(self, index) -> Series:
        return Series(*(getattr(self, f)[index] for f in _FIELDS))

    def to_frame(self) -> pd.DataFrame:
        """DataFrame indexed by the aware KST bar start; open/high/low/close KRW (int), volume
        shares, traded_value KRW, is_final."""
        index = pd.to_datetime(self.start_s, unit="s", utc=True).tz_convert(KST)
        index.name = "ts"
        return pd.DataFrame(
            {
                "open": self.open.astype(np.int64),
                "high": self.high.astype(np.int64),
                "low": self.low.astype(np.int64),
                "close": self.close.astype(np.int64),
                "volume": self.volume,
                "traded_value": self.value,
                "is_final": self.final,
            },
            index=index,
        )


_FIELDS = ("start_s", "key_day", "open", "high", "low", "close", "volume", "value", "final")


def _day_start_s(days: np.ndarray) -> np.ndarray:
    """00:00 KST of each datetime64[D] day as Unix seconds."""
    return (days - _EPOCH_DAY).astype(np.int64) * 86_400 - KST_OFFSET_S


def _sessions_s(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The open and close (Unix seconds) of the session of each datetime64[D] trading day."""
    unique, inverse = np.unique(days, return_inverse=True)
    bounds = np.array(
        [
            (cal.session_open(d).timestamp(), cal.session_close(d).timestamp())
            for d in unique.astype(date).tolist()
        ],
        dtype=np.int64,
    ).reshape(-1, 2)
    return bounds[inverse, 0], bounds[inverse, 1]


def _bars_per_session(days: np.ndarray) -> np.ndarray:
    """How many 5-minute bars the session of each datetime64[D] trading day holds."""
    opens, closes = _sessions_s(days)
    return (closes - opens) // 300


def _aggregate(series: Series, group: np.ndarray, start_s: np.ndarray) -> Series:
    """Aggregates consecutive bars sharing a `group` id (sorted) into one bar each."""
    if not len(series):
        return Series.empty()
    edges = np.flatnonzero(np.diff(group)) + 1
    first = np.concatenate([[0], edges])
    last = np.concatenate([edges - 1, [len(group) - 1]])
    return Series(
        start_s=start_s[first],
        key_day=series.key_day[first],
        open=series.open[first],
        high=np.maximum.reduceat(series.high, first),
        low=np.minimum.reduceat(series.low, first),
        close=series.close[last],
        volume=np.add.reduceat(series.volume, first),
        value=np.add.reduceat(series.value, first),
        final=np.logical_and.reduceat(series.final, first),
    )


# --- the common market factor ------------------------------------------------------------------

# Market regimes: drift per day, volatility multiplier, mean duration in trading days.
_MARKET_REGIMES = (
    ("bull", 0.0007, 0.85, 90.0),
    ("bear", -0.0008, 1.25, 50.0),
    ("range", 0.0, 0.8, 70.0),
    ("crisis", -0.004, 2.6, 8.0),
)
_MARKET_NEXT = np.array(  # where a regime goes when it ends
    [
        [0.0, 0.35, 0.55, 0.10],
        [0.45, 0.0, 0.45, 0.10],
        [0.55, 0.40, 0.0, 0.05],
        [0.30, 0.30, 0.40, 0.0],
    ]
)
_MARKET_DAILY_VOL = 0.0105
_GARCH_ALPHA, _GARCH_BETA = 0.08, 0.90


def _regime_path(u_switch, u_pick, durations, next_matrix, start: int) -> np.ndarray:
    """Markov regime per day: leave regime r with probability 1/durations[r]."""
    n = len(u_switch)
    regimes = np.empty(n, dtype=np.int64)
    cumulative = np.cumsum(next_matrix, axis=1)
    state = start
    for t in range(n):
        if u_switch[t] < 1.0 / durations[state]:
            state = int(np.searchsorted(cumulative[state], u_pick[t], side="right"))
            state = min(state, len(durations) - 1)
        regimes[t] = state
    return regimes


def _garch(shocks: np.ndarray, target_var: np.ndarray) -> np.ndarray:
    """GARCH(1,1) conditional standard deviation whose long-run variance follows `target_var`.

    shocks are unit-variance innovations; returns sigma_t (eps_t = sigma_t * shocks_t).
    """
    n = len(shocks)
    sigma = np.empty(n)
    a, b = _GARCH_ALPHA, _GARCH_BETA
    var = float(target_var[0]) if n else 0.0
    eps2 = var
    for t in range(n):
        var = (1.0 - a - b) * target_var[t] + a * eps2 + b * var
        s = var**0.5
        sigma[t] = s
        e = s * shocks[t]
        eps2 = e * e
    return sigma


@dataclass
class _Market:
    days: np.ndarray  # datetime64[D] trading days HISTORY_START..HISTORY_END
    returns: np.ndarray  # log return per day
    sigma: np.ndarray  # conditional daily vol


_market_lock = threading.Lock()
_market_cache: list[_Market] = []


def _market() -> _Market:
    with _market_lock:
        if not _market_cache:
            days = np.array(cal.trading_days(HISTORY_START, HISTORY_END), dtype="datetime64[D]")
            rng = np.random.default_rng(_seed("market"))
            n = len(days)
            durations = np.array([r[3] for r in _MARKET_REGIMES])
            regimes = _regime_path(rng.random(n), rng.random(n), durations, _MARKET_NEXT, 2)
            drift = np.array([r[1] for r in _MARKET_REGIMES])[regimes]
            vol_mult = np.array([r[2] for r in _MARKET_REGIMES])[regimes]
            shocks = _student_t(rng, n, 6)
            sigma = _garch(shocks, (_MARKET_DAILY_VOL * vol_mult) ** 2)
            _market_cache.append(_Market(days, drift + sigma * shocks, sigma))
        return _market_cache[0]


def _student_t(rng: np.random.Generator, n: int, df: int) -> np.ndarray:
    """Unit-variance Student-t draws built from normals only (stable across NumPy versions)."""
    z = rng.standard_normal(n)
    chi2 = (rng.standard_normal((n, df)) ** 2).sum(axis=1)
    return z / np.sqrt(chi2 / df) / np.sqrt(df / (df - 2))


# --- one stock's daily bars --------------------------------------------------------------------

# Stock regimes: drift per day, volatility multiplier, mean duration; "range" mean-reverts.
_STOCK_REGIMES = (
    ("up", 0.0016, 0.95, 55.0),
    ("down", -0.0014, 1.15, 45.0),
    ("range", 0.0, 0.8, 65.0),
)
_STOCK_NEXT = np.array([[0.0, 0.35, 0.65], [0.35, 0.0, 0.65], [0.5, 0.5, 0.0]])
_RANGE_PULL = 0.06  # mean reversion per day towards the level where the range began
_TREND_PULL = 0.004  # mean reversion per day towards the first-price → anchor-price line
_VOL_SCALE = 1.12  # realised volatility comes out a little below the GARCH target
_GAP_SHARE = 0.4  # overnight share of the daily return (≈ 40 % of the variance, as in 005930)
_NO_WICK = 0.14  # probability that the open/close is the day's high (or low)
_RETURN_BOUNDS = (-0.34, 0.25)  # log returns that stay inside the ±30 % limit after rounding


@dataclass
class _Daily:
    days: np.ndarray  # datetime64[D]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    value: np.ndarray
    prev_close: np.ndarray  # previous session's close (the first day: its open)


def _generate_daily(spec: StockSpec) -> _Daily:
    market = _market()
    first = np.datetime64(max(spec.listed_on, HISTORY_START), "D")
    offset = int(np.searchsorted(market.days, first))
    days = market.days[offset:]
    m_ret, m_sigma = market.returns[offset:], market.sigma[offset:]
    n = len(days)
    rng = np.random.default_rng(_seed("daily", spec.code))

    # Stock-specific part: regimes, GARCH, Student-t shocks, mean reversion inside ranges.
    idio_target = max(
        (_VOL_SCALE * spec.daily_vol) ** 2 - (spec.beta * _MARKET_DAILY_VOL) ** 2, 1e-6
    )
    durations = np.array([r[3] for r in _STOCK_REGIMES])
    regimes = _regime_path(rng.random(n), rng.random(n), durations, _STOCK_NEXT, 2)
    drift = np.array([r[1] for r in _STOCK_REGIMES])[regimes]
    vol_mult = np.array([r[2] for r in _STOCK_REGIMES])[regimes]
    shocks = _student_t(rng, n, 5)
    idio_sigma = _garch(shocks, idio_target * vol_mult**2)
    base = drift + idio_sigma * shocks + spec.beta * m_ret
    # The log level is pulled weakly towards a line from first_price to anchor_price, so that
    # the long history stays near the real one; inside ranges it is also pulled to the range.
    anchor_index = min(int(np.searchsorted(days, np.datetime64(ANCHOR_DATE, "D"))), n - 1)
    ramp = np.minimum(np.arange(n) / max(anchor_index, 1), 1.0)
    target = np.log(spec.first_price) + ramp * np.log(spec.anchor_price / spec.first_price)
    returns = np.empty(n)
    level = range_level = target[0]
    in_range = regimes == 2
    starts_range = in_range & np.concatenate([[True], ~in_range[:-1]])
    for t in range(n):
        if starts_range[t]:
            range_level = level
        r = base[t] - _TREND_PULL * (level - target[t])
        if in_range[t]:
            r -= _RANGE_PULL * (level - range_level)
        returns[t] = r
        level += r
    sigma = np.sqrt(idio_sigma**2 + (spec.beta * m_sigma) ** 2)
    returns = np.clip(returns, *_RETURN_BOUNDS)

    # Overnight gap and intraday move; the continuous log-price path stays unrounded.
    gap = _GAP_SHARE * returns + np.sqrt(_GAP_SHARE * (1 - _GAP_SHARE)) * sigma * (
        rng.standard_normal(n)
    )
    gap = np.clip(gap, *_RETURN_BOUNDS)
    log_close = target[0] + np.cumsum(returns)
    # Land exactly on anchor_price at ANCHOR_DATE by a correction that grows linearly from 0.
    log_close += ramp * (np.log(spec.anchor_price) - log_close[anchor_index])
    log_open = log_close - returns + gap
    raw_open, raw_close = np.exp(log_open), np.exp(log_close)

    close = round_to_tick(np.maximum(raw_close, 1.0))
    prev_close = np.concatenate([[round_to_tick(raw_open[0])], close[:-1]])
    lower, upper = price_limits(prev_close)
    open_ = np.clip(round_to_tick(np.maximum(raw_open, 1.0)), lower, upper)

    # Brownian-bridge extremes above max(open, close) and below min(open, close).
    intraday_sd = np.sqrt(1 - _GAP_SHARE) * sigma * 0.92
    d = np.abs(np.log(close / open_))
    u_high, u_low = rng.random(n), rng.random(n)
    up = (-d + np.sqrt(d * d - 2 * intraday_sd**2 * np.log(1 - u_high))) / 2
    down = (-d + np.sqrt(d * d - 2 * intraday_sd**2 * np.log(1 - u_low))) / 2
    up[rng.random(n) < _NO_WICK] = 0.0
    down[rng.random(n) < _NO_WICK] = 0.0
    top, bottom = np.maximum(open_, close), np.minimum(open_, close)
    high = np.clip(_ceil_to_tick(top * np.exp(up)), top, np.maximum(upper, top))
    low = np.clip(_floor_to_tick(bottom * np.exp(-down)), np.minimum(lower, bottom), bottom)
    low = np.maximum(low, 1.0)

    # Volume: turnover × shares, persistent, larger on big moves, more shares when cheaper.
    persistent = np.empty(n)
    ar_noise = rng.standard_normal(n) * 0.12
    state = 0.0
    for t in range(n):
        state = 0.93 * state + ar_noise[t]
        persistent[t] = state
    surprise = np.abs(returns) / spec.daily_vol
    log_volume = (
        np.log(spec.turnover * spec.listed_shares)
        + persistent
        + 0.16 * rng.standard_normal(n)
        + 0.3 * (surprise - 0.8)
        - 0.5 * np.log(close / spec.anchor_price)
    )
    volume = np.maximum(np.rint(np.exp(log_volume)), 100).astype(np.int64)
    vwap = low + (high - low) * np.clip(0.5 + 0.15 * rng.standard_normal(n), 0.05, 0.95)
    value = (np.rint(volume * vwap / 1e6) * 1_000_000).astype(np.int64)
    return _Daily(days, open_, high, low, close, volume, value, prev_close)


# --- one stock's 5-minute bars -----------------------------------------------------------------


@lru_cache(maxsize=8)
def _activity(bars: int) -> tuple[np.ndarray, np.ndarray]:
    """Intraday activity over a session of `bars` 5m bars — busy open, quiet lunch, busy close
    (the closing auction lands on the last bar) — and the per-bar step size of the price path."""
    profile = 1.0 + 2.2 * np.exp(-np.arange(bars) / 5.0)
    profile += 1.3 * np.exp(-(bars - 1 - np.arange(bars)) / 6.0)
    profile[0] += 2.5
    profile[-1] += 3.0
    return profile, np.sqrt(profile / profile.sum())


@dataclass
class _Intraday:
    """Full-day 5m bars for some trading days, shape (days, MAX_BARS_PER_SESSION) per field
    (day i uses its first `bars[i]` columns), plus the fixed path each bar takes (open → first
    extreme at `frac_a` → second extreme at `frac_b` → close)."""

    days: np.ndarray
    bars: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    value: np.ndarray
    high_first: np.ndarray
    frac_a: np.ndarray
    frac_b: np.ndarray


def _generate_intraday(code: str, daily: _Daily, index: np.ndarray) -> _Intraday:
    """5m bars for the daily rows `index`, built inside each day's O/H/L/C, volume and value;
    each day has as many bars as its session holds."""
    bars = _bars_per_session(daily.days[index])
    shape = (len(index), MAX_BARS_PER_SESSION)
    fields = {
        "open": np.zeros(shape),
        "high": np.zeros(shape),
        "low": np.zeros(shape),
        "close": np.zeros(shape),
        "volume": np.zeros(shape, dtype=np.int64),
        "value": np.zeros(shape, dtype=np.int64),
        "high_first": np.zeros(shape, dtype=bool),
        "frac_a": np.zeros(shape),
        "frac_b": np.zeros(shape),
    }
    for nb in np.unique(bars).tolist():
        rows = np.flatnonzero(bars == nb)
        block = _generate_sessions(code, daily, index[rows], nb)
        for name, target in fields.items():
            target[rows, :nb] = block[name]
    return _Intraday(daily.days[index], bars, **fields)


def _generate_sessions(code: str, daily: _Daily, index: np.ndarray, nb: int) -> dict:
    """`_generate_intraday` for daily rows whose sessions all hold `nb` 5m bars: each field as
    an array of shape (days, nb)."""
    nd = len(index)
    profile, step_sd = _activity(nb)
    steps = np.arange(nb + 1)
    o, h, lo, c = (getattr(daily, f)[index][:, None] for f in ("open", "high", "low", "close"))
    v, val = daily.volume[index], daily.value[index]
    draws = np.empty((nd, 8, nb))
    for i, day in enumerate(daily.days[index]):
        draws[i] = np.random.default_rng(_seed("5m", code, str(day))).random((8, nb))

    # Close path: a Brownian bridge from open to close, scaled so it nearly touches high/low.
    z = _normal_from_uniform(draws[:, 0])
    walk = np.concatenate([np.zeros((nd, 1)), np.cumsum(z * step_sd, axis=1)], axis=1)
    bridge = walk - (steps / nb) * walk[:, -1:]
    line = o + (c - o) * (steps / nb)
    top, bottom = np.maximum(o, c), np.minimum(o, c)
    cap = h - draws[:, 1, :1] * 0.35 * (h - top)
    floor = lo + draws[:, 2, :1] * 0.35 * (bottom - lo)
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(bridge > 0, (cap - line) / bridge, np.inf).min(axis=1, keepdims=True)
        dn = np.where(bridge < 0, (line - floor) / -bridge, np.inf).min(axis=1, keepdims=True)
    up[~np.isfinite(up)] = 0.0
    dn[~np.isfinite(dn)] = 0.0
    path = line + np.where(bridge > 0, up * bridge, dn * bridge)
    path = np.clip(round_to_tick(path), lo, h)
    path[:, 0], path[:, -1] = o[:, 0], c[:, 0]
    bar_open, bar_close = path[:, :-1], path[:, 1:]

    # Wicks: small excursions beyond each bar's body, then the day's extremes are placed.
    bar_sd = (h - lo) / 4.0 * step_sd
    body_top, body_bottom = np.maximum(bar_open, bar_close), np.minimum(bar_open, bar_close)
    wick_up = -np.log1p(-draws[:, 3]) * bar_sd * 0.5
    wick_down = -np.log1p(-draws[:, 4]) * bar_sd * 0.5
    bar_high = np.clip(np.maximum(round_to_tick(body_top + wick_up), body_top), None, h)
    bar_low = np.clip(np.minimum(round_to_tick(body_bottom - wick_down), body_bottom), lo, None)
    rows = np.arange(nd)
    bar_high[rows, np.argmax(bar_high, axis=1)] = h[:, 0]
    bar_low[rows, np.argmin(bar_low, axis=1)] = lo[:, 0]

    # Volume and traded value: U-shaped weights, integer shares summing to the day exactly.
    weights = profile * np.exp(0.35 * _normal_from_uniform(draws[:, 5]))
    volume = _allocate(v, weights)
    typical = (bar_open + bar_high + bar_low + bar_close) / 4.0
    value = _allocate(val, volume * typical + 1e-9)

    # The path of a forming bar: which extreme comes first and when.
    rising = bar_close >= bar_open
    high_first = np.where(rising, draws[:, 6] < 0.3, draws[:, 6] < 0.7)
    frac_a = 0.1 + 0.35 * draws[:, 7]
    frac_b = 0.55 + 0.35 * draws[:, 7][:, ::-1]
    return {
        "open": bar_open,
        "high": bar_high,
        "low": bar_low,
        "close": bar_close,
        "volume": volume,
        "value": value,
        "high_first": high_first,
        "frac_a": frac_a,
        "frac_b": frac_b,
    }


def _normal_from_uniform(u: np.ndarray) -> np.ndarray:
    return ndtri(np.clip(u, 1e-12, 1 - 1e-12))


def _allocate(totals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Splits each integer total across a row of weights; rows sum exactly to the totals."""
    shares = weights / weights.sum(axis=1, keepdims=True)
    parts = np.floor(totals[:, None] * shares).astype(np.int64)
    remainder = totals - parts.sum(axis=1)
    parts[np.arange(len(totals)), np.argmax(shares, axis=1)] += remainder
    return parts


# --- the market, as seen at "now" --------------------------------------------------------------


@dataclass
class _StockCache:
    daily: _Daily
    daily_series: Series  # every day final (the full horizon)
    intraday_months: dict  # (year, month) -> _Intraday; ("window", lo, hi) -> 5m window


def daily_bars_for(spec: StockSpec, *, until: date) -> pd.DataFrame:
    """The final daily bars of any `spec` — one outside the built-in universe too, e.g. a
    benchmark's thousands of made-up stocks — from its first day up to `until` (inclusive),
    shaped like `SimulatedMarket.bars` and generated by the same model (seeded by the code)."""
    daily = _generate_daily(spec)
    n = int(np.searchsorted(daily.days, np.datetime64(until, "D"), side="right"))
    return Series(
        start_s=_day_start_s(daily.days[:n]),
        key_day=daily.days[:n],
        open=daily.open[:n],
        high=daily.high[:n],
        low=daily.low[:n],
        close=daily.close[:n],
        volume=daily.volume[:n],
        value=daily.value[:n],
        final=np.ones(n, dtype=bool),
    ).to_frame()


class SimulatedMarket:
    """The simulator's market: stock master and bars of every timeframe as of a "now" clock.

    now: an aware datetime to freeze the clock at, a zero-argument callable returning one, or
    None for the real time. minute_history_days: how many calendar days before now's date the
    intraday (5m/30m/1h) history reaches. Thread-safe; generation is lazy and cached per code.
    """

    def __init__(
        self,
        now: datetime | Callable[[], datetime] | None = None,
        *,
        minute_history_days: int = DEFAULT_MINUTE_HISTORY_DAYS,
    ):
        self._clock: Callable[[], datetime]
        self.set_now(now)
        self.minute_history_days = minute_history_days
        self._lock = threading.Lock()
        self._code_locks: dict[str, threading.Lock] = {}
        self._stocks: dict[str, _StockCache] = {}
        self._series_memo: dict[tuple, Series] = {}

    # clock

    def set_now(self, now: datetime | Callable[[], datetime] | None) -> None:
        """Freezes the clock at an aware datetime, follows a callable, or (None) real time."""
        if now is None:
            self._clock = lambda: datetime.now(KST)
        elif callable(now):
            self._clock = now
        else:
            if now.tzinfo is None:
                raise ValueError("now must be timezone-aware")
            frozen = now.astimezone(KST)
            self._clock = lambda: frozen

    def now(self) -> datetime:
        """The market's current instant (aware, KST)."""
        return self._clock().astimezone(KST)

    # master data

    def universe(self) -> list[StockSpec]:
        """Every listed instrument, in the built-in order (KOSPI large caps first)."""
        return list(UNIVERSE)

    def stock(self, code: str) -> StockSpec:
        """The spec of `code`; KeyError (message UNKNOWN_CODE) for codes outside the universe."""
        try:
            return UNIVERSE_BY_CODE[code]
        except KeyError:
            raise KeyError(UNKNOWN_CODE.format(code=code)) from None

    def last_price(self, code: str, now: datetime | None = None) -> int:
        """The previous session's close in KRW (ka10099 `lastPrice`): the close of the last
        trading date before now's KST date."""
        now = (now or self.now()).astimezone(KST)
        daily = self._cache(code).daily
        i = int(np.searchsorted(daily.days, np.datetime64(now.date(), "D"))) - 1
        return int(daily.close[max(i, 0)])

    def previous_close(self, code: str, day: date) -> int:
        """The close (KRW) of the last trading date before `day` (the reference for the +/- signs
        on Kiwoom's minute rows and for `pred_pre`)."""
        daily = self._cache(code).daily
        i = int(np.searchsorted(daily.days, np.datetime64(day, "D")))
        return int(daily.prev_close[i]) if i < len(daily.days) else int(daily.close[-1])

    def first_day(self, code: str) -> date:
        """The first date with a daily bar (the listing date, or HISTORY_START)."""
        return self._cache(code).daily.days[0].astype(date)

    # bars

    def bars(
        self,
        code: str,
        timeframe: str,
        start: date | datetime | None = None,
        end: date | datetime | None = None,
        *,
        now: datetime | None = None,
    ) -> pd.DataFrame:
        """Ground truth as a DataFrame: index = aware KST bar start (see the module docstring),
        columns open/high/low/close (KRW), volume (shares), traded_value (KRW), is_final.

        Only bars that exist at `now` (default: the market clock) appear: nothing starts after
        it, and the bar containing it is forming (is_final False). `start`/`end` bound the bar
        start (dates are inclusive KST days). Intraday history begins `minute_history_days`
        before now's date.
        """
        series = self.series(code, timeframe, now=now)
        frame = series.to_frame()
        if start is not None:
            frame = frame[frame.index >= _as_instant(start, end_of_day=False)]
        if end is not None:
            frame = frame[frame.index <= _as_instant(end, end_of_day=True)]
        return frame

    def series(self, code: str, timeframe: str, *, now: datetime | None = None) -> Series:
        """Like `bars`, as arrays (ascending) — what the HTTP server pages through. The result
        is shared (cached per code, timeframe and instant): do not modify it."""
        if timeframe in cal.INTRADAY_MINUTES:
            return self.minute_series(code, cal.INTRADAY_MINUTES[timeframe], now=now)
        if timeframe not in cal.PERIOD_TIMEFRAMES:
            raise ValueError(cal.UNKNOWN_TIMEFRAME.format(timeframe=timeframe))
        now = (now or self.now()).astimezone(KST)
        return self._memo((code, timeframe, now), lambda: self._period_series(code, timeframe, now))

    def minute_series(self, code: str, minutes: int, *, now: datetime | None = None) -> Series:
        """Intraday bars of any width that divides into 5-minute steps (5, 10, 15, 30, 45, 60…),
        each session's grid starting at its open. Shared like `series`."""
        if minutes % 5 or minutes <= 0:
            raise ValueError("minute bars must be a positive multiple of 5 minutes")
        now = (now or self.now()).astimezone(KST)
        return self._memo((code, minutes, now), lambda: self._intraday_series(code, minutes, now))

    def _memo(self, key: tuple, build: Callable[[], Series]) -> Series:
        # Paging through one series at a frozen "now" asks for the same arrays again and again.
        found = self._series_memo.get(key)
        if found is None:
            found = build()
            with self._lock:
                if len(self._series_memo) >= 64:
                    self._series_memo.pop(next(iter(self._series_memo)))
                self._series_memo[key] = found
        return found

    # internals

    def _cache(self, code: str) -> _StockCache:
        spec = self.stock(code)
        with self._lock:
            lock = self._code_locks.setdefault(code, threading.Lock())
        with lock:
            cached = self._stocks.get(code)
            if cached is None:
                daily = _generate_daily(spec)
                n = len(daily.days)
                cached = _StockCache(
                    daily=daily,
                    daily_series=Series(
                        start_s=_day_start_s(daily.days),
                        key_day=daily.days,
                        open=daily.open,
                        high=daily.high,
                        low=daily.low,
                        close=daily.close,
                        volume=daily.volume,
                        value=daily.value,
                        final=np.ones(n, dtype=bool),
                    ),
                    intraday_months={},
                )
                self._stocks[code] = cached
            return cached

    def _month(self, code: str, year: int, month: int) -> _Intraday:
        cache = self._cache(code)
        key = (year, month)
        with self._code_locks[code]:
            block = cache.intraday_months.get(key)
            if block is None:
                days = cache.daily.days
                lo = np.searchsorted(days, np.datetime64(date(year, month, 1), "D"))
                nxt = date(year + month // 12, month % 12 + 1, 1)
                hi = np.searchsorted(days, np.datetime64(nxt, "D"))
                block = _generate_intraday(code, cache.daily, np.arange(lo, hi))
                cache.intraday_months[key] = block
            return block

    def _window(
        self, code: str, lo: int, hi: int
    ) -> tuple[Series, list[tuple[_Intraday, int, int]]]:
        """All 5m bars (final) of daily rows lo..hi-1, and each bar's (month block, row, column)."""
        cache = self._cache(code)
        key = ("window", lo, hi)
        hit = cache.intraday_months.get(key)
        if hit is not None:
            return hit
        days = cache.daily.days[lo:hi]
        months = sorted({(d.year, d.month) for d in days.astype(date).tolist()})
        parts, where = [], []
        for year, month in months:
            block = self._month(code, year, month)
            rows = np.flatnonzero((block.days >= days[0]) & (block.days <= days[-1]))
            parts.append((block, rows))
            where.extend(
                (block, int(r), col) for r in rows.tolist() for col in range(block.bars[r])
            )
        used = np.concatenate(
            [np.arange(MAX_BARS_PER_SESSION) < b.bars[rows, None] for b, rows in parts]
        )
        fields = {
            f: np.concatenate([getattr(b, f)[rows] for b, rows in parts])[used]
            for f in ("open", "high", "low", "close", "volume", "value")
        }
        opens, _ = _sessions_s(days)
        start_s = (opens[:, None] + 300 * np.arange(MAX_BARS_PER_SESSION))[used]
        full = Series(
            start_s=start_s,
            key_day=np.repeat(days, used.sum(axis=1)),
            **fields,
            final=np.ones(start_s.shape, dtype=bool),
        )
        with self._code_locks[code]:
            # Keep the newest windows only: "now" moves forward, old windows are not asked for.
            stale = [k for k in cache.intraday_months if k[0] == "window"]
            for k in stale[:-4]:
                del cache.intraday_months[k]
            cache.intraday_months[key] = (full, where)
        return full, where

    def _five_minute(
        self, code: str, now: datetime, *, today_only: bool = False
    ) -> tuple[Series, Series | None]:
        """Completed 5m bars inside the minute window (or of today only) up to now, and the
        forming one (or None)."""
        cache = self._cache(code)
        today = now.date()
        first = max(today - timedelta(days=self.minute_history_days), self.first_day(code))
        if today_only:
            first = today
        days = cache.daily.days
        lo = int(np.searchsorted(days, np.datetime64(first, "D")))
        hi = int(np.searchsorted(days, np.datetime64(today, "D"), side="right"))
        if lo >= hi:
            return Series.empty(), None
        full, where = self._window(code, lo, hi)
        now_s = now.timestamp()
        done = int(np.searchsorted(full.start_s + 300, now_s, side="right"))
        completed = full.take(slice(0, done))
        forming = None
        if done < len(full) and full.start_s[done] < now_s:
            block, row, col = where[done]
            forming = _partial_bar(
                block,
                row,
                col,
                (now_s - full.start_s[done]) / 300.0,
                int(full.start_s[done]),
                full.key_day[done],
            )
        return completed, forming

    def _intraday_series(self, code: str, minutes: int, now: datetime) -> Series:
        completed, forming = self._five_minute(code, now)
        five = Series.concat([completed, forming] if forming is not None else [completed])
        if minutes == 5 or not len(five):
            return five
        # Bars of every width count from the day's open.
        opens, closes = _sessions_s(five.key_day)
        bucket = (five.start_s - opens) // (minutes * 60)
        day = (five.start_s + KST_OFFSET_S) // 86_400
        group = day * 1_000 + bucket
        out = _aggregate(five, group, opens + bucket * minutes * 60)
        _, out_closes = _sessions_s(out.key_day)
        ends = np.minimum(out.start_s + minutes * 60, out_closes)
        out.final = ends <= now.timestamp()
        return out

    def _daily_series(self, code: str, now: datetime) -> Series:
        cache = self._cache(code)
        full = cache.daily_series
        today = np.datetime64(now.date(), "D")
        before = int(np.searchsorted(full.key_day, today))
        past = full.take(slice(0, before))
        if before >= len(full) or full.key_day[before] != today:
            return past
        open_s = cal.session_open(now.date()).timestamp()
        close_s = cal.session_close(now.date()).timestamp()
        now_s = now.timestamp()
        if now_s <= open_s:
            return past
        if now_s >= close_s:
            return full.take(slice(0, before + 1))
        # Today is forming: aggregate today's 5m bars so far.
        completed, forming = self._five_minute(code, now, today_only=True)
        five = Series.concat([completed, forming] if forming is not None else [completed])
        mine = five.take(five.key_day == today)
        today_bar = _aggregate(
            mine, np.zeros(len(mine), np.int64), np.full(len(mine), full.start_s[before])
        )
        today_bar.final = np.zeros(1, dtype=bool)
        return Series.concat([past, today_bar])

    def _period_series(self, code: str, timeframe: str, now: datetime) -> Series:
        daily = self._daily_series(code, now)
        if timeframe == "1d" or not len(daily):
            return daily
        days = daily.key_day
        if timeframe == "1w":
            weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
            keys = days - weekday.astype("timedelta64[D]")
        else:
            keys = days.astype("datetime64[M]").astype("datetime64[D]")
        out = _aggregate(daily, keys.astype(np.int64), _day_start_s(keys))
        # Every earlier week/month has ended; only the newest can still be running.
        out.final = np.ones(len(out), dtype=bool)
        newest = datetime.fromtimestamp(int(out.start_s[-1]), KST)
        out.final[-1] = cal.bar_end(timeframe, newest) <= now
        return out


def _partial_bar(
    block: _Intraday, row: int, bar: int, fraction: float, start_s: int, day
) -> Series:
    """The 5m bar `bar` of `block` day `row` as it stands `fraction` (0–1) into its 5 minutes."""
    o, h, lo, c = (float(getattr(block, f)[row, bar]) for f in ("open", "high", "low", "close"))
    first, second = (h, lo) if block.high_first[row, bar] else (lo, h)
    a, b = float(block.frac_a[row, bar]), float(block.frac_b[row, bar])
    xs, ys = [0.0, a, b, 1.0], [o, first, second, c]
    price = float(np.clip(round_to_tick(np.interp(fraction, xs, ys)), lo, h))
    seen = [y for x, y in zip(xs, ys, strict=True) if x <= fraction] + [price]
    volume = int(block.volume[row, bar] * fraction)
    value = int(block.value[row, bar] * fraction)
    return Series(
        start_s=np.array([start_s], dtype=np.int64),
        key_day=np.array([day], dtype="datetime64[D]"),
        open=np.array([o]),
        high=np.array([max(seen)]),
        low=np.array([min(seen)]),
        close=np.array([price]),
        volume=np.array([volume], dtype=np.int64),
        value=np.array([value], dtype=np.int64),
        final=np.zeros(1, dtype=bool),
    )


def _as_instant(value: date | datetime, *, end_of_day: bool) -> pd.Timestamp:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetimes must be timezone-aware")
        return pd.Timestamp(value)
    stamp = pd.Timestamp(datetime.combine(value, datetime.min.time(), tzinfo=KST))
    return stamp + pd.Timedelta(days=1) - pd.Timedelta(seconds=1) if end_of_day else stamp

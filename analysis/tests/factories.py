"""Factories for analysis tests, imported by every app's tests (no test module imports another).

Bars without a database: `frame`, `bars`, `closes_frame`, `mirror_rows` (hand-made rows),
`swing_series` (a random walk with swings on the real KRX bar grid), `walk` (a daily random walk
rich in patterns), the Hypothesis strategy `ohlcv` with its `SETTINGS`.
Rows: `make_swing_stock` (a stock with stored `swing_series` bars), `make_run`, `make_pattern`,
`make_detection` (stored analysis results without running the engine).
Pages: `radar_figure` (the figure dict a Radar page embeds).
Test data only; never shown to a user.
"""

import json
from datetime import date, datetime

import numpy as np
import pandas as pd
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from analysis.detection import Bars
from analysis.engine import ENGINE_VERSION
from analysis.models import AnalysisRun, PatternInstance
from marketdata.krx_calendar import KST, bar_starts
from marketdata.tests.factories import make_candles, make_stock


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


def swing_series(timeframe: str, start: date, end: date, *, seed: int = 7, base: float = 70000.0):
    """OHLCV DataFrame (aware KST index) on the KRX grid between `start` and `end`."""
    starts = bar_starts(timeframe, start, end)
    n = len(starts)
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    # Two cycles (about 38 and 132 bars) strong enough against the noise that the series holds
    # a few textbook double tops/bottoms and head-and-shoulders for the pages to show.
    drift = 0.11 * np.sin(i / 6.0) + 0.11 * np.sin(i / 21.0)
    log_close = np.log(base) + drift + np.cumsum(rng.normal(0, 0.005, n))
    close = np.round(np.exp(log_close), -1)
    open_ = np.r_[close[0], close[:-1]] * (1 + rng.normal(0, 0.002, n))
    spread = np.abs(rng.normal(0, 0.006, n)) * close
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    volume = np.round(rng.lognormal(13, 0.4, n))
    return pd.DataFrame(
        {
            "open": np.round(open_),
            "high": np.round(high),
            "low": np.round(low),
            "close": close,
            "volume": volume,
        },
        index=pd.DatetimeIndex(starts),
    )


def make_swing_stock(
    code: str = "005930",
    name: str = "삼성전자",
    timeframe: str = "1d",
    start: date = date(2023, 1, 2),
    end: date = date(2025, 11, 20),
):
    """(stock, frame): a stock with the `swing_series` bars of `timeframe` from `start` to `end`
    stored as final candles (the defaults: 704 daily bars of 삼성전자)."""
    stock = make_stock(code, name)
    frame = swing_series(timeframe, start, end)
    make_candles(stock, timeframe, frame)
    return stock, frame


def walk(n=400, seed=8, start="2023-01-02"):
    """A daily random walk in KRW with every pattern type in 700 bars (seed 8)."""
    rng = np.random.default_rng(seed)
    close = 50_000 + 100 * np.cumsum(rng.integers(-8, 9, n)).astype(float)
    open_ = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(open_, close) + 100 * rng.integers(0, 5, n)
    low = np.minimum(open_, close) - 100 * rng.integers(0, 5, n)
    index = pd.bdate_range(start, periods=n, tz=KST)
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": 1e6}, index=index
    )


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def ohlcv(draw, min_size=2, max_size=160):
    """Integer-tick random walks (with flat stretches and jumps) as an OHLCV frame."""
    n = draw(st.integers(min_size, max_size))
    steps = draw(st.lists(st.integers(-8, 8), min_size=n, max_size=n))
    wicks = draw(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=n, max_size=n))
    close = 1000 + np.cumsum(steps).astype(float)
    open_ = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(open_, close) + [w[0] for w in wicks]
    low = np.minimum(open_, close) - [w[1] for w in wicks]
    spike = draw(st.none() | st.tuples(st.integers(0, n - 1), st.booleans()))
    if spike is not None:  # a single huge wick up (x10) or down (to a tenth)
        at, up = spike
        if up:
            high[at] *= 10
        else:
            low[at] /= 10
    index = pd.date_range("2023-01-02 09:00", periods=n, freq="30min", tz=KST)
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": 100.0}, index=index
    )


def make_run(
    stock,
    timeframe: str = "1d",
    *,
    last_close=10_000.0,
    trend="up",
    is_default=True,
    detector: str = "atr",
) -> AnalysisRun:
    """The stored analysis run of one series (made once per stock, timeframe, detector and
    default flag), with no rows of its own: add patterns with `make_pattern`."""
    now = timezone.now()
    run, _ = AnalysisRun.objects.get_or_create(
        stock=stock,
        timeframe=timeframe,
        detector=detector,
        params_hash=f"{'default' if is_default else 'custom'}-{timeframe}-{detector}",
        defaults={
            "params": {},
            "is_default": is_default,
            "engine_version": ENGINE_VERSION,
            "bars": 500,
            "first_bar_ts": now - pd.Timedelta(days=700),
            "last_bar_ts": now,
            "bars_fingerprint": "x",
            "last_close": last_close,
            "trend_state": trend,
            "trend_since_ts": now - pd.Timedelta(days=20),
            "result": {},
            "analysed_at": now,
            "duration_ms": 1.0,
        },
    )
    return run


def make_pattern(
    run: AnalysisRun,
    pattern_type: str = "DB",
    *,
    start: datetime,
    end: datetime,
    status: str = "completed",
    score: float = 0.5,
    target: float = 11_000.0,
    neckline: float = 10_500.0,
    outcome: str = "",
    bars_to_target: int | None = None,
    mfe_pct: float | None = None,
    mae_pct: float | None = None,
) -> PatternInstance:
    """A stored detected pattern of `run` from `start` to `end` (detected at `end`; KRW); a
    completed one may carry an `outcome` (set five days after `end`)."""
    return PatternInstance.objects.create(
        outcome=outcome,
        outcome_ts=end + pd.Timedelta(days=5) if outcome else None,
        bars_to_target=bars_to_target,
        mfe_pct=mfe_pct,
        mae_pct=mae_pct,
        run=run,
        stock=run.stock,
        timeframe=run.timeframe,
        detector=run.detector,
        pattern_type=pattern_type,
        status=status,
        start_ts=start,
        end_ts=end,
        detected_ts=end,
        points={},
        neckline={"level": neckline},
        neckline_price=neckline,
        target=target,
        score=score,
    )


def make_detection(
    stock,
    pattern_type,
    start,
    end,
    *,
    timeframe="1d",
    status="completed",
    score=0.8,
    detector: str = "atr",
) -> PatternInstance:
    """A stored detected pattern on the series' default-parameter run of `detector` (made when
    missing)."""
    return make_pattern(
        make_run(stock, timeframe, detector=detector),
        pattern_type,
        start=start,
        end=end,
        status=status,
        score=score,
        target=66_000.0,
        neckline=70_000.0,
    )


def radar_figure(response) -> dict:
    """The figure dict embedded in the page (what radar.js draws)."""
    html = response.content.decode()
    start = html.index('<script id="radar-figure" type="application/json">') + len(
        '<script id="radar-figure" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])

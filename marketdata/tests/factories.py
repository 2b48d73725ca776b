"""Factories and helpers for market-data tests (and other apps' tests that need stocks and
candles). Test modules import from here only; fixtures live in `fixtures.py`.

- `make_stock`, `make_candles`: rows straight into the database, without Kiwoom;
- `make_kiwoom_client`: a client on the test simulator with fast retries;
- `stored_frame`, `truth_frame`, `assert_same_bars`: a stored series against the simulator's
  ground truth;
- `django_env`, `django_python`: Django subprocesses on the test database and Redis.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
from django.conf import settings
from django.db import connection
from django.utils import timezone

from marketdata.kiwoom import KiwoomClient
from marketdata.krx_calendar import INTRADAY_TIMEFRAMES, KST
from marketdata.models import Candle, Market, Stock

ROOT = Path(__file__).resolve().parents[2]
# The test simulator's frozen clock: a Wednesday session, so the newest bar of every timeframe
# is forming. Small pages exercise paging.
SIMULATOR_NOW = datetime(2026, 3, 4, 11, 7, tzinfo=KST)
SIMULATOR_PAGE_SIZE = 200
CANDLE_COLUMNS = ["open", "high", "low", "close", "volume", "traded_value", "is_final"]


def kst(*args) -> datetime:
    """An aware KST instant: `kst(2024, 3, 4, 9, 30)` is 09:30 KST on 4 March 2024."""
    return datetime(*args, tzinfo=KST)


def make_stock(code: str = "005930", name: str = "삼성전자", **fields) -> Stock:
    defaults = {"market": Market.KOSPI, "is_active": True, "is_analysis_target": True}
    defaults.update(fields)
    stock, _ = Stock.objects.update_or_create(code=code, defaults={"name": name, **defaults})
    return stock


def make_candles(stock: Stock, timeframe: str, frame: pd.DataFrame) -> list[Candle]:
    """Stores `frame` (aware DatetimeIndex; open/high/low/close/volume columns) as final bars."""
    now = timezone.now()
    rows = [
        Candle(
            stock=stock,
            timeframe=timeframe,
            ts=ts.to_pydatetime(),
            open=float(row.open),
            high=float(row.high),
            low=float(row.low),
            close=float(row.close),
            volume=int(row.volume),
            traded_value=int(row.close * row.volume),
            is_final=True,
            fetched_at=now,
        )
        for ts, row in frame.iterrows()
    ]
    return Candle.objects.bulk_create(rows)


def make_kiwoom_client(simulator, **overrides) -> KiwoomClient:
    """A client of the test settings on `simulator`, with a high rate limit and fast retries."""
    options = {
        "base_url": simulator.url,
        "max_rps": 1000.0,
        "backoff_base": 0.01,
        "timeout": 5.0,
    }
    options.update(overrides)
    return KiwoomClient.from_settings(**options)


def stored_frame(stock: Stock, timeframe: str) -> pd.DataFrame:
    """The stored bars of one series, indexed by the aware KST bar start (CANDLE_COLUMNS)."""
    rows = Candle.objects.filter(stock=stock, timeframe=timeframe).order_by("ts")
    frame = pd.DataFrame.from_records(rows.values("ts", *CANDLE_COLUMNS))
    if frame.empty:
        return pd.DataFrame(columns=CANDLE_COLUMNS)
    frame.index = pd.DatetimeIndex(frame.pop("ts")).tz_convert(KST)
    frame.index.name = "ts"
    return frame


def truth_frame(simulator, code: str, timeframe: str, start=None, end=None, now=None):
    """The simulator's ground truth as `stored_frame` shows it (minute rows carry no traded
    value); `now` defaults to SIMULATOR_NOW."""
    frame = simulator.market.bars(code, timeframe, start, end, now=now or SIMULATOR_NOW)
    frame = frame.copy()
    if timeframe in INTRADAY_TIMEFRAMES:
        frame["traded_value"] = None  # ka10080 carries no traded value
    return frame[CANDLE_COLUMNS]


def assert_same_bars(stored: pd.DataFrame, truth: pd.DataFrame) -> None:
    assert len(stored) == len(truth), f"{len(stored)} stored vs {len(truth)} true bars"
    assert list(stored.index) == list(truth.index)
    for column in ["open", "high", "low", "close", "volume"]:
        assert [float(v) for v in stored[column]] == [float(v) for v in truth[column]], column
    # Daily rows carry traded value in million KRW (rounded): exact to ±0.5 million KRW.
    for got, want in zip(stored["traded_value"], truth["traded_value"], strict=True):
        if pd.isna(want):
            assert pd.isna(got)
        else:
            assert abs(int(got) - int(want)) <= 500_000
    assert [bool(v) for v in stored["is_final"]] == [bool(v) for v in truth["is_final"]]


def django_env(**extra: str) -> dict[str, str]:
    """Environment for a Django subprocess that uses the test database and Redis."""
    env = dict(os.environ)
    db = connection.settings_dict
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    env["REDIS_URL"] = settings.REDIS_URL
    env["CELERY_BROKER_URL"] = settings.REDIS_URL
    env.setdefault("DEBUG", "true")
    env.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
    env.update(extra)
    return env


def django_python(code: str, **env: str) -> subprocess.Popen:
    """Starts `code` in a Django-configured Python subprocess (stdout piped)."""
    prelude = (
        "import os, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
        "'chartinsight.settings'); django.setup()\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", prelude + code],
        cwd=ROOT,
        env=django_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

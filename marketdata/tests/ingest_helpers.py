"""Helpers for the ingestion tests: a Kiwoom client on the simulator with a clean Redis state,
stored series vs the simulator's ground truth, and Django subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import redis
from django.conf import settings
from django.db import connection

from marketdata.kiwoom import KiwoomClient
from marketdata.models import Candle
from marketdata.tests.fixtures import SIMULATOR_NOW

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = ["open", "high", "low", "close", "volume", "traded_value", "is_final"]


def clear_kiwoom_state() -> None:
    """Forgets the shared token and rate-limiter slots kept in Redis."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter("kiwoom:*"):
        client.delete(key)


def make_client(simulator, **overrides) -> KiwoomClient:
    options = {
        "base_url": simulator.url,
        "max_rps": 1000.0,
        "backoff_base": 0.01,
        "timeout": 5.0,
    }
    options.update(overrides)
    return KiwoomClient.from_settings(**options)


def stored_frame(stock, timeframe: str) -> pd.DataFrame:
    rows = Candle.objects.filter(stock=stock, timeframe=timeframe).order_by("ts")
    frame = pd.DataFrame.from_records(rows.values("ts", *COLUMNS))
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame.index = pd.DatetimeIndex(frame.pop("ts")).tz_convert("Asia/Seoul")
    frame.index.name = "ts"
    return frame


def truth_frame(simulator, code: str, timeframe: str, start=None, end=None, now=None):
    frame = simulator.market.bars(code, timeframe, start, end, now=now or SIMULATOR_NOW)
    frame = frame.copy()
    if timeframe in ("5m", "30m", "1h"):
        frame["traded_value"] = None  # ka10080 carries no traded value
    return frame[COLUMNS]


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


def python(code: str, **env: str) -> subprocess.Popen:
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


@pytest.fixture(autouse=True)
def purge_broker_queue():
    """Ingestion enqueues `analysis.analyze_series` on commit; drop those messages after each
    test so no later test's Celery worker picks them up."""
    yield
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("celery")

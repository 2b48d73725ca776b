"""`make run` without DATABASE_URL stores data in SQLite: ingestion must work there too."""

import datetime
import os
import sqlite3
import subprocess
import sys

from marketdata.tests.factories import ROOT


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_backfill_into_sqlite_is_exact_and_idempotent(kiwoom_simulator, tmp_path):
    database = tmp_path / "db.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "KIWOOM_BASE_URL": kiwoom_simulator.url,
    }
    assert _manage("migrate", "--noinput", "-v0", env=env).returncode == 0
    assert _manage("sync_stocks", env=env).returncode == 0
    args = ("backfill", "--codes", "005930", "--timeframes", "1d", "--since", "2025-06-02")
    first = _manage(*args, env=env)
    assert first.returncode == 0, first.stdout + first.stderr

    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT c.ts, c.close FROM marketdata_candle c JOIN marketdata_stock s"
            " ON s.id = c.stock_id WHERE s.code = '005930' AND c.timeframe = '1d' ORDER BY c.ts"
        ).fetchall()
    truth = kiwoom_simulator.market.bars("005930", "1d", start=datetime.date(2025, 6, 2))
    assert len(rows) == len(truth)
    assert [close for _, close in rows] == list(truth["close"])

    second = _manage(*args, env=env)
    assert second.returncode == 0
    with sqlite3.connect(database) as db:
        count = db.execute("SELECT COUNT(*) FROM marketdata_candle").fetchone()[0]
    assert count == len(truth)

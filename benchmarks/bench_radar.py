"""Trading Radar and Scanner figures, through the Django test client against the bench database.

(a) `GET /api/radar` — 500 and 5,000 daily bars, 2,000 5-minute bars — with the analysis read
    from the stored run and computed on the fly (`stored=0`): p50/p95 over 30 requests and the
    response size. The request also loads HISTORY_BARS earlier bars for the analysis.
(b) The Radar page (HTML with the embedded figure) at 500 daily bars, with SMA 20 and RSI.
(c) `/scanner/` with 10,000 stored pattern rows over 200 stocks: default filters, a type filter
    sorted by distance to target, and page 20: p50/p95 over 30 requests.

The candles are a synthetic random walk with swings on the KRX calendar (bench data only, never
shown to a user). Everything it creates is removed at the end.
"""

from __future__ import annotations

import statistics
import time
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from analysis.models import AnalysisRun, PatternInstance
from analysis.selectors.radar import HISTORY_BARS
from analysis.selectors.scanner import trading_days_cutoff
from analysis.services import series_analyze
from analysis.tests.factories import swing_series
from marketdata.models import Candle, Stock
from marketdata.tests.factories import make_candles

PREFIX = "RB"
DAILY = f"{PREFIX}0001"
INTRADAY = f"{PREFIX}0002"
REQUESTS = 30
SCANNER_STOCKS = 200
PATTERNS_PER_STOCK = 50
USERNAME = "bench-radar"


def _stats(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms"


def _time(client: Client, url: str, params: dict, n: int = REQUESTS) -> tuple[list[float], int]:
    client.get(url, params)  # warm caches and connections; not counted
    samples = []
    size = 0
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url, params)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, params, response.status_code)
        size = len(response.content)
    return samples, size


def _cleanup() -> None:
    Stock.objects.filter(code__startswith=PREFIX).delete()  # candles, runs, patterns cascade
    get_user_model().objects.filter(username=USERNAME).delete()


def _series() -> None:
    daily = Stock.objects.create(code=DAILY, name="bench radar daily", market="KOSPI")
    frame = swing_series("1d", date(2002, 1, 2), date(2025, 11, 20))
    make_candles(daily, "1d", frame.iloc[-(5_000 + HISTORY_BARS) :])
    intraday = Stock.objects.create(code=INTRADAY, name="bench radar 5m", market="KOSDAQ")
    frame = swing_series("5m", date(2025, 10, 1), date(2025, 11, 20), seed=11)
    make_candles(intraday, "5m", frame.iloc[-(2_000 + HISTORY_BARS) :])
    for stock, tf in ((daily, "1d"), (intraday, "5m")):
        series_analyze(stock=stock, timeframe=tf)


def _scanner_rows() -> None:
    now = timezone.now()
    kinds = ["DT", "DB", "HS", "IHS"]
    statuses = ["completed", "forming", "invalidated"]
    cutoffs = [trading_days_cutoff(d) for d in range(1, 61)]
    stocks = Stock.objects.bulk_create(
        Stock(code=f"{PREFIX}{i + 100:04d}", name=f"bench scan {i}", market="KOSPI")
        for i in range(SCANNER_STOCKS)
    )
    runs = AnalysisRun.objects.bulk_create(
        AnalysisRun(
            stock=stock,
            timeframe="1d",
            params_hash="bench",
            params={},
            is_default=True,
            engine_version="bench",
            bars=1000,
            first_bar_ts=now - timedelta(days=1500),
            last_bar_ts=now,
            bars_fingerprint="bench",
            last_close=10_000.0 + 37 * i,
            trend_state=["up", "down", "sideways"][i % 3],
            trend_since_ts=now - timedelta(days=i % 40),
            result={},
            analysed_at=now,
            duration_ms=1.0,
        )
        for i, stock in enumerate(stocks)
    )
    rows = []
    for i, run in enumerate(runs):
        for j in range(PATTERNS_PER_STOCK):
            end = cutoffs[(i + j) % len(cutoffs)] + timedelta(hours=j % 7)
            rows.append(
                PatternInstance(
                    run=run,
                    stock=run.stock,
                    timeframe="1d",
                    pattern_type=kinds[j % 4],
                    status=statuses[(i + j) % 3],
                    start_ts=end - timedelta(days=40),
                    end_ts=end,
                    detected_ts=end,
                    points={},
                    neckline={"level": 10_000.0},
                    neckline_price=10_000.0 + 5 * j,
                    target=9_000.0 + 40 * j + i,
                    score=((i * 31 + j * 17) % 100) / 100,
                )
            )
    PatternInstance.objects.bulk_create(rows, batch_size=2_000)


def main() -> None:
    _cleanup()
    try:
        started = time.perf_counter()
        _series()
        _scanner_rows()
        print(f"setup: {time.perf_counter() - started:.1f} s", flush=True)
        user = get_user_model().objects.create_user(USERNAME, password="bench-only-password")
        client = Client(HTTP_HOST="127.0.0.1")  # an ALLOWED_HOSTS entry
        client.force_login(user)

        print("/api/radar (server time through the test client, 30 requests):")
        cases = [
            ("500 × 1d", DAILY, "1d", 500),
            ("5,000 × 1d", DAILY, "1d", 5_000),
            ("2,000 × 5m", INTRADAY, "5m", 2_000),
        ]
        for label, symbol, tf, bars in cases:
            for mode, stored in (("stored", "1"), ("on the fly", "0")):
                params = {"symbol": symbol, "tf": tf, "bars": bars, "stored": stored}
                body = client.get("/api/radar", params).json()
                assert body["analysis"]["source"] == ("stored" if stored == "1" else "computed")
                samples, size = _time(client, "/api/radar", params)
                print(f"  {label:11s} {mode:10s} {_stats(samples)}  {size / 1024:8.1f} KiB")

        samples, size = _time(
            client, "/radar/", {"symbol": DAILY, "tf": "1d", "ind": "sma20", "pane": "rsi"}
        )
        print(f"Radar page, 500 × 1d + SMA 20 + RSI: {_stats(samples)}  {size / 1024:.1f} KiB")

        total = PatternInstance.objects.filter(stock__code__startswith=PREFIX).count()
        print(f"/scanner/ with {total:,} stored pattern rows:")
        for label, params in [
            ("default (20 trading days)", {}),
            ("DB, by distance to target", {"type": "DB", "sort": "target", "days": "60"}),
            ("all, page 20", {"days": "60", "page": "20"}),
        ]:
            samples, size = _time(client, "/scanner/", params)
            print(f"  {label:27s} {_stats(samples)}  {size / 1024:6.1f} KiB")
    finally:
        _cleanup()
        Candle.objects.filter(stock__code__startswith=PREFIX).delete()

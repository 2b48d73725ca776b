"""Market-data ingestion figures.

(a) Storage: candles upserted per second by the ingestion path (`services.candles_upsert`, one
    `INSERT … ON CONFLICT DO UPDATE` per page of 900 bars, one transaction per page, as a
    backfill does) versus the same rows loaded by a plain `COPY` in the same run.
(b) API use: a backfill from the Kiwoom simulator with the shared limiter set to R req/s:
    achieved requests/s ÷ R, and the rate-limit errors (HTTP 429 / return code 1700) seen.
(c) The trading calendar: its first use in a fresh process (CPU seconds, the import of
    exchange-calendars and its lunar holiday rules included), then µs per call of
    `bar_start_for`, `bar_end` and `bar_starts` (a year's first `bar_starts` builds its grid).
"""

from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys
import time

from django.db import connection, transaction

from marketdata import services
from marketdata.kiwoom import Bar
from marketdata.krx_calendar import KST
from marketdata.models import Candle, Stock

STOCKS = 20
BARS_PER_STOCK = 10_000
PAGE = 900
RATE_LIMIT_RPS = 10.0


def _bars(count: int, seed: int) -> list[Bar]:
    rng = random.Random(seed)
    start = dt.datetime(2024, 1, 2, 9, 0, tzinfo=KST)
    price = 50_000.0
    bars = []
    for i in range(count):
        price = max(1000.0, price * (1 + rng.gauss(0, 0.003)))
        high = price * 1.002
        low = price * 0.998
        volume = rng.randint(100, 100_000)
        bars.append(
            Bar(
                ts=start + dt.timedelta(minutes=5 * i),
                open=price,
                high=high,
                low=low,
                close=price,
                volume=volume,
                traded_value=int(price * volume),
            )
        )
    return bars


def _stocks() -> list[Stock]:
    stocks = []
    for i in range(STOCKS):
        stock, _ = Stock.objects.update_or_create(
            code=f"B{i:05d}", defaults={"name": f"bench {i}", "market": "KOSPI"}
        )
        stocks.append(stock)
    return stocks


def bench_storage() -> None:
    stocks = _stocks()
    series = {stock.pk: _bars(BARS_PER_STOCK, seed=stock.pk) for stock in stocks}
    total = STOCKS * BARS_PER_STOCK
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)  # every bar final
    Candle.objects.filter(stock__in=stocks).delete()

    started = time.perf_counter()
    for stock in stocks:
        bars = series[stock.pk]
        for offset in range(0, len(bars), PAGE):
            with transaction.atomic():
                services.candles_upsert(
                    stock=stock, timeframe="5m", bars=bars[offset : offset + PAGE], now=now
                )
    upsert_seconds = time.perf_counter() - started

    started = time.perf_counter()
    for stock in stocks:
        bars = series[stock.pk]
        for offset in range(0, len(bars), PAGE):
            with transaction.atomic():
                services.candles_upsert(
                    stock=stock, timeframe="5m", bars=bars[offset : offset + PAGE], now=now
                )
    reupsert_seconds = time.perf_counter() - started

    Candle.objects.filter(stock__in=stocks).delete()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        columns = (
            "stock_id, timeframe, ts, open, high, low, close, volume, traded_value, "
            "is_final, fetched_at"
        )
        with cursor.cursor.copy(f"COPY marketdata_candle ({columns}) FROM STDIN") as copy:
            for stock in stocks:
                for b in series[stock.pk]:
                    copy.write_row(
                        (
                            stock.pk,
                            "5m",
                            b.ts,
                            b.open,
                            b.high,
                            b.low,
                            b.close,
                            b.volume,
                            b.traded_value,
                            True,
                            now,
                        )
                    )
    copy_seconds = time.perf_counter() - started
    Candle.objects.filter(stock__in=stocks).delete()

    upsert_rate = total / upsert_seconds
    copy_rate = total / copy_seconds
    print(f"storage: {total:,} candles ({STOCKS} series × {BARS_PER_STOCK:,}), pages of {PAGE}")
    print(f"  ingestion upsert (new rows):       {upsert_rate:12,.0f} candles/s")
    print(f"  ingestion upsert (unchanged rows): {total / reupsert_seconds:12,.0f} candles/s")
    print(f"  plain COPY:                        {copy_rate:12,.0f} candles/s")
    print(f"  upsert / COPY ratio:               {upsert_rate / copy_rate:12.2f} (aim ≥ 0.33)")


def bench_api_use() -> None:
    from marketdata.kiwoom import KiwoomClient
    from marketdata.simulator.server import SimulatorServer

    rps = RATE_LIMIT_RPS
    server = SimulatorServer(
        now=dt.datetime(2026, 3, 4, 16, 0, tzinfo=KST), page_size=60, max_rps=rps
    ).start()
    try:
        server.warm_up()
        client = KiwoomClient.from_settings(base_url=server.url, max_rps=rps)
        client.redis.delete(client.limiter.key)
        services.stocks_sync(client=client)
        stocks = list(Stock.objects.analysis_targets()[:6])
        Candle.objects.filter(stock__in=stocks).delete()
        server.reset()
        started = time.perf_counter()
        for stock in stocks:
            services.series_backfill(
                stock=stock, timeframe="1d", since=dt.date(2023, 3, 2), client=client
            )
        elapsed = time.perf_counter() - started
        log = [r for r in server.requests() if r["api_id"] == "ka10081"]
        limited = sum(1 for r in log if r["status"] == 429 or r["return_code"] == 1700)
        instants = sorted(r["at"] for r in log)
        achieved = (len(instants) - 1) / (instants[-1] - instants[0])
        Candle.objects.filter(stock__in=stocks).delete()
        client.close()
    finally:
        server.stop()
    print(f"API use: backfill of {len(stocks)} daily series, limit R = {rps:g} req/s")
    print(f"  requests:                          {len(log):12d} in {elapsed:.1f} s")
    print(f"  achieved requests/s:               {achieved:12.2f}")
    print(f"  achieved / R:                      {achieved / rps:12.2f} (aim ≥ 0.9)")
    print(f"  rate-limit errors (429 / 1700):    {limited:12d} (aim 0)")


def _per_call_us(call, arguments: list) -> float:
    started = time.perf_counter()
    for argument in arguments:
        call(argument)
    return (time.perf_counter() - started) / len(arguments) * 1e6


def bench_calendar() -> None:
    from marketdata import krx_calendar as cal

    script = (
        "import time, datetime; t = time.process_time(); "
        "from marketdata import krx_calendar as cal; "
        "cal.is_trading_day(datetime.date(2024, 1, 2)); print(time.process_time() - t)"
    )
    first_use = float(
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout
    )
    cal.is_trading_day(dt.date(2024, 1, 2))
    instants = [
        dt.datetime(2024, 3, 4, 9, tzinfo=KST) + dt.timedelta(minutes=7 * i) for i in range(20_000)
    ]
    starts = cal.bar_starts("5m", dt.date(2024, 3, 4), dt.date(2024, 6, 28))
    cal._year_bars.cache_clear()
    cold = _per_call_us(
        lambda d: cal.bar_starts("5m", d, d + dt.timedelta(days=90)), [dt.date(2024, 1, 1)]
    )
    quarter = _per_call_us(
        lambda d: cal.bar_starts("5m", d, d + dt.timedelta(days=90)), [dt.date(2024, 1, 1)] * 200
    )
    decade = _per_call_us(
        lambda d: cal.bar_starts("1d", d, d.replace(year=d.year + 10)), [dt.date(2014, 1, 1)] * 200
    )
    start_5m = _per_call_us(lambda t: cal.bar_start_for("5m", t), instants)
    start_1d = _per_call_us(lambda t: cal.bar_start_for("1d", t), instants)
    end_5m = _per_call_us(lambda t: cal.bar_end("5m", t), starts)
    print("calendar (exchange-calendars XKRX + overrides):")
    print(f"  first use in a fresh process:      {first_use:12.2f} s CPU")
    print(f"  bar_start_for 5m:                  {start_5m:12.2f} µs/call")
    print(f"  bar_start_for 1d:                  {start_1d:12.2f} µs/call")
    print(f"  bar_end 5m:                        {end_5m:12.2f} µs/call")
    print(f"  bar_starts 5m, a quarter:          {quarter:12.1f} µs/call")
    print(f"  … its year's first call:           {cold:12.0f} µs (builds the year's grid)")
    print(f"  bar_starts 1d, ten years:          {decade:12.1f} µs/call")


def main() -> None:
    bench_calendar()
    bench_storage()
    bench_api_use()

"""Alert evaluation at scale: 1,000 users x 50 rules after a full-universe daily collection.

Setup (not timed): 2,500 stocks with 400 synthetic daily bars each, analysed by the real engine
and stored (`analysis.services.series_analyze`), then evaluated once (the baseline). 1,000 users
each own a default watchlist of 30 random stocks and a named one of 20, and 50 rules: 25 pattern
rules and 10 trend rules on their watchlists, 5 pattern rules and 10 price-level rules (levels
within ±3 % of the last close, so some cross) on single stocks — 50,000 rules, about 600 of them
watching each series. One user in ten has e-mail on.

The collection: one new bar for every series, re-analysed (not timed). Then the evaluation of
every series, as the `alerts.evaluate_series` task runs it (`series_alerts_evaluate`, in this
process): wall time per series (p50/p95/max and mean) and, in a second pass from the same
starting point, SQL queries per series (min/median/max) — constant, whatever the rules.

Everything it creates is removed at the end; the evaluation's deliveries are not sent.
"""

from __future__ import annotations

import os
import random
import statistics
import time

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketdata.krx_calendar import KST

# BENCH_ALERTS_STOCKS shrinks the universe for a quicker run; the users shrink with it (2 per
# 5 stocks) so each series keeps the full size's ~600 watching rules.
STOCKS = int(os.environ.get("BENCH_ALERTS_STOCKS", "2500"))
BARS = 400
USERS = STOCKS * 2 // 5
DEFAULT_LIST, NAMED_LIST = 30, 20
PREFIX = "AL"
USER_PREFIX = "bench-alerts-"


def _walk(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 20_000 + 50 * np.cumsum(rng.integers(-8, 9, n)).astype(float)
    close = np.maximum(close, 1_000.0)
    open_ = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(open_, close) + 50 * rng.integers(0, 5, n)
    low = np.minimum(open_, close) - 50 * rng.integers(0, 5, n)
    index = pd.bdate_range("2024-01-01", periods=n, tz=KST)
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": 1e5}, index=index
    )


def _cleanup() -> None:
    from marketdata.models import Stock

    get_user_model().objects.filter(username__startswith=USER_PREFIX).delete()
    Stock.objects.filter(code__startswith=PREFIX).delete()


def _store_bars(stock, frame: pd.DataFrame) -> None:
    from marketdata.models import Candle

    now = timezone.now()
    Candle.objects.bulk_create(
        [
            Candle(
                stock=stock,
                timeframe="1d",
                ts=ts.to_pydatetime(),
                open=row.open,
                high=row.high,
                low=row.low,
                close=row.close,
                volume=int(row.volume),
                is_final=True,
                fetched_at=now,
            )
            for ts, row in zip(frame.index, frame.itertuples(), strict=True)
        ]
    )


def _progress(label: str, done: int, total: int, started: float) -> None:
    if done % 250 == 0 or done == total:
        rate = done / max(time.perf_counter() - started, 1e-9)
        eta = (total - done) / max(rate, 1e-9)
        print(f"  {label}: {done}/{total} ({rate:,.0f}/s, ETA {eta:,.0f} s)", flush=True)


def _universe() -> tuple[list, dict]:
    from analysis.services import series_analyze
    from marketdata.models import Market, Stock

    stocks = Stock.objects.bulk_create(
        [
            Stock(code=f"{PREFIX}{i:04d}", name=f"bench {i}", market=Market.KOSPI)
            for i in range(STOCKS)
        ]
    )
    frames = {}
    started = time.perf_counter()
    for done, stock in enumerate(stocks, start=1):
        frames[stock.pk] = _walk(BARS, seed=done)
        _store_bars(stock, frames[stock.pk].iloc[:-1])
        series_analyze(stock=stock, timeframe="1d")
        _progress("bars stored and analysed", done, STOCKS, started)
    return stocks, frames


def _rules(stocks: list, frames: dict) -> int:
    from alerts.models import (
        PATTERN_STATUS_FLAGS,
        PATTERN_TYPE_FLAGS,
        TIMEFRAME_FLAGS,
        TREND_STATE_FLAGS,
        AlertPatternStatus,
        AlertRule,
        NotificationSettings,
        RuleKind,
        Watchlist,
        WatchlistItem,
    )
    from analysis.models import DetectedPatternType, TrendState

    rng = random.Random(16)
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"{USER_PREFIX}{i}") for i in range(USERS)]
    )
    NotificationSettings.objects.bulk_create(
        [
            NotificationSettings(user=u, email_enabled=True, email=f"{u.username}@example.com")
            for u in users[::10]
        ]
    )
    lists = Watchlist.objects.bulk_create(
        [Watchlist(owner=u, name="Watchlist", is_default=True, position=0) for u in users]
        + [Watchlist(owner=u, name="Named", position=1) for u in users]
    )
    items = []
    for watchlist in lists:
        size = DEFAULT_LIST if watchlist.is_default else NAMED_LIST
        for position, stock in enumerate(rng.sample(stocks, size)):
            items.append(WatchlistItem(watchlist=watchlist, stock=stock, position=position))
    WatchlistItem.objects.bulk_create(items, batch_size=5000)
    by_owner = {}
    for watchlist in lists:
        by_owner.setdefault(watchlist.owner_id, []).append(watchlist)
    types, statuses = DetectedPatternType.values, AlertPatternStatus.values
    daily = TIMEFRAME_FLAGS.mask(["1d"])
    rules = []
    for user in users:
        for k in range(50):
            common = {"owner": user, "timeframes": daily | (TIMEFRAME_FLAGS.mask(["1w"]) * (k % 2))}
            if k < 25:
                rules.append(
                    AlertRule(
                        **common,
                        kind=RuleKind.PATTERN,
                        watchlist=by_owner[user.pk][k % 2],
                        pattern_types=PATTERN_TYPE_FLAGS.mask(rng.sample(types, 2)),
                        pattern_statuses=PATTERN_STATUS_FLAGS.mask(rng.sample(statuses, 2)),
                    )
                )
            elif k < 35:
                rules.append(
                    AlertRule(
                        **common,
                        kind=RuleKind.TREND,
                        watchlist=by_owner[user.pk][k % 2],
                        trend_states=TREND_STATE_FLAGS.mask(rng.sample(TrendState.values, 1)),
                    )
                )
            elif k < 40:
                rules.append(
                    AlertRule(
                        **common,
                        kind=RuleKind.PATTERN,
                        stock=rng.choice(stocks),
                        pattern_types=PATTERN_TYPE_FLAGS.mask(types),
                        pattern_statuses=PATTERN_STATUS_FLAGS.mask(statuses),
                    )
                )
            else:
                stock = rng.choice(stocks)
                last = float(frames[stock.pk]["close"].iloc[-2])
                rules.append(
                    AlertRule(
                        **common,
                        kind=RuleKind.PRICE,
                        stock=stock,
                        level=round(last * rng.uniform(0.97, 1.03), -1),
                        direction=rng.choice(["up", "down", "any"]),
                    )
                )
    AlertRule.objects.bulk_create(rules, batch_size=5000)
    return len(rules)


def _evaluate_all(
    stocks: list, *, capture: bool
) -> tuple[list[float], list[float], list[int], int]:
    from alerts.services import series_alerts_evaluate

    times, cpu, queries, notified = [], [], [], 0
    for stock in stocks:
        if capture:
            # The connection's query log holds 9,000 entries; once full, a capture counts 0.
            reset_queries()
            with CaptureQueriesContext(connection) as captured:
                result = series_alerts_evaluate(stock_id=stock.pk, timeframe="1d")
            queries.append(len(captured))
        else:
            started, started_cpu = time.perf_counter(), time.process_time()
            result = series_alerts_evaluate(stock_id=stock.pk, timeframe="1d")
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        notified += len(result.notifications)
    return times, cpu, queries, notified


def main() -> None:
    from alerts.models import Delivery, EvaluatedSeries, Notification
    from alerts.services import series_alerts_evaluate
    from alerts.tasks import series_analysed_receiver
    from analysis.services import series_analyze
    from analysis.signals import series_analysed

    # The bench calls the evaluation itself; the signal's task would only queue duplicates.
    series_analysed.disconnect(dispatch_uid="alerts.evaluate_series")
    _cleanup()
    try:
        print(f"setup: {STOCKS:,} stocks x {BARS} daily bars, {USERS:,} users x 50 rules")
        stocks, frames = _universe()
        for stock in stocks:
            series_alerts_evaluate(stock_id=stock.pk, timeframe="1d")  # baseline
        rules = _rules(stocks, frames)
        print(f"  {rules:,} rules, {USERS * 2:,} watchlists", flush=True)

        started = time.perf_counter()
        for done, stock in enumerate(stocks, start=1):
            _store_bars(stock, frames[stock.pk].iloc[-1:])
            series_analyze(stock=stock, timeframe="1d")
            _progress("collection: one new bar re-analysed", done, STOCKS, started)

        started = time.perf_counter()
        times, cpu, _, notified = _evaluate_all(stocks, capture=False)
        wall = time.perf_counter() - started
        deliveries = Delivery.objects.filter(notification__owner__username__startswith=USER_PREFIX)
        delivery_count = deliveries.count()

        # The same evaluation again from the same starting point, counting queries.
        Notification.objects.filter(owner__username__startswith=USER_PREFIX).delete()
        EvaluatedSeries.objects.filter(stock__code__startswith=PREFIX).update(
            last_bar_ts=frames[stocks[0].pk].index[-2].to_pydatetime()
        )
        _, _, queries, notified_again = _evaluate_all(stocks, capture=True)

        ordered = sorted(times)
        p95 = ordered[int(round(0.95 * (len(ordered) - 1)))]
        print(
            f"evaluation after the collection, {len(stocks):,} series: {wall:.1f} s wall; "
            f"per series p50 {statistics.median(times) * 1000:.2f} ms, "
            f"p95 {p95 * 1000:.2f} ms, max {ordered[-1] * 1000:.2f} ms, "
            f"mean {statistics.fmean(times) * 1000:.2f} ms (aim < 5 ms)"
        )
        ordered_cpu = sorted(cpu)
        print(
            f"CPU of this process per series: p50 {statistics.median(cpu) * 1000:.2f} ms, "
            f"p95 {ordered_cpu[int(round(0.95 * (len(cpu) - 1)))] * 1000:.2f} ms, "
            f"mean {statistics.fmean(cpu) * 1000:.2f} ms; load average {os.getloadavg()[0]:.1f}"
        )
        print(
            f"queries per series: min {min(queries)}, median {statistics.median(queries):.0f}, "
            f"max {max(queries)} ({rules:,} rules in all)"
        )
        print(
            f"notifications: {notified:,} ({notified_again:,} on the counted pass), "
            f"{delivery_count:,} e-mail deliveries queued"
        )
    finally:
        series_analysed.connect(series_analysed_receiver, dispatch_uid="alerts.evaluate_series")
        _cleanup()

"""Alert evaluation at scale: 1,000 users x 50 rules after a full-universe daily collection.

Setup (not timed): 2,500 stocks with 400 synthetic daily bars each, analysed by the real engine
and stored (`analysis.services.series_analyze`), then evaluated once (the baseline). 1,000 users
each own a default watchlist of 30 random stocks and a named one of 20, and 50 rules: 25 pattern
rules and 10 trend rules on their watchlists, 5 pattern rules and 10 price-level rules (levels
within ±3 % of the last close, so some cross) on single stocks — 50,000 rules, about 600 of them
watching each series. One user in ten has e-mail on.

The collection: one new bar for every series, re-analysed and marked pending as the
`series_analysed` receiver does (not timed). Then the evaluation as the `alerts.evaluate_pending`
tasks run it (`pending_alerts_evaluate`, in this process): batches of `EVALUATION_BATCH` series
claimed and evaluated until none is pending. Reported per series: wall time and the CPU time of
this process and of its PostgreSQL backend (from /proc, so the figures mean something on a loaded
machine), and per batch; then, in a second pass from the same starting point, the SQL queries per
batch — constant, whatever the series and the rules.

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


def _backend_cpu() -> float | None:
    """CPU seconds used so far by this connection's PostgreSQL backend (same machine only)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _evaluate_pending(*, capture: bool) -> dict:
    """Runs `pending_alerts_evaluate` until nothing is pending, timing each batch (or counting
    its queries)."""
    from alerts.services import EVALUATION_BATCH, pending_alerts_evaluate

    out = {"wall": [], "cpu": [], "sizes": [], "queries": [], "notified": 0, "backend": None}
    backend_before = _backend_cpu()
    while True:
        if capture:
            # The connection's query log holds 9,000 entries; once full, a capture counts 0.
            reset_queries()
            with CaptureQueriesContext(connection) as captured:
                batch = pending_alerts_evaluate(limit=EVALUATION_BATCH)
            if batch.claimed:
                out["queries"].append(len(captured))
        else:
            started, started_cpu = time.perf_counter(), time.process_time()
            batch = pending_alerts_evaluate(limit=EVALUATION_BATCH)
            if batch.claimed:
                out["wall"].append(time.perf_counter() - started)
                out["cpu"].append(time.process_time() - started_cpu)
        if not batch.claimed:
            break
        out["sizes"].append(batch.claimed)
        out["notified"] += batch.notifications
    backend_after = _backend_cpu()
    if backend_before is not None and backend_after is not None:
        out["backend"] = backend_after - backend_before
    return out


def _mark_all(stocks: list) -> None:
    from alerts.services import series_pending_add

    for stock in stocks:
        series_pending_add(stock_id=stock.pk, timeframe="1d")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def main() -> None:
    from alerts.models import Delivery, EvaluatedSeries, Notification
    from alerts.services import EVALUATION_BATCH
    from alerts.tasks import series_analysed_receiver
    from analysis.services import series_analyze
    from analysis.signals import series_analysed

    # The bench marks the series pending itself, as the receiver would, without queuing tasks
    # (no worker listens; it evaluates in this process).
    series_analysed.disconnect(dispatch_uid="alerts.evaluate_series")
    _cleanup()
    try:
        print(f"setup: {STOCKS:,} stocks x {BARS} daily bars, {USERS:,} users x 50 rules")
        stocks, frames = _universe()
        _mark_all(stocks)
        _evaluate_pending(capture=False)  # the baseline
        rules = _rules(stocks, frames)
        print(f"  {rules:,} rules, {USERS * 2:,} watchlists", flush=True)

        started = time.perf_counter()
        for done, stock in enumerate(stocks, start=1):
            _store_bars(stock, frames[stock.pk].iloc[-1:])
            series_analyze(stock=stock, timeframe="1d")
            _progress("collection: one new bar re-analysed", done, STOCKS, started)
        _mark_all(stocks)

        load = os.getloadavg()
        started = time.perf_counter()
        timed = _evaluate_pending(capture=False)
        wall = time.perf_counter() - started
        deliveries = Delivery.objects.filter(notification__owner__username__startswith=USER_PREFIX)
        delivery_count = deliveries.count()

        # The same evaluation again from the same starting point, counting queries.
        Notification.objects.filter(owner__username__startswith=USER_PREFIX).delete()
        EvaluatedSeries.objects.filter(stock__code__startswith=PREFIX).update(
            last_bar_ts=frames[stocks[0].pk].index[-2].to_pydatetime()
        )
        _mark_all(stocks)
        counted = _evaluate_pending(capture=True)

        n = sum(timed["sizes"])
        batches, queries = timed["wall"], counted["queries"]
        ordered = sorted(batches)
        p95 = ordered[int(round(0.95 * (len(ordered) - 1)))]
        print(
            f"evaluation after the collection, {n:,} series in {len(batches)} batches of up to "
            f"{EVALUATION_BATCH}: {wall:.2f} s wall, per series {_ms(wall / n)} wall "
            f"(aim < 5 ms), {_ms(sum(timed['cpu']) / n)} CPU of this process"
            + (
                f", {_ms(timed['backend'] / n)} CPU of its PostgreSQL backend"
                if timed["backend"] is not None
                else ""
            )
        )
        print(
            f"per batch: p50 {_ms(statistics.median(batches))}, p95 {_ms(p95)}, "
            f"max {_ms(ordered[-1])} wall, CPU p50 {_ms(statistics.median(timed['cpu']))}; "
            f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} before, "
            f"{os.getloadavg()[0]:.1f} after"
        )
        print(
            f"queries per batch: min {min(queries)}, median {statistics.median(queries):.0f}, "
            f"max {max(queries)}; per series {sum(queries) / n:.2f} ({rules:,} rules in all)"
        )
        print(
            f"notifications: {timed['notified']:,} ({counted['notified']:,} on the counted "
            f"pass), {delivery_count:,} e-mail deliveries queued"
        )
    finally:
        series_analysed.connect(series_analysed_receiver, dispatch_uid="alerts.evaluate_series")
        _cleanup()

"""Hand-built series and stored analysis runs for the alert tests.

`SeriesBuilder` stores daily bars one at a time and, with each step, a default-parameter
`AnalysisRun` whose patterns and trend periods the test chooses — so each test states exactly
which events exist at which bar, independent of the detection engine.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from django.utils import timezone

from alerts.models import (
    TIMEFRAME_FLAGS,
    AlertRule,
    Notification,
    RuleKind,
    Watchlist,
    WatchlistItem,
)
from analysis.models import AnalysisRun, PatternInstance, TrendPeriod
from analysis.services import params_for, params_hash
from marketdata.krx_calendar import KST
from marketdata.models import Candle, Stock
from marketdata.tests.factories import make_stock


def daily_instants(n: int, start: str = "2025-01-02") -> list[datetime]:
    """`n` weekday dates at 00:00 KST, as aware datetimes."""
    return [ts.to_pydatetime() for ts in pd.bdate_range(start, periods=n, tz=KST)]


class SeriesBuilder:
    """One stock's daily series; `step()` appends bars and rewrites the stored run."""

    def __init__(self, stock: Stock, timeframe: str = "1d", start: str = "2025-01-02"):
        self.stock = stock
        self.timeframe = timeframe
        self.instants = daily_instants(2000, start)
        self.bars = 0
        self.patterns: list[dict] = []
        self.trends: list[dict] = []

    def ts(self, i: int) -> datetime:
        """The instant of bar `i` (negative: from the end of the stored bars)."""
        return self.instants[i if i >= 0 else self.bars + i]

    def add_bars(self, closes: list[float], *, spread: float = 100.0, lows=None, highs=None):
        now = timezone.now()
        rows = []
        for k, close in enumerate(closes):
            i = self.bars + k
            rows.append(
                Candle(
                    stock=self.stock,
                    timeframe=self.timeframe,
                    ts=self.instants[i],
                    open=close,
                    high=highs[k] if highs else close + spread,
                    low=lows[k] if lows else close - spread,
                    close=close,
                    volume=1000,
                    is_final=True,
                    fetched_at=now,
                )
            )
        Candle.objects.bulk_create(rows)
        self.bars += len(closes)

    def pattern(
        self,
        *,
        type: str = "DT",
        status: str = "forming",
        start: int,
        detected: int,
        end: int | None = None,
        target: float = 9000.0,
        neckline: float = 9500.0,
        prices: tuple[float, ...] = (11000.0, 9500.0, 10900.0),
    ) -> dict:
        """A pattern row for the next `store()` (bar positions; `end` None = the last bar)."""
        row = {
            "type": type,
            "status": status,
            "start": start,
            "detected": detected,
            "end": end,
            "target": target,
            "neckline": neckline,
            "prices": prices,
        }
        self.patterns.append(row)
        return row

    def trend(self, *, direction: str, start: int, end: int | None = None) -> dict:
        """A trend period for the next `store()` (`end` None = ongoing to the last bar)."""
        row = {"direction": direction, "start": start, "end": end}
        self.trends.append(row)
        return row

    def store(self) -> AnalysisRun:
        """Writes the default run of the series as it stands (replacing its rows)."""
        last = self.bars - 1
        params = params_for(None)
        close = Candle.objects.get(
            stock=self.stock, timeframe=self.timeframe, ts=self.instants[last]
        ).close
        ongoing = [t for t in self.trends if t["start"] <= last and (t["end"] or last + 1) > last]
        run, _ = AnalysisRun.objects.update_or_create(
            stock=self.stock,
            timeframe=self.timeframe,
            params_hash=params_hash(params),
            defaults={
                "params": params,
                "is_default": True,
                "engine_version": "test",
                "bars": self.bars,
                "first_bar_ts": self.instants[0],
                "last_bar_ts": self.instants[last],
                "bars_fingerprint": str(self.bars),
                "last_close": close,
                "trend_state": ongoing[-1]["direction"] if ongoing else "sideways",
                "result": {},
                "analysed_at": timezone.now(),
                "duration_ms": 1.0,
            },
        )
        PatternInstance.objects.filter(run=run).delete()
        TrendPeriod.objects.filter(run=run).delete()
        for p in self.patterns:
            if p["detected"] > last:
                continue  # not known yet at this step (causal, as the engine)
            end = last if p["end"] is None or p["end"] > last else p["end"]
            status = p["status"] if p["end"] is not None and p["end"] <= last else "forming"
            roles = ["P1", "V1", "P2", "V2", "P3", "V3"][: len(p["prices"])]
            PatternInstance.objects.create(
                run=run,
                stock=self.stock,
                timeframe=self.timeframe,
                pattern_type=p["type"],
                status=status,
                start_ts=self.instants[p["start"]],
                end_ts=self.instants[end],
                detected_ts=self.instants[p["detected"]],
                points={
                    role: {"ts": self.instants[p["start"]].isoformat(), "price": price}
                    for role, price in zip(roles, p["prices"], strict=True)
                },
                neckline={"level": p["neckline"]},
                neckline_price=p["neckline"],
                target=p["target"],
                score=0.5,
            )
        for t in self.trends:
            if t["start"] > last:
                continue
            ended = t["end"] is not None and t["end"] <= last
            TrendPeriod.objects.create(
                run=run,
                stock=self.stock,
                timeframe=self.timeframe,
                direction=t["direction"],
                start_ts=self.instants[t["start"]],
                end_ts=self.instants[t["end"] if ended else last],
                ongoing=not ended,
            )
        return run


def make_watchlist(user, name: str = "Watchlist", stocks=(), *, default: bool = True):
    watchlist, _ = Watchlist.objects.get_or_create(
        owner=user, name=name, defaults={"is_default": default}
    )
    for position, stock in enumerate(stocks):
        WatchlistItem.objects.get_or_create(
            watchlist=watchlist, stock=stock, defaults={"position": position}
        )
    return watchlist


def make_rule(user, **fields) -> AlertRule:
    """An active rule; pass masks (e.g. `timeframes=TIMEFRAME_FLAGS.mask(["1d"])`)."""
    fields.setdefault("timeframes", TIMEFRAME_FLAGS.mask(["1d"]))
    return AlertRule.objects.create(owner=user, **fields)


def make_notification(owner, stock, **fields) -> Notification:
    """An unread pattern notification of `owner` on `stock` (1d, bar 2026-03-04 KST)."""
    fields.setdefault("event_key", f"{stock.code}:1d:test:{Notification.objects.count()}")
    fields.setdefault("title", f"{stock.code} {stock.name} 1d: Double top completed (confirmed)")
    return Notification.objects.create(
        owner=owner,
        stock=stock,
        timeframe="1d",
        kind=RuleKind.PATTERN,
        bar_ts="2026-03-04T00:00:00+09:00",
        body="Bar 2026-03-04 (Wed) (KST).",
        **fields,
    )


# A walk of the real engine (seed 7, 700 bars) with a double bottom that forms and then breaks
# its neckline near the end: detected at bar 664, completed at bar 673. Storing the first
# NECKLINE_FORMING bars shows it forming; adding bars up to NECKLINE_BROKEN completes it.
NECKLINE_SEED = 7
NECKLINE_FORMING = 670
NECKLINE_BROKEN = 676
NECKLINE_COMPLETION_BAR = 673


def random_walk(n: int, seed: int = 7, start: str = "2023-01-02") -> pd.DataFrame:
    """A daily OHLCV random walk in KRW on weekdays (for runs of the real engine)."""
    rng = np.random.default_rng(seed)
    close = 50_000 + 100 * np.cumsum(rng.integers(-8, 9, n)).astype(float)
    open_ = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(open_, close) + 100 * rng.integers(0, 5, n)
    low = np.minimum(open_, close) - 100 * rng.integers(0, 5, n)
    index = pd.bdate_range(start, periods=n, tz=KST)
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": 1e6}, index=index
    )


__all__ = [
    "SeriesBuilder",
    "daily_instants",
    "make_notification",
    "make_rule",
    "make_stock",
    "make_watchlist",
    "random_walk",
]

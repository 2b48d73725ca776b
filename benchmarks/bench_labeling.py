"""Pattern-labeling figures, through the Django test client against the bench database.

(a) Save a label: `POST /labels/new` (full page, bar snapping + label + revision), p50/p95 over
    50 saves on a series of 2,000 daily bars.
(b) The list page `/labels/` with 10,000 labels of one user (first page, 50 rows): p50/p95 over
    30 requests, and the same with a pattern-type filter.
(c) CSV export of the 10,000 labels (`/labels/export.csv`, streamed): time (p50 of 5) and bytes.

Everything it creates (user, stock, bars, labels) is removed at the end.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time

from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from labeling.models import Label, LabelPatternType
from marketdata.krx_calendar import KST
from marketdata.models import Candle, Stock

SYMBOL = "LB0001"
BARS = 2_000
SAVES = 50
LABELS = 10_000
LIST_REQUESTS = 30
EXPORT_REPEATS = 5


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"p50 {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


def _cleanup() -> None:
    user_model = get_user_model()
    Label.objects.filter(owner__username="bench-labeler").delete()
    Candle.objects.filter(stock__code=SYMBOL).delete()
    Stock.objects.filter(code=SYMBOL).delete()
    user_model.objects.filter(username="bench-labeler").delete()


def _setup():
    _cleanup()
    user = get_user_model().objects.create_user("bench-labeler", password="bench-only-password")
    stock = Stock.objects.create(code=SYMBOL, name="bench labeling", market="KOSPI")
    day = dt.date(2017, 1, 2)
    days = []
    while len(days) < BARS:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    now = timezone.now()
    Candle.objects.bulk_create(
        [
            Candle(
                stock=stock,
                timeframe="1d",
                ts=dt.datetime.combine(d, dt.time(0), tzinfo=KST),
                open=10_000 + i,
                high=10_100 + i,
                low=9_900 + i,
                close=10_050 + i,
                volume=1_000 + i,
                is_final=True,
                fetched_at=now,
            )
            for i, d in enumerate(days)
        ],
        batch_size=1000,
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return user, stock, days, client


def main() -> None:
    user, stock, days, client = _setup()
    try:
        types = LabelPatternType.values
        save_times = []
        for i in range(SAVES):
            start = days[100 + i * 10]
            data = {
                "symbol": SYMBOL,
                "timeframe": "1d",
                "pattern_type": types[i % len(types)],
                "start": start.isoformat(),
                "end": days[100 + i * 10 + 15].isoformat(),
                "outcome": "unknown",
                "notes": "bench",
                "tags": "bench",
            }
            started = time.perf_counter()
            response = client.post("/labels/new/", data)
            save_times.append(time.perf_counter() - started)
            assert response.status_code == 302, response.status_code
        print(f"save a label (POST /labels/new, {SAVES} saves): {_ms(save_times)}")

        Label.objects.filter(owner=user).delete()
        Label.objects.bulk_create(
            [
                Label(
                    owner=user,
                    stock=stock,
                    timeframe="1d",
                    pattern_type=types[i % len(types)],
                    start_ts=dt.datetime.combine(days[i % (BARS - 20)], dt.time(0), tzinfo=KST),
                    end_ts=dt.datetime.combine(days[i % (BARS - 20) + 10], dt.time(0), tzinfo=KST),
                    direction="neutral",
                    notes=f"bench label {i}, with a comma",
                    tags=["bench", f"t{i % 7}"],
                )
                for i in range(LABELS)
            ],
            batch_size=2000,
        )
        for label, params in (("all", {}), ("filtered by type", {"pattern_type": "DB"})):
            times = []
            for _ in range(LIST_REQUESTS):
                started = time.perf_counter()
                response = client.get("/labels/", params)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200
            print(
                f"list page /labels/ ({label}) with {LABELS:,} labels, 50 rows/page: {_ms(times)}"
            )

        times = []
        size = 0
        for _ in range(EXPORT_REPEATS):
            started = time.perf_counter()
            response = client.get("/labels/export.csv")
            size = sum(len(chunk) for chunk in response.streaming_content)
            times.append(time.perf_counter() - started)
        print(
            f"CSV export of {LABELS:,} labels: p50 {statistics.median(times) * 1000:.0f} ms, "
            f"{size:,} bytes ({size / LABELS:.0f} bytes/label)"
        )
    finally:
        _cleanup()

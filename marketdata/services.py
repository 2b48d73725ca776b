"""Writes for market data: the stock master, candle series and their bookkeeping.

Every series operation pages Kiwoom newest-first and upserts each page in its own transaction
(`INSERT … ON CONFLICT (stock_id, timeframe, ts) DO UPDATE`, one statement per page), so an
interrupted run leaves a contiguous, duplicate-free range that the next run extends. Rows whose
values did not change are not rewritten: running twice changes nothing.

`now` (aware) is the clock used to decide whether a bar is final (see `krx_calendar.bar_end`);
it defaults to the wall clock and tests pass the simulator's clock.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from . import krx_calendar
from .hangul import initials
from .kiwoom import (
    MARKET_CODES,
    Bar,
    KiwoomClient,
    KiwoomError,
    StockInfo,
    current_trading_day,
    kst_midnight,
)
from .krx_calendar import INTRADAY_MINUTES, KST, TIMEFRAMES
from .models import Candle, IngestionRun, IngestionRunSeries, Stock, SyncState

logger = logging.getLogger(__name__)

# How far back a backfill reaches by default (the original loader's depths).
DEFAULT_DEPTH: dict[str, dt.timedelta] = {
    "5m": dt.timedelta(days=91),
    "30m": dt.timedelta(days=182),
    "1h": dt.timedelta(days=365),
    "1d": dt.timedelta(days=5 * 365 + 1),
    "1w": dt.timedelta(days=10 * 365 + 2),
    "1mo": dt.timedelta(days=10 * 365 + 2),
}
# How far before the oldest forming (or newest) stored bar an incremental collection re-reads,
# so a bar Kiwoom revised after we stored it (late trades, after-hours volume) is corrected.
COLLECT_OVERLAP: dict[str, dt.timedelta] = {
    "5m": dt.timedelta(minutes=15),
    "30m": dt.timedelta(hours=1),
    "1h": dt.timedelta(hours=2),
    "1d": dt.timedelta(days=7),
    "1w": dt.timedelta(days=14),
    "1mo": dt.timedelta(days=62),
}

# Filter zero (docs/architecture.md#market-data-conventions).
EXCLUDED_NAME_WORDS = ("ETN", "ETF", "TIGER", "KODEX", "ARIRANG", "KINDEX", "HANARO", "스팩")
EXCLUDED_NAME_WORDS += ("선물", "인버스", "리츠")
EXCLUDED_STATE_WORDS = ("관리종목", "거래정지", "증거금100%")
EXCLUDED_MARKET_WORDS = ("ETF", "ETN", "KONEX")
MIN_MARKET_CAP_KRW = 100_000_000_000

ANALYSIS_TASK = "analysis.analyze_series"
LONGEST_BAR = dt.timedelta(days=32)  # a monthly bar, with margin

ERROR_UNKNOWN_TIMEFRAME = "Unknown timeframe {timeframe!r}; use one of 5m, 30m, 1h, 1d, 1w, 1mo"
ERROR_UNKNOWN_CODE = "Unknown stock code {code!r}: not in the stock master (run sync_stocks)"
ERROR_EMPTY_MASTER = "Kiwoom returned no stocks for KOSPI and KOSDAQ; nothing was changed"
ERROR_SINCE_AFTER_UNTIL = "--since {since} is after --until {until}"
ERROR_OUTSIDE_CALENDAR = (
    "{day} is outside the KRX calendar ({first}–{last}): no sessions are known there"
)
ERROR_ABANDONED = (
    "abandoned at {at}: {missing} of {total} series never reported (a worker was lost or a "
    "task dropped)"
)


class IngestionError(Exception):
    """A request the services refuse (unknown code, bad timeframe or dates)."""


@dataclass
class SeriesResult:
    """What one series operation did. `changed` counts bars inserted or updated."""

    code: str
    timeframe: str
    pages: int = 0
    fetched: int = 0
    changed: int = 0
    requests: int = 0
    missing_after: int = 0
    gaps: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)

    @property
    def bars_changed(self) -> bool:
        return self.changed > 0


# A progress callback gets (result so far, fraction of the series done in 0..1).
Progress = Callable[[SeriesResult, float], None]


@dataclass
class StocksSyncResult:
    created: int
    updated: int
    deactivated: int
    reactivated: int
    active: int
    analysis_targets: int


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _check_timeframe(timeframe: str) -> None:
    if timeframe not in TIMEFRAMES:
        raise IngestionError(ERROR_UNKNOWN_TIMEFRAME.format(timeframe=timeframe))


def stock_get(*, code: str) -> Stock:
    """The stock with `code`, or IngestionError with ERROR_UNKNOWN_CODE."""
    try:
        return Stock.objects.get(code=code)
    except Stock.DoesNotExist:
        raise IngestionError(ERROR_UNKNOWN_CODE.format(code=code)) from None


# --- Stock master ------------------------------------------------------------------------


def passes_filter_zero(info: StockInfo) -> bool:
    """The original "filter zero": ordinary common stocks worth analysing
    (docs/architecture.md#market-data-conventions)."""
    name = info.name.upper()
    if any(word.upper() in name for word in EXCLUDED_NAME_WORDS):
        return False
    if any(word in info.state or word in info.audit_info for word in EXCLUDED_STATE_WORDS):
        return False
    if any(word in info.market_name.upper() for word in EXCLUDED_MARKET_WORDS):
        return False
    if info.order_warning != "0":
        return False
    if not info.last_price or not info.listed_shares:
        return False
    return info.last_price * info.listed_shares >= MIN_MARKET_CAP_KRW


def stocks_sync(*, client: KiwoomClient | None = None) -> StocksSyncResult:
    """Replaces the stock master with Kiwoom's KOSPI and KOSDAQ lists (ka10099).

    New codes become active, codes missing from the lists inactive, returning codes active
    again; every field and the filter-zero flag are refreshed. All lists are read before
    anything is written, and the write is one transaction.
    """
    owned = client is None
    client = client or KiwoomClient.from_settings()
    try:
        infos: dict[str, StockInfo] = {}
        for market in MARKET_CODES:
            for info in client.stock_list(market=market):
                infos[info.code] = info
    finally:
        if owned:
            client.close()
    if not infos:
        raise KiwoomError(ERROR_EMPTY_MASTER)

    field_names = [
        "name",
        "name_initials",
        "market",
        "industry",
        "listed_shares",
        "last_price",
        "state",
        "audit_info",
        "order_warning",
        "nxt_enabled",
        "listed_on",
        "is_active",
        "is_analysis_target",
    ]
    now = timezone.now()
    with transaction.atomic():
        existing = {stock.code: stock for stock in Stock.objects.select_for_update()}
        created, updated, reactivated = [], [], 0
        for code, info in infos.items():
            values = {
                "name": info.name,
                "name_initials": initials(info.name),
                "market": info.market,
                "industry": info.industry[:100],
                "listed_shares": info.listed_shares,
                "last_price": info.last_price,
                "state": info.state[:200],
                "audit_info": info.audit_info[:100],
                "order_warning": info.order_warning[:4],
                "nxt_enabled": info.nxt_enabled,
                "listed_on": info.listed_on,
                "is_active": True,
                "is_analysis_target": passes_filter_zero(info),
            }
            stock = existing.get(code)
            if stock is None:
                created.append(Stock(code=code, **values))
                continue
            if not stock.is_active:
                reactivated += 1
            if any(getattr(stock, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(stock, name, value)
                stock.updated_at = now
                updated.append(stock)
        Stock.objects.bulk_create(created, batch_size=1000)
        Stock.objects.bulk_update(updated, [*field_names, "updated_at"], batch_size=1000)
        missing = [code for code in existing if code not in infos]
        deactivated = Stock.objects.filter(code__in=missing, is_active=True).update(
            is_active=False, updated_at=now
        )
    return StocksSyncResult(
        created=len(created),
        updated=len(updated),
        deactivated=deactivated,
        reactivated=reactivated,
        active=Stock.objects.active().count(),
        analysis_targets=Stock.objects.analysis_targets().count(),
    )


# --- Candles -----------------------------------------------------------------------------

# Each page is COPYed into a session-private staging table, then upserted from it in one
# statement: COPY avoids psycopg building the parameters in Python (the dominant cost of binding
# nine arrays), and only new or changed rows are written.
_STAGE_TABLE_SQL = """
CREATE TEMP TABLE IF NOT EXISTS candle_stage (
    ts timestamptz, open float8, high float8, low float8, close float8,
    volume int8, traded_value int8, is_final bool
) ON COMMIT DELETE ROWS
"""
_STAGE_COPY_SQL = (
    "COPY candle_stage (ts, open, high, low, close, volume, traded_value, is_final) FROM STDIN"
)
_UPSERT_SQL = """
INSERT INTO marketdata_candle AS c
    (stock_id, timeframe, ts, open, high, low, close, volume, traded_value, is_final, fetched_at)
SELECT %s, %s, t.ts, t.open, t.high, t.low, t.close, t.volume, t.traded_value, t.is_final, %s
FROM candle_stage AS t
ON CONFLICT (stock_id, timeframe, ts) DO UPDATE SET
    open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
    volume = EXCLUDED.volume, traded_value = EXCLUDED.traded_value,
    is_final = EXCLUDED.is_final, fetched_at = EXCLUDED.fetched_at
WHERE (c.open, c.high, c.low, c.close, c.volume, c.traded_value, c.is_final)
    IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close,
                      EXCLUDED.volume, EXCLUDED.traded_value, EXCLUDED.is_final)
"""


def bar_is_final(*, timeframe: str, ts: dt.datetime, now: dt.datetime) -> bool:
    """True once the bar starting at `ts` can no longer change (its session part has closed)."""
    return now >= krx_calendar.bar_end(timeframe, ts)


def candles_upsert(
    *, stock: Stock, timeframe: str, bars: Iterable[Bar], now: dt.datetime | None = None
) -> int:
    """Inserts or updates `bars` of one series atomically; returns the rows written (new or
    changed). Finality is decided by `now`. Duplicate instants: the first one wins."""
    now = _now(now)
    unique: dict[dt.datetime, Bar] = {}
    for bar in bars:
        unique.setdefault(bar.ts, bar)
    if not unique:
        return 0
    rows = list(unique.values())
    settled = now - LONGEST_BAR  # bars that started before this have certainly ended
    finals = [b.ts < settled or bar_is_final(timeframe=timeframe, ts=b.ts, now=now) for b in rows]
    if connection.vendor != "postgresql":
        return _candles_upsert_portable(
            stock=stock, timeframe=timeframe, rows=rows, finals=finals, now=now
        )
    connection.ensure_connection()
    with transaction.atomic(), connection.connection.cursor() as cursor:
        # Bars are re-fetchable: a crash may lose the last few page commits (a resumed run
        # reads them again) but never leaves a half-written page, so the page commits need
        # not wait for the WAL flush.
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(_STAGE_TABLE_SQL)
        cursor.execute("TRUNCATE candle_stage")  # a page earlier in this transaction
        with cursor.copy(_STAGE_COPY_SQL) as copy:
            for bar, final in zip(rows, finals, strict=True):
                copy.write_row(
                    (
                        bar.ts,
                        bar.open,
                        bar.high,
                        bar.low,
                        bar.close,
                        bar.volume,
                        bar.traded_value,
                        final,
                    )
                )
        cursor.execute(_UPSERT_SQL, [stock.pk, timeframe, now])
        return cursor.rowcount


_CANDLE_VALUES = ("open", "high", "low", "close", "volume", "traded_value", "is_final")


def _candles_upsert_portable(
    *, stock: Stock, timeframe: str, rows: list[Bar], finals: list[bool], now: dt.datetime
) -> int:
    """The same upsert for databases without PostgreSQL's array binding (SQLite, used by a
    `make run` without DATABASE_URL): only new or changed rows are written."""
    stored = {
        values[0]: values[1:]
        for values in Candle.objects.filter(
            stock=stock, timeframe=timeframe, ts__in=[b.ts for b in rows]
        ).values_list("ts", *_CANDLE_VALUES)
    }
    changed = []
    for bar, final in zip(rows, finals, strict=True):
        values = (bar.open, bar.high, bar.low, bar.close, bar.volume, bar.traded_value, final)
        if stored.get(bar.ts) != values:
            changed.append(
                Candle(
                    stock=stock,
                    timeframe=timeframe,
                    ts=bar.ts,
                    fetched_at=now,
                    **dict(zip(_CANDLE_VALUES, values, strict=True)),
                )
            )
    Candle.objects.bulk_create(
        changed,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["stock", "timeframe", "ts"],
        update_fields=[*_CANDLE_VALUES, "fetched_at"],
    )
    return len(changed)


def _sync_state_refresh(*, stock: Stock, timeframe: str, success_at: dt.datetime | None) -> None:
    stats = Candle.objects.filter(stock=stock, timeframe=timeframe).aggregate(
        rows=Count("id"), first=Min("ts"), last=Max("ts")
    )
    values = {"rows": stats["rows"], "first_bar_ts": stats["first"], "last_bar_ts": stats["last"]}
    if success_at is not None:
        values.update(last_success_at=success_at, last_error="", last_error_at=None)
    SyncState.objects.update_or_create(stock=stock, timeframe=timeframe, defaults=values)


def _backfill_pending(*, stock: Stock, timeframe: str, since: dt.datetime) -> None:
    """Notes that a backfill from `since` has started: until one completes, the bars between
    `since` and the oldest stored bar count as missing (`SyncState.backfill_from`)."""
    with transaction.atomic():
        state, _ = SyncState.objects.select_for_update().get_or_create(
            stock=stock, timeframe=timeframe
        )
        if state.backfill_from is None or since < state.backfill_from:
            state.backfill_from = since
            state.save(update_fields=["backfill_from", "updated_at"])


def _backfill_completed(*, stock: Stock, timeframe: str, since: dt.datetime) -> None:
    """A fetch reaching back to `since` finished: a pending backfill from `since` or later is
    complete (what Kiwoom did not send before the oldest stored bar does not exist there)."""
    SyncState.objects.filter(stock=stock, timeframe=timeframe, backfill_from__gte=since).update(
        backfill_from=None
    )


def backfill_pending_from(*, stock: Stock, timeframe: str) -> dt.datetime | None:
    """Where an unfinished backfill of the series started, or None."""
    return (
        SyncState.objects.filter(stock=stock, timeframe=timeframe)
        .values_list("backfill_from", flat=True)
        .first()
    )


def sync_state_error(*, stock: Stock, timeframe: str, error: str) -> None:
    """Records the failure of one series (shown in the admin)."""
    SyncState.objects.update_or_create(
        stock=stock,
        timeframe=timeframe,
        defaults={"last_error": error[:2000], "last_error_at": timezone.now()},
    )


def _enqueue_analysis(*, code: str, timeframe: str) -> None:
    def send() -> None:
        try:
            current_app.send_task(ANALYSIS_TASK, kwargs={"code": code, "timeframe": timeframe})
        except Exception:  # the broker may be down; the bars are stored either way
            logger.exception("Could not enqueue %s for %s %s", ANALYSIS_TASK, code, timeframe)

    transaction.on_commit(send)


def _fetch_and_store(
    *,
    stock: Stock,
    timeframe: str,
    client: KiwoomClient,
    since: dt.datetime,
    until: dt.datetime | None,
    now: dt.datetime,
    progress: Progress | None,
    result: SeriesResult,
) -> None:
    """Pages newest-first from `until` (or now) back to `since`; one transaction per page."""
    base_date = None
    if timeframe not in INTRADAY_MINUTES:
        last = (until - dt.timedelta(microseconds=1)) if until else now
        base_date = last.astimezone(KST).date()
    newest = min(until or now, now)
    span = max((newest - since).total_seconds(), 1.0)
    requests_before = client.requests
    pages = client.chart_pages(
        code=stock.code,
        timeframe=timeframe,
        since=since,
        base_date=base_date,
        latest=current_trading_day(now),
    )
    for page in pages:
        wanted = [b for b in page if b.ts >= since and (until is None or b.ts < until)]
        with transaction.atomic():
            result.changed += candles_upsert(stock=stock, timeframe=timeframe, bars=wanted, now=now)
            _sync_state_refresh(stock=stock, timeframe=timeframe, success_at=None)
        result.pages += 1
        result.fetched += len(wanted)
        result.requests = client.requests - requests_before
        if progress:
            oldest = min(b.ts for b in page)
            progress(result, min(1.0, max(0.0, (newest - oldest).total_seconds() / span)))
    result.requests = client.requests - requests_before


def _series_fetch(
    *,
    stock: Stock,
    timeframe: str,
    client: KiwoomClient | None,
    windows: list[tuple[dt.datetime, dt.datetime | None]],
    now: dt.datetime,
    progress: Progress | None = None,
    completes_backfill_from: dt.datetime | None = None,
) -> SeriesResult:
    """Fetches and stores each [since, until) window of one series (`until` None: up to now),
    then records the outcome: the sync state (or its error, whatever the failure) and, when bars
    changed, the re-analysis after commit; on success a pending backfill from
    `completes_backfill_from` or later is complete. Uses `client`, or a client of its own that
    it closes."""
    _check_timeframe(timeframe)
    result = SeriesResult(code=stock.code, timeframe=timeframe)
    owned = client is None
    client = client or KiwoomClient.from_settings()
    try:
        for since, until in windows:
            _fetch_and_store(
                stock=stock,
                timeframe=timeframe,
                client=client,
                since=since,
                until=until,
                now=now,
                progress=progress,
                result=result,
            )
    except Exception as exc:
        error = str(exc) if isinstance(exc, KiwoomError) else f"{type(exc).__name__}: {exc}"
        sync_state_error(stock=stock, timeframe=timeframe, error=error)
        if result.changed:
            _enqueue_analysis(code=stock.code, timeframe=timeframe)
        raise
    finally:
        if owned:
            client.close()
    with transaction.atomic():
        _sync_state_refresh(stock=stock, timeframe=timeframe, success_at=timezone.now())
        if completes_backfill_from is not None:
            _backfill_completed(stock=stock, timeframe=timeframe, since=completes_backfill_from)
        if result.changed:
            _enqueue_analysis(code=stock.code, timeframe=timeframe)
    return result


def default_since(*, timeframe: str, now: dt.datetime | None = None) -> dt.date:
    """The first date a default-depth backfill of `timeframe` asks for."""
    _check_timeframe(timeframe)
    return (_now(now).astimezone(KST) - DEFAULT_DEPTH[timeframe]).date()


def series_backfill(
    *,
    stock: Stock,
    timeframe: str,
    since: dt.date,
    until: dt.date | None = None,
    progress: Progress | None = None,
    client: KiwoomClient | None = None,
    now: dt.datetime | None = None,
) -> SeriesResult:
    """Loads the bars of one series from `since` through `until` (KST dates, inclusive;
    default: up to now), newest page first. Re-running resumes: stored bars are rewritten only
    when Kiwoom's values differ, and a hole-free daily/weekly/monthly series is only extended
    at its ends (minute charts always page from "now"). Enqueues re-analysis after commit when
    bars changed.

    Until a backfill reaching the stored bars completes, `SyncState.backfill_from` keeps its
    start, so an interrupted one (a lost worker, an outage) is resumed by `series_collect` and
    `series_repair_gaps` even though the series is no longer empty."""
    now = _now(now)
    _check_timeframe(timeframe)
    if until is not None and since > until:
        raise IngestionError(ERROR_SINCE_AFTER_UNTIL.format(since=since, until=until))
    for day in (since, until or _now(now).astimezone(KST).date()):
        if not krx_calendar.FIRST_YEAR <= day.year <= krx_calendar.LAST_YEAR:
            raise IngestionError(
                ERROR_OUTSIDE_CALENDAR.format(
                    day=day, first=krx_calendar.FIRST_YEAR, last=krx_calendar.LAST_YEAR
                )
            )
    since_ts = kst_midnight(since)
    until_ts = kst_midnight(until + dt.timedelta(days=1)) if until else None
    first = Candle.objects.filter(stock=stock, timeframe=timeframe).aggregate(first=Min("ts"))
    # A slice ending before the stored bars leaves the history between them unknown.
    reaches_stored = until_ts is None or first["first"] is None or until_ts > first["first"]
    if reaches_stored:
        _backfill_pending(stock=stock, timeframe=timeframe, since=since_ts)

    windows = _backfill_windows(
        stock=stock, timeframe=timeframe, since=since_ts, until=until_ts, now=now
    )
    return _series_fetch(
        stock=stock,
        timeframe=timeframe,
        client=client,
        windows=windows,
        now=now,
        progress=progress,
        completes_backfill_from=since_ts if reaches_stored else None,
    )


def _backfill_windows(
    *,
    stock: Stock,
    timeframe: str,
    since: dt.datetime,
    until: dt.datetime | None,
    now: dt.datetime,
) -> list[tuple[dt.datetime, dt.datetime | None]]:
    """The [since, until) ranges a backfill still has to read. The whole range, unless a
    daily/weekly/monthly series is already stored without holes: then only what lies before its
    oldest bar and from shortly before its oldest forming (or newest) bar on."""
    whole = [(since, until)]
    if timeframe in INTRADAY_MINUTES:
        return whole
    series = Candle.objects.filter(stock=stock, timeframe=timeframe)
    span = series.aggregate(first=Min("ts"), last=Max("ts"))
    first, last = span["first"], span["last"]
    if last is None or first > (until or now) or last < since:
        return whole
    low = max(first, since).astimezone(KST).date()
    if series_gaps(
        stock=stock, timeframe=timeframe, start=low, end=last.astimezone(KST).date(), now=last
    ):
        return whole
    windows: list[tuple[dt.datetime, dt.datetime | None]] = []
    forming = series.filter(is_final=False).aggregate(first=Min("ts"))["first"]
    top = min(forming, last) if forming else last
    if until is None or top < until or forming:
        windows.append((max(since, top - COLLECT_OVERLAP[timeframe]), until))
    expected = krx_calendar.bar_starts(
        timeframe, since.astimezone(KST).date(), since.astimezone(KST).date() + dt.timedelta(40)
    )
    first_expected = next((ts for ts in expected if ts >= since), since)
    if first > first_expected:
        windows.append((since, first))
    return windows


def series_collect(
    *,
    stock: Stock,
    timeframe: str,
    progress: Progress | None = None,
    client: KiwoomClient | None = None,
    now: dt.datetime | None = None,
) -> SeriesResult:
    """Brings one series up to date: re-reads from shortly before the oldest still-forming bar
    (or the newest stored bar) up to now, so the formerly forming bar is corrected and any
    outage in between is filled. An empty series gets a default-depth backfill; a series whose
    backfill was interrupted gets it resumed."""
    now = _now(now)
    _check_timeframe(timeframe)
    series = Candle.objects.filter(stock=stock, timeframe=timeframe)
    newest = series.aggregate(last=Max("ts"))["last"]
    pending = backfill_pending_from(stock=stock, timeframe=timeframe)
    if newest is None or pending is not None:
        since = pending.astimezone(KST).date() if pending else None
        return series_backfill(
            stock=stock,
            timeframe=timeframe,
            since=since or default_since(timeframe=timeframe, now=now),
            progress=progress,
            client=client,
            now=now,
        )
    forming = series.filter(is_final=False).aggregate(first=Min("ts"))["first"]
    anchor = min(forming, newest) if forming else newest
    since = anchor - COLLECT_OVERLAP[timeframe]

    return _series_fetch(
        stock=stock,
        timeframe=timeframe,
        client=client,
        windows=[(since, None)],
        now=now,
        progress=progress,
    )


def series_gaps(
    *,
    stock: Stock,
    timeframe: str,
    start: dt.date,
    end: dt.date,
    now: dt.datetime | None = None,
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Missing bars of one series between KST dates `start` and `end` (inclusive), compared with
    the KRX calendar's bar grid (each day's real session); bars that have not started by `now`
    are not missing, nor are dates outside the calendar's years. Returns (first missing bar
    start, last missing bar start) per run of consecutive missing bars."""
    _check_timeframe(timeframe)
    now = _now(now)
    start = max(start, dt.date(krx_calendar.FIRST_YEAR, 1, 1))
    end = min(end, dt.date(krx_calendar.LAST_YEAR, 12, 31))
    expected = [ts for ts in krx_calendar.bar_starts(timeframe, start, end) if ts <= now]
    if not expected:
        return []
    stored = set(
        Candle.objects.filter(
            stock=stock, timeframe=timeframe, ts__gte=expected[0], ts__lte=expected[-1]
        ).values_list("ts", flat=True)
    )
    gaps: list[tuple[dt.datetime, dt.datetime]] = []
    run_start = run_end = None
    for ts in expected:
        if ts in stored:
            if run_start is not None:
                gaps.append((run_start, run_end))
                run_start = None
            continue
        if run_start is None:
            run_start = ts
        run_end = ts
    if run_start is not None:
        gaps.append((run_start, run_end))
    return gaps


def series_repair_gaps(
    *,
    stock: Stock,
    timeframe: str,
    since: dt.date | None = None,
    client: KiwoomClient | None = None,
    now: dt.datetime | None = None,
) -> SeriesResult:
    """Finds bars missing between `since` (default: the oldest stored bar, or the start of an
    unfinished backfill when that is older) and the newest stored bar against the KRX calendar
    and re-fetches the range that covers them. `result.gaps` lists what was missing;
    `result.missing_after` what Kiwoom could not supply either (e.g. before a listing)."""
    now = _now(now)
    _check_timeframe(timeframe)
    span = Candle.objects.filter(stock=stock, timeframe=timeframe).aggregate(
        first=Min("ts"), last=Max("ts")
    )
    if span["last"] is None:
        return SeriesResult(code=stock.code, timeframe=timeframe)
    pending = backfill_pending_from(stock=stock, timeframe=timeframe)
    if since is None:
        since = min(span["first"], pending or span["first"]).astimezone(KST).date()
    # Bars after the newest stored one are not gaps: `series_collect` fetches those.
    through = min(now, span["last"])
    end = through.astimezone(KST).date()
    gaps = series_gaps(stock=stock, timeframe=timeframe, start=since, end=end, now=through)
    since_ts = kst_midnight(since)
    if not gaps:
        _backfill_completed(stock=stock, timeframe=timeframe, since=since_ts)
        return SeriesResult(code=stock.code, timeframe=timeframe)
    oldest = gaps[0][0]
    newest_end = krx_calendar.bar_end(timeframe, gaps[-1][1])

    until = newest_end if timeframe not in INTRADAY_MINUTES else None
    result = _series_fetch(
        stock=stock,
        timeframe=timeframe,
        client=client,
        windows=[(oldest, until)],
        now=now,
        completes_backfill_from=since_ts,
    )
    result.gaps = gaps
    remaining = series_gaps(stock=stock, timeframe=timeframe, start=since, end=end, now=through)
    result.missing_after = sum(
        len(krx_calendar.bar_starts(timeframe, a.astimezone(KST).date(), b.astimezone(KST).date()))
        for a, b in remaining
    )
    return result


# --- Ingestion runs ----------------------------------------------------------------------


def _run_deadline() -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=settings.MARKETDATA_RUN_DEADLINE_SECONDS)


def ingestion_run_start(
    *, kind: str, timeframe: str = "", codes: Iterable[str] = (), trigger: str, series_total: int
) -> IngestionRun:
    """Opens the record of one collection job (admin, /healthz). Its deadline is
    MARKETDATA_RUN_DEADLINE_SECONDS from now, pushed back by every series that reports."""
    return IngestionRun.objects.create(
        kind=kind,
        timeframe=timeframe,
        codes=",".join(codes),
        trigger=trigger,
        series_total=series_total,
        deadline_at=_run_deadline(),
    )


def ingestion_run_record(
    *,
    run_id: int,
    code: str = "",
    timeframe: str = "",
    result: SeriesResult | None = None,
    error: str | None = None,
) -> bool:
    """Counts the outcome of one series (`code` and `timeframe`; both empty for the stock master)
    into the run, as done or failed (`error`), once: a second report of the same series (a task
    delivered again after its worker was lost) changes nothing and returns False. Safe from
    concurrent Celery tasks (the run row is locked). Pushes the deadline back and closes the run
    when every series has reported."""
    with transaction.atomic():
        run = IngestionRun.objects.select_for_update().get(pk=run_id)
        _, created = IngestionRunSeries.objects.get_or_create(
            run=run,
            code=code,
            timeframe=timeframe,
            defaults={"succeeded": error is None, "error": (error or "")[:2000]},
        )
        if not created:
            return False
        if error is None:
            run.series_done += 1
        else:
            run.series_failed += 1
            run.errors = (run.errors + error.replace("\n", " ") + "\n")[-20_000:]
        if result is not None:
            run.requests += result.requests
            run.rows_upserted += result.changed
        run.deadline_at = _run_deadline()
        run.save(
            update_fields=[
                "series_done",
                "series_failed",
                "errors",
                "requests",
                "rows_upserted",
                "deadline_at",
            ]
        )
        finished = run.series_done + run.series_failed >= run.series_total
        if finished and run.status in (IngestionRun.Status.RUNNING, IngestionRun.Status.ABANDONED):
            ingestion_run_finish(run=run)
    return True


def ingestion_run_finish(*, run: IngestionRun) -> None:
    """Closes a run: succeeded, partly failed or failed by its series counts."""
    if run.series_failed == 0:
        run.status = IngestionRun.Status.SUCCEEDED
    elif run.series_done == 0:
        run.status = IngestionRun.Status.FAILED
    else:
        run.status = IngestionRun.Status.PARTIAL
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])


def ingestion_runs_abandon(*, now: dt.datetime | None = None) -> int:
    """Marks every run still running past its deadline as abandoned (its missing series named
    by count in `errors`); returns how many. A late report still counts into such a run and
    closes it normally once every series has reported."""
    now = _now(now)
    closed = 0
    with transaction.atomic():
        stale = IngestionRun.objects.select_for_update(skip_locked=True).filter(
            status=IngestionRun.Status.RUNNING, deadline_at__lt=now
        )
        for run in stale:
            missing = run.series_total - run.series_done - run.series_failed
            note = ERROR_ABANDONED.format(
                at=now.astimezone(KST).isoformat(timespec="seconds"),
                missing=missing,
                total=run.series_total,
            )
            run.errors = (run.errors + note + "\n")[-20_000:]
            run.status = IngestionRun.Status.ABANDONED
            run.finished_at = now
            run.save(update_fields=["errors", "status", "finished_at"])
            closed += 1
    return closed

"""Reads for market data and operations."""

import numpy as np
import pandas as pd
from celery import current_app
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import F, FloatField, Func, Max, Q

from .krx_calendar import KST, TIMEFRAMES
from .models import Candle, SyncState

BROKER_TIMEOUT_SECONDS = 2.0


def database_status() -> dict:
    """{"ok": bool, "error": str | None} after a `SELECT 1` on the default database."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "unreachable"; the reason is reported
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "error": None}


def broker_status() -> dict:
    """{"ok", "error", "url"} after connecting to the Celery broker (URL password masked).

    The connection is the one the Celery app makes for sending tasks (its transport options
    and TLS settings), to the broker URL the settings resolved: the broker actually in use."""
    result = {"ok": True, "error": None, "url": settings.CELERY_BROKER_DISPLAY}
    try:
        with current_app.connection_for_write(
            url=settings.CELERY_BROKER_URL,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            connect_timeout=BROKER_TIMEOUT_SECONDS,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as exc:  # kombu raises transport-specific errors; report the reason
        result.update(ok=False, error=f"{type(exc).__name__}: {exc}")
    return result


def last_collections() -> dict:
    """{timeframe: ISO instant (Asia/Seoul) of the newest successful collection of any series
    of that timeframe, or None}; {} when the database cannot be read."""
    try:
        rows = dict(
            SyncState.objects.filter(last_success_at__isnull=False)
            .values("timeframe")
            .annotate(last=Max("last_success_at"))
            .values_list("timeframe", "last")
        )
    except DatabaseError:
        return {}
    return {
        timeframe: rows[timeframe].astimezone(KST).isoformat() if timeframe in rows else None
        for timeframe in TIMEFRAMES
    }


def health_report() -> dict:
    """The /healthz body: database, broker, overall `healthy`, and the last successful
    collection per timeframe (`last_collection`)."""
    database = database_status()
    broker = broker_status()
    return {
        "healthy": database["ok"] and broker["ok"],
        "database": database,
        "broker": broker,
        "last_collection": last_collections() if database["ok"] else {},
    }


def series_filter(series) -> Q:
    """Rows (with `stock_id` and `timeframe`) of any of `series`, (stock id, timeframe) pairs:
    one `stock_id IN …` per timeframe; nothing when `series` is empty."""
    stocks: dict[str, list[int]] = {}
    for stock_id, timeframe in series:
        stocks.setdefault(timeframe, []).append(stock_id)
    wanted = Q(pk__in=[])
    for timeframe, ids in stocks.items():
        wanted |= Q(timeframe=timeframe, stock_id__in=ids)
    return wanted


OHLCV_COLUMNS = ["open", "high", "low", "close", "volume"]


class _AsFloat(Func):
    """A column read as a float8 by PostgreSQL (`template`); SQLite (`make run`) stores
    instants as UTC text, booleans as 0/1 and returns a missing number as NULL (NaN once in
    the float array)."""

    output_field = FloatField()
    sqlite_template = "CAST(%(expressions)s AS REAL)"

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template=self.sqlite_template, **extra_context)


class _EpochMicros(_AsFloat):
    template = "(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::float8"
    # Julian days to whole seconds (bars start on whole seconds), then microseconds.
    sqlite_template = "(ROUND((julianday(%(expressions)s) - 2440587.5) * 86400.0) * 1000000.0)"


class _Float8(_AsFloat):
    template = "(%(expressions)s)::float8"


class _NanWhenNull(_AsFloat):
    template = "COALESCE(%(expressions)s::float8, 'NaN'::float8)"


class _BoolAsFloat(_AsFloat):
    template = "(%(expressions)s)::int::float8"


# PostgreSQL's binary COPY: a 19-byte header (signature, flags, header extension length 0),
# then per row a 2-byte field count and per field a 4-byte length and its bytes, then a 2-byte
# trailer (-1).
BINARY_COPY_HEADER = 19
BINARY_COPY_TRAILER = 2
UNEXPECTED_COPY = "unexpected binary COPY layout for {width} float8 columns"


def float_table(sql: str, params, *, width: int) -> np.ndarray:
    """The rows of `sql`, whose `width` columns are all non-null float8, as a (rows, width)
    float64 array. On PostgreSQL one binary COPY read straight into numpy (every row is a
    fixed-size record, so no Python object is made per value: a quarter of the time of a
    fetch, README "Performance"); elsewhere a plain fetch."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return np.array(rows, dtype=np.float64).reshape(len(rows), width)
    buffer = bytearray()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", params) as copy,
    ):
        for block in copy:
            buffer += block
    record = np.dtype(
        [("fields", ">i2"), *((f"c{k}", [("size", ">i4"), ("value", ">f8")]) for k in range(width))]
    )
    body = len(buffer) - BINARY_COPY_HEADER - BINARY_COPY_TRAILER
    if body < 0 or body % record.itemsize:
        raise ValueError(UNEXPECTED_COPY.format(width=width))
    rows = np.frombuffer(
        buffer, dtype=record, offset=BINARY_COPY_HEADER, count=body // record.itemsize
    )
    if (rows["fields"] != width).any() or any(
        (rows[f"c{k}"]["size"] != 8).any() for k in range(width)
    ):
        raise ValueError(UNEXPECTED_COPY.format(width=width))
    return np.column_stack([rows[f"c{k}"]["value"] for k in range(width)]).astype(np.float64)


def candles_frame(
    *,
    stock,
    timeframe: str,
    limit: int | None = None,
    before=None,
    start=None,
    end=None,
) -> pd.DataFrame:
    """Bars of one series as a DataFrame, oldest first.

    Index `ts`: aware DatetimeIndex in Asia/Seoul (bar start, see `marketdata.krx_calendar`).
    Columns: open, high, low, close (KRW), volume (shares), traded_value (KRW) as float64 and
    `is_final` as bool. `limit` keeps the newest `limit` bars (before `before` when given);
    `start`/`end` bound the bar instants (inclusive).
    """
    qs = Candle.objects.filter(stock=stock, timeframe=timeframe)
    if start is not None:
        qs = qs.filter(ts__gte=start)
    if end is not None:
        qs = qs.filter(ts__lte=end)
    if before is not None:
        qs = qs.filter(ts__lt=before)
    # Every column as a float8 (the instant as epoch microseconds, a missing traded value as
    # NaN): one float array, no datetime objects built per row — those cost ten times the
    # rest of the read (README, "Performance").
    qs = qs.annotate(
        epoch_us=_EpochMicros(F("ts")),
        volume_f=_Float8(F("volume")),
        value_f=_NanWhenNull(F("traded_value")),
        final_f=_BoolAsFloat(F("is_final")),
    )
    fields = ["epoch_us", "open", "high", "low", "close", "volume_f", "value_f", "final_f"]
    if limit is not None:
        qs = qs.order_by("-ts").values_list(*fields)[:limit]
    else:
        qs = qs.order_by("ts").values_list(*fields)
    # Executed as plain SQL: the ORM's per-value converters would cost more than the read.
    sql, params = qs.query.sql_with_params()
    values = float_table(sql, params, width=len(fields))
    return _bars_frame(values[::-1] if limit is not None else values)


def _bars_frame(values: np.ndarray) -> pd.DataFrame:
    """The `candles_frame` of rows [epoch µs, open, high, low, close, volume, traded value,
    is_final], oldest first."""
    index = pd.DatetimeIndex(
        pd.to_datetime(values[:, 0].astype(np.int64), unit="us", utc=True), name="ts"
    ).as_unit("us")
    frame = pd.DataFrame(
        {column: values[:, k] for k, column in enumerate(OHLCV_COLUMNS, start=1)},
        index=index.tz_convert(KST),
    )
    frame["traded_value"] = values[:, 6]
    frame["is_final"] = values[:, 7].astype(bool)
    return frame


# The newest `limit` bars of each (stock id, timeframe), in the columns of `_bars_frame` after
# the series' position: one statement for many series, each read through the candle key.
SERIES_BARS_SQL = """
SELECT s.k::float8, (EXTRACT(EPOCH FROM c.ts) * 1000000)::float8, c.open, c.high, c.low,
       c.close, c.volume::float8, COALESCE(c.traded_value::float8, 'NaN'::float8),
       c.is_final::int::float8
FROM unnest(%s::bigint[], %s::text[]) WITH ORDINALITY AS s(stock_id, timeframe, k)
CROSS JOIN LATERAL (
    SELECT ts, open, high, low, close, volume, traded_value, is_final
    FROM marketdata_candle
    WHERE stock_id = s.stock_id AND timeframe = s.timeframe
    ORDER BY ts DESC
    LIMIT %s
) c
ORDER BY 1, 2
"""


def candles_frames(*, series: list[tuple], limit: int) -> list[pd.DataFrame]:
    """`candles_frame(stock=, timeframe=, limit=)` of each (stock, timeframe) of `series`, in
    order; on PostgreSQL read with one binary COPY for all of them."""
    if connection.vendor != "postgresql" or len(series) < 2:
        return [candles_frame(stock=s, timeframe=tf, limit=limit) for s, tf in series]
    params = [[stock.pk for stock, _ in series], [tf for _, tf in series], limit]
    values = float_table(SERIES_BARS_SQL, params, width=9)
    positions = values[:, 0].astype(np.int64)
    bounds = np.searchsorted(positions, np.arange(1, len(series) + 2))
    return [_bars_frame(values[a:b, 1:]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

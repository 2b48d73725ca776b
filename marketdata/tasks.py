"""Celery tasks for market data: thin wrappers over `marketdata.services`.

Arguments are primitives (codes, timeframe codes, run ids). The collection tasks skip days on
which KRX does not trade (the beat crontabs are weekday-only; holidays are checked here).
Every Kiwoom request goes through the shared Redis rate limiter, so any number of workers can
run these tasks without exceeding `KIWOOM_MAX_RPS`.
"""

from __future__ import annotations

import datetime as dt
import logging

import redis
from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import krx_calendar, services
from .kiwoom import KST, KiwoomError, KiwoomUnavailable
from .models import IngestionRun, Stock

logger = logging.getLogger(__name__)

MINUTE_TIMEFRAMES = ("5m", "30m", "1h")
PERIOD_TIMEFRAMES = ("1d", "1w", "1mo")
SKIPPED_HOLIDAY = "skipped: {day} is not a KRX trading day"
UNAVAILABLE_RETRY_SECONDS = 60
UNAVAILABLE_MAX_RETRIES = 3
SERIES_LOCK_SECONDS = 15 * 60
SKIPPED_BUSY = "skipped: another worker is collecting this series"


def holiday_skip(now: dt.datetime | None = None) -> str | None:
    """The message a scheduled collection returns instead of running on a non-trading day
    (weekend or KRX holiday, in KST), or None on a trading day."""
    day = (now or timezone.now()).astimezone(KST).date()
    if krx_calendar.is_trading_day(day):
        return None
    return SKIPPED_HOLIDAY.format(day=day)


def collection_codes(*, timeframe: str) -> list[str]:
    """The series a scheduled collection covers: analysis targets for minute timeframes; for
    daily/weekly/monthly, the analysis targets plus every active stock already holding that
    series (loaded by hand with `backfill`)."""
    targets = set(Stock.objects.analysis_targets().values_list("code", flat=True))
    if timeframe not in MINUTE_TIMEFRAMES:
        held = Stock.objects.active().filter(
            sync_states__timeframe=timeframe, sync_states__rows__gt=0
        )
        targets |= set(held.values_list("code", flat=True))
    return sorted(targets)


@shared_task(
    name="marketdata.collect_series",
    bind=True,
    max_retries=UNAVAILABLE_MAX_RETRIES,
    acks_late=True,
)
def collect_series(self, code: str, timeframe: str, run_id: int | None = None) -> dict:
    """Brings one (stock, timeframe) series up to date; retries while Kiwoom is unavailable.
    A series already being collected by another worker is skipped (the next tick catches up)."""
    lock = redis.Redis.from_url(settings.REDIS_URL).lock(
        f"marketdata:collect:{code}:{timeframe}", timeout=SERIES_LOCK_SECONDS
    )
    if not lock.acquire(blocking=False):
        _record(run_id)  # not a failure: the other worker brings the series up to date
        return {"code": code, "timeframe": timeframe, "skipped": SKIPPED_BUSY}
    try:
        stock = services.stock_get(code=code)
        result = services.series_collect(stock=stock, timeframe=timeframe)
    except KiwoomUnavailable as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=UNAVAILABLE_RETRY_SECONDS) from None
        _record(run_id, error=f"{code} {timeframe}: {exc}")
        raise
    except (KiwoomError, services.IngestionError) as exc:
        _record(run_id, error=f"{code} {timeframe}: {exc}")
        raise
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            logger.warning("collect lock of %s %s expired before release", code, timeframe)
    _record(run_id, result=result)
    return {"code": code, "timeframe": timeframe, "changed": result.changed}


def _record(run_id: int | None, *, result=None, error: str | None = None) -> None:
    """Counts one series of a fanned-out run as done (or failed, with `error`)."""
    if run_id is not None:
        services.ingestion_run_record(run_id=run_id, result=result, error=error)


@shared_task(name="marketdata.collect_timeframe")
def collect_timeframe(timeframe: str, force: bool = False) -> str:
    """Fans out `marketdata.collect_series` for every series of `timeframe` (trading days only
    unless `force`)."""
    if not force and (skip := holiday_skip()):
        return skip
    run, queued = _fan_out(kind=IngestionRun.Kind.COLLECT, timeframe=timeframe, task=collect_series)
    return f"{timeframe}: {queued} series queued (run {run.pk})"


def _fan_out(*, kind: str, timeframe: str, task) -> tuple[IngestionRun, int]:
    """Opens a run record for `timeframe` and queues `task` once per collected series of it
    (a run with no series is closed at once); returns the run and the number queued."""
    codes = collection_codes(timeframe=timeframe)
    run = services.ingestion_run_start(
        kind=kind, timeframe=timeframe, codes=codes, trigger="task", series_total=len(codes)
    )
    if not codes:
        services.ingestion_run_finish(run=run)
    for code in codes:
        task.delay(code=code, timeframe=timeframe, run_id=run.pk)
    return run, len(codes)


@shared_task(name="marketdata.sweep_after_close")
def sweep_after_close(force: bool = False) -> str:
    """After the close: re-collects the minute series so the session's last bars are final."""
    if not force and (skip := holiday_skip()):
        return skip
    return "; ".join(collect_timeframe(timeframe, force=True) for timeframe in MINUTE_TIMEFRAMES)


@shared_task(name="marketdata.collect_after_close")
def collect_after_close(force: bool = False) -> str:
    """After the close (and after-hours trading): daily, weekly and monthly series."""
    if not force and (skip := holiday_skip()):
        return skip
    return "; ".join(collect_timeframe(timeframe, force=True) for timeframe in PERIOD_TIMEFRAMES)


@shared_task(
    name="marketdata.sync_stocks",
    bind=True,
    max_retries=UNAVAILABLE_MAX_RETRIES,
)
def sync_stocks(self) -> dict:
    """Refreshes the stock master (ka10099) and the analysis-target flags."""
    run = services.ingestion_run_start(
        kind=IngestionRun.Kind.SYNC_STOCKS, trigger="task", series_total=1
    )
    try:
        result = services.stocks_sync()
    except KiwoomUnavailable as exc:
        services.ingestion_run_record(run_id=run.pk, error=str(exc))
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=UNAVAILABLE_RETRY_SECONDS) from None
        raise
    except KiwoomError as exc:
        services.ingestion_run_record(run_id=run.pk, error=str(exc))
        raise
    services.ingestion_run_record(run_id=run.pk)
    return vars(result)


@shared_task(name="marketdata.repair_series", bind=True, max_retries=UNAVAILABLE_MAX_RETRIES)
def repair_series(self, code: str, timeframe: str, run_id: int | None = None) -> dict:
    """Re-fetches the bars missing from one series (against the KRX calendar)."""
    try:
        stock = services.stock_get(code=code)
        result = services.series_repair_gaps(stock=stock, timeframe=timeframe)
    except KiwoomUnavailable as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=UNAVAILABLE_RETRY_SECONDS) from None
        _record(run_id, error=f"{code} {timeframe}: {exc}")
        raise
    except (KiwoomError, services.IngestionError) as exc:
        _record(run_id, error=f"{code} {timeframe}: {exc}")
        raise
    _record(run_id, result=result)
    return {"code": code, "timeframe": timeframe, "missing_after": result.missing_after}


@shared_task(name="marketdata.repair_gaps")
def repair_gaps(force: bool = False) -> str:
    """Fans out `marketdata.repair_series` for every collected series (trading days only)."""
    if not force and (skip := holiday_skip()):
        return skip
    queued = sum(
        _fan_out(kind=IngestionRun.Kind.REPAIR, timeframe=timeframe, task=repair_series)[1]
        for timeframe in (*MINUTE_TIMEFRAMES, *PERIOD_TIMEFRAMES)
    )
    return f"{queued} series queued for gap repair"

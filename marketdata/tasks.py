"""Celery tasks for market data: thin wrappers over `marketdata.services`.

Arguments are primitives (codes, timeframe codes, run ids). The beat crontabs are wide
(weekdays, every tick a session might need); the tasks check the KRX calendar themselves: no run
on a day without a session, intraday collection only while that day's session is open (a late
open starts collecting at its open, a 16:30 수능 close keeps it going), the sweep at the first
tick after that day's close.
Every Kiwoom request goes through the shared Redis rate limiter, so any number of workers can
run these tasks without exceeding `KIWOOM_MAX_RPS`.

A lost worker loses nothing: the tasks are acknowledged when they end and go back to the queue
when their worker dies (`REDELIVERABLE`; the broker's visibility timeout is in settings); the
services are idempotent; a series is locked by the task collecting it (`SeriesLock`) only as
long as that task's heartbeat lasts; a run counts each series once
(`services.ingestion_run_record`), and one whose tasks never report is closed as abandoned at
its deadline (`close_abandoned_runs`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from contextlib import contextmanager

import redis
from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import krx_calendar, services
from .kiwoom import KiwoomError, KiwoomUnavailable
from .krx_calendar import INTRADAY_TIMEFRAMES, KST, PERIOD_TIMEFRAMES, TIMEFRAMES
from .models import IngestionRun, Stock

logger = logging.getLogger(__name__)

SKIPPED_HOLIDAY = "skipped: {day} is not a KRX trading day"
SKIPPED_OUTSIDE_SESSION = (
    "skipped: {now:%H:%M} is outside the session of {day} ({open:%H:%M}–{close:%H:%M} KST)"
)
SKIPPED_NOT_AFTER_CLOSE = (
    "skipped: the sweep runs at the first tick after the close of {day} ({close:%H:%M} KST)"
)
# The sweep's crontab ticks an hour apart (15:40, 16:40): the one within this much after the
# day's close runs.
SWEEP_WINDOW = dt.timedelta(hours=1)
UNAVAILABLE_RETRY_SECONDS = 60
UNAVAILABLE_MAX_RETRIES = 3
ERROR_BUSY = "another task held this series for {seconds} s of retries; left to the next run"
# Acknowledged when the task ends, re-queued when its worker process dies: a task interrupted by
# a lost worker runs again (every task here is safe to run twice).
REDELIVERABLE = {"acks_late": True, "reject_on_worker_lost": True}


class SeriesBusy(Exception):
    """Another task holds the lock of this series."""


class SeriesLock:
    """The Redis lock of one series, owned by one task (the lock's value is the task id) and kept
    alive by a heartbeat thread while the task runs: it lapses MARKETDATA_SERIES_LOCK_SECONDS
    after the last heartbeat, so a worker that died stops blocking the series within that time
    instead of until a long fixed timeout."""

    def __init__(self, *, code: str, timeframe: str, owner: str):
        self.seconds = settings.MARKETDATA_SERIES_LOCK_SECONDS
        self._lock = redis.Redis.from_url(settings.REDIS_URL).lock(
            f"marketdata:series:{code}:{timeframe}", timeout=self.seconds, thread_local=False
        )
        self._owner = owner
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def __enter__(self) -> SeriesLock:
        if not self._lock.acquire(blocking=False, token=self._owner):
            raise SeriesBusy(self._lock.name)
        self._heartbeat = threading.Thread(
            target=self._beat, name=f"heartbeat {self._lock.name}", daemon=True
        )
        self._heartbeat.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                self._lock.reacquire()
            except redis.exceptions.LockNotOwnedError:
                logger.warning("%s lapsed while held (heartbeats were late)", self._lock.name)
                return
            except redis.exceptions.RedisError as exc:  # try again at the next beat
                logger.warning("%s heartbeat failed: %s", self._lock.name, exc)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._heartbeat:
            self._heartbeat.join()
        try:
            self._lock.release()
        except redis.exceptions.LockError:
            logger.warning("%s lapsed before release", self._lock.name)


def holiday_skip(now: dt.datetime | None = None) -> str | None:
    """The message a scheduled collection returns instead of running on a non-trading day
    (weekend or KRX holiday, in KST), or None on a trading day."""
    day = (now or timezone.now()).astimezone(KST).date()
    if krx_calendar.is_trading_day(day):
        return None
    return SKIPPED_HOLIDAY.format(day=day)


def session_skip(now: dt.datetime | None = None) -> str | None:
    """The message an intraday collection tick returns instead of running outside the day's
    session (before a late open, after the close, or on a day without one), or None while the
    session is open (its open and close included)."""
    now = (now or timezone.now()).astimezone(KST)
    session = krx_calendar.session(now.date())
    if session is None:
        return SKIPPED_HOLIDAY.format(day=now.date())
    if session.open <= now <= session.close:
        return None
    return SKIPPED_OUTSIDE_SESSION.format(
        now=now, day=now.date(), open=session.open, close=session.close
    )


def sweep_skip(now: dt.datetime | None = None) -> str | None:
    """The message the after-close sweep returns unless `now` is within SWEEP_WINDOW after the
    day's close (15:30 KST, 16:30 on a 수능 day), or None when it should run."""
    now = (now or timezone.now()).astimezone(KST)
    session = krx_calendar.session(now.date())
    if session is None:
        return SKIPPED_HOLIDAY.format(day=now.date())
    if session.close <= now < session.close + SWEEP_WINDOW:
        return None
    return SKIPPED_NOT_AFTER_CLOSE.format(day=now.date(), close=session.close)


def collection_codes(*, timeframe: str) -> list[str]:
    """The series a scheduled collection covers: analysis targets for minute timeframes; for
    daily/weekly/monthly, the analysis targets plus every active stock already holding that
    series (loaded by hand with `backfill`)."""
    targets = set(Stock.objects.analysis_targets().values_list("code", flat=True))
    if timeframe not in INTRADAY_TIMEFRAMES:
        held = Stock.objects.active().filter(
            sync_states__timeframe=timeframe, sync_states__rows__gt=0
        )
        targets |= set(held.values_list("code", flat=True))
    return sorted(targets)


@shared_task(
    name="marketdata.collect_series",
    bind=True,
    max_retries=UNAVAILABLE_MAX_RETRIES,
    **REDELIVERABLE,
)
def collect_series(self, code: str, timeframe: str, run_id: int | None = None) -> dict:
    """Brings one (stock, timeframe) series up to date; retries while Kiwoom is unavailable or
    another task holds the series."""
    result = _series_run(
        self, run_id=run_id, code=code, timeframe=timeframe, service=services.series_collect
    )
    return {"code": code, "timeframe": timeframe, "changed": result.changed if result else None}


def _series_run(
    task,
    *,
    run_id: int | None,
    code: str,
    timeframe: str,
    service: Callable[..., services.SeriesResult],
) -> services.SeriesResult | None:
    """Runs `service(stock=, timeframe=)` for one series under its lock and counts it into the
    run (`run_id`, if any) as done or failed. While another task holds the series it retries
    after the lock's lifetime; when the retries run out the series counts as failed and None is
    returned."""
    try:
        with (
            _kiwoom_failures(task, run_id=run_id, code=code, timeframe=timeframe),
            SeriesLock(code=code, timeframe=timeframe, owner=task.request.id or "local"),
        ):
            result = service(stock=services.stock_get(code=code), timeframe=timeframe)
    except SeriesBusy:
        seconds = settings.MARKETDATA_SERIES_LOCK_SECONDS
        if task.request.retries < task.max_retries:
            raise task.retry(countdown=seconds) from None
        error = ERROR_BUSY.format(seconds=seconds * task.max_retries)
        _record(run_id, code=code, timeframe=timeframe, error=f"{code} {timeframe}: {error}")
        return None
    _record(run_id, code=code, timeframe=timeframe, result=result)
    return result


def _record(
    run_id: int | None, *, code: str = "", timeframe: str = "", result=None, error=None
) -> None:
    """Counts one part of the run `run_id` (if any) as done (or failed, with `error`)."""
    if run_id is not None:
        services.ingestion_run_record(
            run_id=run_id, code=code, timeframe=timeframe, result=result, error=error
        )


@contextmanager
def _kiwoom_failures(
    task,
    *,
    run_id: int | None,
    code: str = "",
    timeframe: str = "",
    label: str = "",
    retry_kwargs: dict | None = None,
):
    """The error policy of every Kiwoom task: while Kiwoom is unavailable the task is retried
    (every UNAVAILABLE_RETRY_SECONDS, up to its max_retries; `retry_kwargs` replace the task's
    arguments); any other failure — one retrying cannot fix, the last retry's, or an unexpected
    error — is counted into the run as "<code> <timeframe>: <error>" (or "<label>: …") and
    re-raised, so no failure leaves its run waiting."""
    label = label or f"{code} {timeframe}"
    try:
        yield
    except SeriesBusy:
        raise
    except KiwoomUnavailable as exc:
        if task.request.retries < task.max_retries:
            raise task.retry(
                exc=exc, countdown=UNAVAILABLE_RETRY_SECONDS, kwargs=retry_kwargs
            ) from None
        _record(run_id, code=code, timeframe=timeframe, error=f"{label}: {exc}")
        raise
    except (KiwoomError, services.IngestionError) as exc:
        _record(run_id, code=code, timeframe=timeframe, error=f"{label}: {exc}")
        raise
    except Exception as exc:
        logger.exception("%s failed", label)
        _record(
            run_id, code=code, timeframe=timeframe, error=f"{label}: {type(exc).__name__}: {exc}"
        )
        raise


@shared_task(name="marketdata.collect_timeframe", **REDELIVERABLE)
def collect_timeframe(timeframe: str, force: bool = False) -> str:
    """Fans out `marketdata.collect_series` for every series of `timeframe`. Unless `force`:
    intraday timeframes only while the day's session is open, daily-type ones on trading days."""
    skip = session_skip() if timeframe in INTRADAY_TIMEFRAMES else holiday_skip()
    if not force and skip:
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


@shared_task(name="marketdata.sweep_after_close", **REDELIVERABLE)
def sweep_after_close(force: bool = False) -> str:
    """After the close: re-collects the minute series so the session's last bars are final.
    Unless `force`, only at the first tick after the day's close (see `sweep_skip`)."""
    if not force and (skip := sweep_skip()):
        return skip
    return "; ".join(collect_timeframe(timeframe, force=True) for timeframe in INTRADAY_TIMEFRAMES)


@shared_task(name="marketdata.collect_after_close", **REDELIVERABLE)
def collect_after_close(force: bool = False) -> str:
    """After the close (and after-hours trading): daily, weekly and monthly series."""
    if not force and (skip := holiday_skip()):
        return skip
    return "; ".join(collect_timeframe(timeframe, force=True) for timeframe in PERIOD_TIMEFRAMES)


@shared_task(
    name="marketdata.sync_stocks", bind=True, max_retries=UNAVAILABLE_MAX_RETRIES, **REDELIVERABLE
)
def sync_stocks(self, run_id: int | None = None) -> dict:
    """Refreshes the stock master (ka10099) and the analysis-target flags. One run record
    covers the retries (`run_id` carries it into them)."""
    if run_id is None:
        run_id = services.ingestion_run_start(
            kind=IngestionRun.Kind.SYNC_STOCKS, trigger="task", series_total=1
        ).pk
    with _kiwoom_failures(
        self, run_id=run_id, label="stock master", retry_kwargs={"run_id": run_id}
    ):
        result = services.stocks_sync()
    _record(run_id)
    return vars(result)


@shared_task(
    name="marketdata.repair_series", bind=True, max_retries=UNAVAILABLE_MAX_RETRIES, **REDELIVERABLE
)
def repair_series(self, code: str, timeframe: str, run_id: int | None = None) -> dict:
    """Re-fetches the bars missing from one series (against the KRX calendar)."""
    result = _series_run(
        self, run_id=run_id, code=code, timeframe=timeframe, service=services.series_repair_gaps
    )
    missing = result.missing_after if result else None
    return {"code": code, "timeframe": timeframe, "missing_after": missing}


@shared_task(name="marketdata.repair_gaps", **REDELIVERABLE)
def repair_gaps(force: bool = False) -> str:
    """Fans out `marketdata.repair_series` for every collected series (trading days only)."""
    if not force and (skip := holiday_skip()):
        return skip
    queued = sum(
        _fan_out(kind=IngestionRun.Kind.REPAIR, timeframe=timeframe, task=repair_series)[1]
        for timeframe in TIMEFRAMES
    )
    return f"{queued} series queued for gap repair"


@shared_task(name="marketdata.close_abandoned_runs")
def close_abandoned_runs() -> str:
    """Marks the ingestion runs still running past their deadline as abandoned."""
    return f"{services.ingestion_runs_abandon()} run(s) abandoned"

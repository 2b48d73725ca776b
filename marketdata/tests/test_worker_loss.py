"""A Celery worker killed with SIGKILL in the middle of a collection run loses nothing: a second
worker finishes the run and every series equals the simulator's ground truth, with no manual
step. Timeouts are shortened through the settings' environment variables so this takes seconds.
"""

import signal
import time
from datetime import datetime

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.db.models import Count

from marketdata import services
from marketdata.krx_calendar import KST
from marketdata.models import Candle, IngestionRun, Stock, SyncState
from marketdata.tests.factories import assert_same_bars, django_env, stored_frame, truth_frame
from tests.celery_worker import start_worker, stop_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# After the close of a session: every bar the simulator serves is final, whatever the worker's
# own (wall) clock says, so the stored series can equal the ground truth exactly.
AFTER_CLOSE = datetime(2026, 3, 4, 20, 0, tzinfo=KST)
# Kombu's keys for the queue and for messages a worker took but has not acknowledged yet.
BROKER_KEYS = ("celery", "unacked", "unacked_index", "unacked_mutex")


def _broker_cleared() -> None:
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(*BROKER_KEYS)
    for key in broker.scan_iter("celery-task-meta-*"):
        broker.delete(key)


def _wait(condition, *, seconds: float, what: str, worker=None) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if worker is not None and worker.poll() is not None:
            pytest.fail(f"the worker exited before {what}:\n{worker.stdout.read()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {seconds:.0f} s")
        time.sleep(0.02)


def _partly_stored(expected: dict[str, int]) -> list[str]:
    counts = dict(
        Candle.objects.filter(timeframe="1d").values_list("stock__code").annotate(n=Count("id"))
    )
    return [code for code, n in counts.items() if 0 < n < expected[code]]


def test_a_worker_killed_mid_run_loses_nothing(ingest_sim):
    sim = ingest_sim
    sim.set_now(AFTER_CLOSE)
    services.stocks_sync()
    # Eight series of ~17 pages each: a run of some seconds, long enough to be cut in the middle.
    codes = sorted(Stock.objects.analysis_targets().values_list("code", flat=True))[:8]
    Stock.objects.exclude(code__in=codes).update(is_analysis_target=False)
    sim.configure(page_size=60, latency_ms=10)
    since = services.default_since(timeframe="1d")
    truth = {code: truth_frame(sim, code, "1d", start=since, now=AFTER_CLOSE) for code in codes}
    _broker_cleared()
    env = django_env(
        KIWOOM_BASE_URL=sim.url,
        KIWOOM_MAX_RPS="1000",
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        CELERY_RESULT_BACKEND=settings.CELERY_BROKER_URL,
        CELERY_TASK_TIME_LIMIT="6",
        CELERY_VISIBILITY_TIMEOUT="8",
        MARKETDATA_SERIES_LOCK_SECONDS="3",
    )
    # Not the current app: the eager tests that run later use the project's app.
    client = Celery(
        broker=settings.CELERY_BROKER_URL,
        backend=settings.CELERY_BROKER_URL,
        set_as_current=False,
    )
    first = start_worker(env, name="doomed")
    second = None
    try:
        client.send_task("marketdata.collect_timeframe", kwargs={"timeframe": "1d", "force": True})
        expected = {code: len(frame) for code, frame in truth.items()}

        def mid_run() -> bool:
            run = IngestionRun.objects.filter(kind="collect").first()
            return bool(run and run.series_done >= 2 and _partly_stored(expected))

        _wait(mid_run, seconds=120, what="series in progress", worker=first)
        first.send_signal(signal.SIGKILL)  # no warm shutdown: the task in hand is just lost
        first.wait()
        interrupted = _partly_stored(expected)
        run = IngestionRun.objects.get(kind="collect")
        assert interrupted and run.status == IngestionRun.Status.RUNNING
        assert run.series_done + run.series_failed < len(codes)

        second = start_worker(env, name="survivor")
        _wait(
            lambda: IngestionRun.objects.get(pk=run.pk).status != IngestionRun.Status.RUNNING,
            seconds=120,
            what="end of the run",
            worker=second,
        )
    finally:
        first.kill()
        first.wait()
        log = stop_worker(second) if second else ""
        _broker_cleared()
    run.refresh_from_db()
    assert run.status == IngestionRun.Status.SUCCEEDED, (run.errors, log)
    assert (run.series_done, run.series_failed, run.errors) == (len(codes), 0, "")
    assert run.outcomes.filter(succeeded=True).count() == len(codes)
    for code in codes:
        assert_same_bars(stored_frame(Stock.objects.get(code=code), "1d"), truth[code])
    assert not SyncState.objects.filter(timeframe="1d", backfill_from__isnull=False).exists()

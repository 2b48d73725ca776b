"""Celery tasks (run eagerly in-process against the simulator), schedules and /healthz."""

import datetime as dt
import io
import signal
import time

import pandas as pd
import pytest
import redis
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from chartinsight.celery import PERIODIC_TASKS, app
from marketdata import krx_calendar as cal
from marketdata import selectors, services, tasks
from marketdata.krx_calendar import KST, TIMEFRAMES
from marketdata.models import Candle, IngestionRun, Stock
from marketdata.tests.factories import django_python, make_candles, make_stock

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("broker_queue_purged"),
]


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.mark.parametrize(
    ("instant", "skipped"),
    [
        (dt.datetime(2026, 3, 4, 9, 5, tzinfo=KST), False),  # Wednesday
        (dt.datetime(2026, 3, 2, 9, 5, tzinfo=KST), True),  # 대체공휴일(삼일절)
        (dt.datetime(2026, 3, 7, 9, 5, tzinfo=KST), True),  # Saturday
        (dt.datetime(2026, 3, 4, 0, 30, tzinfo=dt.UTC), False),  # 09:30 KST
        (dt.datetime(2026, 3, 1, 23, 0, tzinfo=dt.UTC), True),  # Monday 08:00 KST, a holiday
    ],
)
def test_scheduled_collections_skip_non_trading_days(instant, skipped):
    message = tasks.holiday_skip(instant)
    assert (message is not None) is skipped
    if skipped:
        assert message == tasks.SKIPPED_HOLIDAY.format(day=instant.astimezone(KST).date())


@pytest.mark.parametrize(
    ("instant", "runs"),
    [
        (dt.datetime(2026, 3, 4, 9, 0, tzinfo=KST), True),  # the open
        (dt.datetime(2026, 3, 4, 15, 30, tzinfo=KST), True),  # the close: the last bar is done
        (dt.datetime(2026, 3, 4, 15, 35, tzinfo=KST), False),
        (dt.datetime(2026, 3, 4, 8, 55, tzinfo=KST), False),
        (dt.datetime(2026, 1, 2, 9, 30, tzinfo=KST), False),  # a 10:00 late open
        (dt.datetime(2026, 1, 2, 10, 0, tzinfo=KST), True),
        (dt.datetime(2026, 11, 19, 16, 25, tzinfo=KST), True),  # 수능: open until 16:30
        (dt.datetime(2026, 11, 19, 9, 55, tzinfo=KST), False),
        (dt.datetime(2026, 3, 2, 10, 0, tzinfo=KST), False),  # 대체공휴일(삼일절)
    ],
)
def test_intraday_ticks_run_only_inside_the_days_session(instant, runs):
    message = tasks.session_skip(instant)
    assert (message is None) is runs
    if not runs and cal.is_trading_day(instant.date()):
        session = cal.session(instant.date())
        assert message == tasks.SKIPPED_OUTSIDE_SESSION.format(
            now=instant, day=instant.date(), open=session.open, close=session.close
        )


@pytest.mark.parametrize(
    ("instant", "runs"),
    [
        (dt.datetime(2026, 3, 4, 15, 40, tzinfo=KST), True),
        (dt.datetime(2026, 3, 4, 16, 40, tzinfo=KST), False),  # the 15:40 tick already swept
        (dt.datetime(2026, 11, 19, 15, 40, tzinfo=KST), False),  # 수능: still trading
        (dt.datetime(2026, 11, 19, 16, 40, tzinfo=KST), True),
        (dt.datetime(2026, 3, 7, 15, 40, tzinfo=KST), False),  # Saturday
    ],
)
def test_the_sweep_runs_at_the_first_tick_after_the_days_close(instant, runs):
    assert (tasks.sweep_skip(instant) is None) is runs


def test_collect_timeframe_fans_out_per_series_and_closes_the_run(ingest_sim, eager):
    services.stocks_sync()
    make_stock("999999", "없는회사", is_analysis_target=True)  # Kiwoom answers 1902
    targets = Stock.objects.analysis_targets().count()
    summary = tasks.collect_timeframe("1mo", force=True)
    run = IngestionRun.objects.get(kind="collect", timeframe="1mo")
    assert summary == f"1mo: {targets} series queued (run {run.pk})"
    assert run.trigger == "task" and run.series_total == targets
    assert (run.series_done, run.series_failed) == (targets - 1, 1)
    assert run.status == IngestionRun.Status.PARTIAL and run.finished_at
    assert "999999 1mo" in run.errors and "Unknown stock code" in run.errors
    stocks_with_bars = Candle.objects.filter(timeframe="1mo").values("stock").distinct().count()
    assert stocks_with_bars == targets - 1
    assert selectors.health_report()["last_collection"]["1mo"] is not None

    # A second run only re-reads the overlap: nothing changes.
    tasks.collect_timeframe("1mo", force=True)
    second = IngestionRun.objects.filter(kind="collect").first()
    assert second.rows_upserted == 0 and second.series_done == targets - 1


def test_minute_collectors_cover_analysis_targets_only(ingest_sim):
    services.stocks_sync()
    make_stock("123450", "보통회사", is_analysis_target=False)
    held = make_stock("123460", "백필된회사", is_analysis_target=False)
    held.sync_states.create(timeframe="1d", rows=250)
    failed = make_stock("123470", "실패한회사", is_analysis_target=False)
    failed.sync_states.create(timeframe="1d", rows=0, last_error="Unknown stock code")
    targets = set(Stock.objects.analysis_targets().values_list("code", flat=True))
    assert set(tasks.collection_codes(timeframe="5m")) == targets
    assert set(tasks.collection_codes(timeframe="1d")) == targets | {"123460"}


def test_sync_stocks_task(ingest_sim, eager):
    result = tasks.sync_stocks.delay().get()
    assert result["created"] == 30 and result["analysis_targets"] == 26
    assert IngestionRun.objects.get(kind="sync_stocks").status == IngestionRun.Status.SUCCEEDED


def test_sync_stocks_retries_while_kiwoom_is_unavailable_under_one_run_record(
    ingest_sim, eager, settings
):
    settings.KIWOOM_RETRY_ATTEMPTS = 2
    ingest_sim.configure(fail_next=2)  # the first task attempt gives up: KiwoomUnavailable
    result = tasks.sync_stocks.delay().get()
    assert result["created"] == 30
    run = IngestionRun.objects.get(kind="sync_stocks")
    assert run.status == IngestionRun.Status.SUCCEEDED
    assert (run.series_done, run.series_failed) == (1, 0)


def test_a_failing_repair_is_counted_into_its_run_with_the_series_named(ingest_sim, eager):
    stock = make_stock("999999", "없는회사")  # Kiwoom answers 1902
    days = pd.DatetimeIndex(["2026-02-02", "2026-02-04"], tz=KST)  # 02-03 is missing
    make_candles(
        stock,
        "1d",
        pd.DataFrame({"open": 1, "high": 1, "low": 1, "close": 1, "volume": 1}, index=days),
    )
    tasks.repair_gaps(force=True)
    run = IngestionRun.objects.get(kind="repair", timeframe="1d")
    assert (run.series_done, run.series_failed) == (0, 1)
    assert run.status == IngestionRun.Status.FAILED
    assert run.errors.startswith("999999 1d: Unknown stock code")


def test_every_schedule_names_a_registered_task_and_syncs_into_beat():
    app.loader.import_default_modules()
    for name, (task, _schedule, _kwargs, description) in PERIODIC_TASKS.items():
        assert task in app.tasks, name
        assert description
    call_command("sync_schedules", stdout=io.StringIO())
    five = PeriodicTask.objects.get(name="Collect 5m bars (every 5 minutes, session)")
    assert five.task == "marketdata.collect_timeframe" and '"5m"' in five.kwargs
    assert five.crontab.timezone.key == KST.key
    assert five.crontab.hour == "9-16" and five.crontab.day_of_week == "mon-fri"
    sweep = PeriodicTask.objects.get(task="marketdata.sweep_after_close")
    assert (sweep.crontab.minute, sweep.crontab.hour) == ("40", "15-16")
    assert PeriodicTask.objects.filter(task="marketdata.sweep_after_close").exists()
    assert PeriodicTask.objects.filter(task="marketdata.sync_stocks").exists()


def test_healthz_shows_the_last_collection_per_timeframe(client, ingest_sim):
    stock = make_stock()
    services.series_backfill(
        stock=stock, timeframe="1w", since=dt.date(2026, 1, 5), until=dt.date(2026, 2, 27)
    )
    body = client.get("/healthz").json()
    assert set(body["last_collection"]) == set(TIMEFRAMES)
    assert body["last_collection"]["5m"] is None
    assert body["last_collection"]["1w"].endswith("+09:00")


def test_a_series_held_by_another_task_is_retried_then_counted_failed(ingest_sim, eager, settings):
    settings.MARKETDATA_SERIES_LOCK_SECONDS = 5
    make_stock()
    run = services.ingestion_run_start(
        kind=IngestionRun.Kind.COLLECT, timeframe="1d", trigger="task", series_total=1
    )
    held = redis.Redis.from_url(settings.REDIS_URL).lock(
        "marketdata:series:005930:1d", timeout=60, thread_local=False
    )
    assert held.acquire(blocking=False, token="another-task")
    try:  # eager retries run at once, so the retries run out while the lock is held
        result = tasks.collect_series.delay(code="005930", timeframe="1d", run_id=run.pk).get()
    finally:
        held.release()
    assert result["changed"] is None
    assert not Candle.objects.exists() and ingest_sim.requests() == []
    run.refresh_from_db()
    assert (run.status, run.series_done, run.series_failed) == ("failed", 0, 1)
    assert run.errors.startswith("005930 1d: " + tasks.ERROR_BUSY.format(seconds=15))
    result = tasks.collect_series.delay(code="005930", timeframe="1d").get()
    assert result["changed"] > 0


def test_a_series_lock_lives_while_its_holder_beats_and_lapses_soon_after_it_dies(settings):
    holder = django_python(
        "import time\n"
        "from marketdata.tasks import SeriesLock\n"
        "SeriesLock(code='005930', timeframe='1d', owner='task-1').__enter__()\n"
        "print('held', flush=True)\n"
        "time.sleep(120)\n",
        MARKETDATA_SERIES_LOCK_SECONDS="2",
    )
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        assert holder.stdout.readline().strip() == "held"
        time.sleep(3.5)  # past the lock's lifetime: only the heartbeat keeps it
        assert client.get("marketdata:series:005930:1d") == b"task-1"
    finally:
        holder.send_signal(signal.SIGKILL)  # a worker lost without any cleanup
        holder.wait()
    deadline = time.monotonic() + 2.5
    while client.exists("marketdata:series:005930:1d") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not client.exists("marketdata:series:005930:1d")
    settings.MARKETDATA_SERIES_LOCK_SECONDS = 2
    with tasks.SeriesLock(code="005930", timeframe="1d", owner="task-2"):
        assert client.get("marketdata:series:005930:1d") == b"task-2"
    assert not client.exists("marketdata:series:005930:1d")


def test_a_hostile_series_fails_alone_and_the_run_closes_with_its_counts(ingest_sim, eager):
    services.stocks_sync()
    targets = Stock.objects.analysis_targets().count()
    ingest_sim.configure(
        page_size=50,
        corrupt_code="000660",
        corrupt_row=60,  # the 11th row of the second page
        corrupt_fields={"trde_qty": "99999999999999999999"},  # beyond a bigint
    )
    tasks.collect_timeframe("1mo", force=True)
    run = IngestionRun.objects.get(kind="collect")
    assert (run.status, run.series_done, run.series_failed) == ("partial", targets - 1, 1)
    assert run.errors.startswith("000660 1mo: Malformed Kiwoom ka10083 response: ")
    assert "000660 page 2 row 11 (dt=" in run.errors and "trde_qty='9999" in run.errors
    failed = run.outcomes.get(succeeded=False)
    assert (failed.code, failed.timeframe) == ("000660", "1mo") and failed.error == run.errors[:-1]
    assert run.outcomes.filter(succeeded=True).count() == targets - 1
    hynix = Stock.objects.get(code="000660")
    assert Candle.objects.filter(stock=hynix, timeframe="1mo").count() == 50  # page 1 only
    assert "page 2 row 11" in hynix.sync_states.get(timeframe="1mo").last_error


def test_a_series_reported_twice_counts_once():
    run = services.ingestion_run_start(
        kind=IngestionRun.Kind.COLLECT, timeframe="1d", trigger="task", series_total=2
    )
    assert services.ingestion_run_record(run_id=run.pk, code="005930", timeframe="1d")
    # The same task delivered again after its worker was lost reports again.
    assert not services.ingestion_run_record(run_id=run.pk, code="005930", timeframe="1d")
    assert not services.ingestion_run_record(
        run_id=run.pk, code="005930", timeframe="1d", error="late duplicate"
    )
    run.refresh_from_db()
    assert (run.status, run.series_done, run.series_failed, run.errors) == ("running", 1, 0, "")
    services.ingestion_run_record(run_id=run.pk, code="000660", timeframe="1d", error="boom")
    run.refresh_from_db()
    assert (run.status, run.series_done, run.series_failed) == ("partial", 1, 1)


def test_runs_past_their_deadline_are_abandoned_and_late_reports_still_count(settings):
    settings.MARKETDATA_RUN_DEADLINE_SECONDS = 600
    run = services.ingestion_run_start(
        kind=IngestionRun.Kind.COLLECT, timeframe="30m", trigger="task", series_total=26
    )
    for code in ("000001", "000002"):
        services.ingestion_run_record(run_id=run.pk, code=code, timeframe="30m")
    run.refresh_from_db()
    assert services.ingestion_runs_abandon(now=run.deadline_at - dt.timedelta(seconds=1)) == 0
    assert tasks.close_abandoned_runs() == "0 run(s) abandoned"
    later = run.deadline_at + dt.timedelta(seconds=1)
    assert services.ingestion_runs_abandon(now=later) == 1
    run.refresh_from_db()
    assert (run.status, run.finished_at) == (IngestionRun.Status.ABANDONED, later)
    assert "24 of 26 series never reported" in run.errors
    assert services.ingestion_runs_abandon(now=later) == 0  # closed once
    # A task delivered again after all reports into it; the last one closes the run.
    for number in range(3, 27):
        services.ingestion_run_record(run_id=run.pk, code=f"{number:06d}", timeframe="30m")
    run.refresh_from_db()
    assert (run.status, run.series_done) == (IngestionRun.Status.SUCCEEDED, 26)

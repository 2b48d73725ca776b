"""Ingestion services against the real PostgreSQL (and the Kiwoom simulator over HTTP)."""

import base64
import datetime as dt
import json
import signal
import subprocess
import sys
import time

import pytest
import redis
from django.conf import settings

from marketdata import services
from marketdata.kiwoom import Bar, KiwoomUnavailable, KiwoomUnknownStock, StockInfo
from marketdata.models import Candle, Stock, SyncState
from marketdata.simulator.universe import UNIVERSE, UNIVERSE_BY_CODE
from marketdata.tests.factories import (
    ROOT,
    SIMULATOR_NOW,
    assert_same_bars,
    django_env,
    kst,
    make_kiwoom_client,
    make_stock,
    stored_frame,
    truth_frame,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("broker_queue_purged"),
]


def bar(ts, close=100.0, volume=10) -> Bar:
    return Bar(
        ts=ts,
        open=close,
        high=close + 1,
        low=close - 1,
        close=close,
        volume=volume,
        traded_value=int(close * volume),
    )


def test_upsert_inserts_updates_only_changes_and_decides_finality():
    stock = make_stock()
    now = kst(2025, 9, 17, 10, 7)
    bars = [
        bar(kst(2025, 9, 17, 9, 55)),
        bar(kst(2025, 9, 17, 10, 0)),
        bar(kst(2025, 9, 17, 10, 5)),
    ]
    assert services.candles_upsert(stock=stock, timeframe="5m", bars=bars, now=now) == 3
    stored = dict(Candle.objects.filter(stock=stock).values_list("ts", "is_final"))
    assert stored == {bars[0].ts: True, bars[1].ts: True, bars[2].ts: False}

    # Same values again: nothing is rewritten.
    fetched_at = list(Candle.objects.order_by("ts").values_list("fetched_at", flat=True))
    assert services.candles_upsert(stock=stock, timeframe="5m", bars=bars, now=now) == 0
    assert list(Candle.objects.order_by("ts").values_list("fetched_at", flat=True)) == fetched_at

    # The forming bar moved on and the clock passed its end: one row changes, now final.
    later = kst(2025, 9, 17, 10, 11)
    grown = [bars[1], bar(bars[2].ts, close=103.0, volume=25)]
    assert services.candles_upsert(stock=stock, timeframe="5m", bars=grown, now=later) == 1
    row = Candle.objects.get(stock=stock, ts=bars[2].ts)
    assert (row.close, row.volume, row.is_final) == (103.0, 25, True)
    assert Candle.objects.filter(stock=stock).count() == 3


def test_upsert_drops_duplicate_instants_in_one_batch():
    stock = make_stock()
    ts = kst(2025, 9, 15)
    written = services.candles_upsert(
        stock=stock, timeframe="1d", bars=[bar(ts, close=100), bar(ts, close=999)]
    )
    assert written == 1
    assert Candle.objects.get(stock=stock).close == 100


def test_gaps_against_the_krx_calendar():
    stock = make_stock()
    # 2025-10-01..2025-10-14 has the 추석 closure 10-03 and 10-06..10-09.
    days = [dt.date(2025, 10, 1), dt.date(2025, 10, 2), dt.date(2025, 10, 13)]
    services.candles_upsert(
        stock=stock, timeframe="1d", bars=[bar(kst(d.year, d.month, d.day)) for d in days]
    )
    gaps = services.series_gaps(
        stock=stock,
        timeframe="1d",
        start=dt.date(2025, 10, 1),
        end=dt.date(2025, 10, 14),
        now=kst(2025, 10, 20),
    )
    assert gaps == [(kst(2025, 10, 10), kst(2025, 10, 10)), (kst(2025, 10, 14), kst(2025, 10, 14))]


def _info(**fields) -> StockInfo:
    values = {
        "code": "005930",
        "name": "삼성전자",
        "market": "KOSPI",
        "industry": "전기/전자",
        "listed_shares": 5_969_782_550,
        "last_price": 71_900.0,
        "state": "증거금20%|담보대출|신용가능",
        "audit_info": "정상",
        "order_warning": "0",
        "nxt_enabled": True,
        "listed_on": None,
        "market_name": "거래소",
    }
    values.update(fields)
    return StockInfo(**values)


@pytest.mark.parametrize(
    ("fields", "passes"),
    [
        ({}, True),
        ({"name": "KODEX 200"}, False),
        ({"name": "미래에셋스팩1호"}, False),
        ({"name": "신한알파리츠"}, False),
        ({"state": "관리종목"}, False),
        ({"state": "증거금100%"}, False),
        ({"audit_info": "거래정지"}, False),
        ({"order_warning": "3"}, False),
        ({"listed_shares": 1_000_000, "last_price": 99_999.0}, False),  # 99.999 bn KRW
        ({"listed_shares": 1_000_000, "last_price": 100_000.0}, True),  # exactly 100 bn KRW
        ({"last_price": None}, False),
    ],
)
def test_filter_zero(fields, passes):
    assert services.passes_filter_zero(_info(**fields)) is passes


# --- Over HTTP against the simulator ------------------------------------------------------


@pytest.fixture
def broker():
    """The Celery broker's default queue (Redis list), emptied before the test."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("celery")

    def queued() -> list[tuple[str, dict]]:
        messages = []
        for raw in client.lrange("celery", 0, -1):
            message = json.loads(raw)
            _, kwargs, _ = json.loads(base64.b64decode(message["body"]))
            messages.append((message["headers"]["task"], kwargs))
        return messages

    return queued


def universe_stock(code="005930"):
    spec = UNIVERSE_BY_CODE[code]
    return make_stock(code, spec.name)


def test_stocks_sync_new_missing_returning_and_filter_zero(ingest_sim):
    delisted = make_stock("123450", "상장폐지된회사", is_active=True)
    returning = make_stock("000660", "SK하이닉스", is_active=False, is_analysis_target=False)
    result = services.stocks_sync()
    assert result.created == len(UNIVERSE) - 1
    assert result.reactivated == 1 and result.deactivated == 1
    delisted.refresh_from_db()
    returning.refresh_from_db()
    assert not delisted.is_active
    assert returning.is_active and returning.is_analysis_target
    active = set(Stock.objects.active().values_list("code", flat=True))
    assert active == {spec.code for spec in UNIVERSE}
    targets = set(Stock.objects.analysis_targets().values_list("code", flat=True))
    failing = {spec.code for spec in UNIVERSE[-4:]}  # ETF, SPAC, 증거금100%, 관리종목
    assert targets == active - failing
    samsung = Stock.objects.get(code="005930")
    assert samsung.listed_shares == UNIVERSE_BY_CODE["005930"].listed_shares
    assert samsung.market == "KOSPI" and samsung.industry
    assert samsung.name_initials == "ㅅㅅㅈㅈ"  # stored for the 초성 symbol search

    again = services.stocks_sync()
    assert (again.created, again.updated, again.deactivated, again.reactivated) == (0, 0, 0, 0)


@pytest.mark.parametrize("timeframe", ["1d", "5m", "1w"])
def test_backfill_stores_exactly_the_true_bars_and_is_idempotent(ingest_sim, broker, timeframe):
    stock = universe_stock()
    since = dt.date(2026, 2, 16) if timeframe == "5m" else dt.date(2025, 3, 3)
    ingest_sim.configure(page_size=40 if timeframe == "1w" else 150)
    result = services.series_backfill(
        stock=stock, timeframe=timeframe, since=since, now=SIMULATOR_NOW
    )
    truth = truth_frame(ingest_sim, stock.code, timeframe, start=since)
    assert_same_bars(stored_frame(stock, timeframe), truth)
    assert result.pages >= 2 and result.changed == len(truth)
    assert not stored_frame(stock, timeframe)["is_final"].iloc[-1]  # the forming bar
    state = SyncState.objects.get(stock=stock, timeframe=timeframe)
    assert state.rows == len(truth) and state.last_success_at and not state.last_error
    assert state.last_bar_ts == truth.index[-1]
    assert broker() == [(services.ANALYSIS_TASK, {"code": "005930", "timeframe": timeframe})]

    again = services.series_backfill(
        stock=stock, timeframe=timeframe, since=since, now=SIMULATOR_NOW
    )
    assert again.changed == 0 and not again.bars_changed
    if timeframe != "5m":  # a hole-free daily-type series is only re-read at its newest end
        assert again.pages == 1
    assert len(broker()) == 1  # nothing changed: no re-analysis
    assert_same_bars(stored_frame(stock, timeframe), truth)


def test_collect_corrects_the_forming_bar_after_the_clock_moves(ingest_sim):
    stock = universe_stock()
    services.series_backfill(
        stock=stock, timeframe="5m", since=dt.date(2026, 3, 3), now=SIMULATOR_NOW
    )
    services.series_backfill(
        stock=stock, timeframe="1d", since=dt.date(2026, 2, 2), now=SIMULATOR_NOW
    )
    forming = Candle.objects.get(stock=stock, timeframe="5m", is_final=False)
    later = SIMULATOR_NOW + dt.timedelta(minutes=23)
    ingest_sim.set_now(later)
    for timeframe in ("5m", "1d"):
        result = services.series_collect(stock=stock, timeframe=timeframe, now=later)
        assert result.bars_changed
        truth = truth_frame(ingest_sim, stock.code, timeframe, now=later)
        stored = stored_frame(stock, timeframe)
        assert_same_bars(stored, truth[truth.index >= stored.index[0]])
    corrected = Candle.objects.get(pk=forming.pk)
    assert corrected.is_final
    assert (corrected.close, corrected.volume) != (forming.close, forming.volume)


def test_collect_after_an_outage_leaves_no_gap(ingest_sim):
    stock = universe_stock()
    services.series_backfill(
        stock=stock, timeframe="30m", since=dt.date(2026, 2, 23), now=SIMULATOR_NOW
    )
    later = SIMULATOR_NOW + dt.timedelta(days=6)  # the next Tuesday, 11:07
    ingest_sim.set_now(later)
    ingest_sim.configure(page_size=30)
    services.series_collect(stock=stock, timeframe="30m", now=later)
    truth = truth_frame(ingest_sim, stock.code, "30m", start=dt.date(2026, 2, 23), now=later)
    assert_same_bars(stored_frame(stock, "30m"), truth)
    assert (
        services.series_gaps(
            stock=stock,
            timeframe="30m",
            start=dt.date(2026, 2, 23),
            end=later.date(),
            now=later,
        )
        == []
    )


def test_collect_of_an_empty_series_backfills_the_default_depth(ingest_sim):
    stock = universe_stock()
    services.series_collect(stock=stock, timeframe="1mo", now=SIMULATOR_NOW)
    since = services.default_since(timeframe="1mo", now=SIMULATOR_NOW)
    assert_same_bars(
        stored_frame(stock, "1mo"), truth_frame(ingest_sim, stock.code, "1mo", start=since)
    )


def test_gaps_are_found_and_repaired(ingest_sim):
    stock = universe_stock()
    for timeframe, since in (("1d", dt.date(2025, 9, 1)), ("5m", dt.date(2026, 2, 26))):
        services.series_backfill(stock=stock, timeframe=timeframe, since=since, now=SIMULATOR_NOW)
        rows = Candle.objects.filter(stock=stock, timeframe=timeframe).order_by("ts")
        holes = [rows[10].ts, rows[11].ts, rows[40].ts]
        Candle.objects.filter(stock=stock, timeframe=timeframe, ts__in=holes).delete()
        found = services.series_gaps(
            stock=stock,
            timeframe=timeframe,
            start=since,
            end=SIMULATOR_NOW.date(),
            now=SIMULATOR_NOW,
        )
        assert found == [(holes[0], holes[1]), (holes[2], holes[2])]
        result = services.series_repair_gaps(stock=stock, timeframe=timeframe, now=SIMULATOR_NOW)
        assert result.gaps == found and result.changed == 3 and result.missing_after == 0
        assert_same_bars(
            stored_frame(stock, timeframe),
            truth_frame(ingest_sim, stock.code, timeframe, start=since),
        )
        again = services.series_repair_gaps(stock=stock, timeframe=timeframe, now=SIMULATOR_NOW)
        assert again.gaps == [] and again.requests == 0


# The first session of 2025 (10:00–15:30), 71 minutes in; 2024-11-14 was the 수능 session
# (10:00–16:30), a calendar override.
LATE_OPEN_NOW = kst(2025, 1, 2, 11, 11)
EXAM_DAY = dt.date(2024, 11, 14)


@pytest.mark.parametrize("timeframe", ["5m", "1h", "1d"])
def test_backfill_and_gap_repair_over_an_exam_day_and_a_late_open(ingest_sim, timeframe):
    ingest_sim.set_now(LATE_OPEN_NOW)
    stock = make_stock()
    since = dt.date(2024, 11, 12)
    services.series_backfill(stock=stock, timeframe=timeframe, since=since, now=LATE_OPEN_NOW)
    stored = stored_frame(stock, timeframe)
    truth = truth_frame(ingest_sim, "005930", timeframe, start=since, now=LATE_OPEN_NOW)
    assert_same_bars(stored, truth)  # every bar, every value, every finality flag

    gaps = services.series_gaps(
        stock=stock, timeframe=timeframe, start=since, end=LATE_OPEN_NOW.date(), now=LATE_OPEN_NOW
    )
    assert gaps == []
    repaired = services.series_repair_gaps(stock=stock, timeframe=timeframe, now=LATE_OPEN_NOW)
    assert (repaired.gaps, repaired.missing_after, repaired.requests) == ([], 0, 0)

    exam = stored[stored.index.date == EXAM_DAY]
    today = stored[stored.index.date == LATE_OPEN_NOW.date()]
    assert exam.is_final.all()
    assert not today.is_final.iloc[-1] and today.is_final.iloc[:-1].all()
    if timeframe == "5m":
        assert (exam.index[0].time(), exam.index[-1].time()) == (dt.time(10), dt.time(16, 25))
        assert len(exam) == 78
        assert today.index[0].time() == dt.time(10)
        assert today.index[-1] == kst(2025, 1, 2, 11, 10)
    if timeframe == "1h":
        assert [t.hour for t in exam.index] == [10, 11, 12, 13, 14, 15, 16]


def test_the_daily_bar_of_an_exam_day_is_final_only_after_its_16_30_close(ingest_sim):
    stock = make_stock()
    during = kst(2024, 11, 14, 16, 10)  # after 15:30, before 16:30
    ingest_sim.set_now(during)
    services.series_backfill(stock=stock, timeframe="1d", since=dt.date(2024, 11, 4), now=during)
    bar = Candle.objects.get(stock=stock, timeframe="1d", ts=kst(2024, 11, 14))
    assert not bar.is_final
    after = kst(2024, 11, 14, 16, 31)
    ingest_sim.set_now(after)
    services.series_collect(stock=stock, timeframe="1d", now=after)
    bar.refresh_from_db()
    assert bar.is_final
    assert (
        bar.close == ingest_sim.market.bars("005930", "1d", now=after).loc[kst(2024, 11, 14)].close
    )


def test_backfill_outside_the_calendar_is_refused():
    with pytest.raises(services.IngestionError, match="outside the KRX calendar"):
        services.series_backfill(stock=make_stock(), timeframe="1d", since=dt.date(2000, 1, 4))


def test_unknown_code_at_kiwoom_is_an_error_recorded_on_the_series(ingest_sim):
    stock = make_stock("999999", "없는회사")
    with pytest.raises(KiwoomUnknownStock):
        services.series_backfill(
            stock=stock, timeframe="1d", since=dt.date(2026, 1, 5), now=SIMULATOR_NOW
        )
    state = SyncState.objects.get(stock=stock, timeframe="1d")
    assert "999999" in state.last_error and state.last_error_at
    assert not Candle.objects.filter(stock=stock).exists()


def test_unknown_code_and_timeframe_are_refused():
    with pytest.raises(services.IngestionError) as error:
        services.stock_get(code="NOPE00")
    assert str(error.value) == services.ERROR_UNKNOWN_CODE.format(code="NOPE00")
    with pytest.raises(services.IngestionError, match="Unknown timeframe '2m'"):
        services.series_collect(stock=make_stock(), timeframe="2m")


def test_a_worker_killed_mid_backfill_resumes_without_holes_or_duplicates(ingest_sim):
    stock = universe_stock()
    ingest_sim.configure(page_size=100)
    since, until = "2025-11-03", "2026-03-03"
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "backfill",
            "--codes",
            stock.code,
            "--timeframes",
            "5m",
            "--since",
            since,
            "--until",
            until,
        ],
        cwd=ROOT,
        env=django_env(KIWOOM_BASE_URL=ingest_sim.url, KIWOOM_MAX_RPS="8"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while Candle.objects.filter(stock=stock).count() < 300:
            assert process.poll() is None, "backfill ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    partial = Candle.objects.filter(stock=stock).count()
    truth = truth_frame(
        ingest_sim,
        stock.code,
        "5m",
        start=dt.date.fromisoformat(since),
        end=dt.date.fromisoformat(until),
    )
    assert 0 < partial < len(truth)

    services.series_backfill(
        stock=stock,
        timeframe="5m",
        since=dt.date.fromisoformat(since),
        until=dt.date.fromisoformat(until),
        now=SIMULATOR_NOW,
    )
    assert_same_bars(stored_frame(stock, "5m"), truth)


@pytest.mark.parametrize("recovery", ["collect", "repair_gaps"])
@pytest.mark.parametrize("timeframe", ["1d", "30m"])
def test_history_missing_before_an_interrupted_backfill_is_refetched(
    ingest_sim, recovery, timeframe
):
    stock = universe_stock()
    since = dt.date(2025, 6, 2) if timeframe == "1d" else dt.date(2026, 1, 5)
    ingest_sim.configure(page_size=40)

    def outage_after_two_pages(result, fraction):
        if result.pages == 2:
            ingest_sim.configure(fail_next=1_000)

    with (
        make_kiwoom_client(ingest_sim, max_attempts=2) as client,
        pytest.raises(KiwoomUnavailable),
    ):
        services.series_backfill(
            stock=stock,
            timeframe=timeframe,
            since=since,
            progress=outage_after_two_pages,
            client=client,
            now=SIMULATOR_NOW,
        )
    ingest_sim.configure(fail_next=0)
    truth = truth_frame(ingest_sim, stock.code, timeframe, start=since)
    # The newest 80 bars, without a hole: nothing but the interrupted backfill says more is owed.
    assert Candle.objects.filter(stock=stock, timeframe=timeframe).count() == 80 < len(truth)
    assert services.backfill_pending_from(stock=stock, timeframe=timeframe) == kst(
        since.year, since.month, since.day
    )

    if recovery == "collect":
        services.series_collect(stock=stock, timeframe=timeframe, now=SIMULATOR_NOW)
    else:
        repaired = services.series_repair_gaps(stock=stock, timeframe=timeframe, now=SIMULATOR_NOW)
        assert repaired.gaps[0][0] == truth.index[0] and repaired.missing_after == 0
    assert_same_bars(stored_frame(stock, timeframe), truth)
    assert services.backfill_pending_from(stock=stock, timeframe=timeframe) is None
    # Complete now: nothing is owed any more.
    again = services.series_repair_gaps(stock=stock, timeframe=timeframe, now=SIMULATOR_NOW)
    assert again.gaps == [] and again.requests == 0


def test_a_backfill_from_before_the_listing_is_complete_once_kiwoom_has_no_older_page(
    ingest_sim,
):
    stock = universe_stock()
    first_bar = truth_frame(ingest_sim, stock.code, "1w").index[0]
    since = (first_bar - dt.timedelta(days=400)).date()
    services.series_backfill(stock=stock, timeframe="1w", since=since, now=SIMULATOR_NOW)
    assert services.backfill_pending_from(stock=stock, timeframe="1w") is None
    repaired = services.series_repair_gaps(stock=stock, timeframe="1w", now=SIMULATOR_NOW)
    assert repaired.gaps == [] and repaired.requests == 0


def test_an_interrupted_daily_backfill_reads_only_what_is_missing(ingest_sim):
    stock = universe_stock()
    since = dt.date(2024, 3, 4)
    ingest_sim.configure(page_size=50)
    full = services.series_backfill(stock=stock, timeframe="1d", since=since, now=SIMULATOR_NOW)
    # As if the run had died before its oldest pages: only the newest 120 bars are stored.
    keep = Candle.objects.filter(stock=stock, timeframe="1d").order_by("-ts")[:120]
    Candle.objects.filter(stock=stock, timeframe="1d").exclude(pk__in=[c.pk for c in keep]).delete()
    resumed = services.series_backfill(stock=stock, timeframe="1d", since=since, now=SIMULATOR_NOW)
    truth = truth_frame(ingest_sim, stock.code, "1d", start=since)
    assert_same_bars(stored_frame(stock, "1d"), truth)
    assert resumed.changed == len(truth) - 120
    assert resumed.pages < full.pages  # the stored newest bars were not read again

    # A hole in the middle: the whole range is read again and the hole filled.
    hole = Candle.objects.filter(stock=stock, timeframe="1d").order_by("ts")[200]
    hole.delete()
    services.series_backfill(stock=stock, timeframe="1d", since=since, now=SIMULATOR_NOW)
    assert_same_bars(stored_frame(stock, "1d"), truth)


@pytest.mark.parametrize(
    "fault",
    [
        {"fail_next": 3},
        {"fail_rate": 0.3, "fail_seed": 3},
        {"rate_limit_next": 4},
        {"malformed_next": 2},
        {"duplicate_rows": True},
        {"latency_ms": 40},
        {"expire_tokens": True},
        {"fields": "legacy"},
    ],
    ids=lambda f: next(iter(f)),
)
@pytest.mark.parametrize("timeframe", ["1d", "30m"])
def test_every_fault_switch_still_stores_exactly_the_true_bars(ingest_sim, fault, timeframe):
    stock = universe_stock("000660")
    since = dt.date(2026, 2, 2) if timeframe == "30m" else dt.date(2025, 8, 1)
    ingest_sim.configure(page_size=45)
    services.series_backfill(  # a valid token first, so expire_tokens has one to expire
        stock=stock, timeframe=timeframe, since=dt.date(2026, 3, 3), now=SIMULATOR_NOW
    )
    ingest_sim.configure(**fault)
    services.series_backfill(stock=stock, timeframe=timeframe, since=since, now=SIMULATOR_NOW)
    assert_same_bars(
        stored_frame(stock, timeframe), truth_frame(ingest_sim, stock.code, timeframe, start=since)
    )

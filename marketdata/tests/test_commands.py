"""The market-data commands: output, exit status, idempotency (simulator over HTTP)."""

import datetime as dt
import io
import socket
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from marketdata import services
from marketdata.management.commands._series import ERROR_FAILED_SERIES, SeriesRunner
from marketdata.models import Candle, IngestionRun, Stock, SyncState
from marketdata.tests.factories import (
    ROOT,
    SIMULATOR_NOW,
    assert_same_bars,
    django_env,
    make_stock,
    stored_frame,
    truth_frame,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("broker_queue_purged"),
]

SINCE, UNTIL = "2026-01-05", "2026-02-27"  # closed bars only: the commands use the real clock


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sync_stocks_reports_counts(ingest_sim):
    out, _ = run("sync_stocks")
    assert "30 new" in out and "26 analysis targets" in out
    run_record = IngestionRun.objects.get(kind="sync_stocks")
    assert run_record.status == IngestionRun.Status.SUCCEEDED
    out, _ = run("sync_stocks")
    assert "0 new, 0 updated" in out


def test_backfill_loads_the_series_with_progress_and_twice_changes_nothing(ingest_sim):
    run("sync_stocks")
    args = ["backfill", "--codes", "005930,000660", "--timeframes", "1d,1w"]
    out, _ = run(*args, "--since", SINCE, "--until", UNTIL)
    assert "[4/4] 000660 1w" in out and "req/s" in out and "ETA" in out
    assert "Done: 4/4 series" in out
    for code in ("005930", "000660"):
        stock = Stock.objects.get(code=code)
        for timeframe in ("1d", "1w"):
            truth = truth_frame(
                ingest_sim,
                code,
                timeframe,
                start=dt.date.fromisoformat(SINCE),
                end=dt.date.fromisoformat(UNTIL),
            )
            assert_same_bars(stored_frame(stock, timeframe), truth)
    count = Candle.objects.count()
    out, _ = run(*args, "--since", SINCE, "--until", UNTIL)
    assert "0 new or changed" in out.splitlines()[-1]
    assert Candle.objects.count() == count
    run_record = IngestionRun.objects.filter(kind="backfill").first()
    assert run_record.status == IngestionRun.Status.SUCCEEDED and run_record.series_done == 4


def test_bad_code_fails_the_command_but_the_other_series_complete(ingest_sim):
    make_stock("005930", "삼성전자")
    with pytest.raises(CommandError) as error:
        run("backfill", "--codes", "005930,NOPE00", "--since", SINCE, "--until", UNTIL)
    message = str(error.value)
    assert message.startswith(
        ERROR_FAILED_SERIES.format(failed=1, total=2, succeeded=1, names="NOPE00 1d", errors="")
    )
    assert services.ERROR_UNKNOWN_CODE.format(code="NOPE00") in message
    assert Candle.objects.filter(stock__code="005930", timeframe="1d").exists()
    run_record = IngestionRun.objects.get(kind="backfill")
    assert run_record.status == IngestionRun.Status.PARTIAL
    assert "NOPE00" in run_record.errors


PRICES = ("open_pric", "high_pric", "low_pric", "cur_prc")
HOSTILE_ROWS = {
    "infinite prices": dict.fromkeys(PRICES, "inf"),
    "1e308 prices": dict.fromkeys(PRICES, "1e308"),
    "all-zero row": dict.fromkeys((*PRICES, "trde_qty", "trde_prica"), "0"),
    "high below low": {"high_pric": "1000", "low_pric": "2000000"},
    "dated 9999-12-31": {"dt": "99991231"},
    "dated 2099-12-31": {"dt": "20991231"},
    "dated 0001-01-01": {"dt": "00010101"},
    "volume above int64": {"trde_qty": "99999999999999999999"},
    "negative volume": {"trde_qty": "-1"},
}


@pytest.mark.parametrize("corruption", HOSTILE_ROWS.values(), ids=HOSTILE_ROWS)
def test_a_hostile_page_fails_its_series_only_and_stores_nothing_of_it(
    ingest_sim, user_client, corruption
):
    run("sync_stocks")
    full = truth_frame(ingest_sim, "005930", "1d")
    bad_row = 15  # places from the newest bar: page 2 of pages of 10 from --until
    ingest_sim.configure(
        page_size=10, corrupt_code="005930", corrupt_row=bad_row, corrupt_fields=corruption
    )
    with pytest.raises(CommandError) as error:
        run("backfill", "--codes", "005930,000660", "--since", SINCE, "--until", UNTIL)
    wanted = {"start": dt.date.fromisoformat(SINCE), "end": dt.date.fromisoformat(UNTIL)}
    page_one = truth_frame(ingest_sim, "005930", "1d", **wanted).iloc[-10:]
    row_in_page = full.index.get_loc(page_one.index[0]) - full.index.get_loc(
        full.index[-bad_row - 1]
    )
    named = f"005930 page 2 row {row_in_page} (dt="
    message = str(error.value)
    assert message.startswith(
        ERROR_FAILED_SERIES.format(failed=1, total=2, succeeded=1, names="005930 1d", errors="")
    )
    assert "005930 1d: Malformed Kiwoom ka10081 response: " + named in message

    # The other series completed; the bad one holds its first page and nothing of the second.
    hynix, samsung = Stock.objects.get(code="000660"), Stock.objects.get(code="005930")
    assert_same_bars(stored_frame(hynix, "1d"), truth_frame(ingest_sim, "000660", "1d", **wanted))
    assert_same_bars(stored_frame(samsung, "1d"), page_one)
    state = SyncState.objects.get(stock=samsung, timeframe="1d")
    assert named in state.last_error and state.last_error_at and state.last_success_at is None
    run_record = IngestionRun.objects.get(kind="backfill")
    assert run_record.status == IngestionRun.Status.PARTIAL
    assert (run_record.series_done, run_record.series_failed) == (1, 1)
    assert named in run_record.errors

    # The series' pages keep working.
    assert user_client.get("/radar/", {"symbol": "005930", "tf": "1d"}).status_code == 200
    api = user_client.get("/api/radar", {"symbol": "005930", "tf": "1d"})
    assert api.status_code == 200 and len(api.json()["candles"]) == 10


def test_an_unexpected_error_in_one_series_never_sinks_the_run(ingest_sim):
    make_stock("005930", "삼성전자")
    make_stock("000660", "SK하이닉스")
    command = BaseCommand(stdout=io.StringIO(), stderr=io.StringIO())
    runner = SeriesRunner(
        command, kind=IngestionRun.Kind.BACKFILL, codes=["005930", "000660"], timeframes=["1d"]
    )

    def backfill(*, stock, timeframe, client, progress):
        if stock.code == "005930":
            raise ZeroDivisionError("a bug in one series")
        return services.series_backfill(
            stock=stock,
            timeframe=timeframe,
            since=dt.date.fromisoformat(SINCE),
            until=dt.date.fromisoformat(UNTIL),
            client=client,
        )

    runner.run(backfill)
    with pytest.raises(CommandError) as error:
        runner.finish()
    assert str(error.value) == ERROR_FAILED_SERIES.format(
        failed=1,
        total=2,
        succeeded=1,
        names="005930 1d",
        errors="005930 1d: ZeroDivisionError: a bug in one series",
    )
    assert "Done: 1/2 series succeeded, 1 failed" in command.stdout.getvalue()
    assert "[1/2] 005930 1d: FAILED ZeroDivisionError" in command.stderr.getvalue()
    assert Candle.objects.filter(stock__code="000660").exists()
    run_record = IngestionRun.objects.get()
    assert (run_record.status, run_record.series_done, run_record.series_failed) == (
        IngestionRun.Status.PARTIAL,
        1,
        1,
    )
    outcomes = run_record.outcomes.order_by("code")
    assert [(o.code, o.succeeded) for o in outcomes] == [("000660", True), ("005930", False)]


def test_dead_api_gives_a_clear_message_and_exit_status_1(settings, kiwoom_state_cleared):
    settings.KIWOOM_BASE_URL = f"http://127.0.0.1:{free_port()}"
    settings.KIWOOM_RETRY_ATTEMPTS = 2
    settings.KIWOOM_RETRY_BASE_SECONDS = 0.01
    make_stock("005930", "삼성전자")
    with pytest.raises(CommandError, match="Kiwoom API unavailable after 2 attempts"):
        run("collect", "--timeframe", "1d", "--codes", "005930")
    with pytest.raises(CommandError, match="Stock master not synced"):
        run("sync_stocks")


def test_admin_shows_failures_but_never_the_keys(settings, admin_client, kiwoom_state_cleared):
    settings.KIWOOM_BASE_URL = f"http://127.0.0.1:{free_port()}"
    settings.KIWOOM_APPKEY = "APPKEY-5d1e-NEVER-SHOWN"
    settings.KIWOOM_SECRETKEY = "SECRETKEY-77aa-NEVER-SHOWN"
    settings.KIWOOM_RETRY_ATTEMPTS = 1
    make_stock("005930", "삼성전자")
    with pytest.raises(CommandError):
        run("collect", "--timeframe", "1d", "--codes", "005930")
    run_record = IngestionRun.objects.get()
    pages = [
        "/admin/marketdata/ingestionrun/",
        f"/admin/marketdata/ingestionrun/{run_record.pk}/change/",
        "/admin/marketdata/syncstate/",
    ]
    for url in pages:
        body = admin_client.get(url).content.decode()
        assert "APPKEY-5d1e" not in body and "SECRETKEY-77aa" not in body
    detail = admin_client.get(pages[1]).content.decode()
    assert "Kiwoom API unavailable" in detail


def test_exit_status_of_a_real_process(ingest_sim):
    make_stock("005930", "삼성전자")
    result = subprocess.run(
        [sys.executable, "manage.py", "backfill", "--codes", "NOPE00", "--since", SINCE],
        cwd=ROOT,
        env=django_env(KIWOOM_BASE_URL=ingest_sim.url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert services.ERROR_UNKNOWN_CODE.format(code="NOPE00") in result.stderr
    assert "failed: NOPE00 1d" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backfill", "--codes", "005930", "--timeframes", "2m"], "Unknown timeframe '2m'"),
        (["backfill", "--codes", "005930", "--since", "2020-13-01"], "--since must be a date"),
        (
            ["backfill", "--codes", "005930", "--since", "2026-02-01", "--until", "2026-01-01"],
            "is after --until",
        ),
        (["backfill"], "Give --codes"),
        (["collect", "--timeframe", "5m"], "No series to process"),
    ],
)
def test_malformed_arguments_are_rejected(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_collect_and_repair_gaps_commands(ingest_sim):
    run("sync_stocks")
    stock = Stock.objects.get(code="005930")
    run("backfill", "--codes", "005930", "--timeframes", "1d", "--since", SINCE, "--until", UNTIL)
    Candle.objects.filter(
        stock=stock, ts__date__gte="2026-02-10", ts__date__lte="2026-02-12"
    ).delete()
    out, _ = run("repair_gaps", "--codes", "005930", "--timeframes", "1d", "--since", SINCE)
    assert "1 gap(s) found" in out and "0 still missing" in out
    out, _ = run("collect", "--timeframe", "1d", "--codes", "005930")
    assert "Done: 1/1 series" in out
    assert not services.series_gaps(
        stock=stock, timeframe="1d", start=dt.date(2026, 1, 5), end=dt.date(2026, 3, 3)
    )


def test_demo_load_loads_once_then_is_a_no_op(ingest_sim, monkeypatch):
    from marketdata.management.commands import demo_load

    # demo_load uses the real clock; the test simulator's stands still at SIMULATOR_NOW.
    depth = timezone.now() - SIMULATOR_NOW + dt.timedelta(days=3)
    small = dict.fromkeys(demo_load.DEMO_DEPTH, depth)
    monkeypatch.setattr(demo_load, "DEMO_DEPTH", small)
    out, _ = run("demo_load")
    assert "26 analysis targets" in out and "Done: 156/156 series" in out
    assert Candle.objects.filter(timeframe="5m").exists()
    count = Candle.objects.count()
    out, _ = run("demo_load")
    assert "already loaded" in out
    assert Candle.objects.count() == count


def test_demo_load_reports_an_api_that_never_answers(settings, kiwoom_state_cleared):
    settings.KIWOOM_BASE_URL = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(CommandError, match="did not answer within 1 s"):
        run("demo_load", "--wait", "1")


def test_demo_load_does_not_bulk_load_from_the_real_api(settings):
    settings.KIWOOM_BASE_URL = "https://api.kiwoom.com"
    settings.KIWOOM_IS_SIMULATOR = False
    out, _ = run("demo_load")
    assert "real Kiwoom API" in out
    assert not Stock.objects.exists()


def test_calendar_command_lists_closures_and_special_sessions_with_their_source():
    out, _ = run("calendar", "--year", "2026")
    assert "KRX 2026: 244 sessions" in out
    assert "2026-06-03 Wed  제9회 전국동시지방선거  [override: " in out
    assert "2026-12-31 Thu  End of Year Holiday  [exchange-calendars XKRX]" in out
    assert "2026-01-02 Fri  10:00–15:30  first trading day of the year" in out
    assert "2026-11-19 Thu  10:00–16:30  수능" in out
    with pytest.raises(CommandError, match="--year must be between 2001 and 2050"):
        run("calendar", "--year", "1999")

"""`manage.py analyze` on PostgreSQL: progress, summary, idempotence and error messages."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from analysis.detection import BAD_SENSITIVITY
from analysis.management.commands import analyze as command
from analysis.models import AnalysisRun, PatternInstance
from analysis.services import NO_CANDLES
from analysis.tests.factories import walk
from marketdata.tests.factories import make_candles, make_stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_stocks():
    for code, seed in (("005930", 7), ("000660", 11)):
        make_candles(make_stock(code, code), "1d", walk(400, seed=seed))


def run(*args) -> str:
    out = StringIO()
    call_command("analyze", *args, stdout=out)
    return out.getvalue()


def test_codes_and_timeframes_with_progress_and_summary(two_stocks):
    out = run("--codes", "005930,000660", "--timeframes", "1d")
    assert "[1/2] 005930 1d: 400 bars" in out and "[2/2] 000660 1d: 400 bars" in out
    assert "| 50% done, 400 bars," in out and "| 100% done, 800 bars," in out
    assert "series/s" in out and "ETA 0:00" in out
    assert "Done: 2 series (2 analysed, 0 unchanged, 0 failed), 800 bars" in out
    assert AnalysisRun.objects.count() == 2
    assert PatternInstance.objects.exists()
    again = run("--codes", "005930,000660", "--timeframes", "1d")
    assert "Done: 2 series (0 analysed, 2 unchanged, 0 failed)" in again
    forced = run("--codes", "005930", "--timeframes", "1d", "--force")
    assert "(1 analysed, 0 unchanged" in forced
    assert AnalysisRun.objects.count() == 2


def test_without_timeframes_every_timeframe_holding_candles_is_analysed(two_stocks):
    make_candles(make_stock("005930"), "1w", walk(80, start="2020-01-06").asfreq("W-MON"))
    out = run("--codes", "005930")
    assert "[1/2] 005930 1d" in out and "[2/2] 005930 1w" in out
    assert "Done: 2 series (2 analysed, 0 unchanged, 0 failed)" in out
    make_stock("035720", "카카오")
    with pytest.raises(CommandError) as caught:
        run("--codes", "035720")
    assert str(caught.value) == command.ERROR_NO_CANDLES.format(codes="035720")


def test_all_targets_and_a_sensitivity(two_stocks):
    out = run("--all-targets", "--sensitivity", "2")
    assert "Done: 2 series (2 analysed" in out
    assert not AnalysisRun.objects.filter(is_default=True).exists()


def test_all_reanalyses_every_stored_series_targets_or_not(two_stocks):
    make_candles(
        make_stock("091990", "셀트리온헬스케어", is_analysis_target=False), "1d", walk(300, seed=2)
    )
    run("--all-targets")
    out = run("--all", "--force")
    assert "[3/3]" in out and "Done: 3 series (3 analysed, 0 unchanged, 0 failed)" in out
    assert AnalysisRun.objects.filter(stock__code="091990").exists()
    with pytest.raises(CommandError) as caught:
        run("--all", "--timeframes", "5m")
    assert str(caught.value) == command.ERROR_NOTHING_STORED.format(timeframes="5m")


def test_a_series_without_candles_fails_after_the_others(two_stocks):
    with pytest.raises(CommandError) as caught:
        run("--codes", "005930", "--timeframes", "1d,1w")
    assert str(caught.value) == command.ERROR_FAILED.format(
        failed=1,
        total=2,
        errors="005930 1w: " + NO_CANDLES.format(code="005930", timeframe="1w"),
    )
    assert AnalysisRun.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), command.ERROR_NO_SELECTION),
        (("--codes", "005930", "--all-targets"), command.ERROR_BOTH_SELECTIONS),
        (("--all", "--all-targets"), command.ERROR_BOTH_SELECTIONS),
        (("--codes", "005930,999999"), command.ERROR_UNKNOWN_CODES.format(codes="999999")),
        (
            ("--codes", "005930", "--timeframes", "1d,2h"),
            command.ERROR_UNKNOWN_TIMEFRAMES.format(
                timeframes="2h", choices="5m, 30m, 1h, 1d, 1w, 1mo"
            ),
        ),
        (("--codes", "005930", "--sensitivity", "0"), BAD_SENSITIVITY.format(value=0.0)),
    ],
)
def test_clear_errors(two_stocks, args, message):
    with pytest.raises(CommandError) as caught:
        run(*args)
    assert str(caught.value) == message


def test_all_targets_without_candles_is_an_error():
    make_stock()
    with pytest.raises(CommandError) as caught:
        run("--all-targets", "--timeframes", "5m")
    assert str(caught.value) == command.ERROR_NO_SERIES.format(timeframes="5m")

"""`manage.py analyze` on PostgreSQL: progress, summary, idempotence and error messages."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from analysis.detection import BAD_SENSITIVITY
from analysis.engine import NO_SENSITIVITY
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
    assert "[1/4] 005930 1d atr: 400 bars" in out and "[2/4] 005930 1d structural: 400" in out
    assert "[4/4] 000660 1d structural: 400 bars" in out
    assert "| 25% done, 400 bars," in out and "| 100% done, 1,600 bars," in out
    assert "runs/s" in out and "ETA 0:00" in out
    assert (
        "Done: 2 series x 2 detector(s) (atr, structural): 4 runs (4 analysed, 0 unchanged, "
        "0 failed), 1,600 bars" in out
    )
    assert AnalysisRun.objects.count() == 4
    assert PatternInstance.objects.exists()
    again = run("--codes", "005930,000660", "--timeframes", "1d")
    assert "4 runs (0 analysed, 4 unchanged, 0 failed)" in again
    forced = run("--codes", "005930", "--timeframes", "1d", "--force")
    assert "2 runs (2 analysed, 0 unchanged" in forced
    assert AnalysisRun.objects.count() == 4


def test_one_detector_by_name(two_stocks):
    out = run("--codes", "005930", "--timeframes", "1d", "--detector", "structural")
    assert "[1/1] 005930 1d structural: 400 bars" in out
    assert "1 series x 1 detector(s) (structural): 1 runs (1 analysed" in out
    run_ = AnalysisRun.objects.get()
    assert run_.detector == "structural" and run_.is_default
    assert run_.params["detector"] == "structural"
    assert set(PatternInstance.objects.values_list("detector", flat=True)) <= {"structural"}
    out = run("--codes", "005930", "--timeframes", "1d", "--detector", "all")
    assert "2 runs (1 analysed, 1 unchanged" in out
    assert sorted(AnalysisRun.objects.values_list("detector", flat=True)) == ["atr", "structural"]


def test_the_help_names_the_detectors_and_the_default(capsys):
    with pytest.raises(SystemExit):
        call_command("analyze", "--help")
    text = " ".join(capsys.readouterr().out.split())
    assert "--detector DETECTOR" in text
    assert "one of atr, structural, or 'all' for every one (the default" in text


def test_without_timeframes_every_timeframe_holding_candles_is_analysed(two_stocks):
    make_candles(make_stock("005930"), "1w", walk(80, start="2020-01-06").asfreq("W-MON"))
    out = run("--codes", "005930")
    assert "[1/4] 005930 1d atr" in out and "[4/4] 005930 1w structural" in out
    assert "Done: 2 series x 2 detector(s) (atr, structural): 4 runs (4 analysed" in out
    make_stock("035720", "카카오")
    with pytest.raises(CommandError) as caught:
        run("--codes", "035720")
    assert str(caught.value) == command.ERROR_NO_CANDLES.format(codes="035720")


def test_all_targets_and_a_sensitivity(two_stocks):
    out = run("--all-targets", "--sensitivity", "2")
    assert "Done: 2 series x 1 detector(s) (atr): 2 runs (2 analysed" in out
    assert not AnalysisRun.objects.filter(is_default=True).exists()
    assert set(AnalysisRun.objects.values_list("detector", flat=True)) == {"atr"}


def test_all_reanalyses_every_stored_series_targets_or_not(two_stocks):
    make_candles(
        make_stock("091990", "셀트리온헬스케어", is_analysis_target=False), "1d", walk(300, seed=2)
    )
    run("--all-targets")
    out = run("--all", "--force")
    assert "[6/6]" in out
    assert "Done: 3 series x 2 detector(s) (atr, structural): 6 runs (6 analysed" in out
    assert AnalysisRun.objects.filter(stock__code="091990").exists()
    with pytest.raises(CommandError) as caught:
        run("--all", "--timeframes", "5m")
    assert str(caught.value) == command.ERROR_NOTHING_STORED.format(timeframes="5m")


def test_a_series_without_candles_fails_after_the_others(two_stocks):
    with pytest.raises(CommandError) as caught:
        run("--codes", "005930", "--timeframes", "1d,1w")
    assert str(caught.value) == command.ERROR_FAILED.format(
        failed=2,
        total=4,
        errors="; ".join(
            f"005930 1w {name}: " + NO_CANDLES.format(code="005930", timeframe="1w")
            for name in ("atr", "structural")
        ),
    )
    assert AnalysisRun.objects.count() == 2


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
        (
            ("--codes", "005930", "--detector", "zigzag"),
            command.ERROR_UNKNOWN_DETECTOR.format(name="zigzag", names="atr, structural, all"),
        ),
        (
            ("--codes", "005930", "--detector", "structural", "--sensitivity", "2"),
            NO_SENSITIVITY.format(name="structural"),
        ),
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

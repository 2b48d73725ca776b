"""Stored runs per swing detector: one run per detector, rows keyed by it, the default-detector
setting (checked at startup) and the migration that keyed the existing rows "atr"."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import F
from django.test import override_settings
from django.utils import timezone

from analysis.apps import UNKNOWN_DEFAULT_DETECTOR, check_default_detector
from analysis.engine import DETECTORS, NO_SENSITIVITY, UNKNOWN_DETECTOR, analyze
from analysis.models import (
    AnalysisRun,
    Detector,
    PatternInstance,
    SwingPoint,
    TrendPeriod,
    default_detector,
)
from analysis.services import params_for, series_analyze, series_analyze_detectors
from analysis.tests.factories import walk
from marketdata import selectors
from marketdata.selectors import candles_frame
from marketdata.tests.factories import make_candles, make_stock

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def walk_stock(db):
    stock = make_stock("005930", "삼성전자")
    make_candles(stock, "1d", walk(700))
    return stock


def test_detector_choices_are_the_engines_detectors():
    assert Detector.values == list(DETECTORS)


@pytest.mark.django_db
def test_each_detector_keeps_its_own_run_and_rows(walk_stock):
    atr, structural = series_analyze_detectors(stock=walk_stock, timeframe="1d")
    assert (atr.detector, structural.detector) == ("atr", "structural")
    assert atr.is_default and structural.is_default and atr.pk != structural.pk
    assert structural.params == params_for(None, "structural")
    frame = candles_frame(stock=walk_stock, timeframe="1d")
    expected = analyze(frame, detector="structural").to_dict()
    structural.refresh_from_db()
    assert structural.result["extremes"] == expected["extremes"]
    assert SwingPoint.objects.filter(run=structural).count() == len(expected["extremes"])
    for model in (SwingPoint, TrendPeriod, PatternInstance):
        rows = model.objects.all()
        assert rows.exists()
        # Every row carries its run's detector.
        assert not rows.exclude(detector=F("run__detector")).exists()
    # The two detectors see different swings on the same bars.
    assert atr.result["extremes"] != structural.result["extremes"]
    # Re-analysing one detector leaves the other's run alone.
    forced = series_analyze(stock=walk_stock, timeframe="1d", detector="atr", force=True)
    assert forced.pk == atr.pk
    assert AnalysisRun.objects.filter(pk=structural.pk).exists()
    assert PatternInstance.objects.filter(run=structural).count() == len(expected["patterns"])


@pytest.mark.django_db
def test_the_setting_picks_the_default_everywhere_a_user_did_not_choose(walk_stock):
    assert default_detector() == "atr"
    assert series_analyze(stock=walk_stock, timeframe="1d").detector == "atr"
    with override_settings(ANALYSIS_DEFAULT_DETECTOR="structural"):
        assert default_detector() == "structural"
        assert AnalysisRun.objects.shown().count() == 0
        run = series_analyze(stock=walk_stock, timeframe="1d")
        assert run.detector == "structural"
        assert list(AnalysisRun.objects.shown()) == [run]
        assert set(PatternInstance.objects.shown().values_list("run", flat=True)) == {run.pk}
    assert AnalysisRun.objects.shown().get().detector == "atr"
    assert AnalysisRun.objects.shown("structural").get().detector == "structural"


@pytest.mark.django_db
def test_every_detector_of_a_series_reads_its_bars_once(walk_stock, monkeypatch):
    candle_reads = []
    read = selectors.float_table

    def counted(sql, params, *, width):
        candle_reads.append(sql)
        return read(sql, params, width=width)

    monkeypatch.setattr(selectors, "float_table", counted)
    runs = series_analyze_detectors(stock=walk_stock, timeframe="1d")
    assert len(runs) == len(DETECTORS) == 2
    assert len(candle_reads) == 1 and "marketdata_candle" in candle_reads[0]
    # Same bars, same fingerprint, both recomputed; a second pass finds both unchanged.
    assert runs[0].bars_fingerprint == runs[1].bars_fingerprint
    assert all(run.recomputed for run in runs)
    again = series_analyze_detectors(stock=walk_stock, timeframe="1d")
    assert [run.pk for run in again] == [run.pk for run in runs]
    assert not any(run.recomputed for run in again)


@pytest.mark.django_db
def test_unknown_detector_and_sensitivity_of_the_structural_detector(walk_stock):
    with pytest.raises(ValueError) as unknown:
        series_analyze(stock=walk_stock, timeframe="1d", detector="zigzag")
    assert str(unknown.value) == UNKNOWN_DETECTOR.format(name="zigzag", names="atr, structural")
    with pytest.raises(ValueError) as sensitivity:
        series_analyze(stock=walk_stock, timeframe="1d", detector="structural", sensitivity=2)
    assert str(sensitivity.value) == NO_SENSITIVITY.format(name="structural")
    with pytest.raises(ValueError):
        series_analyze_detectors(stock=walk_stock, timeframe="1d", detectors=["atr", "zigzag"])
    assert not AnalysisRun.objects.exists()  # nothing analysed before the bad name was found


def test_an_unknown_default_detector_stops_django_at_startup():
    check_default_detector("structural")
    with pytest.raises(ImproperlyConfigured) as caught:
        check_default_detector("zigzag")
    assert str(caught.value) == UNKNOWN_DEFAULT_DETECTOR.format(
        name="zigzag", names="atr, structural"
    )
    env = {**os.environ, "ANALYSIS_DEFAULT_DETECTOR": "zigzag", "DEBUG": "true"}
    bad = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert bad.returncode != 0
    assert str(caught.value) in bad.stderr
    good = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**env, "ANALYSIS_DEFAULT_DETECTOR": "structural"},
        capture_output=True,
        text=True,
    )
    assert good.returncode == 0, good.stderr


@pytest.mark.django_db(transaction=True)
def test_the_migration_keys_existing_rows_atr():
    before = [("analysis", "0002_pattern_outcomes_calibration")]
    executor = MigrationExecutor(connection)
    # Every app's newest migration: going back unapplies other apps' migrations that depend
    # on these, and the tests after this one need them all.
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(before)
    try:
        apps = executor.loader.project_state(before).apps
        stock = make_stock("005930", "삼성전자")  # marketdata stays at its newest migration
        now = timezone.now()
        run = apps.get_model("analysis", "AnalysisRun").objects.create(
            stock_id=stock.pk,
            timeframe="1d",
            params_hash="old",
            params={"detector": "atr"},
            engine_version="5",
            bars=1,
            bars_fingerprint="x",
            trend_state="up",
            result={},
            analysed_at=now,
            duration_ms=1.0,
        )
        apps.get_model("analysis", "TrendPeriod").objects.create(
            run=run, stock_id=stock.pk, timeframe="1d", direction="up", start_ts=now, end_ts=now
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
    assert AnalysisRun.objects.get().detector == "atr"
    assert TrendPeriod.objects.get().detector == "atr"

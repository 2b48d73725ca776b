"""`manage.py calibrate_patterns` on PostgreSQL: a versioned fit from stored outcomes, and every
stored pattern re-scored with it (rows and run results)."""

from io import StringIO

import pytest
from django.core.management import call_command

from analysis.calibration import calibrated_score
from analysis.models import AnalysisRun, PatternCalibration, PatternInstance
from analysis.selectors.calibration import active_calibration
from analysis.services import NO_OUTCOMES, series_analyze
from analysis.tests.factories import walk
from marketdata.tests.factories import make_candles, make_stock

pytestmark = pytest.mark.django_db


def calibrate() -> str:
    out = StringIO()
    call_command("calibrate_patterns", stdout=out)
    return out.getvalue()


def test_with_nothing_stored_the_prior_is_version_one():
    out = calibrate()
    assert NO_OUTCOMES in out and "Calibration v1" in out
    calibration = active_calibration()
    assert calibration.samples == 0 and calibration.params["overall"]["prior"] == 0.5


def test_fits_on_resolved_outcomes_and_rescores_everything():
    for code, seed in (("005930", 8), ("000660", 6), ("035420", 0)):
        stock = make_stock(code, code)
        make_candles(stock, "1d", walk(700, seed=seed))
        series_analyze(stock=stock, timeframe="1d")
    resolved = PatternInstance.objects.exclude(outcome="")
    hits = resolved.filter(outcome="target").count()
    assert resolved.count() > hits > 0
    out = calibrate()
    assert f"Calibration v1 (engine 5): {resolved.count()} resolved outcomes, {hits} reached" in (
        out
    )
    assert "re-scoring stored patterns: 3/3 runs (100 %)" in out
    params = active_calibration().params
    # Far fewer than MIN_FIT resolved patterns per cell: rates shrunk toward the priors.
    assert {c["model"] for c in params["cells"].values()} == {"rate"}
    for row in PatternInstance.objects.select_related("run"):
        assert row.score == calibrated_score(params, row.pattern_type, "1d", row.features)
    scores = {row.score for row in PatternInstance.objects.all()}
    assert len(scores) > 1 and 0.5 not in scores  # moved off the prior by the history
    for run in AnalysisRun.objects.all():
        for p in run.result["patterns"]:
            assert p["score"] == calibrated_score(params, p["type"], "1d", p["features"])
    # Analyses made afterwards are scored with the new version too.
    stock = make_stock("000270", "kia")
    make_candles(stock, "1d", walk(700, seed=2))
    run = series_analyze(stock=stock, timeframe="1d")
    assert {p["score"] for p in run.result["patterns"]} <= scores | {
        calibrated_score(params, t, "1d", {}) for t in ("DT", "DB", "HS", "IHS")
    }
    assert "Calibration v2" in calibrate()
    assert list(PatternCalibration.objects.values_list("version", flat=True)) == [2, 1]

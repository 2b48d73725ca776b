"""Calibrated scores (docs/analysis-rules.md#calibrated-score): the fit, the prior, the measures."""

import math

import numpy as np
import pytest

from analysis.calibration import (
    MIN_FIT,
    MODEL_LOGISTIC,
    MODEL_RATE,
    PRIOR_WEIGHT,
    brier_score,
    calibrated_score,
    calibration_fit,
    roc_auc,
)


def test_no_history_scores_one_half():
    assert calibrated_score(None, "DT", "1d", {}) == 0.5
    assert calibrated_score(calibration_fit([]), "DT", "1d", {"height_atr": 5}) == 0.5


def test_a_thin_cell_is_shrunk_toward_its_type_and_the_type_toward_all_patterns():
    rows = [("DT", "1d", {}, True)] * 3 + [("DT", "1d", {}, False)] * 1
    rows += [("DT", "1w", {}, False)] * 6 + [("HS", "1d", {}, True)] * 10
    params = calibration_fit(rows)
    w = PRIOR_WEIGHT
    overall = (13 + w * 0.5) / (20 + w)
    dt_prior = (3 + w * overall) / (10 + w)
    assert params["overall"]["prior"] == pytest.approx(overall, abs=1e-6)
    assert params["types"]["DT"]["prior"] == pytest.approx(dt_prior, abs=1e-6)
    cell = params["cells"]["DT|1d"]
    assert cell["model"] == MODEL_RATE and (cell["n"], cell["hits"]) == (4, 3)
    assert calibrated_score(params, "DT", "1d", {}) == pytest.approx(
        (3 + w * dt_prior) / (4 + w), abs=1e-6
    )
    # A timeframe with no history of its own gets the type's prior; an unknown type the overall.
    assert calibrated_score(params, "DT", "5m", {}) == pytest.approx(dt_prior, abs=1e-6)
    assert calibrated_score(params, "IHS", "1d", {}) == pytest.approx(overall, abs=1e-6)


def test_a_rich_cell_gets_a_logistic_model_that_orders_and_calibrates():
    rng = np.random.default_rng(3)
    rows = []
    for _ in range(3 * MIN_FIT):
        height = float(rng.uniform(3, 12))
        chance = 1 / (1 + math.exp(-(height - 7)))  # taller patterns reach their target more
        rows.append(("DB", "1d", {"height_atr": height, "level_gap": 0.1}, rng.random() < chance))
    params = calibration_fit(rows)
    assert params["cells"]["DB|1d"]["model"] == MODEL_LOGISTIC
    low = calibrated_score(params, "DB", "1d", {"height_atr": 4, "level_gap": 0.1})
    high = calibrated_score(params, "DB", "1d", {"height_atr": 11, "level_gap": 0.1})
    assert 0 < low < 0.3 < 0.7 < high < 1
    scores = [calibrated_score(params, t, tf, f) for t, tf, f, _ in rows]
    reached = [r for *_, r in rows]
    assert np.mean(scores) == pytest.approx(np.mean(reached), abs=0.02)
    assert roc_auc(scores, reached) > 0.75
    assert brier_score(scores, reached) < brier_score([np.mean(reached)] * len(rows), reached)


def test_a_cell_with_only_one_outcome_stays_a_rate():
    rows = [("HS", "1d", {"height_atr": 5}, True)] * (MIN_FIT + 5)
    assert calibration_fit(rows)["cells"]["HS|1d"]["model"] == MODEL_RATE


def test_brier_and_auc_by_hand():
    assert brier_score([1.0, 0.0, 0.5], [True, False, True]) == pytest.approx(0.25 / 3)
    # Pairs (positive, negative): (0.35, 0.1) yes, (0.35, 0.4) no, (0.8, both) yes: 3 of 4.
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == 0.75
    assert roc_auc([0.5, 0.5], [True, False]) == 0.5  # a tie counts half
    assert math.isnan(roc_auc([0.2, 0.3], [True, True]))

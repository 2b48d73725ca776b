"""Reads of the calibrated score's parameter sets (docs/analysis-rules.md#calibrated-score)."""

from __future__ import annotations

from ..models import PatternCalibration


def active_calibration() -> PatternCalibration | None:
    """The newest fitted parameter set, or None before `manage.py calibrate_patterns` ran."""
    return PatternCalibration.objects.order_by("-version").first()


def active_calibration_params() -> dict | None:
    """`params` of the newest parameter set (what scores are computed with), or None."""
    return PatternCalibration.objects.order_by("-version").values_list("params", flat=True).first()
